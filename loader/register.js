"use strict";
/**
 * How `pulumi up`, `preview` and `refresh` load the TypeScript program (issue 17): Pulumi.yaml sets the runtime's
 * `typescript: false` and `nodeargs: --require ./loader/register.js`, so @pulumi/pulumi's cmd/run does not start
 * ts-node and this hook compiles each .ts file of the project instead.
 *
 * Why not ts-node (measured in docs/performance.md):
 * - ts-node installs its own source-map-support (@cspotcode/source-map-support) as Error.prepareStackTrace, and
 *   the SDK reads `new Error().stack` for every resource it registers (its source position): 6.2 s at N = 200.
 *   Here the SDK's own source-map-support (which cmd/run installs anyway) maps the frames, with the maps of the
 *   project's files handed to it from this hook.
 * - ts-node loads TypeScript and transpiles every file on every run, preview and update each (3.6 s plus module
 *   loading). Here the output is cached by content under node_modules/.cache/registry-access-ts: a run that
 *   finds every file in the cache never loads TypeScript.
 *
 * What stays true:
 * - No stale build: the cache key is the file's path and contents, tsconfig.json and the TypeScript version, so
 *   an edited .ts file is compiled again on the next run. There is no build step to forget.
 * - Type errors: this hook only transpiles, as PULUMI_NODEJS_TRANSPILE_ONLY=true did; `npm run build` and CI
 *   type-check. PULUMI_NODEJS_TRANSPILE_ONLY=false asks for the type-checked run: the hook then hands the
 *   project to ts-node with type-checking, as the SDK would.
 * - Production dependencies alone: it needs `typescript` (a dependency) only when a file is not in the cache.
 * - Errors point to the .ts file and line: the source maps go to source-map-support.
 * - An unwritable cache (a read-only node_modules) only costs the compile: the hook then works without it.
 * - The cache stays small: writing a file's new entry removes the entries of its earlier versions.
 */
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");

/** The project: the folder above this one. */
const PROJECT = path.resolve(__dirname, "..");
const TSCONFIG = path.join(PROJECT, "tsconfig.json");

/** The cache folder, node_modules/.cache/registry-access-ts of the project (REGISTRY_ACCESS_TS_CACHE for tests). */
function cacheDir() {
  return (
    process.env.REGISTRY_ACCESS_TS_CACHE ?? path.join(PROJECT, "node_modules", ".cache", "registry-access-ts")
  );
}

/** Everything besides the file itself that decides the output; read once. */
let context;
function compileContext() {
  if (context === undefined) {
    const tsVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;
    // This file is part of the key too: a change to how it compiles recompiles everything.
    context = [fs.readFileSync(__filename, "utf8"), tsVersion, fs.readFileSync(TSCONFIG, "utf8")].join("\0");
  }
  return context;
}

/** The cache key of one file: its path, its contents and the compile context. */
function cacheKey(filename, source) {
  return crypto
    .createHash("sha256")
    .update(compileContext())
    .update("\0")
    .update(filename)
    .update("\0")
    .update(source)
    .digest("hex");
}

/** The compiler options of tsconfig.json, for CommonJS output with a separate source map. Loads TypeScript. */
let options;
function compilerOptions(ts) {
  if (options === undefined) {
    const read = ts.readConfigFile(TSCONFIG, ts.sys.readFile);
    if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, "\n"));
    const parsed = ts.convertCompilerOptionsFromJson(read.config.compilerOptions ?? {}, PROJECT, TSCONFIG);
    if (parsed.errors.length > 0) {
      throw new Error(
        parsed.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n"),
      );
    }
    options = {
      ...parsed.options,
      module: ts.ModuleKind.CommonJS,
      sourceMap: true,
      inlineSourceMap: false,
      inlineSources: false,
      declaration: false,
      noEmit: false,
    };
  }
  return options;
}

