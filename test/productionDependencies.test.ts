import * as assert from "assert";
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The package a bare import names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Every bare import of the files that index.ts loads, following relative imports. */
function programImports(): { packages: Set<string>; files: string[] } {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [path.join(ROOT, "index.ts")];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(fs.readFileSync(file, "utf8"), true, true);
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith(".")) queue.push(path.resolve(path.dirname(file), fileName) + ".ts");
      else if (!fileName.startsWith("node:") && !BUILTINS.has(fileName)) packages.add(packageOf(fileName));
    }
  }
  return { packages, files: [...seen].map((f) => path.relative(ROOT, f)).sort() };
}
const BUILTINS = new Set(builtinModules);

// Pulumi type-checks the program with ts-node at `up` (cmd/run in @pulumi/pulumi): `npm ci --omit=dev && pulumi up`
// must find everything the program and its tsconfig.json name among the production dependencies.
describe("the program runs with production dependencies alone (issue 8, item 7)", () => {
  it("imports only packages listed under dependencies", () => {
    const { packages } = programImports();
    const missing = [...packages].filter((p) => !(p in pkg.dependencies));
    assert.deepStrictEqual(missing, []);
    assert.ok(packages.has("@pulumi/pulumi"), `saw ${[...packages].join(", ")}`);
  });

  it("compiles with a tsconfig.json whose types, compiler and ts-node are production dependencies", () => {
    const config = ts.readConfigFile(path.join(ROOT, "tsconfig.json"), ts.sys.readFile).config as {
      compilerOptions: { types?: string[] };
    };
    const types = (config.compilerOptions.types ?? []).map((t) => `@types/${t}`);
    assert.deepStrictEqual(
      [...types, "typescript", "ts-node"].filter((p) => !(p in pkg.dependencies)),
      [],
    );
    // Without ts-node and typescript of its own, @pulumi/pulumi falls back to its vendored TypeScript 3.8, which
    // cannot read this tsconfig's ES2022 target.
    assert.strictEqual(pkg.devDependencies["typescript"], undefined);
  });

  it("keeps what only the tests and commands load out of the program's tsconfig.json", () => {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      path.join(ROOT, "tsconfig.json"),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)),
      },
    )!;
    const files = parsed.fileNames.map((f) => path.relative(ROOT, f));
    assert.deepStrictEqual(
      files.filter((f) => !f.startsWith("components/") && f !== "index.ts"),
      [],
    );
  });
});
