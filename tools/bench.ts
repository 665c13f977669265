/**
 * npm run bench: the program under Pulumi's mock runtime at scale, against the SDK's own cost and against a
 * one-namespace-at-a-time script. Each scenario runs in its own process, so heap figures do not mix.
 *
 * The scenarios run as JavaScript compiled by tsc: under ts-node, source-map-support rewrites every stack trace
 * that the SDK captures for each resource, which would measure ts-node rather than the program.
 *
 *   npm run bench                 all scenarios
 *   npm run bench -- --scenario program --namespaces 100 [--delay-ms 25] [--registries acr]   one scenario
 *                                 (used internally)
 *
 * The compiled tree lives in a temporary directory (registry-access-bench-*) for one run, and is removed when
 * the run ends: done, failed or interrupted.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, Recorder, runProgram, stackConfig } from "./mockRuntime";

interface Result {
  scenario: string;
  namespaces: number;
  resources: number;
  ms: number;
  heapMB: number;
  /** The scenario process's peak resident set (its high-water mark, from the kernel). */
  rssMB: number;
}

/** What each namespace pulls from: two static registries, or an ACR registry (a token each) and Docker Hub. */
export type BenchRegistries = "static" | "acr";

/**
 * N namespaces, two static registries each (the case the targets are set for), or an ACR registry and Docker Hub
 * each: the ACR registry adds a token per namespace (scope map, token, password, rotation offset), so 9 resources instead of 4.
 */
export function benchConfig(
  namespaces: number,
  registries: BenchRegistries = "static",
): Record<string, unknown> {
  const ns: Record<string, unknown> = {};
  for (let i = 0; i < namespaces; i++) {
    ns[`team-${i}`] = {
      registries:
        registries === "acr"
          ? { acr: { repositories: [`team-${i}/*`] }, dockerhub: {} }
          : { dockerhub: {}, ghcr: {} },
    };
  }
  return stackConfig({
    registries: {
      dockerhub: { type: "static", server: "docker.io", username: "bot", password: "bench-hub" },
      ...(registries === "acr"
        ? { acr: { type: "acr", server: "benchregistry.azurecr.io", resourceGroup: "rg-bench" } }
        : { ghcr: { type: "static", server: "ghcr.io", username: "bot", password: "bench-ghcr" } }),
    },
    namespaces: ns,
  });
}

function heapMB(): number {
  (global as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function scenario(
  name: string,
  namespaces: number,
  delayMs: number,
  resources: number,
  registries: BenchRegistries = "static",
): Promise<Result> {
  // Load the SDKs first: the figures are about declaring resources, not about reading node_modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../components/NamespaceRegistryAccess");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("@pulumi/random");
  const before = heapMB();
  const start = process.hrtime.bigint();
  let count = 0;
  if (name === "program") {
    const run = await runProgram(benchConfig(namespaces, registries), { stack: "bench", delayMs });
    count = run.recorder.resources.filter((r) => !r.type.startsWith("pulumi:providers:")).length;
  } else if (name === "sdk") {
    // The SDK's own cost: as many trivial resources, no program logic.
    const recorder = new Recorder();
    const settled = await installMocks(recorder, { delayMs });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const random = require("@pulumi/random") as typeof import("@pulumi/random");
    const outputs: pulumi.Output<string>[] = [];
    for (let i = 0; i < resources; i++) {
      outputs.push(new random.RandomString(`r-${i}`, { length: 16, special: false }).id);
    }
    await new Promise<void>((resolve) => pulumi.all(outputs).apply(() => resolve()));
    await settled();
    count = recorder.resources.length;
  } else if (name === "script") {
    // The kubectl loop: one namespace at a time, one call at a time (create ns, create secret, patch sa).
    for (let i = 0; i < namespaces; i++) {
      for (let call = 0; call < 3; call++) await new Promise((r) => setTimeout(r, delayMs));
      count += 3;
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const rssMB = process.resourceUsage().maxRSS / 1024;
  return { scenario: name, namespaces, resources: count, ms, heapMB: heapMB() - before, rssMB };
}

/** The prefix of the temporary directory each run compiles into. */
export const COMPILED_PREFIX = "registry-access-bench-";

/** Compile the bench and the program into a new temporary directory; the scenarios run from there. */
function compile(): string {
  const root = path.resolve(__dirname, "..");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), COMPILED_PREFIX));
  try {
    const tsconfig = path.join(out, "tsconfig.json");
    fs.writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: path.join(root, "tsconfig.json"),
        compilerOptions: {
          outDir: out,
          rootDir: root,
          noEmit: false,
          sourceMap: false,
          typeRoots: [path.join(root, "node_modules", "@types")],
        },
        files: [path.join(root, "tools", "bench.ts"), path.join(root, "index.ts")],
        include: [],
      }),
    );
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", tsconfig], {
      stdio: "inherit",
    });
    // The compiled tree resolves @pulumi/* from the project's node_modules.
    fs.symlinkSync(path.join(root, "node_modules"), path.join(out, "node_modules"), "dir");
    return out;
  } catch (error) {
    fs.rmSync(out, { recursive: true, force: true });
    throw error;
  }
}

