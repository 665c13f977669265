/**
 * The program through the real engine, the real Kubernetes provider and a real kube-apiserver (issue 9).
 * The scenarios share one stack and run in order: each starts from what the one before left.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { dockerConfigJson } from "../../components/dockerConfig";
import {
  canaryFindings,
  copyProgram,
  core,
  exportState,
  decodeDockerConfig,
  e2eEnv,
  eventually,
  kubeContext,
  kubectl,
  killRun,
  newStack,
  processesIn,
  pullSecretGate,
  pulumiCli,
  setSecret,
  Transcript,
  watchSecretDeletions,
} from "./support/harness";

const STACK = "e2e";
const HUB_PASSWORD = "e2e-canary-hub-3f9a1c";
const HUB_PASSWORD_2 = "e2e-canary-hub-rotated-77d2e0";
/** A GCR JSON key: newlines, quotes and backslashes must reach the secret byte for byte. */
const GCR_KEY =
  '{\n  "type": "service_account",\n  "private_key": "-----BEGIN KEY-----\\ne2e-canary-gcr-51b0\\n-----END KEY-----\\n"\n}';
const CANARIES = [HUB_PASSWORD, HUB_PASSWORD_2, "e2e-canary-gcr-51b0"];

function config(namespaces: Record<string, unknown>): Record<string, unknown> {
  return {
    "kubernetes:context": kubeContext(),
    "registry-access:secretName": "regcred",
    "registry-access:registries": {
      dockerhub: { type: "static", server: "docker.io", username: "e2e-bot" },
      gcr: { type: "static", server: "gcr.io", username: "_json_key" },
    },
    "registry-access:namespaces": namespaces,
  };
}

const NAMESPACES = {
  // Set up by the kubectl recipe before the first `up`: adopted.
  "e2e-legacy": { registries: { dockerhub: {}, gcr: {} }, extraImagePullSecrets: ["vendor-pull"] },
  // Created by the program, with an account it creates.
  "e2e-apps": {
    registries: { dockerhub: {} },
    serviceAccounts: ["default", { name: "builder", create: true }],
  },
  // Leaves the config in scenario 5.
  "e2e-leaving": { registries: { gcr: {} } },
};

function expectedConfig(hubPassword: string, registries: readonly string[]): string {
  const all: Record<string, { server: string; username: string; password: string }> = {
    dockerhub: { server: "docker.io", username: "e2e-bot", password: hubPassword },
    gcr: { server: "gcr.io", username: "_json_key", password: GCR_KEY },
  };
  return dockerConfigJson(registries.map((r) => all[r]));
}

async function pullSecretNames(namespace: string, account: string): Promise<string[]> {
  const sa = await core().readNamespacedServiceAccount({ name: account, namespace });
  return (sa.imagePullSecrets ?? []).map((s) => s.name ?? "");
}

