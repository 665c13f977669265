/**
 * The end-to-end harness: the real Pulumi CLI and engine (through the Automation API), the real Kubernetes
 * provider and a real kube-apiserver, all on this machine (scripts/e2e). Nothing here is mocked.
 *
 * By default it runs `scripts/e2e/env.sh`, which builds the toolchain when the cache is cold and starts or reuses
 * the local cluster. With REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER=1 (the `e2e` workflow on kind) it takes `pulumi`,
 * KUBECONFIG and the backend from the environment as they are.
 */
import * as k8s from "@kubernetes/client-node";
import { ChildProcess, execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { TEST_BEARER_TOKEN } from "../../support/armServer";
export { canaryFindings } from "../../support/canaries";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
const run = promisify(execFile);

let cached: Record<string, string> | undefined;

/**
 * The fast path of every run the project controls, the defaults of scripts/e2e/pulumi-env.sh (which says why):
 * no type-check on each preview and up (`npm run build` and CI do it), and a self-managed backend that writes
 * the state once at the end of an update instead of after every step (pulumi/pulumi#10668). A value already in
 * the environment wins.
 */
export const FAST_PATH: Readonly<Record<string, string>> = {
  PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  PULUMI_SKIP_CHECKPOINTS: "true",
};

/** The environment of every pulumi and kubectl run: the toolchain on PATH, the cluster, a file backend. */
export function e2eEnv(): Record<string, string> {
  if (cached) return cached;
  let env: Record<string, string>;
  if (process.env.REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER) {
    env = { ...(process.env as Record<string, string>) };
  } else {
    const out = execFileSync(
      "bash",
      [
        "-c",
        // set -e: a failed build or cluster start fails here with its own message, not later as a missing variable.
        'set -e; exports="$(bash scripts/e2e/env.sh)"; eval "$exports"; ' +
          'node -e "process.stdout.write(JSON.stringify(process.env))"',
      ],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 16 << 20,
        // This process uses the cluster until it ends: `npm run e2e:down` and down:local leave it up meanwhile
        // (scripts/e2e/cluster.sh). Named after the npm script that runs it: test:e2e, bench:e2e, profile:e2e.
        env: {
          ...process.env,
          REGISTRY_ACCESS_E2E_USER: process.env.npm_lifecycle_event ?? "e2e",
          REGISTRY_ACCESS_E2E_USER_PID: String(process.pid),
        },
      },
    );
    env = JSON.parse(out.toString("utf8")) as Record<string, string>;
  }
  for (const key of ["KUBECONFIG", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"]) {
    if (!env[key]) throw new Error(`the e2e environment lacks ${key}`);
  }
  // On this machine nothing may try the network: no plugin downloads, no update check. An external cluster's
  // run (the e2e workflow, with the released CLI) may let the engine fetch the provider plugins it needs.
  if (!process.env.REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER)
    env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION = "true";
  env.PULUMI_SKIP_UPDATE_CHECK = "true";
  for (const [key, value] of Object.entries(FAST_PATH)) env[key] = env[key] ?? value;
  env.PULUMI_HOME = env.PULUMI_HOME ?? path.join(os.tmpdir(), "registry-access-e2e-pulumi-home");
  const backend = env.PULUMI_BACKEND_URL.replace(/^file:\/\//, "");
  fs.mkdirSync(backend, { recursive: true });
  // The Automation API finds `pulumi` (and checks its version) through this process's PATH.
  process.env.PATH = env.PATH;
  cached = env;
  return env;
}

/** The kube context the stacks use: the local cluster's `e2e`, or the current one of an external cluster. */
export function kubeContext(): string {
  const kc = kubeConfig();
  return kc.getCurrentContext();
}

export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(e2eEnv().KUBECONFIG);
  return kc;
}

export function core(): k8s.CoreV1Api {
  return kubeConfig().makeApiClient(k8s.CoreV1Api);
}

/** What a {@link pullSecretGate} saw. */
export interface PullSecretGate {
  /** Creations it holds unanswered: the run is stalled on them. */
  readonly held: () => number;
  /** Lets every held and later creation through, and removes the webhook. */
  readonly release: () => Promise<void>;
}

const GATE_NAME = "registry-access-e2e-pull-secret-gate";
const GATE_PROBE = "registry-access-e2e-gate-probe";

/**
 * A validating admission webhook on the local kube-apiserver that lets the first `allow` creations of `regcred`
 * in `names` through and holds each later one unanswered until {@link PullSecretGate.release}. A run stalls at
 * exactly `allow` pull secrets, so "kill mid-up" cannot race a fast up. It holds creations only: a pull secret
 * that already exists is applied as an update and passes. Dry runs pass at once and are not counted; the webhook fails open (`failurePolicy: Ignore`, 30 s), so a gate left behind cannot break a later
 * run. It serves the API server's own certificate, whose CA the kubeconfig names.
 *
 * Resolves only once the API server calls it (a dry-run probe in `default`). Undefined with an external
 * cluster, whose API server cannot reach this process.
 */
export async function pullSecretGate(
  names: readonly string[],
  allow: number,
): Promise<PullSecretGate | undefined> {
  if (process.env.REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER) return undefined;
  const pki = path.dirname(kubeConfig().getCurrentCluster()!.caFile!);
  const wanted = new Set(names);
  let admitted = 0;
  let probed = false;
  let open = false;
  const held: Array<() => void> = [];
  const server = https.createServer(
    {
      cert: fs.readFileSync(path.join(pki, "apiserver.crt")),
      key: fs.readFileSync(path.join(pki, "apiserver.key")),
    },
    (req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        const request = (JSON.parse(body) as { request: AdmissionRequest }).request;
        const answer = (): void => {
          res.setHeader("content-type", "application/json");
          res.end(
            JSON.stringify({
              apiVersion: "admission.k8s.io/v1",
              kind: "AdmissionReview",
              response: { uid: request.uid, allowed: true },
            }),
          );
        };
        if (request.name === GATE_PROBE) probed = true;
        const gated =
          !open &&
          !request.dryRun &&
          request.operation === "CREATE" &&
          request.name === "regcred" &&
          wanted.has(request.namespace ?? "");
        if (!gated) answer();
        else if (admitted < allow) {
          admitted++;
          answer();
        } else held.push(answer);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const admission = kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
  const release = async (): Promise<void> => {
    open = true;
    for (const answer of held.splice(0)) answer();
    await admission.deleteValidatingWebhookConfiguration({ name: GATE_NAME }).catch(() => undefined);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  try {
    await admission.deleteValidatingWebhookConfiguration({ name: GATE_NAME }).catch(() => undefined);
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: GATE_NAME },
        webhooks: [
          {
            name: "pull-secret-gate.registry-access-e2e.example",
            clientConfig: {
              url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
              caBundle: fs.readFileSync(path.join(pki, "ca.crt")).toString("base64"),
            },
            rules: [
              {
                operations: ["CREATE"],
                apiGroups: [""],
                apiVersions: ["v1"],
                resources: ["secrets"],
                scope: "Namespaced",
              },
            ],
            failurePolicy: "Ignore",
            sideEffects: "None",
            admissionReviewVersions: ["v1"],
            timeoutSeconds: 30,
          },
        ],
      },
    });
    // The API server picks a new webhook up a moment after it is created.
    await eventually(
      "the API server calling the pull-secret gate",
      async () => {
        await core().createNamespacedSecret({
          namespace: "default",
          body: { metadata: { name: GATE_PROBE }, stringData: { probe: "1" } },
          dryRun: "All",
        });
        return probed || undefined;
      },
      30_000,
      100,
    );
  } catch (err) {
    await release();
    throw err;
  }
  return { held: () => held.length, release };
}

