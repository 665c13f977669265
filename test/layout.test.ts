/**
 * The layout (issue 10, item 12): components/ is what `pulumi up` loads, index.ts and everything it imports; what
 * only the commands (plan, verify, bench, schema, mutate) and the tests use lives in tools/. A reader sees what
 * ships into a deployment by the folder, so the folders must not lie.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

/** The relative imports of a TypeScript file: `import … from "./x"`, `export … from "./x"`, `import("./x")`. */
function relativeImports(source: string): string[] {
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

  it("finds static, re-exported and dynamic relative imports, and nothing in comments' prose", () => {
    assert.deepStrictEqual(
      relativeImports(
        [
          'import * as a from "./a";',
          'import type { B } from "../b";',
          'export { c } from "./c";',
          'const d = await import("./d");',
          'const e = require("./e");',
          'import * as pulumi from "@pulumi/pulumi";',
          "// see tools/verify.ts",
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

  it("the commands' own modules sit in tools/, not in components/ or scripts/", () => {
    assert.deepStrictEqual(
      tsFiles("tools").filter((f) =>
        ["plan", "verify", "verifyChecks", "mockRuntime", "bench"].some((n) => f === `tools/${n}.ts`),
      ),
      ["tools/bench.ts", "tools/mockRuntime.ts", "tools/plan.ts", "tools/verify.ts", "tools/verifyChecks.ts"],
    );
    assert.deepStrictEqual(tsFiles("scripts"), []);
  });
});