describe("pulumi up for real: engine, Kubernetes provider, kube-apiserver", function () {
  this.timeout(20 * 60_000);
  let workDir: string;
  let stack: Stack;
  const transcript = new Transcript();

  before(async function () {
    this.timeout(75 * 60_000); // a cold toolchain build
    e2eEnv();
    workDir = copyProgram();
    for (const ns of Object.keys(NAMESPACES)) {
      await kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=false");
    }
  });

  it("1. takes over a cluster set up by the kubectl recipe, and creates the rest", async () => {
    // The seed recipe (../shared/reference/imagepullsecrets-per-namespace.md), as teams run it today.
    await eventually("the namespace to be gone", async () =>
      (await kubectl("get", "namespace", "-o", "name")).includes("namespace/e2e-legacy") ? undefined : true,
    );
    await kubectl("create", "namespace", "e2e-legacy");
    await kubectl(
      "create",
      "secret",
      "docker-registry",
      "regcred",
      "--namespace=e2e-legacy",
      "--docker-server=docker.io",
      "--docker-username=old-bot",
      "--docker-password=old-password",
    );
    await eventually("the default account of e2e-legacy", () =>
      pullSecretNames("e2e-legacy", "default").then(() => true),
    );
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      "--namespace=e2e-legacy",
      "-p",
      '{"imagePullSecrets":[{"name":"regcred"},{"name":"vendor-pull"}]}',
    );
    const before = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-legacy" });

    stack = await newStack(workDir, STACK, config(NAMESPACES));
    // This one run type-checks, as an operator's `pulumi up` without the project's fast path does.
    (stack.workspace as LocalWorkspace).envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "false";
    // This one run also sends the SDK's debug messages, as an operator troubleshooting would: scenario 6 finds
    // them in the engine's events, and no credential in them.
    (stack.workspace as LocalWorkspace).envVars.REGISTRY_ACCESS_SDK_DEBUG_LOG = "1";
    await setSecret(workDir, STACK, "registries.dockerhub.password", HUB_PASSWORD);
    await setSecret(workDir, STACK, "registries.gcr.password", GCR_KEY);

    // The first preview of a brand-new stack reads its own (empty) last deployment through the engine.
    const preview = await stack.preview({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });
    assert.doesNotMatch(preview.stdout, /Could not read the last deployment/);
    // Type-checked by ts-node inside the real language host, as an operator's `pulumi up` does.
    const up = await stack.up({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });
    assert.strictEqual(up.summary.result, "succeeded");

    const adopted = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-legacy" });
    assert.strictEqual(adopted.metadata?.uid, before.metadata?.uid, "adopted in place, not re-created");
    assert.strictEqual(adopted.type, "kubernetes.io/dockerconfigjson");
    assert.strictEqual(decodeDockerConfig(adopted), expectedConfig(HUB_PASSWORD, ["dockerhub", "gcr"]));
    assert.ok(
      decodeDockerConfig(adopted).includes('"https://index.docker.io/v1/"'),
      "Docker Hub under its canonical key",
    );
    assert.deepStrictEqual(await pullSecretNames("e2e-legacy", "default"), ["regcred", "vendor-pull"]);

    const created = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-apps" });
    assert.strictEqual(decodeDockerConfig(created), expectedConfig(HUB_PASSWORD, ["dockerhub"]));
    assert.deepStrictEqual(await pullSecretNames("e2e-apps", "default"), ["regcred"]);
    assert.deepStrictEqual(await pullSecretNames("e2e-apps", "builder"), ["regcred"]);
    const ns = await core().readNamespace({ name: "e2e-apps" });
    assert.strictEqual(ns.status?.phase, "Active");
    // The rest of the scenarios take the fast path (harness FAST_PATH): no type-check at every run.
    (stack.workspace as LocalWorkspace).envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    delete (stack.workspace as LocalWorkspace).envVars.REGISTRY_ACCESS_SDK_DEBUG_LOG;
  });

  it("2. is idempotent: a preview right after up, and after a refresh, expects no changes", async () => {
    const events: unknown[] = [];
    await stack.preview({
      expectNoChanges: true,
      onEvent: (e) => {
        events.push(e);
        transcript.onEvent(e);
      },
      onOutput: transcript.onOutput,
    });
    // By default the SDK sends no debug message to the engine (REGISTRY_ACCESS_SDK_DEBUG_LOG unset), except the
    // three about the stack itself, which the SDK registers before it loads the program.
    const sdkDebug = events
      .map((e) => (e as EngineEvent).diagnosticEvent)
      .filter(
        (d) =>
          // The Automation API's type leaves "debug" out; the engine sends it.
          (d?.severity as string | undefined) === "debug" &&
          /^(Registering resource|\w+ RPC (prepared|finished))/.test(d?.message ?? ""),
      )
      .map((d) => d?.message ?? "");
    assert.strictEqual(sdkDebug.length, 3, sdkDebug.join(""));
    assert.deepStrictEqual(
      sdkDebug.filter((m) => !m.includes("pulumi:pulumi:Stack")),
      [],
    );
    await stack.refresh({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });
    const again = await stack.preview({
      expectNoChanges: true,
      onEvent: transcript.onEvent,
      onOutput: transcript.onOutput,
    });
    assert.doesNotMatch(again.stdout, /Could not read the last deployment/);
  });

  it("3. changes a credential in place: same uid, new data, no DELETED event", async () => {
    const before = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-apps" });
    const watch = await watchSecretDeletions();
    try {
      await setSecret(workDir, STACK, "registries.dockerhub.password", HUB_PASSWORD_2);
      await stack.up({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      watch.stop();
    }
    const after = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-apps" });
    assert.strictEqual(after.metadata?.uid, before.metadata?.uid);
    assert.strictEqual(decodeDockerConfig(after), expectedConfig(HUB_PASSWORD_2, ["dockerhub"]));
    assert.deepStrictEqual(watch.deleted, []);
  });

  it("4. repairs drift: regcred dropped from default by hand comes back with the next plain up", async () => {
    await kubectl(
      "patch",
      "serviceaccount",
      "default",
      "--namespace=e2e-legacy",
      "--type=json",
      "-p",
      '[{"op":"replace","path":"/imagePullSecrets","value":[{"name":"vendor-pull"}]}]',
    );
    assert.deepStrictEqual(await pullSecretNames("e2e-legacy", "default"), ["vendor-pull"]);
    // The add-only wiring of an adopted account reads the live list in its diff (issue 18, item 1): a plain
    // preview shows the drift, and a plain `up` appends regcred, keeping what the list holds.
    const plain = await stack.preview({ onEvent: transcript.onEvent });
    assert.strictEqual(plain.changeSummary.update, 1, JSON.stringify(plain.changeSummary));
    await stack.up({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });
    assert.deepStrictEqual(await pullSecretNames("e2e-legacy", "default"), ["vendor-pull", "regcred"]);
    await stack.preview({ refresh: true, expectNoChanges: true, onEvent: transcript.onEvent });
  });

  it("5. hands back a namespace that leaves the config: namespace, secret and wiring stay, untracked", async () => {
    const rest: Record<string, unknown> = { ...NAMESPACES };
    delete rest["e2e-leaving"];
    const yaml = await import("yaml");
    const file = path.join(workDir, `Pulumi.${STACK}.yaml`);
    const doc = yaml.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config["registry-access:namespaces"] = rest;
    fs.writeFileSync(file, yaml.stringify(doc));
    const secretBefore = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-leaving" });

    await stack.up({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });

    const ns = await core().readNamespace({ name: "e2e-leaving" });
    assert.strictEqual(ns.status?.phase, "Active");
    const secret = await core().readNamespacedSecret({ name: "regcred", namespace: "e2e-leaving" });
    assert.strictEqual(secret.metadata?.uid, secretBefore.metadata?.uid);
    assert.deepStrictEqual(await pullSecretNames("e2e-leaving", "default"), ["regcred"]);
    assert.doesNotMatch(await exportState(workDir, STACK), /e2e-leaving/);
  });

  it("6. keeps every credential out of plaintext: state, outputs, the engine's events", async () => {
    const exported = await exportState(workDir, STACK);
    const { stdout: outputs } = await pulumiCli(workDir, [
      "stack",
      "output",
      "--json",
      "--show-secrets=false",
      "--stack",
      STACK,
    ]);
    const backend = e2eEnv().PULUMI_BACKEND_URL.replace(/^file:\/\//, "");
    const files = fs
      .readdirSync(backend, { recursive: true })
      .map((f) => path.join(backend, String(f)))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    for (const canary of CANARIES) {
      for (const [where, text] of [
        ["stack export", exported],
        ["stack output", outputs],
        ["the backend's files", files],
        ["the engine's events and output", transcript.all()],
      ]) {
        assert.deepStrictEqual(canaryFindings(text, canary), [], `${canary} in plaintext in ${where}`);
      }
    }
    // Scenario 1 sent the SDK's debug messages (REGISTRY_ACCESS_SDK_DEBUG_LOG=1): they reached the engine's
    // events, each resource RPC's response cut.
    assert.match(
      transcript.all(),
      /RegisterResource RPC finished: [^"]*resp: \[not logged: it holds resource outputs/,
    );
    // The state holds the credentials only encrypted.
    assert.match(exported, /"ciphertext"/);
    assert.match(outputs, /"namespaces"/);
  });

  it("7. refuses a broken stack file with every problem and its path, creating nothing", async () => {
    const bad = await newStack(workDir, "e2e-bad", {
      "kubernetes:context": kubeContext(),
      "registry-access:registries": { hub: { type: "nexus", server: "docker.io" } },
      "registry-access:namespaces": {
        "e2e-never": { registries: { hub: {} } },
        Bad_NS: { registries: { missing: {} } },
      },
    });
    for (const command of [["preview"], ["up", "--yes"]]) {
      const err = await pulumiCli(workDir, [...command, "--stack", "e2e-bad"], {
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      }).then(
        () => assert.fail(`pulumi ${command[0]} accepted a broken stack file`),
        (e: { stdout: string; stderr: string; exitCode: number }) => e,
      );
      assert.notStrictEqual(err.exitCode, 0);
      const text = err.stdout + err.stderr;
      for (const p of ["registries.hub.type", "namespaces.Bad_NS", "namespaces.Bad_NS.registries.missing"]) {
        assert.ok(text.includes(p), `no problem at ${p} in:\n${text}`);
      }
      // A clean error: the problems, not an unhandled exception's stack trace.
      assert.doesNotMatch(text, /at async|unhandled exception/, text);
    }
    const state = await bad.exportStack();
    assert.deepStrictEqual((state.deployment as { resources?: unknown[] }).resources ?? [], []);
    await assert.rejects(core().readNamespace({ name: "e2e-never" }));
    await bad.workspace.removeStack("e2e-bad", { force: true });
  });

  it("8. previews after an up read the last deployment through the file backend", async () => {
    const preview = await stack.preview({ onEvent: transcript.onEvent, onOutput: transcript.onOutput });
    assert.doesNotMatch(preview.stdout, /Could not read the last deployment/);
    assert.strictEqual(preview.changeSummary.same !== undefined, true);
  });
});

/** How many of `names` have a namespace and a `regcred`, as the API server lists them. */
async function countCreated(names: readonly string[]): Promise<{ namespaces: number; secrets: number }> {
  const wanted = new Set(names);
  const namespaces = (await core().listNamespace()).items.filter((n) =>
    wanted.has(n.metadata?.name ?? ""),
  ).length;
  const secrets = (
    await core().listSecretForAllNamespaces({ fieldSelector: "metadata.name=regcred" })
  ).items.filter((s) => wanted.has(s.metadata?.namespace ?? "")).length;
  return { namespaces, secrets };
}

/**
 * Starts `pulumi up` of `stackName` in its own process group, kills the group (and every plugin below it) with
 * SIGKILL once `killAt` of `names` have their pull secret, and checks that nothing of that run is left running.
 * Resolves with what the API server held at the kill.
 *
 * On the local cluster a {@link pullSecretGate} holds every later pull secret's creation until the kill, so the
 * run is stalled at exactly `killAt` when it dies: a fast up cannot finish between a poll and the kill. (Two
 * clean-clone runs saw a 90-namespace up at --parallel 1 do that under CI load.) The gate holds creations only,
 * so the caller deletes `names` first, before it starts watching for deleted secrets: on a reused cluster an
 * earlier run's pull secrets were applied as updates, and the up ran through. An external cluster cannot call
 * the gate, and the kill follows the poll alone.
 */
async function upKilledAt(
  workDir: string,
  stackName: string,
  names: readonly string[],
  killAt: number,
  extraArgs: readonly string[] = [],
): Promise<{ namespaces: number; secrets: number }> {
  const gate = await pullSecretGate(names, killAt);
  let atKill: { namespaces: number; secrets: number };
  try {
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", stackName, ...extraArgs], {
      cwd: workDir,
      env: e2eEnv(),
      stdio: "ignore",
      detached: true,
    });
    await eventually(
      `${killAt} pull secrets`,
      async () => {
        if (child.exitCode !== null) return true; // failed below, with its exit code
        if (gate && gate.held() === 0) return undefined; // not yet at the gate
        return (await countCreated(names)).secrets >= killAt || undefined;
      },
      600_000,
      50,
    );
    assert.strictEqual(child.exitCode, null, `pulumi up ended (exit ${child.exitCode}) before the kill`);
    await killRun(child);
    atKill = await countCreated(names);
  } finally {
    await gate?.release();
  }
  // SIGKILL is delivered at once; give the kernel a moment to reap what it killed.
  await eventually(
    "no process of the killed run",
    async () => processesIn(workDir).length === 0 || undefined,
    10_000,
  ).catch(() => undefined);
  const left = processesIn(workDir);
  for (const line of left) process.kill(Number(line.split(":")[0]), "SIGKILL"); // stop what the test started
  assert.deepStrictEqual(left, [], "processes of the killed run still run");
  if (gate)
    assert.strictEqual(atKill.secrets, killAt, "pull secrets at the kill, with the gate holding the rest");
  return atKill;
}

/** The namespaces of a kill scenario: every one has `regcred` with the right data, and `default` lists it. */
async function assertAllWired(names: readonly string[]): Promise<void> {
  for (const ns of names) {
    const secret = await core().readNamespacedSecret({ name: "regcred", namespace: ns });
    assert.strictEqual(decodeDockerConfig(secret), expectedConfig(HUB_PASSWORD, ["dockerhub"]), ns);
    assert.deepStrictEqual(await pullSecretNames(ns, "default"), ["regcred"], ns);
  }
}

describe("an interrupted up converges, and no namespace loses its pull secret", function () {
  this.timeout(20 * 60_000);
  // 90 namespaces at --parallel 1: before the gate (upKilledAt), an up of 30 finished between the third secret and the kill.
  const names = Array.from({ length: 90 }, (_, i) => `e2e-kill-${i}`);

  it("10. SIGKILL mid-up, then refresh and up: every namespace ends wired, and no secret was deleted", async () => {
    // The fast path's PULUMI_SKIP_CHECKPOINTS: the killed up leaves the state of before it, not a checkpoint.
    assert.strictEqual(e2eEnv().PULUMI_SKIP_CHECKPOINTS, "true");
    // A reused cluster may hold an earlier run's namespaces, whose pull secrets would count at the kill.
    await kubectl("delete", "namespace", "--ignore-not-found", "--wait=true", ...names);
    const workDir = copyProgram();
    const namespaces = Object.fromEntries(names.map((n) => [n, { registries: { dockerhub: {} } }]));
    const stack = await newStack(workDir, "e2e-kill", config(namespaces));
    await setSecret(workDir, "e2e-kill", "registries.dockerhub.password", HUB_PASSWORD);
    await setSecret(workDir, "e2e-kill", "registries.gcr.password", GCR_KEY);
    const watch = await watchSecretDeletions();
    try {
      const partial = await upKilledAt(workDir, "e2e-kill", names, 3, ["--parallel", "1"]);
      assert.ok(
        partial.secrets < names.length,
        `the up finished before the kill (${partial.secrets} secrets)`,
      );

      // A killed update leaves the lock, and with checkpoints pending operations, which refresh clears.
      await pulumiCli(workDir, ["cancel", "--yes", "--stack", "e2e-kill"]).catch(() => undefined);
      await stack.refresh({ clearPendingCreates: true });
      const up = await stack.up();
      assert.strictEqual(up.summary.result, "succeeded");
      await assertAllWired(names);
      await stack.preview({ expectNoChanges: true });
    } finally {
      watch.stop();
    }
    assert.deepStrictEqual(watch.deleted, []);
    assert.deepStrictEqual(processesIn(workDir), [], "processes of the scenario's runs still run");
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  // Issue 17: the fast path at fleet size. Killed at 50% and at 95% of a 200-namespace up, the next up
  // converges; the namespaces and secrets the killed run created are adopted, none deleted.
  for (const [label, fraction] of [
    ["50%", 0.5],
    ["95%", 0.95],
  ] as const) {
    it(`11. SIGKILL at ${label} of a 200-namespace up (no checkpoints), then up: all 200 wired, none deleted`, async () => {
      assert.strictEqual(e2eEnv().PULUMI_SKIP_CHECKPOINTS, "true");
      const tag = label.replace("%", "");
      const stackName = `e2e-kill-${tag}`;
      const fleet = Array.from({ length: 200 }, (_, i) => `e2e-k${tag}-${i}`);
      await kubectl("delete", "namespace", "--ignore-not-found", "--wait=true", ...fleet);
      const workDir = copyProgram();
      const stack = await newStack(
        workDir,
        stackName,
        config(Object.fromEntries(fleet.map((n) => [n, { registries: { dockerhub: {} } }]))),
      );
      await setSecret(workDir, stackName, "registries.dockerhub.password", HUB_PASSWORD);
      await setSecret(workDir, stackName, "registries.gcr.password", GCR_KEY);
      const watch = await watchSecretDeletions();
      try {
        const atKill = await upKilledAt(workDir, stackName, fleet, Math.round(fleet.length * fraction));
        console.log(
          `      killed at ${atKill.namespaces} namespaces and ${atKill.secrets} pull secrets of 200`,
        );

        await pulumiCli(workDir, ["cancel", "--yes", "--stack", stackName]).catch(() => undefined);
        await stack.refresh({ clearPendingCreates: true });
        const up = await stack.up();
        assert.strictEqual(up.summary.result, "succeeded");
        assert.deepStrictEqual(await countCreated(fleet), { namespaces: 200, secrets: 200 });
        await assertAllWired(fleet);
        await stack.preview({ expectNoChanges: true });
      } finally {
        watch.stop();
      }
      assert.deepStrictEqual(watch.deleted, []);
      assert.deepStrictEqual(processesIn(workDir), [], "processes of the scenario's runs still run");
      await stack.workspace.removeStack(stackName, { force: true });
      await kubectl("delete", "namespace", "--ignore-not-found", "--wait=false", ...fleet);
      fs.rmSync(workDir, { recursive: true, force: true });
    });
  }
});

describe("the program with production dependencies alone (issue 8, item 7)", function () {
  this.timeout(15 * 60_000);

  it("npm ci --omit=dev, then pulumi preview type-checks and runs the program", async () => {
    const workDir = copyProgram([
      "Pulumi.yaml",
      "index.ts",
      "components",
      "loader",
      "packages",
      ".npmrc",
      "package.json",
      "package-lock.json",
      "tsconfig.json",
    ]);
    // copyProgram links the project's node_modules (dev dependencies included): install production ones instead.
    fs.rmSync(path.join(workDir, "node_modules"));
    const { execFile } = await import("child_process");
    const { promisify } = await import("util");
    await promisify(execFile)("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], {
      cwd: workDir,
      env: e2eEnv(),
      maxBuffer: 64 << 20,
    });
    assert.ok(!fs.existsSync(path.join(workDir, "node_modules", "mocha")), "dev dependencies were installed");
    // The providers' package is copied (install-links in .npmrc), so Pulumi stores a require of it (issue 16.9).
    assert.ok(
      !fs.lstatSync(path.join(workDir, "node_modules", "registry-access-providers")).isSymbolicLink(),
    );
    const stack = await newStack(
      workDir,
      "e2e-prod-deps",
      config({ "e2e-prod-deps": { registries: { dockerhub: {} } } }),
    );
    await setSecret(workDir, "e2e-prod-deps", "registries.dockerhub.password", HUB_PASSWORD);
    await setSecret(workDir, "e2e-prod-deps", "registries.gcr.password", GCR_KEY);
    // Type-checked (not the fast path's PULUMI_NODEJS_TRANSPILE_ONLY), as an operator's preview is.
    (stack.workspace as LocalWorkspace).envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "false";
    const preview = await stack.preview();
    assert.strictEqual(preview.changeSummary.create, 6, JSON.stringify(preview.changeSummary));
    await stack.workspace.removeStack("e2e-prod-deps", { force: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  });
});
