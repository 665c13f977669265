/**
 * `npm run -s profile:e2e` (issue 17): one `pulumi up` at N namespaces (PROFILE_E2E_N, default 200) through the
 * real engine against the local cluster, with every profile the style guide names, written to PROFILE_E2E_DIR:
 *   engine.*.cpu          the CLI's Go CPU profile (`pulumi up --profiling`), read with `go tool pprof -top`;
 *   up.trace              the engine's trace (`--tracing file:`), read with `pulumi view-trace`;
 *   node/*.cpuprofile     the language host's Node.js CPU profile (`node --cpu-prof`, through the runtime's
 *                         `nodeargs` in the copy's Pulumi.yaml: Node 20 refuses --cpu-prof in NODE_OPTIONS);
 *   apiserver requests    by verb and resource, from the API server's apiserver_request_total before and after.
 * Then, unless PROFILE_E2E_NO_CHANGE=0, the same for a no-change `pulumi preview` and a no-change `pulumi up`, each
 * in its own folder (PROFILE_E2E_DIR/up, /preview, /again). Each run also prints the CPU seconds of every process
 * of the engine, its plugins and the cluster. PROFILE_E2E_PROFILERS=0 runs without the three profilers, whose own
 * cost (the engine's tracing above all) distorts those CPU figures.
 * PULUMI_SKIP_CHECKPOINTS from the environment (the fast path's true unless set), to compare the two.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { cpuSeconds } from "./benchE2e";
import { copyProgram, e2eEnv, kubeContext, kubectl, newStack, setSecret } from "../test/e2e/support/harness";

const run = promisify(execFile);
const N = Number(process.env.PROFILE_E2E_N ?? "200");
const OUT = path.resolve(process.env.PROFILE_E2E_DIR ?? "profile-e2e");
/** PROFILE_E2E_PROFILERS=0: no profiler (they cost CPU themselves), only CPU by process and API requests. */
const PROFILERS = process.env.PROFILE_E2E_PROFILERS !== "0";