/** Transpiles one file: `{ code, map }`, the map as JSON text. */
function transpile(filename, source) {
  const ts = require("typescript");
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: compilerOptions(ts),
    reportDiagnostics: true,
  });
  // Syntax errors (transpiling reports no type errors): fail as ts-node does, with a TSError, whose message
  // cmd/run prints without a stack.
  if (out.diagnostics.length > 0) {
    const host = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => PROJECT,
      getNewLine: () => "\n",
    };
    const error = new Error(
      `⨯ Unable to compile TypeScript:\n${ts.formatDiagnostics(out.diagnostics, host)}`,
    );
    error.name = "TSError";
    throw error;
  }
  // The map travels through retrieveSourceMap below, not through a file next to the output.
  const code = out.outputText.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
  // TypeScript names the source relative to the working folder; source-map-support resolves it from the file.
  const map = JSON.parse(out.sourceMapText);
  map.sources = [filename];
  delete map.sourceRoot;
  return { code, map: JSON.stringify(map) };
}

/**
 * The cache file of one file's output: a prefix from its path alone, then the full key. The prefix lets a new entry
 * replace the entries of earlier versions of the same file, so the cache holds one entry per source file.
 */
function cacheFile(filename, source) {
  const prefix = crypto.createHash("sha256").update(filename).digest("hex").slice(0, 16);
  return { prefix, file: path.join(cacheDir(), `${prefix}-${cacheKey(filename, source)}.json`) };
}

/**
 * Removes the entries of earlier versions of a file (same prefix), once its new entry is written, and any entry of
 * the loader's first format (the key alone, no prefix), which nothing reads any more.
 */
function prune(prefix, keep) {
  for (const name of fs.readdirSync(cacheDir())) {
    const earlier = name.startsWith(`${prefix}-`) && name.endsWith(".json") && name !== path.basename(keep);
    if (earlier || /^[0-9a-f]{64}\.json$/.test(name)) {
      try {
        fs.unlinkSync(path.join(cacheDir(), name));
      } catch {
        // another run removed it first
      }
    }
  }
}

/** The output for one file, from the cache or freshly compiled (and then cached). */
function compile(filename, source) {
  const { prefix, file } = cacheFile(filename, source);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    // not cached yet (or unreadable): compile
  }
  const out = transpile(filename, source);
  try {
    fs.mkdirSync(cacheDir(), { recursive: true });
    // Written whole then renamed: a run that reads it at the same time sees the old state or the new, never half.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(out));
    fs.renameSync(tmp, file);
    prune(prefix, file);
  } catch {
    // read-only node_modules: run uncached
  }
  return out;
}

/** Source maps of the files this hook compiled, by file name, for source-map-support. */
const maps = new Map();

/** The source-map-support that @pulumi/pulumi's cmd/run installs (`require("source-map-support/register")`). */
function sdkSourceMapSupport() {
  const run = path.join(
    path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [PROJECT] })),
    "cmd",
    "run",
  );
  return require(require.resolve("source-map-support", { paths: [run] }));
}

/**
 * Error.prepareStackTrace: the project's frames mapped to the .ts file and line, every other frame as V8 formats
 * it. The SDK reads `new Error().stack` about 33 times per resource (its source position, and every
 * `debuggablePromise` in runtime/debuggable.js): 25,904 stacks of 240,336 frames at N = 200. source-map-support
 * clones and maps every one of those frames (3 s at N = 200); most are in node_modules, where a mapped position
 * would only name the SDK's own .ts sources.
 */
function prepareStackTrace(support, error, frames) {
  // The header as source-map-support writes it.
  let out = `${error.name || "Error"}: ${error.message || ""}`;
  for (const frame of frames) {
    const file = frame.getFileName();
    out += `\n    at ${file !== undefined && file !== null && maps.has(file) ? mappedFrame(support, frame) : frame}`;
  }
  return out;
}

