/**
 * The relative links of markdown files and the anchors GitHub gives their headings, so a test can prove that every
 * link of the README and docs/ resolves. GitHub's rules (github/cmark-gfm's anchor filter, as github.com renders
 * it): the heading's text without its markup, lowercased; every character that is not a letter, a digit, a space,
 * `-` or `_` dropped; each space turned into `-`; the second heading with the same slug gets `-1`, the third `-2`.
 * Not modelled: explicit HTML anchors (`<a name>`), headings written with `===` underlines (none here).
 */
import * as fs from "fs";
import * as path from "path";

/** A heading's anchor: `### \`npm run plan\`: what a stack declares, offline` → `npm-run-plan-what-a-stack-declares-offline`. */
export function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The lines of a markdown text outside fenced code blocks. */
function proseLines(text: string): string[] {
  let fence = false;
  return text.split("\n").filter((line) => {
    if (/^\s*```/.test(line)) {
      fence = !fence;
      return false;
    }
    return !fence;
  });
}

/** Every heading's anchor, in order, duplicates numbered as GitHub numbers them. */
export function anchors(text: string): string[] {
  const seen = new Map<string, number>();
  const result: string[] = [];
  for (const line of proseLines(text)) {
    const match = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!match) continue;
    const base = slug(match[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.push(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The link targets of a markdown text that stay in the repository: no scheme, not in code. */
export function relativeLinks(text: string): string[] {
  const links: string[] = [];
  for (const line of proseLines(text)) {
    const prose = line.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) links.push(m[1]);
    }
  }
  return links;
}

/** Why each relative link of `file` (a path under `root`) does not resolve: empty when all do. */
export function brokenLinks(root: string, file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), "utf8");
  const problems: string[] = [];
  for (const link of relativeLinks(text)) {
    const hash = link.indexOf("#");
    const target = hash < 0 ? link : link.slice(0, hash);
    const anchor = hash < 0 ? undefined : decodeURIComponent(link.slice(hash + 1));
    const targetFile = target === "" ? file : path.normalize(path.join(path.dirname(file), target));
    const absolute = path.join(root, targetFile);
    if (!fs.existsSync(absolute)) {
      problems.push(`${file}: link ${link}: ${targetFile} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!targetFile.endsWith(".md")) {
      problems.push(`${file}: link ${link}: an anchor into ${targetFile}, which is not markdown`);
      continue;
    }
    if (!anchors(fs.readFileSync(absolute, "utf8")).includes(anchor)) {
      problems.push(`${file}: link ${link}: ${targetFile} has no heading #${anchor}`);
    }
  }
  return problems;
}

/** README.md and every markdown file under docs/, relative to `root`. */
export function documentationFiles(root: string): string[] {
  const docs = fs
    .readdirSync(path.join(root, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join("docs", f))
    .sort();
  return ["README.md", ...docs];
}