/** apiserver_request_total summed by verb and resource (the cluster's metrics endpoint, with the admin token). */
async function requestCounts(): Promise<Map<string, number>> {
  const text = await kubectl("get", "--raw", "/metrics");
  const counts = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="([^"]*)"/.exec(line)?.[1] ?? "";
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? "";
    const key = `${verb} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return counts;
}

/** Self time of a .cpuprofile by where the code comes from: the program, ts-node/typescript, the SDK, Node. */
function nodeBreakdown(file: string): Record<string, number> {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as {
    nodes: { id: number; callFrame: { url: string; functionName: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const ms: Record<string, number> = {};
  profile.samples.forEach((id, i) => {
    const { url, functionName } = byId.get(id) ?? { url: "", functionName: "" };
    const bucket =
      functionName === "(idle)" || functionName === "(program)" || functionName === "(garbage collector)"
        ? functionName
        : /node_modules\/(typescript|ts-node)\//.test(url)
          ? "typescript/ts-node"
          : /node_modules\/@pulumi\/pulumi\//.test(url)
            ? "@pulumi/pulumi (runtime, serialization)"
            : /node_modules\/@grpc\//.test(url)
              ? "@grpc (gRPC to the engine)"
              : /node_modules\/google-protobuf\//.test(url)
                ? "google-protobuf"
                : /node_modules\//.test(url)
                  ? "other node_modules"
                  : url.startsWith("node:") || url === ""
                    ? "Node.js internals"
                    : "the program (index.ts, components/)";
    ms[bucket] = (ms[bucket] ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000;
  });
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v)]));
}

/** What a process is, for the CPU table: the language host and a dynamic provider are both `node`. */
function processLabel(pid: string): string | undefined {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const joined = cmdline.join(" ");
    if (joined.includes("@pulumi/pulumi/cmd/run")) return "language host (node)";
    if (joined.includes("@pulumi/pulumi/cmd/dynamic-provider")) return "dynamic provider (node)";
    const name = path.basename(cmdline[0] ?? "");
    return /^(pulumi|pulumi-.*|kube-apiserver|kube-controller-manager|etcd|external-secrets)$/.test(name)
      ? name
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds by process during a run: every process of the engine, its plugins and the cluster, sampled from
 * /proc every 200 ms (the last sample of a process that ends counts), minus what each had used at the start.
 */
function cpuSampler(): { stop: () => Map<string, number> } {
  const first = new Map<string, number>();
  const last = new Map<string, { label: string; cpu: number }>();
  const sample = (initial: boolean): void => {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      const known = last.get(pid);
      const label = known?.label ?? processLabel(pid);
      if (label === undefined) continue;
      try {
        const cpu = cpuSeconds(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
        if (initial) first.set(pid, cpu);
        last.set(pid, { label, cpu });
      } catch {
        // the process ended between the listing and the read
      }
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), 200);
  return {
    stop: () => {
      clearInterval(timer);
      sample(false);
      const by = new Map<string, number>();
      const count = new Map<string, number>();
      for (const [pid, { label, cpu }] of last) {
        by.set(label, (by.get(label) ?? 0) + cpu - (first.get(pid) ?? 0));
        if (!first.has(pid)) count.set(label, (count.get(label) ?? 0) + 1);
      }
      // "language host (node) x2": two processes of that kind started during the run.
      const named = (label: string): string =>
        (count.get(label) ?? 0) > 1 ? `${label} x${count.get(label)}` : label;
      return new Map([...by].map(([label, cpu]) => [named(label), cpu]));
    },
  };
}

async function main(): Promise<void> {
  const env = e2eEnv();
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(path.join(OUT, "node"), { recursive: true });
  const names = Array.from({ length: N }, (_, i) => `profile-${i}`);
  await kubectl("delete", "namespace", "--ignore-not-found", "--wait=true", ...names);
  const workDir = copyProgram();
  const stackName = `profile-${N}`;
  await newStack(workDir, stackName, {
    "kubernetes:context": kubeContext(),
    "registry-access:registries": {
      example: { type: "static", server: "registry.example.com", username: "p" },
    },
    "registry-access:namespaces": Object.fromEntries(
      names.map((ns) => [ns, { registries: { example: {} } }]),
    ),
  });
  await setSecret(workDir, stackName, "registries.example.password", "profile-password");
  const yaml = await import("yaml");
  const projectFile = path.join(workDir, "Pulumi.yaml");
  const projectText = fs.readFileSync(projectFile, "utf8");
  // Each run: the engine's CPU profile and trace, the language host's CPU profile and the API server's requests,
  // in its own folder. With PROFILE_E2E_NO_CHANGE=1 (default), after the up a no-change preview and a no-change up.
  const profiled = async (label: string, args: string[]): Promise<void> => {
    const dir = path.join(OUT, label);
    fs.mkdirSync(path.join(dir, "node"), { recursive: true });
    const project = yaml.parse(projectText);
    // After the project's own node arguments (loader/register.js).
    if (PROFILERS)
      project.runtime.options.nodeargs =
        `${project.runtime.options.nodeargs ?? ""} --cpu-prof --cpu-prof-dir=${path.join(dir, "node")}`.trim();
    fs.writeFileSync(projectFile, yaml.stringify(project));
    const before = await requestCounts();
    const sampler = cpuSampler();
    const start = Date.now();
    const child = spawn(
      "pulumi",
      [
        ...args,
        "--stack",
        stackName,
        "--non-interactive",
        ...(PROFILERS
          ? ["--profiling", path.join(dir, "engine"), "--tracing", `file:${path.join(dir, `${label}.trace`)}`]
          : []),
      ],
      { cwd: workDir, env, stdio: ["ignore", fs.openSync(path.join(dir, `${label}.log`), "w"), "inherit"] },
    );
    const code = await new Promise((r) => child.once("exit", r));
    const ms = Date.now() - start;
    const cpu = [...sampler.stop()].sort((a, b) => b[1] - a[1]);
    if (code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${code}`);
    const after = await requestCounts();
    const requests = [...after]
      .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
      .filter(([, v]) => v > 0)
      .sort((a, b) => b[1] - a[1]);
    const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log(
      `N=${N} PULUMI_SKIP_CHECKPOINTS=${env.PULUMI_SKIP_CHECKPOINTS}: ${label} (pulumi ${args.join(" ")}) ` +
        `${(ms / 1000).toFixed(1)} s; load ${load}`,
    );
    console.log(`CPU seconds by process: ${cpu.map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}`);
    console.log(
      `API server requests during the ${label} (total ${requests.reduce((s, [, v]) => s + v, 0)}):`,
    );
    for (const [k, v] of requests)
      console.log(`  ${v.toString().padStart(6)}  ${k}  (${(v / N).toFixed(2)} per namespace)`);
    for (const f of fs.readdirSync(path.join(dir, "node"))) {
      console.log(
        `node ${f}: self time in ms by origin ${JSON.stringify(nodeBreakdown(path.join(dir, "node", f)))}`,
      );
    }
  };
  await profiled("up", ["up", "--yes", "--skip-preview"]);
  if (process.env.PROFILE_E2E_NO_CHANGE !== "0") {
    await profiled("preview", ["preview", "--expect-no-changes"]);
    await profiled("again", ["up", "--yes", "--skip-preview"]);
  }
  await run("pulumi", ["stack", "rm", "--force", "--yes", "--stack", stackName, "--non-interactive"], {
    cwd: workDir,
    env,
  }).catch(() => undefined);
  await kubectl("delete", "namespace", "--ignore-not-found", "--wait=false", ...names);
  fs.rmSync(workDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
