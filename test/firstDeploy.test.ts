import * as assert from "assert";
import { acrSettings, staticSettings } from "./support/fixtures";
import { collectLog } from "./support/warnings";
import { Recorder, runProgram, stackConfig } from "../tools/mockRuntime";
import { vaultAuthorizationProblem } from "../components/vaultAuthorization";

const GET_VAULT = "azure-native:keyvault:getVault";
const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";
const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";
const ADOPT = { "pulumi.com/patchForce": "true", "pulumi.com/patchFieldManager": "registry-access-test" };

/** team-a direct with a created account, team-b through ESO, and the alerts: every kind of object. */
function everything(): Record<string, unknown> {
  const base = staticSettings();
  return {
    ...base,
    namespaces: {
      ...(base.namespaces as Record<string, unknown>),
      "team-b": { registries: { gcr: {} }, delivery: "externalSecrets" },
    },
    externalSecrets: {
      keyVault: { name: "kv-registry", resourceGroup: "rg-vault" },
      oidcIssuerUrl: "https://issuer.example.com/",
    },
    monitoring: { enabled: true, namespace: "observability" },
  };
}

describe("first deploy with External Secrets (issue 8, item 4)", () => {
  it("reads the vault before declaring anything", async () => {
    const run = await runProgram(stackConfig(everything()));
    const vaultCalls = run.recorder.calls.filter((c) => c.token === GET_VAULT);
    assert.deepStrictEqual(
      vaultCalls.map((c) => c.inputs),
      [{ resourceGroupName: "rg-vault", vaultName: "kv-registry" }],
    );
  });

  it("does not look the vault up when no namespace uses ESO", async () => {
    const run = await runProgram(stackConfig(staticSettings()));
    assert.deepStrictEqual(
      run.recorder.calls.filter((c) => c.token === GET_VAULT),
      [],
    );
  });

  for (const enableRbacAuthorization of [false, undefined]) {
    it(`fails before any resource when the vault uses access policies (enableRbacAuthorization ${enableRbacAuthorization})`, async () => {
      const recorder = new Recorder();
      await assert.rejects(
        runProgram(stackConfig(everything()), {
          recorder,
          invokes: { [GET_VAULT]: () => ({ properties: { enableRbacAuthorization } }) },
        }),
        {
          message:
            `externalSecrets.keyVault: vault kv-registry in resource group rg-vault uses access policies ` +
            `(enableRbacAuthorization is ${enableRbacAuthorization ?? "not set"}), so the role assignment that lets ` +
            `ESO read the pull secret would have no effect and ESO would get 403. Switch the vault to Azure RBAC ` +
            `(az keyvault update --name kv-registry --resource-group rg-vault --enable-rbac-authorization true, ` +
            `after granting by role what its access policies grant), or use delivery: direct`,
        },
      );
      assert.deepStrictEqual(recorder.resources, []);
    });
  }

  it("names the vault when it cannot be read", async () => {
    const recorder = new Recorder();
    await assert.rejects(
      runProgram(stackConfig(everything()), {
        recorder,
        invokes: {
          [GET_VAULT]: () => {
            throw new Error(
              "ResourceNotFound: The Resource 'Microsoft.KeyVault/vaults/kv-registry' was not found",
            );
          },
        },
      }),
      (err: Error) => {
        assert.match(
          err.message,
          /^externalSecrets\.keyVault: could not read vault kv-registry in resource group rg-vault \(.*ResourceNotFound.*\)\. Check the name, the resource group and that the identity running Pulumi may read it \(Reader on the vault\)\.$/,
        );
        return true;
      },
    );
    assert.deepStrictEqual(recorder.resources, []);
  });

  it("accepts exactly an RBAC vault", () => {
    const kv = { name: "v", resourceGroup: "g" };
    assert.strictEqual(vaultAuthorizationProblem(kv, true), undefined);
    assert.notStrictEqual(vaultAuthorizationProblem(kv, false), undefined);
  });

  it("waits 30 minutes for the ExternalSecret to be Ready, and says what it waits for", async () => {
    const { result: run, messages } = await collectLog("info", () => runProgram(stackConfig(everything())));
    const es = run.recorder.find(EXTERNAL_SECRET, "team-b-eso-external-secret");
    assert.deepStrictEqual(es.inputs.metadata.annotations, {
      ...ADOPT,
      "pulumi.com/waitFor": "condition=Ready",
      "pulumi.com/timeoutSeconds": "1800",
      "pulumi.com/deletionPropagationPolicy": "orphan",
    });
    assert.deepStrictEqual(messages, [
      "ExternalSecret registry-access in team-b: `up` waits up to 30 minutes for ESO to report it Ready. On a " +
        "first deploy Azure may take 10 minutes to let the namespace's identity read its vault secret.",
    ]);
  });

  // Issue 16, item 3: the wait is what bounds a first rollout (ceil(N / --parallel) of them), so it is configurable.
  for (const [seconds, minutes] of [
    [60, "1"],
    [600, "10"],
    [3600, "60"],
  ] as const) {
    it(`waits externalSecrets.readyTimeoutSeconds (${seconds}) when set, and says so`, async () => {
      const config = everything();
      (config.externalSecrets as Record<string, unknown>).readyTimeoutSeconds = seconds;
      const { result: run, messages } = await collectLog("info", () => runProgram(stackConfig(config)));
      const es = run.recorder.find(EXTERNAL_SECRET, "team-b-eso-external-secret");
      assert.strictEqual(es.inputs.metadata.annotations["pulumi.com/timeoutSeconds"], String(seconds));
      assert.deepStrictEqual(messages, [
        `ExternalSecret registry-access in team-b: \`up\` waits up to ${minutes} minutes for ESO to report it Ready. ` +
          "On a first deploy Azure may take 10 minutes to let the namespace's identity read its vault secret.",
      ]);
    });
  }

  const refused = (shown: string) =>
    `externalSecrets.readyTimeoutSeconds: expected a whole number of seconds from 60 to 3600, got ${shown}; ` +
    "a first rollout waits at most ceil(namespaces / --parallel) times this for ESO";
  for (const [value, shown] of [
    [59, "59"],
    [3601, "3601"],
    [600.5, "600.5"],
    ["600", '"600"'],
  ] as const) {
    it(`refuses externalSecrets.readyTimeoutSeconds ${shown} before declaring anything`, async () => {
      const config = everything();
      (config.externalSecrets as Record<string, unknown>).readyTimeoutSeconds = value;
      const recorder = new Recorder();
      await assert.rejects(runProgram(stackConfig(config), { recorder }), {
        message: `1 problem in the registry-access configuration:\n  - ${refused(shown)}`,
      });
      assert.deepStrictEqual(recorder.resources, []);
    });
  }

  it("says nothing about waiting in a preview", async () => {
    const { messages } = await collectLog("info", () =>
      runProgram(stackConfig(everything()), { preview: true }),
    );
    assert.deepStrictEqual(messages, []);
  });
});

