import * as assert from "assert";
import {
  identityName,
  KEY_VAULT_SECRETS_USER,
  STORE_SERVICE_ACCOUNT,
  vaultSecretName,
} from "../components/ExternalSecretsDelivery";
import { validateEsoManifest } from "../components/externalSecretsManifests";
import { parseSettings, SettingsError } from "../components/settings";
import { acrSettings, CANARY, problemsOf } from "./support/fixtures";
import { plaintextStrings, ProgramRun, Recorder, runProgram, stackConfig } from "../tools/mockRuntime";

const SUB = "00000000-0000-0000-0000-000000000000";
const K8S_SECRET = "kubernetes:core/v1:Secret";
const VAULT_SECRET = "azure-native:keyvault:Secret";
const IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
const FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential";
const ROLE = "azure-native:authorization:RoleAssignment";
const SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore";
const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";

const ESO = {
  keyVault: { name: "kv-registry", resourceGroup: "rg-vault" },
  oidcIssuerUrl: "https://westeurope.oic.prod-aks.azure.com/tenant/issuer/",
};

/** team-a direct; team-b through ESO with ACR and Docker Hub (its canary password); team-c ESO, static only. */
function mixed(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base = acrSettings();
  const namespaces = base.namespaces as Record<string, Record<string, unknown>>;
  return {
    ...base,
    namespaces: {
      "team-a": namespaces["team-a"],
      "team-b": {
        registries: { acr: { repositories: ["team-b/api"] }, dockerhub: {} },
        delivery: "externalSecrets",
      },
      "team-c": {
        registries: { ghcr: {} },
        delivery: "externalSecrets",
        serviceAccounts: ["default", "runner"],
      },
    },
    externalSecrets: ESO,
    ...extra,
  };
}

