/**
 * The real External Secrets Operator controller (v0.16.2, built by scripts/e2e/toolchain.sh) against the local
 * cluster of the end-to-end tests: its CRDs applied server-side, the controller started as a process with the
 * cluster's admin kubeconfig, and stopped (that process only) afterwards.
 *
 * What runs is ESO's own `main.go`: the ExternalSecret, generator and store reconcilers, its Go templates (sprig)
 * and its Secret writes. Left out: the webhook and cert controller (`external-secrets webhook|certcontroller`,
 * which need TLS and a Service the apiserver can reach), leader election (one replica) and metrics (`--metrics-addr
 * 0` turns the listener off, so nothing binds a port). The CRDs of config/crds/bases declare no conversion webhook
 * (the Helm chart adds one); ExternalSecret v1 is the storage version and v1beta1 is served beside it.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { e2eEnv, kubectl } from "./harness";

export const ESO_VERSION = "v0.16.2";
export const ESO_BINARY = "external-secrets";

/** The controller binary on the e2e PATH (toolchain.sh puts its cache folder last), or undefined. */
export function esoBinary(): string | undefined {
  for (const dir of (e2eEnv().PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, ESO_BINARY);
    if (dir !== "" && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The CRD files toolchain.sh copied from the module's config/crds/bases: `crds/` beside the binary's `bin/`. */
export function esoCrdFiles(binary: string): string[] {
  const dir = path.join(path.dirname(binary), "..", "crds");
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")) : [];
  if (!files.some((f) => f === "external-secrets.io_externalsecrets.yaml")) {
    throw new Error(
      `${dir} lacks ESO's CRDs: delete ${path.dirname(dir)} and run scripts/e2e/toolchain.sh to build it again`,
    );
  }
  return files.sort().map((f) => path.join(dir, f));
}

/** Applies every CRD (server-side: the ExternalSecret CRD is too large for the last-applied annotation). */
export async function installEsoCrds(binary: string): Promise<string[]> {
  const args = esoCrdFiles(binary).flatMap((f) => ["-f", f]);
  const out = await kubectl(
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=registry-access-e2e",
    ...args,
    "-o",
    "name",
  );
  const names = out.split("\n").filter((l) => l !== "");
  await kubectl("wait", "--for=condition=Established", "--timeout=60s", ...names);
  return names;
}

export interface EsoController {
  /** Milliseconds from spawn until every reconciler the tests use had started its workers. */
  readonly startMs: number;
  /** Everything the controller printed so far. */
  log(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** The controllers whose "Starting workers" line means ESO is ready for what the tests declare. */
const READY_CONTROLLERS = ["externalsecret"];

/** Starts the controller and waits (at most `timeoutMs`) until its ExternalSecret reconciler runs. */
export async function startEso(binary: string, timeoutMs = 60_000): Promise<EsoController> {
  const started = Date.now();
  const child: ChildProcess = spawn(
    binary,
    ["--metrics-addr=0", "--enable-leader-election=false", "--loglevel=info", "--concurrent=2"],
    {
      env: e2eEnv(), // KUBECONFIG: controller-runtime reads it when no --kubeconfig is given
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString("utf8")));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const killOnExit = (): void => {
    if (!exited) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exit;
    clearTimeout(timer);
  };
  const ready = (): boolean =>
    READY_CONTROLLERS.every((c) =>
      output
        .split("\n")
        .some((line) => line.includes("Starting workers") && line.includes(`"controller":"${c}"`)),
    );
  const until = started + timeoutMs;
  while (!ready()) {
    if (exited || Date.now() > until) {
      await stop();
      throw new Error(
        `the ESO controller (${binary}) ${exited ? `exited (${String(child.exitCode)})` : `was not ready after ${timeoutMs} ms`}; ` +
          `its output:\n${output.slice(-4000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { startMs: Date.now() - started, log: () => output, stop };
}
