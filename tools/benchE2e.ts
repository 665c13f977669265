/**
 * `npm run bench:e2e`: the program through the real engine against the local kube-apiserver, side by side with
 * the seed recipe's loop (../shared/reference/imagepullsecrets-per-namespace.md), at N = 50 and N = 200
 * namespaces with one static registry. Both start from namespaces that already exist (the recipe assumes them;
 * the program adopts them).
 *
 * Reports the wall time of each, a no-change `pulumi preview` and `pulumi up` at the largest N, and the peak
 * resident memory of the language host's Node.js process (the program). One run; the machine is shared, so
 * quote ratios from one run only.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { copyProgram, e2eEnv, kubeContext, kubectl, newStack, setSecret } from "../test/e2e/support/harness";

const run = promisify(execFile);
const SIZES = (process.env.BENCH_E2E_SIZES ?? "50,200").split(",").map(Number);
/** `pulumi up`/`preview --parallel`; unset, the CLI's default (8 on this machine, as `pulumi up --help` shows). */
const PARALLEL = process.env.BENCH_E2E_PARALLEL;
if (PARALLEL !== undefined && !/^[1-9][0-9]*$/.test(PARALLEL)) {
  throw new Error(`BENCH_E2E_PARALLEL must be a positive whole number, got ${JSON.stringify(PARALLEL)}`);
}
const parallel = PARALLEL === undefined ? [] : ["--parallel", PARALLEL];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Create namespaces in batches (not timed): both contenders start from them. */
async function createNamespaces(names: readonly string[]): Promise<void> {
  const manifest = names
    .map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`)
    .join("---\n");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-bench-e2e-"));
  fs.writeFileSync(path.join(dir, "ns.yaml"), manifest);
  try {
    await kubectl("apply", "-f", path.join(dir, "ns.yaml"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // The recipe patches `default`: wait until the controller manager has made one in every namespace.
  for (;;) {
    const out = await kubectl(
      "get",
      "serviceaccounts",
      "-A",
      "--field-selector=metadata.name=default",
      "-o",
      "custom-columns=NS:.metadata.namespace",
      "--no-headers",
    );
    const have = new Set(out.split("\n"));
    if (names.every((n) => have.has(n))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function deleteNamespaces(names: readonly string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 50) {
    await kubectl("delete", "namespace", "--wait=false", "--ignore-not-found", ...names.slice(i, i + 50));
  }
}

/** The recipe, as teams run it: one `kubectl create secret` and one `kubectl patch` per namespace, in order. */
async function recipeLoop(names: readonly string[]): Promise<number> {
  const start = Date.now();
  for (const ns of names) {
    await kubectl(
      "create",
      "secret",
      "docker-registry",
      "regcred",
      `--namespace=${ns}`,
      "--docker-server=registry.example.com",
      "--docker-username=bench",
      "--docker-password=bench-password",
    );
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      `--namespace=${ns}`,
      "-p",
      '{"imagePullSecrets":[{"name":"regcred"}]}',
    );
  }
  return Date.now() - start;
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks). */
export function cpuSeconds(stat: string, ticksPerSecond = 100): number {
  // The command name (field 2) may hold spaces and parentheses: the fields after it start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * Runs `pulumi` and samples the language host's node process while it runs: its peak RSS (VmHWM) and its CPU
 * time (the last sample of each process, summed), which the machine's load changes less than wall time.
 */
async function pulumiTimed(
  workDir: string,
  args: string[],
): Promise<{ ms: number; peakKiB: number; cpuS: number }> {
  const start = Date.now();
  const child = spawn("pulumi", [...args, "--non-interactive"], {
    cwd: workDir,
    env: e2eEnv(),
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += String(d)));
  let peakKiB = 0;
  const cpu = new Map<string, number>();
  const sampler = setInterval(() => {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (!cmdline.includes("@pulumi/pulumi/cmd/run") || !cmdline.includes(workDir)) continue;
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]));
        cpu.set(pid, cpuSeconds(fs.readFileSync(`/proc/${pid}/stat`, "utf8")));
      } catch {
        // the process ended between the listing and the read
      }
    }
  }, 200);
  const code: number = await new Promise((r) => child.once("exit", (c) => r(c ?? 1)));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${code}: ${stderr}`);
  return { ms: Date.now() - start, peakKiB, cpuS: [...cpu.values()].reduce((a, b) => a + b, 0) };
}

async function main(): Promise<void> {
  e2eEnv();
  console.log(
    `bench:e2e on ${kubeContext()} (one run; sizes ${SIZES.join(", ")}; --parallel ${PARALLEL ?? "default"})`,
  );
  const rows: string[] = [];
  for (const n of SIZES) {
    const tag = `b${n}`;
    const loopNames = Array.from({ length: n }, (_, i) => `bench-${tag}-loop-${i}`);
    const programNames = Array.from({ length: n }, (_, i) => `bench-${tag}-prog-${i}`);
    await createNamespaces([...loopNames, ...programNames]);

    const loopMs = await recipeLoop(loopNames);

    const workDir = copyProgram();
    const stackName = `bench-${tag}`;
    await newStack(workDir, stackName, {
      "kubernetes:context": kubeContext(),
      "registry-access:registries": {
        example: { type: "static", server: "registry.example.com", username: "bench" },
      },
      "registry-access:namespaces": Object.fromEntries(
        programNames.map((ns) => [ns, { registries: { example: {} } }]),
      ),
    });
    await setSecret(workDir, stackName, "registries.example.password", "bench-password");
    const upArgs = ["up", "--yes", "--skip-preview", "--stack", stackName, ...parallel];
    const up = await pulumiTimed(workDir, upArgs);
    rows.push(
      `N=${n}: recipe loop ${seconds(loopMs)}; pulumi up ${seconds(up.ms)} ` +
        `(${(up.ms / loopMs).toFixed(2)}x the loop); language host peak RSS ${(up.peakKiB / 1024).toFixed(0)} MiB, ` +
        `CPU ${up.cpuS.toFixed(1)} s; load average ${os.loadavg()[0].toFixed(1)}`,
    );
    console.log(rows[rows.length - 1]);
    if (n === Math.max(...SIZES)) {
      const preview = await pulumiTimed(workDir, [
        "preview",
        "--stack",
        stackName,
        "--expect-no-changes",
        ...parallel,
      ]);
      const again = await pulumiTimed(workDir, upArgs);
      rows.push(
        `N=${n}: no-change preview ${seconds(preview.ms)} (target under 30 s); no-change up ${seconds(again.ms)}; ` +
          `peak RSS ${(preview.peakKiB / 1024).toFixed(0)} / ${(again.peakKiB / 1024).toFixed(0)} MiB; ` +
          `language host CPU ${preview.cpuS.toFixed(1)} / ${again.cpuS.toFixed(1)} s; load average ${os.loadavg()[0].toFixed(1)}`,
      );
      console.log(rows[rows.length - 1]);
    }
    await run("pulumi", ["stack", "rm", "--force", "--yes", "--stack", stackName, "--non-interactive"], {
      cwd: workDir,
      env: e2eEnv(),
    }).catch(() => undefined);
    await deleteNamespaces([...loopNames, ...programNames]);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  console.log(`\nsummary\n${rows.join("\n")}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