interface AdmissionRequest {
  readonly uid: string;
  readonly operation: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly dryRun?: boolean;
}

/** kubectl against the e2e cluster; resolves with stdout. */
export async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run("kubectl", args, { env: e2eEnv(), maxBuffer: 16 << 20 });
  return stdout;
}

/** pulumi in a project folder; rejects with stdout and stderr in the message. */
export async function pulumiCli(
  workDir: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    // Flags go before a `--` that ends them (config set -- <value>).
    const end = args.indexOf("--");
    const argv =
      end < 0
        ? [...args, "--non-interactive"]
        : [...args.slice(0, end), "--non-interactive", ...args.slice(end)];
    return await run("pulumi", argv, {
      cwd: workDir,
      env: { ...e2eEnv(), ...extraEnv },
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number; message: string };
    throw Object.assign(new Error(`pulumi ${args.join(" ")} exited ${e.code}:\n${e.stdout}\n${e.stderr}`), {
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
      exitCode: e.code,
    });
  }
}

/**
 * A copy of the program in a fresh folder (what `pulumi up` loads: Pulumi.yaml, index.ts, components/, the
 * TypeScript loader in loader/, the tsconfig and package.json), with the project's node_modules linked in.
 */
export function copyProgram(
  files: readonly string[] = [
    "Pulumi.yaml",
    "index.ts",
    "components",
    "loader",
    "package.json",
    "tsconfig.json",
  ],
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-e2e-project-"));
  for (const f of files) fs.cpSync(path.join(ROOT, f), path.join(dir, f), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** A new stack of the project in `workDir`, its stack file written from `config` (plain values only). */
export async function newStack(
  workDir: string,
  stackName: string,
  config: Record<string, unknown>,
): Promise<Stack> {
  const env = e2eEnv();
  // A fresh stack every run: a stack left by an earlier run would remember objects that are gone. `stack rm`
  // also removes the stack file, so it is written after.
  // A killed run leaves the file backend's lock behind: `pulumi cancel` removes it.
  await pulumiCli(workDir, ["cancel", "--yes", "--stack", stackName]).catch(() => undefined);
  await pulumiCli(workDir, ["stack", "rm", "--force", "--yes", "--stack", stackName]).catch(() => undefined);
  const yaml = await import("yaml");
  fs.writeFileSync(path.join(workDir, `Pulumi.${stackName}.yaml`), yaml.stringify({ config }));
  const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir }, { workDir, envVars: env });
  return stack;
}

