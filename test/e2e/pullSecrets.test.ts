/**
 * Pull secrets on service accounts through the real engine, the real Kubernetes provider and a real kube-apiserver:
 * other teams' entries survive (issue 16, item 6), an upgrade from the server-side-apply patch leaves no moment
 * without the pull secret, and every fix verify prints repairs what it names when followed (issue 18, item 1).
 * The scenarios share one stack and run in order.
 */
import * as assert from "assert";
import * as k8s from "@kubernetes/client-node";
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { dockerConfigJson } from "../../components/dockerConfig";
import { RunningRegistry, startRegistry } from "../support/registryServer";
import {
  copyProgram,
  core,
  e2eEnv,
  eventually,
  exportState,
  kubeConfig,
  kubeContext,
  kubectl,
  newStack,
  pulumiCli,
  ROOT,
  setSecret,
} from "./support/harness";

const STACK = "e2e-sa";
const PASSWORD = "e2e-sa-canary-4c1f0b";
const ADOPTED = "e2e-sa-adopt";
const MADE = "e2e-sa-made";
const run = promisify(execFile);

async function pullSecretNames(namespace: string, account: string): Promise<string[]> {
  const sa = await core().readNamespacedServiceAccount({ name: account, namespace });
  return (sa.imagePullSecrets ?? []).map((s) => s.name ?? "");
}

/** The program as it was before the add-only provider: the commit before the one that removed the SSA patch. */
function previousProgram(workDir: string): void {
  const removed = execFileSync(
    "git",
    ["log", "-1", "--format=%H", "-S", "ServiceAccountPatch", "--", "components/NamespaceRegistryAccess.ts"],
    { cwd: ROOT, encoding: "utf8" },
  ).trim();
  const archive = execFileSync("git", ["archive", `${removed}^`, "index.ts", "components"], { cwd: ROOT });
  fs.rmSync(path.join(workDir, "components"), { recursive: true, force: true });
  execFileSync("tar", ["-x", "-C", workDir], { input: archive });
  assert.match(
    fs.readFileSync(path.join(workDir, "components", "NamespaceRegistryAccess.ts"), "utf8"),
    /ServiceAccountPatch/,
  );
}

function currentProgram(workDir: string): void {
  fs.rmSync(path.join(workDir, "components"), { recursive: true, force: true });
  for (const f of ["index.ts", "components"]) {
    fs.cpSync(path.join(ROOT, f), path.join(workDir, f), { recursive: true });
  }
}

/** Every imagePullSecrets list the API server reported for `account` in `namespace`, until stopped. */
async function watchLists(namespace: string, account: string): Promise<{ seen: string[][]; stop(): void }> {
  const seen: string[][] = [];
  const request = await new k8s.Watch(kubeConfig()).watch(
    `/api/v1/namespaces/${namespace}/serviceaccounts`,
    { fieldSelector: `metadata.name=${account}` },
    (_type, obj: k8s.V1ServiceAccount) => seen.push((obj.imagePullSecrets ?? []).map((s) => s.name ?? "")),
    () => undefined,
  );
  return { seen, stop: () => request.abort() };
}

/** npm run verify for the stack; resolves with the exit code and the report. */
async function verify(workDir: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        path.join(ROOT, "tools", "verify.ts"),
        "--stack",
        STACK,
        "--project-dir",
        workDir,
      ],
      { cwd: ROOT, env: e2eEnv() },
    );
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

