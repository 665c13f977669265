import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { CANARY, staticSettings } from "./support/fixtures";
import { collectWarnings } from "./support/warnings";
import { plaintextStrings, ProgramRun, Recorder, runProgram, stackConfig } from "../tools/mockRuntime";

const NS = "kubernetes:core/v1:Namespace";
const SECRET = "kubernetes:core/v1:Secret";
const SA_PULL = "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets";
const SA = "kubernetes:core/v1:ServiceAccount";
const COMPONENT = "registry-access:index:NamespaceRegistryAccess";

function dockerConfigOf(
  run: ProgramRun,
  component: string,
): { auths: Record<string, Record<string, string>> } {
  const secret = run.recorder.find(SECRET, `${component}-pull-secret`);
  const b64 = secret.inputs.data[".dockerconfigjson"];
  return JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
}

describe("program (static registries, under mocks)", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(stackConfig(staticSettings()), { stack: "dev" });
  });

  it("declares one explicit Kubernetes provider that mutates secrets in place and adopts existing objects", () => {
    const provider = run.recorder.find("pulumi:providers:kubernetes", "kubernetes");
    assert.strictEqual(provider.inputs.enableSecretMutable, "true");
    assert.strictEqual(provider.inputs.upsertExistingObjects, "true");
    assert.strictEqual(provider.inputs.enableServerSideApply, "true");
    assert.strictEqual(provider.inputs.clusterIdentifier, "registry-access-dev");
    for (const r of run.recorder.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"))) {
      assert.ok(r.provider.startsWith(`${provider.urn}::`), `${r.type}/${r.name} uses ${r.provider}`);
    }
  });

  it("declares exactly these resources: per namespace a component, a namespace, a secret and its service accounts", () => {
    assert.deepStrictEqual(run.recorder.summary(), [
      `${NS}/team-a-namespace`,
      `${NS}/team-b-namespace`,
      `${SECRET}/team-a-pull-secret`,
      `${SECRET}/team-b-pull-secret`,
      `${SA}/team-a-sa-builder`,
      `${SA_PULL}/team-a-sa-default`,
      `${SA_PULL}/team-b-sa-default`,
      "pulumi:providers:kubernetes/kubernetes",
      `${COMPONENT}/team-a`,
      `${COMPONENT}/team-b`,
    ]);
  });

  it("creates or adopts each namespace and never deletes it", () => {
    const ns = run.recorder.find(NS, "team-a-namespace");
    assert.deepStrictEqual(ns.inputs.metadata, {
      name: "team-a",
      labels: { team: "a" },
      annotations: {
        owner: "team-a@example.com",
        "pulumi.com/patchForce": "true",
        "pulumi.com/patchFieldManager": "registry-access-dev",
      },
    });
    assert.strictEqual(ns.retainOnDelete, true);
    assert.strictEqual(run.recorder.byUrn(ns.parent).name, "team-a");
    assert.strictEqual(run.recorder.find(NS, "team-b-namespace").retainOnDelete, true);
  });

  it("writes one dockerconfigjson secret with every registry of the namespace, byte-exact", () => {
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    assert.strictEqual(secret.inputs.type, "kubernetes.io/dockerconfigjson");
    assert.strictEqual(
      secret.retainOnDelete,
      true,
      "a pull secret in use is never deleted by leaving the config",
    );
    assert.deepStrictEqual(secret.inputs.metadata, {
      name: "regcred",
      namespace: "team-a",
      labels: { "app.kubernetes.io/managed-by": "registry-access" },
      annotations: { "pulumi.com/patchForce": "true", "pulumi.com/patchFieldManager": "registry-access-dev" },
    });
    assert.deepStrictEqual(dockerConfigOf(run, "team-a"), {
      auths: {
        "https://index.docker.io/v1/": {
          username: "hub-bot",
          password: CANARY.hubPassword,
          auth: Buffer.from(`hub-bot:${CANARY.hubPassword}`).toString("base64"),
        },
        "ghcr.io": {
          username: "gh-bot",
          password: CANARY.ghcrPassword,
          auth: Buffer.from(`gh-bot:${CANARY.ghcrPassword}`).toString("base64"),
        },
      },
    });
    const gcr = dockerConfigOf(run, "team-b").auths["gcr.io"];
    assert.strictEqual(gcr.password, CANARY.gcrKey);
    assert.strictEqual(Buffer.from(gcr.auth, "base64").toString("utf8"), `_json_key:${CANARY.gcrKey}`);
  });

  it("adds the stack's pull secrets to existing accounts one by one, under the stack's field manager, after the secret", () => {
    const patch = run.recorder.find(SA_PULL, "team-a-sa-default");
    const { __provider, ...inputs } = patch.inputs;
    assert.match(
      __provider,
      /require\("registry-access-providers\/serviceAccountPullSecrets\.js"\)/,
      "the add-only provider, by reference to its package",
    );
    assert.deepStrictEqual(inputs, {
      namespace: "team-a",
      serviceAccount: "default",
      secretNames: ["regcred", "legacy-pull"],
      fieldManager: "registry-access-dev",
    });
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    const ns = run.recorder.find(NS, "team-a-namespace");
    assert.deepStrictEqual(
      patch.dependsOn,
      [ns.urn, secret.urn],
      "the account is wired once the secret exists",
    );
    assert.strictEqual(run.recorder.byUrn(patch.parent).name, "team-a");
    // Leaving the config hands the list back as it is.
    assert.strictEqual(patch.retainOnDelete, true);
    assert.deepStrictEqual(run.recorder.find(SA_PULL, "team-b-sa-default").inputs.secretNames, ["regcred"]);
  });

  it("creates accounts marked create: true as plain ServiceAccounts, and never creates default", () => {
    const sa = run.recorder.find(SA, "team-a-sa-builder");
    assert.deepStrictEqual(sa.inputs.metadata, {
      name: "builder",
      namespace: "team-a",
      labels: { "app.kubernetes.io/managed-by": "registry-access" },
      annotations: { "pulumi.com/patchForce": "true", "pulumi.com/patchFieldManager": "registry-access-dev" },
    });
    assert.deepStrictEqual(sa.inputs.imagePullSecrets, [{ name: "regcred" }, { name: "legacy-pull" }]);
    assert.ok(sa.dependsOn.includes(run.recorder.find(SECRET, "team-a-pull-secret").urn));
    assert.strictEqual(
      sa.retainOnDelete,
      true,
      "pods run as this account: it stays when it leaves the config",
    );
    assert.deepStrictEqual(
      run.recorder.ofType(SA).map((r) => r.inputs.metadata.name),
      ["builder"],
    );
  });

  it("exports per namespace the secret, the servers and the accounts, with no credential", () => {
    assert.deepStrictEqual(run.outputs.namespaces, {
      "team-a": {
        secretName: "regcred",
        delivery: "direct",
        registries: ["https://index.docker.io/v1/", "ghcr.io"],
        serviceAccounts: ["default", "builder"],
      },
      "team-b": {
        secretName: "regcred",
        delivery: "direct",
        registries: ["gcr.io"],
        serviceAccounts: ["default"],
      },
    });
  });

  it("canary: no credential appears outside a Pulumi secret in any input or output", async () => {
    const canaries = [CANARY.hubPassword, CANARY.ghcrPassword, "CANARY-gcr-9d1e"];
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const needles = [...canaries, b64(`hub-bot:${CANARY.hubPassword}`), b64(`gh-bot:${CANARY.ghcrPassword}`)];
    for (const r of run.recorder.resources) {
      // Credentials also travel base64-encoded inside the secret's data: decode every string to look.
      for (const { path, text } of plaintextStrings(r.rawInputs)) {
        const decoded = Buffer.from(text, "base64").toString("utf8");
        for (const needle of needles) {
          assert.ok(
            !text.includes(needle) && !decoded.includes(needle),
            `${r.type}/${r.name} input ${path} holds a credential in plaintext`,
          );
        }
      }
    }
    // The credentials are there, inside secrets: a program that wrote none would not pass this canary.
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    assert.deepStrictEqual(
      plaintextStrings(secret.rawInputs.data),
      [],
      "the secret's data must be a Pulumi secret",
    );
    assert.ok(JSON.stringify(dockerConfigOf(run, "team-a")).includes(CANARY.hubPassword));
    const exported = JSON.stringify(run.outputs);
    for (const needle of needles) assert.ok(!exported.includes(needle), "a stack output holds a credential");
    assert.strictEqual(await pulumi.isSecret(run.exports.namespaces as pulumi.Output<unknown>), false);
  });

  it("is deterministic: a second run registers identical resources and inputs", async () => {
    const again = await runProgram(stackConfig(staticSettings()), { stack: "dev" });
    assert.deepStrictEqual(again.recorder.snapshot(), run.recorder.snapshot());
  });

  it("declares nothing when the config is bad, and names every problem", async () => {
    const bad = staticSettings();
    (bad.namespaces as Record<string, unknown>)["Bad_NS"] = { registries: { nosuch: {} } };
    const recorder = new Recorder();
    await assert.rejects(
      runProgram(stackConfig(bad), { recorder }),
      (e: Error) =>
        e.message ===
        "2 problems in the registry-access configuration:\n" +
          "  - namespaces.Bad_NS: \"Bad_NS\" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters\n" +
          '  - namespaces.Bad_NS.registries.nosuch: no registry "nosuch" is defined under registries; defined: dockerhub, gcr, ghcr',
    );
    assert.deepStrictEqual(recorder.summary(), [], "no resource may be declared before the config is valid");
  });

  it("warns when the stack file holds static passwords in plain text, and only then", async () => {
    const plain = await collectWarnings(() => runProgram(stackConfig(staticSettings()), { secretKeys: [] }));
    assert.deepStrictEqual(plain.warnings, [
      "the stack file holds registries.dockerhub.password, registries.gcr.password, registries.ghcr.password in plain text; " +
        "set each with `pulumi config set --secret --path 'registries.<id>.password' <value>` so that it is encrypted",
    ]);
    const encrypted = await collectWarnings(() =>
      runProgram(stackConfig(staticSettings()), { secretKeys: ["registry-access:registries"] }),
    );
    assert.deepStrictEqual(encrypted.warnings, []);
  });

  it("reads kubernetes:context, clusterIdentifier and kubeconfig for its explicit provider, the kubeconfig as a secret", async () => {
    const kubeconfig = "apiVersion: v1\nusers:\n- name: admin\n  user: { token: canary-kube-token-51c2 }\n";
    const r = await runProgram({
      ...stackConfig(staticSettings()),
      "kubernetes:context": "prod-aks",
      "kubernetes:clusterIdentifier": "aks-prod-westeurope",
      "kubernetes:kubeconfig": kubeconfig,
    });
    const provider = r.recorder.find("pulumi:providers:kubernetes", "kubernetes");
    assert.strictEqual(provider.inputs.context, "prod-aks");
    assert.strictEqual(provider.inputs.clusterIdentifier, "aks-prod-westeurope");
    assert.strictEqual(provider.inputs.kubeconfig, kubeconfig);
    // The add-only patches reach the same cluster as the provider.
    const patch = r.recorder.find(SA_PULL, "team-a-sa-default");
    assert.strictEqual(patch.inputs.kubeconfig, kubeconfig);
    assert.strictEqual(patch.inputs.context, "prod-aks");
    for (const res of [provider, patch]) {
      assert.deepStrictEqual(
        plaintextStrings(res.rawInputs).filter((s) => s.text.includes("canary-kube-token")),
        [],
        `the kubeconfig must be a secret input of ${res.type}`,
      );
    }
  });
});