describe("adopted objects are never deleted by a rename or replacement (issue 8, item 5)", () => {
  // The Kubernetes provider's upsertExistingObjects adopts an object that already exists. Its documentation warns
  // that a create-then-delete of the same object (a rename, a new clusterIdentifier) deletes what was adopted.
  // Every Kubernetes object either stays on delete, or is deleted before it is created again.
  const expected: Record<string, "retainOnDelete" | "deleteBeforeReplace"> = {
    "kubernetes:core/v1:Namespace/team-a-namespace": "retainOnDelete",
    "kubernetes:core/v1:Namespace/team-b-namespace": "retainOnDelete",
    "kubernetes:core/v1:Secret/team-a-pull-secret": "retainOnDelete",
    "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets/team-a-sa-default": "retainOnDelete",
    "kubernetes:core/v1:ServiceAccount/team-a-sa-builder": "retainOnDelete",
    "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets/team-b-sa-default": "retainOnDelete",
    "kubernetes:core/v1:ServiceAccount/team-b-eso-store-sa": "retainOnDelete",
    "kubernetes:external-secrets.io/v1:SecretStore/team-b-eso-secret-store": "retainOnDelete",
    "kubernetes:external-secrets.io/v1:ExternalSecret/team-b-eso-external-secret": "deleteBeforeReplace",
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule/pull-alerts-rule": "deleteBeforeReplace",
  };

  it("declares each Kubernetes object with retainOnDelete or deleteBeforeReplace, as the table in docs/operations.md says", async () => {
    const run = await runProgram(stackConfig(everything()));
    const objects = run.recorder.resources.filter(
      (r) =>
        r.custom &&
        (r.type.startsWith("kubernetes:") || r.type.endsWith(":ServiceAccountPullSecrets")) &&
        r.type !== "pulumi:providers:kubernetes",
    );
    const declared = Object.fromEntries(
      objects.map((r) => [
        `${r.type}/${r.name}`,
        r.retainOnDelete && !r.deleteBeforeReplace
          ? "retainOnDelete"
          : r.deleteBeforeReplace && !r.retainOnDelete
            ? "deleteBeforeReplace"
            : `retainOnDelete=${r.retainOnDelete} deleteBeforeReplace=${r.deleteBeforeReplace}`,
      ]),
    );
    assert.deepStrictEqual(declared, expected);
  });

  it("adopts every Kubernetes object with server-side apply and force, under the stack's field manager", async () => {
    const run = await runProgram(stackConfig(everything()));
    const objects = run.recorder.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    const without = objects
      .filter((r) => {
        const annotations = (r.inputs.metadata?.annotations ?? {}) as Record<string, string>;
        return Object.entries(ADOPT).some(([k, v]) => annotations[k] !== v);
      })
      .map((r) => `${r.type}/${r.name}`);
    assert.deepStrictEqual(without, []);
    // The add-only pull-secret patches are JSON patches, not applies: no field manager annotation to carry.
    assert.strictEqual(
      objects.length,
      Object.keys(expected).filter((k) => k.startsWith("kubernetes:")).length,
    );
  });

  it("keeps the namespace's own annotations beside the adoption annotations", async () => {
    const run = await runProgram(stackConfig(staticSettings()));
    const ns = run.recorder.find("kubernetes:core/v1:Namespace", "team-a-namespace");
    assert.deepStrictEqual(ns.inputs.metadata.annotations, { owner: "team-a@example.com", ...ADOPT });
  });
});

