/**
 * `npm run -s profile:e2e` (issue 17): one `pulumi up` at N namespaces (PROFILE_E2E_N, default 200) through the
 * real engine against the local cluster, with every profile the style guide names, written to PROFILE_E2E_DIR:
 *   engine.*.cpu          the CLI's Go CPU profile (`pulumi up --profiling`), read with `go tool pprof -top`;
 *   up.trace              the engine's trace (`--tracing file:`), read with `pulumi view-trace`;
 *   node/*.cpuprofile     the language host's Node.js CPU profile (`node --cpu-prof`, through the runtime's
 *                         `nodeargs` in the copy's Pulumi.yaml: Node 20 refuses --cpu-prof in NODE_OPTIONS);
 *   apiserver requests    by verb and resource, from the API server's apiserver_request_total before and after.
 * PULUMI_SKIP_CHECKPOINTS from the environment (the fast path's true unless set), to compare the two.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { copyProgram, e2eEnv, kubeContext, kubectl, newStack, setSecret } from "../test/e2e/support/harness";

const run = promisify(execFile);
const N = Number(process.env.PROFILE_E2E_N ?? "200");
const OUT = path.resolve(process.env.PROFILE_E2E_DIR ?? "profile-e2e");

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
  const project = yaml.parse(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8"));
  // After the project's own node arguments (loader/register.js).
  project.runtime.options.nodeargs =
    `${project.runtime.options.nodeargs ?? ""} --cpu-prof --cpu-prof-dir=${path.join(OUT, "node")}`.trim();
  fs.writeFileSync(path.join(workDir, "Pulumi.yaml"), yaml.stringify(project));
  const before = await requestCounts();
  const start = Date.now();
  const args = ["up", "--yes", "--skip-preview", "--stack", stackName, "--non-interactive"];
  const child = spawn(
    "pulumi",
    [...args, "--profiling", path.join(OUT, "engine"), "--tracing", `file:${path.join(OUT, "up.trace")}`],
    {
      cwd: workDir,
      env,
      stdio: ["ignore", fs.openSync(path.join(OUT, "up.log"), "w"), "inherit"],
    },
  );
  const code = await new Promise((r) => child.once("exit", r));
  const ms = Date.now() - start;
  if (code !== 0) throw new Error(`pulumi up exited ${code}`);
  const after = await requestCounts();
  const requests = [...after]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1]);
  const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(
    `N=${N} PULUMI_SKIP_CHECKPOINTS=${env.PULUMI_SKIP_CHECKPOINTS}: up ${(ms / 1000).toFixed(1)} s; load ${load}`,
  );
  console.log(`API server requests during the up (total ${requests.reduce((s, [, v]) => s + v, 0)}):`);
  for (const [k, v] of requests)
    console.log(`  ${v.toString().padStart(6)}  ${k}  (${(v / N).toFixed(2)} per namespace)`);
  for (const f of fs.readdirSync(path.join(OUT, "node"))) {
    console.log(
      `node ${f}: self time in ms by origin ${JSON.stringify(nodeBreakdown(path.join(OUT, "node", f)))}`,
    );
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
