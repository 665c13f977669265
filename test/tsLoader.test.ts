/**
 * loader/register.js (issue 17): how `pulumi up` loads the program. Each check runs in a child node process
 * started as the language host starts the program (`node --require ./loader/register.js`, then cmd/run's
 * `source-map-support/register`), so that this mocha process keeps its own ts-node.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const ROOT = path.resolve(__dirname, "..");
const LOADER = path.join(ROOT, "loader", "register.js");
/**
 * What cmd/run of @pulumi/pulumi requires first, resolved from there in the child (under this mocha process's
 * ts-node, require.resolve answers ts-node's own @cspotcode/source-map-support for it).
 */
const SDK_REGISTER =
  'require(require.resolve("source-map-support/register", { paths: [require("path").join(' +
  'require("path").dirname(require.resolve("@pulumi/pulumi/package.json")), "cmd", "run")] }))';

/** Runs `script` in node as the language host runs the program; returns its exit status, stdout and stderr. */
function host(
  script: string,
  env: Record<string, string> = {},
): { status: number | null; out: string; err: string } {
  const child = spawnSync(process.execPath, ["--require", LOADER, "-e", `${SDK_REGISTER};\n${script}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
  });
  return { status: child.status, out: child.stdout, err: child.stderr };
}

/** The loader's own cache entries (its `v8/` folder holds V8's compile cache). */
function entries(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => name.endsWith(".json"));
}

/** A scratch folder inside the project (the loader compiles only the project's files), removed after each test. */
let scratch: string;
let cache: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(ROOT, "test", ".ts-loader-"));
  cache = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-ts-cache-"));
});
afterEach(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(cache, { recursive: true, force: true });
});

describe("loader/register.js: how pulumi up loads the program (issue 17)", function () {
  // Each check starts node; the type-checked one loads TypeScript twice (shared 2-core machine).
  this.timeout(120_000);

  it("Pulumi.yaml runs the program through it, not through the SDK's ts-node", () => {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    assert.deepStrictEqual(project.runtime, {
      name: "nodejs",
      options: { typescript: false, nodeargs: "--require ./loader/register.js", packagemanager: "npm" },
    });
  });

  it("needs only production dependencies (npm ci --omit=dev && pulumi up)", () => {
    const text = fs.readFileSync(LOADER, "utf8");
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const bare = [...text.matchAll(/require(?:\.resolve)?\("([^".][^"]*)"/g)].map((m) => m[1]);
    const packages = [
      ...new Set(
        bare.map((b) => (b.startsWith("@") ? b.split("/").slice(0, 2) : b.split("/").slice(0, 1)).join("/")),
      ),
    ];
    assert.deepStrictEqual(packages.sort(), [
      "@pulumi/pulumi",
      "crypto",
      "fs",
      "module",
      "path",
      "source-map-support",
      "ts-node",
      "typescript",
    ]);
    // source-map-support is the SDK's own (resolved from @pulumi/pulumi's folder), the rest are node's or ours.
    const notOurs = ["crypto", "fs", "module", "path", "source-map-support"];
    assert.deepStrictEqual(
      packages.filter((p) => !notOurs.includes(p) && !(p in pkg.dependencies)),
      [],
    );
  });

  it("every copy of the program the project makes takes loader/ with it", async () => {
    const { copyProgram } = await import("./e2e/support/harness");
    const dir = copyProgram();
    try {
      assert.ok(fs.existsSync(path.join(dir, "loader", "register.js")), "copyProgram left loader/ out");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const upSh = fs.readFileSync(path.join(ROOT, "scripts/local/up.sh"), "utf8");
    assert.match(
      upSh,
      /^for f in Pulumi\.yaml index\.ts components loader package\.json tsconfig\.json node_modules; do$/m,
    );
    const e2e = fs.readFileSync(path.join(ROOT, "test/e2e/program.test.ts"), "utf8");
    const prodDeps = e2e.slice(e2e.indexOf("with production dependencies alone"));
    assert.match(prodDeps, /copyProgram\(\[\s*"Pulumi\.yaml",\s*"index\.ts",\s*"components",\s*"loader",/);
  });

  it("an error thrown by the program names the .ts file, line and column, not the emitted JavaScript's", () => {
    const file = path.join(ROOT, "test/support/tsLoaderFixture.ts");
    const run = host(`try { require(${JSON.stringify(file)}); } catch (e) { console.log(e.stack); }`, {
      REGISTRY_ACCESS_TS_CACHE: cache,
    });
    assert.strictEqual(run.status, 0, run.err);
    assert.deepStrictEqual(run.out.split("\n").slice(0, 3), [
      "Error: namespaces.team-a: no registry",
      `    at check (${file}:11:9)`,
      `    at Object.<anonymous> (${file}:14:1)`,
    ]);
  });

  it("maps each project call site once per process, however many stacks it is on, with the same text", () => {
    const file = path.join(ROOT, "test/support/tsLoaderFixture.ts");
    const run = host(
      // The SDK's source-map-support, as the loader finds it; count what it is asked to map.
      'const support = require(require.resolve("source-map-support", { paths: [require("path").join(' +
        'require("path").dirname(require.resolve("@pulumi/pulumi/package.json")), "cmd", "run")] }));\n' +
        "const wrap = support.wrapCallSite; let calls = 0;\n" +
        "support.wrapCallSite = (...a) => { calls++; return wrap(...a); };\n" +
        "const stacks = new Set();\n" +
        `for (let i = 0; i < 50; i++) { delete require.cache[${JSON.stringify(file)}]; ` +
        `try { require(${JSON.stringify(file)}); } catch (e) { stacks.add(e.stack.split("\\n").slice(0, 3).join("\\n")); } }\n` +
        "console.log(JSON.stringify({ calls, stacks: [...stacks] }));",
      { REGISTRY_ACCESS_TS_CACHE: cache },
    );
    assert.strictEqual(run.status, 0, run.err);
    assert.deepStrictEqual(JSON.parse(run.out), {
      // Two project frames (check, and the file's top level), each mapped once for the 50 stacks.
      calls: 2,
      stacks: [
        [
          "Error: namespaces.team-a: no registry",
          `    at check (${file}:11:9)`,
          `    at Object.<anonymous> (${file}:14:1)`,
        ].join("\n"),
      ],
    });
  });

  it("the SDK's promises record no stack unless PULUMI_DEBUG_PROMISE_LEAKS asks; the leak check stays", () => {
    const script =
      'const d = require("@pulumi/pulumi/runtime/debuggable");\n' +
      'const p = Promise.resolve(1); d.debuggablePromise(p, "ctx");\n' +
      "console.log(JSON.stringify({ stack: p._debugStackTrace, limit: Error.stackTraceLimit }));\n" +
      // A promise that never settles: the SDK's leak check fails the run at exit.
      'd.debuggablePromise(new Promise(() => {}), "leaked");';
    const quiet = host(script);
    assert.deepStrictEqual(JSON.parse(quiet.out), { stack: "Error: ", limit: 10 });
    assert.strictEqual(quiet.status, 1);
    assert.match(quiet.err, /The Pulumi runtime detected that 1 promise was still active/);

    const debug = host(script, { PULUMI_DEBUG_PROMISE_LEAKS: "true" });
    const { stack } = JSON.parse(debug.out.split("\n")[0]);
    assert.match(stack, /^Error: \n {4}at /, "the stack is recorded when leaks are debugged");
    assert.strictEqual(debug.status, 1);
    assert.match(debug.err, /Promise leak detected:\nCONTEXT\(\d+\): leaked\nSTACK_TRACE:\nError: \n {4}at /);
  });

  it("turns on V8's compile cache in the loader's cache folder, unless NODE_DISABLE_COMPILE_CACHE is set", () => {
    const script = 'console.log(require("module").getCompileCacheDir() ?? "off")';
    const on = host(script, { REGISTRY_ACCESS_TS_CACHE: cache });
    assert.strictEqual(on.status, 0, on.err);
    // Node adds a folder per Node version and V8 flags under the given one.
    assert.ok(on.out.startsWith(path.join(cache, "v8", "")), on.out);
    assert.ok(fs.readdirSync(path.join(cache, "v8")).length > 0, "nothing was cached");
    const off = host(script, { REGISTRY_ACCESS_TS_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: "1" });
    assert.strictEqual(off.out, "off\n", off.err);
  });

  it("keeps its stack formatter after cmd/run's source-map-support/register, which would map every frame", () => {
    const run = host("console.log(Error.prepareStackTrace.name)");
    assert.strictEqual(run.out, "registryAccessPrepareStackTrace\n", run.err);
  });

  it("leaves a dependency's frames as V8 formats them", () => {
    // A frame inside @pulumi/pulumi, whose .js.map source-map-support would follow to the SDK's .ts sources.
    const run = host(
      'const { Config } = require("@pulumi/pulumi");\n' +
        'try { new Config("registry-access").require("missing"); } catch (e) { console.log(e.stack); }',
      { REGISTRY_ACCESS_TS_CACHE: cache },
    );
    assert.strictEqual(run.status, 0, run.err);
    const frames = run.out.split("\n").filter((l) => l.startsWith("    at "));
    assert.ok(frames.length > 0, run.out);
    assert.ok(
      frames.some((l) => /node_modules\/@pulumi\/pulumi\/config\.js:\d+:\d+\)$/.test(l)),
      `no unmapped SDK frame in:\n${run.out}`,
    );
    assert.ok(!frames.some((l) => /\.ts:\d+:\d+\)?$/.test(l)), `an SDK frame was mapped to .ts:\n${run.out}`);
  });

  it("compiles an edited file again (no stale build), and loads an unchanged one without TypeScript", () => {
    const file = path.join(scratch, "value.ts");
    const load =
      `const v = require(${JSON.stringify(file)}).value;\n` +
      'const ts = Object.keys(require.cache).some((k) => k.includes("/node_modules/typescript/"));\n' +
      "console.log(JSON.stringify({ v, ts }));";
    const env = { REGISTRY_ACCESS_TS_CACHE: cache };
    fs.writeFileSync(file, 'export const value: string = "first";\n');
    assert.deepStrictEqual(JSON.parse(host(load, env).out), { v: "first", ts: true });
    assert.strictEqual(entries(cache).length, 1);
    assert.deepStrictEqual(
      JSON.parse(host(load, env).out),
      { v: "first", ts: false },
      "the cache was not used",
    );

    fs.writeFileSync(file, 'export const value: string = "edited";\n');
    assert.deepStrictEqual(JSON.parse(host(load, env).out), { v: "edited", ts: true });
    assert.deepStrictEqual(
      JSON.parse(host(load, env).out),
      { v: "edited", ts: false },
      "the edited file's entry was not used",
    );
  });

  it("keeps one cache entry per file: a new version's entry replaces the earlier ones, other files' stay", () => {
    const first = path.join(scratch, "first.ts");
    const second = path.join(scratch, "second.ts");
    const load = `console.log(require(${JSON.stringify(first)}).v + require(${JSON.stringify(second)}).v);`;
    const env = { REGISTRY_ACCESS_TS_CACHE: cache };
    fs.writeFileSync(first, "export const v: number = 1;\n");
    fs.writeFileSync(second, "export const v: number = 10;\n");
    assert.strictEqual(host(load, env).out, "11\n");
    const before = entries(cache).sort();
    assert.strictEqual(before.length, 2);
    // An entry in the loader's first format (the key alone) is removed with the next write.
    const legacy = `${"ab".repeat(32)}.json`;
    fs.writeFileSync(path.join(cache, legacy), "{}");
    for (const v of [2, 3]) {
      fs.writeFileSync(first, `export const v: number = ${v};\n`);
      assert.strictEqual(host(load, env).out, `${v + 10}\n`);
    }
    const after = entries(cache).sort();
    assert.strictEqual(after.length, 2, after.join(", "));
    const secondEntry = before.filter((n) => after.includes(n));
    assert.strictEqual(secondEntry.length, 1, "the unchanged file's entry was removed or rewritten");
    assert.ok(!after.includes(legacy), "the first format's entry stayed");
  });

  it("compiles again over a cache entry that is not whole, and runs when the cache cannot be written", () => {
    const file = path.join(scratch, "value.ts");
    fs.writeFileSync(file, "export const value: number = 42;\n");
    const load = `console.log(require(${JSON.stringify(file)}).value);`;
    assert.strictEqual(host(load, { REGISTRY_ACCESS_TS_CACHE: cache }).out, "42\n");
    const [entry] = entries(cache);
    fs.writeFileSync(path.join(cache, entry), '{"code":"module.exports.value = ');
    assert.strictEqual(host(load, { REGISTRY_ACCESS_TS_CACHE: cache }).out, "42\n");

    const notAFolder = path.join(cache, "file");
    fs.writeFileSync(notAFolder, "");
    const run = host(load, { REGISTRY_ACCESS_TS_CACHE: path.join(notAFolder, "cache") });
    assert.strictEqual(run.out, "42\n", run.err);
  });

  it("only transpiles by default; PULUMI_NODEJS_TRANSPILE_ONLY=false type-checks through ts-node", () => {
    const file = path.join(scratch, "typeError.ts");
    fs.writeFileSync(file, 'export const value: number = "not a number";\n');
    const load = `console.log(require(${JSON.stringify(file)}).value);`;
    assert.strictEqual(host(load, { REGISTRY_ACCESS_TS_CACHE: cache }).out, "not a number\n");
    const checked = host(load, { REGISTRY_ACCESS_TS_CACHE: cache, PULUMI_NODEJS_TRANSPILE_ONLY: "false" });
    assert.notStrictEqual(checked.status, 0);
    assert.match(checked.err, /TS2322: Type 'string' is not assignable to type 'number'/);
  });

  it("fails on a syntax error with the file, line and message, as ts-node did, and caches nothing", () => {
    const file = path.join(scratch, "syntax.ts");
    fs.writeFileSync(file, "export const value = {\n  a: 1,\n;\n");
    const run = host(`require(${JSON.stringify(file)});`, { REGISTRY_ACCESS_TS_CACHE: cache });
    assert.notStrictEqual(run.status, 0);
    const shown = path.relative(ROOT, file);
    assert.match(
      run.err,
      new RegExp(
        `^TSError: ⨯ Unable to compile TypeScript:\\n${shown.replace(/[.]/g, "\\.")}\\(3,1\\): error TS1136: Property assignment expected\\.$`,
        "m",
      ),
    );
    assert.deepStrictEqual(entries(cache), []);
  });

  it("loading the program takes azure-native's submodules only, not its index (0.6 s of start-up)", () => {
    const run = host(
      `require(${JSON.stringify(path.join(ROOT, "index.ts"))});\n` +
        "const loaded = Object.keys(require.cache).filter((k) => k.includes('/node_modules/@pulumi/azure-native/'));\n" +
        "console.log(JSON.stringify(loaded.map((k) => k.replace(/.*\\/@pulumi\\/azure-native\\//, '')).sort()));",
      { REGISTRY_ACCESS_TS_CACHE: cache },
    );
    const loaded: string[] = JSON.parse(run.out || "null") ?? assert.fail(run.err);
    assert.ok(!loaded.includes("index.js"), `azure-native's index was loaded: ${loaded.join(", ")}`);
    // Each submodule takes its own enums (types/enums/<module>/), never the types of every module.
    assert.ok(!loaded.includes("types/index.js"), "azure-native's types of every module were loaded");
    for (const m of ["containerregistry", "authorization", "managedidentity", "keyvault", "resources"]) {
      assert.ok(loaded.includes(`${m}/index.js`), `${m} missing from ${loaded.join(", ")}`);
    }
  });

  it("leaves .ts files of dependencies to node's own loader", () => {
    const run = host(
      'const { isProjectFile } = require("./loader/register.js");\n' +
        "console.log(JSON.stringify([" +
        `isProjectFile(${JSON.stringify(path.join(ROOT, "index.ts"))}), ` +
        `isProjectFile(${JSON.stringify(path.join(ROOT, "components", "x.ts"))}), ` +
        `isProjectFile(${JSON.stringify(path.join(ROOT, "node_modules", "dep", "x.ts"))}), ` +
        `isProjectFile(${JSON.stringify(`${ROOT}-other/index.ts`)})]))`,
    );
    assert.strictEqual(run.out, "[true,true,false,false]\n", run.err);
  });
});