function runChild(
  compiled: string,
  name: string,
  namespaces: number,
  delayMs = 0,
  resources = 0,
  registries: BenchRegistries = "static",
): Result {
  const out = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      path.join(compiled, "tools", "bench.js"),
      "--scenario",
      name,
      "--namespaces",
      String(namespaces),
      "--delay-ms",
      String(delayMs),
      "--resources",
      String(resources),
      "--registries",
      registries,
    ],
    { cwd: compiled, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(out.trim().split("\n").pop()!) as Result;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export interface BenchOptions {
  /** Namespace counts measured against the SDK's own cost. */
  readonly sizes: readonly number[];
  /** Namespace counts measured with an ACR registry and Docker Hub each. Defaults to `sizes`. */
  readonly acrSizes?: readonly number[];
  /** The comparison with the sequential script: how many namespaces, and how long every call takes. */
  readonly sequential: { readonly namespaces: number; readonly delayMs: number };
  readonly log: (line: string) => void;
  /** Told where the compiled tree is, once it is built (tests). */
  readonly onCompiled?: (dir: string) => void;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  sizes: [100, 1000],
  sequential: { namespaces: 150, delayMs: 25 },
  log: (line) => console.log(line),
};

/**
 * Every scenario, from one compiled tree that is removed at the end, whatever happens: an error, or Ctrl-C
 * (the signal also stops the scenario's process, and the removal runs before this one exits).
 */
export async function runBench(options: BenchOptions = DEFAULT_OPTIONS): Promise<void> {
  const { log } = options;
  const compiled = compile();
  options.onCompiled?.(compiled);
  const remove = () => fs.rmSync(compiled, { recursive: true, force: true });
  const interrupted = (signal: NodeJS.Signals) => {
    remove();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    const fmt = (n: number, d = 0) => n.toFixed(d);
    log("registry-access bench (Pulumi mock runtime; two static registries per namespace)\n");
    log(
      "namespaces  resources  per-ns  program ms  heap MB  peak RSS MB | sdk ms (same count)  heap MB | ratio",
    );
    // The columns both tables start with: size, resources, resources per namespace, time, heap kept, peak RSS.
    const programColumns = (
      n: number,
      r: { resources: number; ms: number; heapMB: number; rssMB: number },
    ) => [
      String(n).padStart(10),
      String(r.resources).padStart(10),
      fmt(r.resources / n, 2).padStart(7),
      fmt(r.ms).padStart(11),
      fmt(r.heapMB, 1).padStart(8),
      fmt(r.rssMB).padStart(12),
    ];
    for (const n of options.sizes) {
      const program = runChild(compiled, "program", n);
      const sdk = runChild(compiled, "sdk", n, 0, program.resources);
      log(
        [
          ...programColumns(n, program),
          "|",
          fmt(sdk.ms).padStart(19),
          fmt(sdk.heapMB, 1).padStart(8),
          "|",
          `${fmt(program.ms / sdk.ms, 2)}x`.padStart(6),
        ].join(" "),
      );
    }
    // What an ACR namespace costs: its token's four resources (with the rotation offset), their outputs and the password's dynamic provider.
    log("\nACR: one ACR registry (a token per namespace) and Docker Hub per namespace");
    log("namespaces  resources  per-ns  program ms  heap MB  peak RSS MB  heap KB/ns");
    for (const n of options.acrSizes ?? options.sizes) {
      const acr = runChild(compiled, "program", n, 0, 0, "acr");
      log([...programColumns(n, acr), fmt((acr.heapMB * 1024) / n).padStart(11)].join(" "));
    }
    const { namespaces: n, delayMs: delay } = options.sequential;
    const parallel = runChild(compiled, "program", n, delay);
    const script = runChild(compiled, "script", n, delay);
    log(
      `\n${n} namespaces, every resource or kubectl call takes ${delay} ms:` +
        `\n  sequential script  ${fmt(script.ms)} ms (${script.resources} calls)` +
        `\n  program            ${fmt(parallel.ms)} ms (${parallel.resources} resources)` +
        `\n  speed-up           ${fmt(script.ms / parallel.ms, 1)}x`,
    );
    log("\ntargets: <= 4 resources per namespace, <= 1.5x the SDK's own cost, >= 5x the sequential script");
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    remove();
  }
}

async function main(): Promise<void> {
  const only = arg("scenario");
  if (only) {
    const result = await scenario(
      only,
      Number(arg("namespaces")),
      Number(arg("delay-ms") ?? 0),
      Number(arg("resources") ?? 0),
      arg("registries") === "acr" ? "acr" : "static",
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  await runBench();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