describe("External Secrets delivery (under mocks)", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(stackConfig(mixed()), { stack: "dev" });
  });

  it("registers its azure-native resources without the version aliases their classes add (leanRegistration)", () => {
    const azure = run.recorder.resources.filter((r) => r.type.startsWith("azure-native:"));
    assert.ok(azure.length >= 3, `${azure.length} azure-native resources`);
    assert.deepStrictEqual(
      azure.filter((r) => r.aliases.length > 0).map((r) => `${r.type} ${r.name}`),
      [],
    );
  });

  it("declares no credential-bearing Kubernetes secret in ESO namespaces, and the direct one elsewhere", () => {
    assert.deepStrictEqual(
      run.recorder.ofType(K8S_SECRET).map((r) => r.inputs.metadata.namespace),
      ["team-a"],
    );
  });

  it("writes each ESO namespace's docker config to its own vault secret, only as a Pulumi secret", () => {
    const vs = run.recorder.find(VAULT_SECRET, "team-b-eso-vault-secret");
    const name = vaultSecretName("registry-access", "dev", "team-b");
    assert.match(name, /^ra-dev-team-b-[0-9a-f]{8}$/);
    assert.strictEqual(vs.inputs.secretName, name);
    assert.strictEqual(vs.inputs.vaultName, "kv-registry");
    assert.strictEqual(vs.inputs.resourceGroupName, "rg-vault");
    assert.strictEqual(vs.inputs.properties.contentType, "application/json");
    assert.strictEqual(vs.retainOnDelete, true, "ARM cannot delete a vault secret: Pulumi must not try");
    // The value travels inside a secret (the SDK marks the whole properties object secret).
    assert.deepStrictEqual(plaintextStrings(vs.rawInputs.properties), []);
    const config = JSON.parse(vs.inputs.properties.value);
    assert.deepStrictEqual(Object.keys(config.auths), [
      "mycompany.azurecr.io",
      "https://index.docker.io/v1/",
    ]);
    assert.strictEqual(config.auths["https://index.docker.io/v1/"].password, CANARY.hubPassword);
    assert.strictEqual(config.auths["mycompany.azurecr.io"].password, "generated-for-team-b-acr-password");
    assert.notStrictEqual(run.recorder.find(VAULT_SECRET, "team-c-eso-vault-secret").inputs.secretName, name);
  });

  it("gives each ESO namespace its own identity, federated to its store's service account only", () => {
    const id = identityName("registry-access", "dev", "team-b");
    assert.deepStrictEqual(run.recorder.find(IDENTITY, "team-b-eso-identity").inputs, {
      resourceGroupName: "rg-vault",
      resourceName: id,
      tags: { "managed-by": "registry-access", namespace: "team-b", stack: "dev" },
    });
    assert.deepStrictEqual(run.recorder.find(FEDERATION, "team-b-eso-federation").inputs, {
      resourceGroupName: "rg-vault",
      resourceName: id,
      federatedIdentityCredentialResourceName: id,
      issuer: ESO.oidcIssuerUrl,
      subject: `system:serviceaccount:team-b:${STORE_SERVICE_ACCOUNT}`,
      audiences: ["api://AzureADTokenExchange"],
    });
    assert.strictEqual(run.recorder.ofType(IDENTITY).length, 2);
  });

  it("lets the identity read exactly its vault secret, nothing wider", () => {
    const role = run.recorder.find(ROLE, "team-b-eso-secret-reader");
    const secretId = `/subscriptions/${SUB}/resourceGroups/rg-vault/providers/Microsoft.KeyVault/vaults/kv-registry/secrets/${vaultSecretName("registry-access", "dev", "team-b")}`;
    assert.deepStrictEqual(role.inputs, {
      scope: secretId,
      roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${KEY_VAULT_SECRETS_USER}`,
      principalId: `principal-id-of-${identityName("registry-access", "dev", "team-b")}`,
      principalType: "ServicePrincipal",
      description: "registry-access: ESO in namespace team-b reads its pull secret",
    });
    assert.strictEqual(KEY_VAULT_SECRETS_USER, "4633458b-17de-408a-b874-0445c86b69e6");
  });

  it("declares the store's service account with the identity's client id, a SecretStore and an ExternalSecret", () => {
    const sa = run.recorder.find("kubernetes:core/v1:ServiceAccount", "team-b-eso-store-sa");
    assert.deepStrictEqual(sa.inputs.metadata.annotations, {
      "pulumi.com/patchForce": "true",
      "pulumi.com/patchFieldManager": "registry-access-dev",
      "azure.workload.identity/client-id": `client-id-of-${identityName("registry-access", "dev", "team-b")}`,
      "azure.workload.identity/tenant-id": "11111111-1111-1111-1111-111111111111",
    });
    const store = run.recorder.find(SECRET_STORE, "team-b-eso-secret-store");
    assert.deepStrictEqual(store.inputs.spec, {
      provider: {
        azurekv: {
          authType: "WorkloadIdentity",
          vaultUrl: "https://kv-registry.vault.azure.net",
          serviceAccountRef: { name: STORE_SERVICE_ACCOUNT },
        },
      },
    });
    const es = run.recorder.find(EXTERNAL_SECRET, "team-b-eso-external-secret");
    assert.strictEqual(es.inputs.spec.refreshInterval, "1h");
    assert.deepStrictEqual(es.inputs.spec.secretStoreRef, { kind: "SecretStore", name: "registry-access" });
    assert.deepStrictEqual(es.inputs.spec.target, {
      name: "regcred",
      creationPolicy: "Owner",
      template: {
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": "{{ .dockerconfigjson | toString }}" },
      },
    });
    assert.deepStrictEqual(es.inputs.spec.data, [
      {
        secretKey: "dockerconfigjson",
        remoteRef: { key: `secret/${vaultSecretName("registry-access", "dev", "team-b")}` },
      },
    ]);
    assert.deepStrictEqual(es.inputs.metadata.annotations, {
      "pulumi.com/patchForce": "true",
      "pulumi.com/patchFieldManager": "registry-access-dev",
      "pulumi.com/waitFor": "condition=Ready",
      "pulumi.com/timeoutSeconds": "1800",
      "pulumi.com/deletionPropagationPolicy": "orphan",
    });
    assert.ok(es.dependsOn.includes(store.urn), "the ExternalSecret waits for its store");
    assert.ok(es.dependsOn.includes(run.recorder.find(VAULT_SECRET, "team-b-eso-vault-secret").urn));
  });

  it("declares store and ExternalSecret objects that ESO's published CRD schema accepts", () => {
    for (const r of [...run.recorder.ofType(SECRET_STORE), ...run.recorder.ofType(EXTERNAL_SECRET)]) {
      const { apiVersion, kind, metadata, spec } = r.inputs;
      assert.deepStrictEqual(validateEsoManifest({ apiVersion, kind, metadata, spec }), [], `${r.name}`);
    }
    // The same check fails on a broken copy: it can fail.
    const es = run.recorder.find(EXTERNAL_SECRET, "team-b-eso-external-secret").inputs;
    const broken = { ...es, spec: { ...es.spec, target: { ...es.spec.target, creationPolicy: "Always" } } };
    assert.deepStrictEqual(validateEsoManifest(broken), [
      'spec.target.creationPolicy: "Always" is not one of "Owner", "Orphan", "Merge", "None"',
    ]);
  });

  it("patches service accounts exactly as in direct delivery, once ESO has written the secret", () => {
    const patch = run.recorder.find(
      "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets",
      "team-c-sa-runner",
    );
    assert.deepStrictEqual(patch.inputs.secretNames, ["regcred"]);
    assert.strictEqual(patch.inputs.fieldManager, "registry-access-dev");
    assert.ok(patch.dependsOn.includes(run.recorder.find(EXTERNAL_SECRET, "team-c-eso-external-secret").urn));
  });

  it("canary: no credential outside a Pulumi secret, vault value included", () => {
    for (const r of run.recorder.resources) {
      for (const { path, text } of plaintextStrings(r.rawInputs)) {
        const decoded = Buffer.from(text, "base64").toString("utf8");
        for (const needle of [CANARY.hubPassword, CANARY.ghcrPassword, "generated-for-"]) {
          assert.ok(!text.includes(needle) && !decoded.includes(needle), `${r.type}/${r.name} ${path}`);
        }
      }
    }
  });

  it("is deterministic with ACR tokens and ESO objects too: a second run declares the same", async () => {
    const again = await runProgram(stackConfig(mixed()), { stack: "dev" });
    const snapshot = again.recorder.snapshot();
    assert.deepStrictEqual(snapshot, run.recorder.snapshot());
    const types = new Set(snapshot.map((r) => r.type));
    for (const type of [VAULT_SECRET, IDENTITY, FEDERATION, ROLE, SECRET_STORE, EXTERNAL_SECRET]) {
      assert.ok(types.has(type), `the comparison covers ${type}`);
    }
  });

  it("exports the delivery and the vault secret per namespace", () => {
    const ns = run.outputs.namespaces as Record<string, Record<string, unknown>>;
    assert.strictEqual(ns["team-a"].delivery, "direct");
    assert.strictEqual(ns["team-a"].vaultSecretName, undefined);
    assert.strictEqual(ns["team-c"].delivery, "externalSecrets");
    assert.strictEqual(ns["team-c"].vaultSecretName, vaultSecretName("registry-access", "dev", "team-c"));
  });
});

describe("External Secrets variants (under mocks)", () => {
  it("refuses the store's own account under serviceAccounts of an ESO namespace, and allows it elsewhere (issue 16, item 10)", async () => {
    const withStore = mixed();
    const namespaces = withStore.namespaces as Record<string, Record<string, unknown>>;
    namespaces["team-c"].serviceAccounts = ["default", STORE_SERVICE_ACCOUNT];
    const recorder = new Recorder();
    await assert.rejects(
      runProgram(stackConfig(withStore), { stack: "dev", recorder }),
      (e: Error) =>
        e.message ===
        'namespaces.team-c.serviceAccounts[1]: "registry-access-store" is the account ESO\'s SecretStore ' +
          "authenticates as, and this program manages it; remove it from the list",
    );
    namespaces["team-c"].serviceAccounts = [STORE_SERVICE_ACCOUNT];
    await assert.rejects(runProgram(stackConfig(withStore), { stack: "dev" }), (e: Error) =>
      e.message.startsWith('namespaces.team-c.serviceAccounts[0]: "registry-access-store" is the account'),
    );
    // In a namespace with direct delivery the name is an ordinary account: patched like any other.
    namespaces["team-c"].delivery = "direct";
    const direct = await runProgram(stackConfig(withStore), { stack: "dev" });
    assert.ok(direct.recorder.resources.some((r) => r.name === `team-c-sa-${STORE_SERVICE_ACCOUNT}`));
  });

  it("with a ClusterSecretStore: no per-namespace identity, store or role; the ExternalSecret names the shared store", async () => {
    const run = await runProgram(
      stackConfig(
        mixed({
          externalSecrets: {
            ...ESO,
            clusterSecretStore: "shared-kv",
            apiVersion: "external-secrets.io/v1beta1",
          },
        }),
      ),
    );
    for (const type of [IDENTITY, FEDERATION, ROLE])
      assert.deepStrictEqual(run.recorder.ofType(type), [], type);
    assert.deepStrictEqual(run.recorder.ofType("kubernetes:external-secrets.io/v1beta1:SecretStore"), []);
    const es = run.recorder.find(
      "kubernetes:external-secrets.io/v1beta1:ExternalSecret",
      "team-b-eso-external-secret",
    );
    assert.deepStrictEqual(es.inputs.spec.secretStoreRef, { kind: "ClusterSecretStore", name: "shared-kv" });
    const { apiVersion, kind, metadata, spec } = es.inputs;
    assert.deepStrictEqual(validateEsoManifest({ apiVersion, kind, metadata, spec }), []);
  });

  it("a top-level delivery applies to every namespace that does not override it", () => {
    const raw = mixed({ delivery: "externalSecrets" });
    delete (raw.namespaces as Record<string, Record<string, unknown>>)["team-b"].delivery;
    (raw.namespaces as Record<string, Record<string, unknown>>)["team-c"].delivery = "direct";
    const s = parseSettings(raw);
    assert.deepStrictEqual(
      s.namespaces.map((n) => [n.name, n.delivery]),
      [
        ["team-a", "externalSecrets"],
        ["team-b", "externalSecrets"],
        ["team-c", "direct"],
      ],
    );
    assert.deepStrictEqual(s.externalSecrets, {
      keyVault: ESO.keyVault,
      oidcIssuerUrl: ESO.oidcIssuerUrl,
      refreshInterval: "1h",
      apiVersion: "external-secrets.io/v1",
      identityResourceGroup: "rg-vault",
    });
  });

  it("fails on bad ESO config with every path, before any resource", async () => {
    const raw = mixed({
      externalSecrets: {
        keyVault: { name: "1-bad--vault" },
        refreshInterval: "1d",
        apiVersion: "external-secrets.io/v2",
      },
    });
    (raw.namespaces as Record<string, Record<string, unknown>>)["team-a"].delivery = "vault";
    const recorder = new Recorder();
    await assert.rejects(runProgram(stackConfig(raw), { recorder }), (e: SettingsError) => {
      assert.deepStrictEqual(e.problems, [
        'namespaces.team-a.delivery: unknown delivery "vault"; use direct or externalSecrets',
        'externalSecrets.keyVault.name: "1-bad--vault" is not a Key Vault name: 3 to 24 letters, digits and single hyphens, starting with a letter',
        "externalSecrets.keyVault.resourceGroup: missing; set the vault's resource group",
        "externalSecrets.oidcIssuerUrl: missing; set the cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
        'externalSecrets.refreshInterval: "1d" is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m',
        'externalSecrets.apiVersion: unsupported "external-secrets.io/v2"; use external-secrets.io/v1 for ESO 0.16 or later, or external-secrets.io/v1beta1 for ESO 0.10 to 0.16 (ESO 0.17 no longer serves v1beta1)',
      ]);
      return true;
    });
    assert.deepStrictEqual(recorder.summary(), []);
  });

  it("requires the externalSecrets settings when a namespace uses that delivery", () => {
    const raw = mixed();
    delete raw.externalSecrets;
    assert.deepStrictEqual(problemsOf(raw), [
      "externalSecrets: missing; namespaces team-b, team-c use delivery externalSecrets, which needs keyVault { name, resourceGroup } and oidcIssuerUrl",
    ]);
    assert.deepStrictEqual(problemsOf(mixed({ delivery: "sometimes" })), [
      'delivery: unknown delivery "sometimes"; use direct or externalSecrets',
    ]);
    assert.deepStrictEqual(
      problemsOf(mixed({ externalSecrets: { ...ESO, oidcIssuerUrl: "http://insecure" } })),
      ['externalSecrets.oidcIssuerUrl: expected an https:// URL, got "http://insecure"'],
    );
  });

  it("requires the refresh interval to be well below the overlap of the two ACR passwords", () => {
    assert.deepStrictEqual(problemsOf(mixed({ externalSecrets: { ...ESO, refreshInterval: "361h" } })), [
      'externalSecrets.refreshInterval: "361h" is not well below registries.acr.passwordLifetimeDays - rotateAfterDays (90 - 60 = 30 days): ESO must pick up a new password while the old one is valid; use at most half of it (360h)',
    ]);
    assert.strictEqual(
      parseSettings(mixed({ externalSecrets: { ...ESO, refreshInterval: "360h" } })).externalSecrets
        ?.refreshInterval,
      "360h",
    );
  });
});