/** `pulumi config set --secret --path KEY VALUE`, as the README tells operators to set credentials. */
export async function setSecret(workDir: string, stack: string, key: string, value: string): Promise<void> {
  await pulumiCli(workDir, ["config", "set", "--stack", stack, "--secret", "--path", key, "--", value]);
}

/** Every string of an engine event stream, and the text output, to search for a canary. */
export class Transcript {
  readonly events: unknown[] = [];
  text = "";
  readonly onEvent = (e: unknown): void => {
    this.events.push(e);
  };
  readonly onOutput = (s: string): void => {
    this.text += s;
  };
  all(): string {
    return JSON.stringify(this.events) + this.text;
  }
}

/** Wait until `check` returns something truthy, or fail after `ms` with `what`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  ms = 60_000,
  intervalMs = 250,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A watch on every Secret in the cluster that records DELETED events, until stopped. */
export async function watchSecretDeletions(): Promise<{ deleted: string[]; stop(): void }> {
  const deleted: string[] = [];
  const watch = new k8s.Watch(kubeConfig());
  const request = await watch.watch(
    "/api/v1/secrets",
    {},
    (type, obj: k8s.V1Secret) => {
      if (type === "DELETED") deleted.push(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
    },
    () => undefined,
  );
  return { deleted, stop: () => request.abort() };
}

export function decodeDockerConfig(secret: k8s.V1Secret): string {
  return Buffer.from(secret.data?.[".dockerconfigjson"] ?? "", "base64").toString("utf8");
}

/** `pulumi stack export` as an operator runs it: secrets stay encrypted (the Automation API's export decrypts). */
export async function exportState(workDir: string, stack: string): Promise<string> {
  return (await pulumiCli(workDir, ["stack", "export", "--stack", stack])).stdout;
}

/** Every process below `pid` (children, grandchildren...), read from /proc: the CLI's plugins and their node. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The fields after the command's closing parenthesis: state, ppid, pgrp...
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // ended between the listing and the read
    }
  }
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

/** The processes that run in `dir` (their working directory), with their command lines: a run's plugins. */
export function processesIn(dir: string): string[] {
  const real = fs.realpathSync(dir);
  const found: string[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/cwd`) !== real) continue;
      found.push(`${entry}: ${fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim()}`);
    } catch {
      // ended, or not ours to read
    }
  }
  return found;
}

/**
 * SIGKILL a `pulumi` started with `detached: true` the way a crashed runner or the OOM killer ends a job: its
 * process group, and every process below it that left the group, with no chance to clean up. Resolves when the
 * CLI has exited.
 */
export async function killRun(child: ChildProcess): Promise<void> {
  const pid = child.pid!;
  const below = descendants(pid);
  const exited = child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once("exit", r));
  process.kill(-pid, "SIGKILL");
  for (const p of below) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // already gone with the group
    }
  }
  await exited;
}

/**
 * A folder that stands in for the Azure CLI before the local ARM server: an `az` that answers
 * `az account get-access-token` as the CLI does, with the server's token, and the server's CA certificate. Give it
 * to a stack with {@link signInThroughFakeAzureCli}.
 */
export function fakeAzureCli(arm: { readonly caPem: string }): string {
  const tools = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-e2e-az-"));
  fs.writeFileSync(
    path.join(tools, "az"),
    "#!/bin/sh\n# az account get-access-token, as the Azure CLI answers it, with the local ARM server's token.\n" +
      `echo '{"accessToken":"${TEST_BEARER_TOKEN}","expiresOn":"2099-01-01 00:00:00.000000","expires_on":"4070908800","tokenType":"Bearer"}'\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(tools, "arm-ca.pem"), arm.caPem);
  return tools;
}

/** Makes the providers of the stack's runs sign in through the {@link fakeAzureCli} folder `tools`, trusting its CA. */
export function signInThroughFakeAzureCli(stack: Stack, tools: string): void {
  const ws = stack.workspace as LocalWorkspace;
  ws.envVars.PATH = `${tools}:${ws.envVars.PATH}`;
  ws.envVars.NODE_EXTRA_CA_CERTS = path.join(tools, "arm-ca.pem");
  ws.envVars.AZURE_TOKEN_CREDENTIALS = "AzureCliCredential";
}

/**
 * A copy of the components with a test program of test/e2e/`dir`/index.ts, kept beside them as in this repository,
 * and a Pulumi.yaml of project `name` that runs it through ts-node.
 */
export function copyTestProgram(dir: string, name: string): string {
  const workDir = copyProgram(["components", "package.json", "tsconfig.json"]);
  const main = `test/e2e/${dir}/index.ts`;
  fs.mkdirSync(path.join(workDir, path.dirname(main)), { recursive: true });
  fs.copyFileSync(path.join(ROOT, main), path.join(workDir, main));
  fs.writeFileSync(
    path.join(workDir, "Pulumi.yaml"),
    `name: ${name}\nmain: ${main}\n` + "runtime:\n  name: nodejs\n  options:\n    typescript: true\n",
  );
  return workDir;
}
