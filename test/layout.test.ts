/**
 * The layout (issue 10, item 12): components/ is what `pulumi up` loads, index.ts and everything it imports; what
 * only the commands (plan, verify, bench, schema, mutate) and the tests use lives in tools/. A reader sees what
 * ships into a deployment by the folder, so the folders must not lie.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

/**
 * The relative imports of a TypeScript file: `import … from "./x"`, `export … from "./x"`, `import("./x")`,
 * `require("./x")`, outside comments (a doc comment may show an import as an example).
 */
function relativeImports(text: string): string[] {
  const source = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found = [
    ...source.matchAll(/\b(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g),
    ...source.matchAll(/\brequire\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g),
  ].map((m) => m[1]);
  return [...new Set(found)];
}

function resolveTs(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(
    `${path.relative(ROOT, from)} imports ${spec}, which is no TypeScript file of this project`,
  );
}

/** Every project file that `start` loads, itself included, as paths relative to the project. */
function reachable(start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.join(ROOT, start)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    const shown = path.relative(ROOT, file);
    if (seen.has(shown)) continue;
    seen.add(shown);
    for (const spec of relativeImports(fs.readFileSync(file, "utf8"))) todo.push(resolveTs(file, spec));
  }
  return seen;
}

const tsFiles = (dir: string) =>
  fs
    .readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => `${dir}/${f}`)
    .sort();

describe("layout: components/ is exactly what the Pulumi program loads", () => {
  const program = reachable("index.ts");

  it("finds static, re-exported, dynamic and required relative imports, and none in comments", () => {
    assert.deepStrictEqual(
      relativeImports(
        [
          'import * as a from "./a";',
          'import type { B } from "../b";',
          'export { c } from "./c";',
          'const d = await import("./d");',
          'const e = require("./e");',
          'import * as pulumi from "@pulumi/pulumi";',
          '// see tools/verify.ts, or write import { x } from "./commented";',
          '/** Example:\n *   import { y } from "./inDocComment";\n */',
        ].join("\n"),
      ),
      ["./a", "../b", "./c", "./d", "./e"],
    );
  });

  it("every file of components/ is loaded by index.ts", () => {
    const unused = tsFiles("components").filter((f) => !program.has(f));
    assert.deepStrictEqual(
      unused,
      [],
      `not loaded by index.ts, so they belong in tools/: ${unused.join(", ")}`,
    );
  });

  it("index.ts loads nothing outside index.ts and components/", () => {
    const outside = [...program].filter((f) => f !== "index.ts" && !f.startsWith("components/")).sort();
    assert.deepStrictEqual(outside, []);
  });

  it("the commands' own modules sit in tools/, none in components/; scripts/ holds environments, not commands", () => {
    const commandModules = [
      "bench",
      "benchE2e",
      "cli",
      "docs",
      "generatedFile",
      "markdownLinks",
      "mockRuntime",
      "mutationBar",
      "plan",
      "planGuard",
      "previewFailure",
      "profileE2e",
      "providerPackage",
      "schema",
      "verify",
      "verifyChecks",
      "verifyGenerated",
    ];
    assert.deepStrictEqual(tsFiles("tools"), commandModules.map((n) => `tools/${n}.ts`).sort());
    assert.deepStrictEqual(
      tsFiles("components").filter((f) => commandModules.some((n) => f === `components/${n}.ts`)),
      [],
    );
    // TypeScript under scripts/: only the helpers of `npm run up:local` (its registry and its pull check).
    const scriptsTs = fs
      .readdirSync(path.join(ROOT, "scripts"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts"))
      .sort();
    assert.deepStrictEqual(scriptsTs, ["local/pullCheck.ts", "local/registry.ts"]);
  });
});