describe("the last deployment is read only in a preview, through an invoke (issue 8, item 7)", () => {
  it("declares no StackReference and reads nothing in `up`", async () => {
    const run = await runProgram(stackConfig(acrSettings()), { stack: "dev" });
    assert.deepStrictEqual(run.recorder.ofType("pulumi:pulumi:StackReference"), []);
    assert.deepStrictEqual(
      run.recorder.calls.filter((c) => c.token === READ_STACK_OUTPUTS),
      [],
    );
  });

  it("reads organization/project/stack in a preview, declaring nothing for it", async () => {
    const run = await runProgram(stackConfig(acrSettings()), { stack: "dev", preview: true });
    assert.deepStrictEqual(run.recorder.ofType("pulumi:pulumi:StackReference"), []);
    assert.deepStrictEqual(
      run.recorder.calls.filter((c) => c.token === READ_STACK_OUTPUTS).map((c) => c.inputs),
      [{ name: "organization/registry-access/dev" }],
    );
  });

  it("still previews, with one informational line, when the backend cannot read the stack", async () => {
    const { result: run, messages } = await collectLog("info", () =>
      runProgram(stackConfig(acrSettings()), {
        stack: "dev",
        preview: true,
        invokes: {
          [READ_STACK_OUTPUTS]: () => {
            throw new Error("invalid stack reference name: organization/registry-access/dev\nmore detail");
          },
        },
      }),
    );
    assert.deepStrictEqual(Object.keys(run.outputs), ["namespaces"]);
    // The first line of the engine's reason only.
    assert.deepStrictEqual(messages, [
      "Could not read the last deployment of organization/registry-access/dev (invalid stack reference name: " +
        "organization/registry-access/dev); the preview skips the warning about ACR passwords that expire " +
        "within 14 days.",
    ]);
  });
});