describe("pull secrets on service accounts, for real (issues 16.6, 18.1)", function () {
  this.timeout(20 * 60_000);
  let workDir: string;
  let stack: Stack;
  let registry: RunningRegistry;
  let namespaces: Record<string, unknown>;

  function stackConfig(): Record<string, unknown> {
    return {
      "kubernetes:context": kubeContext(),
      "registry-access:secretName": "regcred",
      "registry-access:registries": {
        local: { type: "static", server: registry.server, username: "bot" },
      },
      "registry-access:namespaces": namespaces,
    };
  }

  async function writeNamespaces(next: Record<string, unknown>): Promise<void> {
    namespaces = next;
    const yaml = await import("yaml");
    const file = path.join(workDir, `Pulumi.${STACK}.yaml`);
    const doc = yaml.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config["registry-access:namespaces"] = next;
    fs.writeFileSync(file, yaml.stringify(doc));
  }

  before(async function () {
    this.timeout(75 * 60_000); // a cold toolchain build
    e2eEnv();
    registry = await startRegistry({ users: { bot: PASSWORD } });
    workDir = copyProgram();
    for (const ns of [ADOPTED, MADE]) {
      await kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s");
    }
    await kubectl("create", "namespace", ADOPTED);
    await eventually("the default account of the adopted namespace", () =>
      pullSecretNames(ADOPTED, "default").then(() => true),
    );
    namespaces = {
      [ADOPTED]: { registries: { local: {} } },
      [MADE]: { registries: { local: {} }, serviceAccounts: ["default", { name: "builder", create: true }] },
    };
  });

  after(async () => {
    await registry?.stop();
  });

  it("1. upgrades from the server-side-apply patch with no moment without the pull secret", async () => {
    previousProgram(workDir);
    stack = await newStack(workDir, STACK, stackConfig());
    (stack.workspace as LocalWorkspace).envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    await setSecret(workDir, STACK, "registries.local.password", PASSWORD);
    await stack.up();
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), ["regcred"]);
    assert.match(await exportState(workDir, STACK), /kubernetes:core\/v1:ServiceAccountPatch/);

    // Another team appends its own entry.
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      `--namespace=${ADOPTED}`,
      "--type=json",
      "-p",
      '[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"team-b-pull"}}]',
    );
    currentProgram(workDir);
    const watch = await watchLists(ADOPTED, "default");
    try {
      const up = await stack.up();
      assert.strictEqual(up.summary.result, "succeeded");
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      watch.stop();
    }
    for (const list of watch.seen) assert.ok(list.includes("regcred"), `a moment without regcred: ${list}`);
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), ["regcred", "team-b-pull"]);
    const state = await exportState(workDir, STACK);
    assert.doesNotMatch(state, /ServiceAccountPatch/);
    assert.match(state, /registry-access:ServiceAccountPullSecrets/);
    // A refreshed preview sees nothing to do, and the program's own accounts keep their exact list.
    await stack.preview({ refresh: true, expectNoChanges: true });
    assert.deepStrictEqual(await pullSecretNames(MADE, "builder"), ["regcred"]);
  });

  it("2. keeps another team's entry when its own entry drifted and its list changed (issue 16, item 6)", async () => {
    // What dropped team-b-pull before: the program's own entry removed by hand, and a change to its list.
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      `--namespace=${ADOPTED}`,
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/imagePullSecrets/0"}]',
    );
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), ["team-b-pull"]);
    await writeNamespaces({
      ...namespaces,
      [ADOPTED]: { registries: { local: {} }, extraImagePullSecrets: ["vendor-pull"] },
    });
    await stack.up({ refresh: true });
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), [
      "team-b-pull",
      "regcred",
      "vendor-pull",
    ]);
    const sa = await core().readNamespacedServiceAccount({ name: "default", namespace: ADOPTED });
    assert.ok(
      (sa.metadata?.managedFields ?? []).some((m) => m.manager === `registry-access-${STACK}`),
      JSON.stringify(sa.metadata?.managedFields),
    );
  });

  it("3. removes only its own entry when it leaves the stack's list", async () => {
    await writeNamespaces({ ...namespaces, [ADOPTED]: { registries: { local: {} } } });
    await stack.up();
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), ["team-b-pull", "regcred"]);
  });

  it("4. a plain up puts back the pull secret removed from an adopted account (issue 18, item 1)", async () => {
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      `--namespace=${ADOPTED}`,
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/imagePullSecrets"}]',
    );
    const preview = await stack.preview();
    assert.strictEqual(preview.changeSummary.update, 1, JSON.stringify(preview.changeSummary));
    await stack.up();
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), ["regcred"]);
  });

  it("5. every fix verify prints repairs what it names: followed as printed, verify passes (issue 18, item 1)", async () => {
    assert.strictEqual((await verify(workDir)).code, 0, (await verify(workDir)).stdout);
    // Drift by hand: the adopted account loses its list, the created one too, and the pull secret is tampered.
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      `--namespace=${ADOPTED}`,
      "-p",
      '{"imagePullSecrets":null}',
    );
    await kubectl(
      "patch",
      "serviceaccount",
      "builder",
      `--namespace=${MADE}`,
      "-p",
      '{"imagePullSecrets":null}',
    );
    const tampered = dockerConfigJson([
      { server: registry.server, username: "bot", password: "not-the-password" },
    ]);
    await kubectl(
      "patch",
      "secret",
      "regcred",
      `--namespace=${MADE}`,
      "-p",
      JSON.stringify({ data: { ".dockerconfigjson": Buffer.from(tampered).toString("base64") } }),
    );
    const broken = await verify(workDir);
    assert.strictEqual(broken.code, 1, broken.stdout);
    const fixes = broken.stdout
      .split("\n")
      .filter((l) => l.trimStart().startsWith("fix: "))
      .map((l) => l.trim());
    assert.deepStrictEqual(
      [...new Set(fixes)].sort(),
      [
        `fix: run \`pulumi up --refresh --stack ${STACK}\``,
        `fix: secret regcred was changed after this stack wrote it (by kubectl-patch): run \`pulumi up --refresh --stack ${STACK}\` to write the stack's credentials back`,
      ],
      broken.stdout,
    );
    // Follow each printed command as it is written.
    const commands = new Set(fixes.flatMap((f) => [...f.matchAll(/`(pulumi [^`]+)`/g)].map((m) => m[1])));
    assert.deepStrictEqual([...commands], [`pulumi up --refresh --stack ${STACK}`]);
    for (const command of commands) {
      await pulumiCli(workDir, [...command.split(" ").slice(1), "--yes"], {
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      });
    }
    const repaired = await verify(workDir);
    assert.strictEqual(repaired.code, 0, repaired.stdout);
    assert.deepStrictEqual(await pullSecretNames(MADE, "builder"), ["regcred"]);
    assert.deepStrictEqual(await pullSecretNames(ADOPTED, "default"), ["regcred"]);
  });

  it("6. a preview refuses a namespace that is Terminating, naming it and the fix (issue 16, item 11)", async () => {
    const dying = "e2e-sa-dying";
    await kubectl("delete", "namespace", dying, "--ignore-not-found", "--wait=false");
    await eventually(
      "the namespace to be gone",
      async () =>
        (await kubectl("get", "namespace", "-o", "name")).includes(`namespace/${dying}`) ? undefined : true,
      120_000,
    );
    await kubectl("create", "namespace", dying);
    // A finalizer on an object inside holds the namespace in Terminating until it is removed.
    await kubectl("create", "configmap", "hold", `--namespace=${dying}`);
    await kubectl(
      "patch",
      "configmap",
      "hold",
      `--namespace=${dying}`,
      "-p",
      '{"metadata":{"finalizers":["e2e.example.com/hold"]}}',
    );
    await kubectl("delete", "namespace", dying, "--wait=false");
    try {
      await eventually(
        "Terminating",
        async () =>
          (await core().readNamespace({ name: dying })).status?.phase === "Terminating" || undefined,
      );
      await writeNamespaces({ ...namespaces, [dying]: { registries: { local: {} } } });
      const err = await pulumiCli(workDir, ["preview", "--stack", STACK], {
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      }).then(
        () => assert.fail("the preview passed"),
        (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
      );
      assert.ok(
        err.includes(
          `namespaces.${dying}: namespace ${dying} is Terminating: Kubernetes is deleting it, and \`pulumi up\` ` +
            `cannot write into it. Wait until \`kubectl get namespace ${dying}\` answers NotFound, then run ` +
            `\`pulumi up\` to create it again; or remove namespaces.${dying} from the stack`,
        ),
        err,
      );
      assert.doesNotMatch(err, /at async|unhandled exception/, err);
    } finally {
      await kubectl(
        "patch",
        "configmap",
        "hold",
        `--namespace=${dying}`,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
      ).catch(() => "");
      const { [dying]: _gone, ...rest } = namespaces;
      void _gone;
      await writeNamespaces(rest);
    }
  });
});