/**
 * A project frame as source-map-support maps it, by V8's own text of the frame (function, file, line, column):
 * the same few call sites (the components' constructors) are on most of the SDK's stacks, so each is mapped once
 * per process, not once per stack (1.5 s of the language host's CPU at N = 200, profiled).
 */
const mapped = new Map();
function mappedFrame(support, frame) {
  const raw = String(frame);
  let text = mapped.get(raw);
  if (text === undefined) {
    text = String(support.wrapCallSite(frame));
    mapped.set(raw, text);
  }
  return text;
}

/**
 * Hands the maps to the SDK's source-map-support, then puts the formatter above in its place. source-map-support
 * installs its formatter once per process: when cmd/run's `register` comes after this hook, it keeps ours.
 */
function installSourceMaps() {
  const support = sdkSourceMapSupport();
  support.install({
    retrieveSourceMap(source) {
      const map = maps.get(source);
      return map === undefined ? null : { url: source, map };
    },
  });
  Error.prepareStackTrace = function registryAccessPrepareStackTrace(error, frames) {
    return prepareStackTrace(support, error, frames);
  };
}

/** Whether `filename` is one of the project's own TypeScript files (not a dependency's). */
function isProjectFile(filename) {
  return filename.startsWith(PROJECT + path.sep) && !filename.includes(`${path.sep}node_modules${path.sep}`);
}

/**
 * The SDK's `debuggablePromise` (runtime/debuggable.js) records `new Error().stack` on every promise it wraps, about
 * 32 per resource, and reads it only to print leaked promises when PULUMI_DEBUG_PROMISE_LEAKS is set. Unless that
 * variable is set, it records an empty stack (Error.stackTraceLimit 0 for the call): the leak check, its message and
 * the exit code stay; the capture (1.5 s of the language host's CPU at N = 200, profiled) goes. The SDK's modules
 * call it through their `require("./debuggable")` object, so replacing the export reaches every call.
 */
function skipUnreadPromiseStacks() {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return;
  let debuggable;
  try {
    debuggable = require(require.resolve("@pulumi/pulumi/runtime/debuggable", { paths: [PROJECT] }));
  } catch {
    return; // no SDK next to the project: nothing to do
  }
  const original = debuggable.debuggablePromise;
  if (typeof original !== "function") return;
  debuggable.debuggablePromise = function debuggablePromise(p, ctx) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return original(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

/**
 * V8's compile cache (`module.enableCompileCache`, Node.js 22.1 and later) for every module loaded after this
 * hook: @pulumi/pulumi, @pulumi/kubernetes, gRPC, @kubernetes/client-node and the program. Compiling them was about
 * 1.2 s of each run's start-up at N = 200, profiled. Node keys each entry by the module's source, so an edited or
 * upgraded module is compiled again; NODE_DISABLE_COMPILE_CACHE=1 turns it off, as for Node itself.
 */
function enableCompileCache() {
  const { enableCompileCache: enable } = Module;
  if (typeof enable !== "function" || process.env.NODE_DISABLE_COMPILE_CACHE) return;
  try {
    enable(path.join(cacheDir(), "v8"));
  } catch {
    // an unwritable cache only costs the compile
  }
}

function register() {
  enableCompileCache();
  skipUnreadPromiseStacks();
  if (process.env.PULUMI_NODEJS_TRANSPILE_ONLY === "false") {
    // The type-checked run, as the SDK's own ts-node registration does it (cmd/run/run.js).
    require("ts-node").register({ project: TSCONFIG, transpileOnly: false });
    return;
  }
  installSourceMaps();
  const jsLoader = Module._extensions[".js"];
  Module._extensions[".ts"] = function loadTypeScript(module, filename) {
    if (!isProjectFile(filename)) return jsLoader(module, filename);
    const { code, map } = compile(filename, fs.readFileSync(filename, "utf8"));
    maps.set(filename, map);
    module._compile(code, filename);
  };
}

register();

module.exports = { cacheKey, compile, cacheDir, isProjectFile };
