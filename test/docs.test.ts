import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG, Spec } from "../components/configSpec";
import {
  CONFIGURATION_FILE,
  configurationText,
  MARKER,
  prose,
  reference,
  TEMPLATE_FILE,
} from "../tools/docs";
import { anchors, brokenLinks, documentationFiles, relativeLinks, slug } from "../tools/markdownLinks";

const ROOT = path.join(__dirname, "..");

describe("docs: GitHub heading anchors", () => {
  it("lowercases, drops punctuation but - and _, turns spaces into -", () => {
    assert.strictEqual(slug("Migrating from the kubectl script"), "migrating-from-the-kubectl-script");
    assert.strictEqual(
      slug("`npm run plan`: what a stack declares, offline"),
      "npm-run-plan-what-a-stack-declares-offline",
    );
    assert.strictEqual(slug("Testing for real: `npm run test:e2e`"), "testing-for-real-npm-run-teste2e");
    assert.strictEqual(
      slug("Switching a namespace between direct and externalSecrets"),
      "switching-a-namespace-between-direct-and-externalsecrets",
    );
    assert.strictEqual(slug("snake_case and dash-case (kept)"), "snake_case-and-dash-case-kept");
    assert.strictEqual(slug("CI/CD workflows"), "cicd-workflows");
    assert.strictEqual(slug("a  b"), "a--b");
    assert.strictEqual(slug("[a link](x.md) here"), "a-link-here");
  });

  it("numbers duplicate headings -1, -2 and ignores # lines inside code fences", () => {
    const text = ["# Title", "## Set-up", "```sh", "# a comment", "```", "## Set-up", "### Set-up"].join(
      "\n",
    );
    assert.deepStrictEqual(anchors(text), ["title", "set-up", "set-up-1", "set-up-2"]);
  });

  it("collects relative links only, outside code", () => {
    const text = [
      "[a](docs/a.md) [b](#b) [c](https://example.com) [d](mailto:x@y.z) `[e](e.md)`",
      "```",
      "[f](f.md)",
      "```",
    ].join("\n");
    assert.deepStrictEqual(relativeLinks(text), ["docs/a.md", "#b"]);
  });

  it("reports a missing file, a missing anchor and an anchor into a non-markdown file", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-test-"));
    try {
      fs.mkdirSync(path.join(root, "docs"));
      fs.writeFileSync(path.join(root, "docs", "b.md"), "# B\n\n## Two words\n");
      fs.writeFileSync(path.join(root, "x.txt"), "");
      fs.writeFileSync(
        path.join(root, "README.md"),
        "# R\n[ok](docs/b.md#two-words) [ok](#r) [no](docs/c.md) [no](docs/b.md#two) [no](#s) [no](x.txt#a)\n",
      );
      assert.deepStrictEqual(brokenLinks(root, "README.md"), [
        "README.md: link docs/c.md: docs/c.md does not exist",
        "README.md: link docs/b.md#two: docs/b.md has no heading #two",
        "README.md: link #s: README.md has no heading #s",
        "README.md: link x.txt#a: an anchor into x.txt, which is not markdown",
      ]);
      assert.deepStrictEqual(documentationFiles(root), ["README.md", path.join("docs", "b.md")]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("docs: every relative link and anchor of README.md and docs/ resolves", () => {
  const files = documentationFiles(ROOT);
  it("finds the README and the guides", () => {
    assert.ok(files.includes(path.join("docs", "operations.md")), files.join(", "));
  });
  for (const file of files) {
    it(file, () => assert.deepStrictEqual(brokenLinks(ROOT, file), []));
  }
});

describe("README: the front door", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  it("is at most 12,000 characters", () => assert.ok(readme.length <= 12000, `${readme.length} characters`));
  it("starts with the two set-up commands", () => {
    const head = readme.split("\n").slice(0, 8).join("\n");
    assert.match(head, /npm ci && npm run up:local/);
    assert.match(head, /npm ci && npm test/);
  });
});

describe("docs/configuration.md: generated from components/configSpec.ts (npm run docs)", () => {
  it("the committed file is up to date", async () => {
    assert.strictEqual(fs.readFileSync(CONFIGURATION_FILE, "utf8"), await configurationText());
  });

  it("names every key of every declaration in code font, nested under its top-level key", () => {
    const keys = new Set<string>();
    const walk = (spec: Spec): void => {
      if (spec.kind === "object") {
        for (const [k, v] of Object.entries(spec.properties)) {
          keys.add(k);
          walk(v);
        }
      } else if (spec.kind === "map") walk(spec.values);
      else if (spec.kind === "list") walk(spec.items);
      else if (spec.kind === "tagged") Object.values(spec.variants).forEach(walk);
      else if (spec.kind === "either") spec.variants.forEach(walk);
    };
    walk(CONFIG);
    const text = reference();
    assert.deepStrictEqual(
      [...keys].filter((k) => !text.includes(`- \`${k}\` (`)),
      [],
    );
    assert.ok(keys.size > 30, `${keys.size} keys`);
    for (const top of Object.keys(CONFIG.properties))
      assert.match(text, new RegExp(`^### \`registry-access:${top}\`$`, "m"));
  });

  it("renders type, required, default, allowed values and pattern", () => {
    const text = reference();
    assert.ok(
      text.includes(
        "- `passwordLifetimeDays` (integer, 2 to 3650; default `90`): Every generated password expires after this many days.",
      ),
    );
    assert.ok(
      text.includes(
        "- `delivery` (string; one of `direct`, `externalSecrets`; default `direct`): How the pull secret reaches",
      ),
    );
    assert.ok(
      text.includes("- `resourceGroup` (string; pattern `\\S`; required): The registry's resource group."),
    );
  });

  it("escapes < outside code spans, so <org> is not taken for an HTML tag", () => {
    assert.strictEqual(prose("a <org> and `<id>` b <c>"), "a &lt;org> and `<id>` b &lt;c>");
  });

  it("refuses a template without its marker line, or with two", async () => {
    const message = `${path.relative(process.cwd(), TEMPLATE_FILE)}: needs the marker line ${MARKER} exactly once`;
    await assert.rejects(configurationText("# Configuration\n"), { message });
    await assert.rejects(configurationText(`${MARKER}\n${MARKER}\n`), { message });
    assert.match(
      await configurationText(`# C\n\n${MARKER}\n\n## After\n`),
      /^# C\n\n<!-- Generated[\s\S]*### `registry-access:registries`[\s\S]*\n## After\n$/,
    );
  });
});
