import * as assert from "assert";
import { repositoryReaderCondition } from "../components/abacCondition";
import { acrIdentityName, generatorName } from "../components/AcrWorkloadIdentity";
import { dockerConfigTemplate } from "../components/workloadIdentityManifests";
import { CANARY } from "./support/fixtures";
import { plaintextStrings, ProgramRun, runProgram, stackConfig } from "../tools/mockRuntime";

const IDENTITY = "azure-native:managedidentity:UserAssignedIdentity";
const FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential";
const ROLE = "azure-native:authorization:RoleAssignment";
const SA = "kubernetes:core/v1:ServiceAccount";
const SA_PATCH = "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets";
const SECRET = "kubernetes:core/v1:Secret";
const GENERATOR = "kubernetes:generators.external-secrets.io/v1alpha1:ACRAccessToken";
const EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret";
const ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant/cluster/";
const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
const REGISTRY_ID = `${SUB}/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany`;

/** team-a mixes Docker Hub with workload-identity ACR; team-b pulls from ACR only. */
function wiConfig(): Record<string, unknown> {
  return {
    registries: {
      dockerhub: { type: "static", server: "docker.io", username: "hub-bot", password: CANARY.hubPassword },
      acr: {
        type: "acr",
        server: "mycompany.azurecr.io",
        resourceGroup: "rg-registry",
        auth: "workloadIdentity",
      },
    },
    namespaces: {
      "team-a": {
        registries: { acr: { repositories: ["team-a/*", "shared/base"] }, dockerhub: {} },
        extraImagePullSecrets: ["legacy-pull"],
      },
      "team-b": { registries: { acr: { repositories: ["team-b/api"] } } },
    },
    workloadIdentity: {
      oidcIssuerUrl: ISSUER,
      identityResourceGroup: "rg-identities",
      location: "westeurope",
    },
  };
}

describe("ACR workload identity (under mocks)", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram(stackConfig(wiConfig()), { stack: "dev" });
  });

  it("registers its azure-native resources without the version aliases their classes add (leanRegistration)", () => {
    const azure = run.recorder.resources.filter((r) => r.type.startsWith("azure-native:"));
    assert.ok(azure.length >= 3, `${azure.length} azure-native resources`);
    assert.deepStrictEqual(
      azure.filter((r) => r.aliases.length > 0).map((r) => `${r.type} ${r.name}`),
      [],
    );
  });

  it("reads each registry's mode through getResource at 2025-11-01, before declaring anything", () => {
    const calls = run.recorder.calls.filter((c) => c.token === "azure-native:resources:getResource");
    assert.deepStrictEqual(
      calls.map((c) => c.inputs),
      [
        {
          resourceGroupName: "rg-registry",
          resourceProviderNamespace: "Microsoft.ContainerRegistry",
          parentResourcePath: "",
          resourceType: "registries",
          resourceName: "mycompany",
          apiVersion: "2025-11-01",
        },
      ],
    );
  });

  it("declares no token, scope map or password for a workload-identity registry", () => {
    const types = run.recorder.summary().map((s) => s.split("/").slice(0, -1).join("/"));
    for (const t of types) assert.doesNotMatch(t, /containerregistry|AcrTokenPassword/);
  });

  it("gives each namespace its own identity, trusted only for its generator's service account", () => {
    const identity = run.recorder.find(IDENTITY, "team-a-wi-identity");
    assert.deepStrictEqual(identity.inputs, {
      resourceGroupName: "rg-identities",
      resourceName: acrIdentityName("registry-access", "dev", "team-a"),
      location: "westeurope",
      tags: { "managed-by": "registry-access", namespace: "team-a", stack: "dev" },
    });
    const component = run.recorder.find("registry-access:index:AcrWorkloadIdentity", "team-a-wi");
    for (const r of [identity, run.recorder.find(FEDERATION, "team-a-wi-federation")]) {
      assert.strictEqual(r.parent, component.urn);
    }
    assert.strictEqual(acrIdentityName("registry-access", "dev", "team-a"), "ra-acr-dev-team-a-8c8f2dcc");
    assert.strictEqual(generatorName("acr"), "registry-access-acr-19f42ec3");
    const fed = run.recorder.find(FEDERATION, "team-a-wi-federation");
    assert.deepStrictEqual(fed.inputs, {
      resourceGroupName: "rg-identities",
      resourceName: acrIdentityName("registry-access", "dev", "team-a"),
      federatedIdentityCredentialResourceName: acrIdentityName("registry-access", "dev", "team-a"),
      issuer: ISSUER,
      subject: "system:serviceaccount:team-a:registry-access-acr",
      audiences: ["api://AzureADTokenExchange"],
    });
    assert.notStrictEqual(
      acrIdentityName("registry-access", "dev", "team-a"),
      acrIdentityName("registry-access", "dev", "team-b"),
    );
  });

  it("assigns Repository Reader on the registry with the namespace's condition and a stable GUID name", () => {
    const role = run.recorder.find(ROLE, "team-a-wi-acr-reader");
    const { roleAssignmentName, ...inputs } = role.inputs;
    assert.deepStrictEqual(inputs, {
      scope: REGISTRY_ID,
      roleDefinitionId: `${SUB}/providers/Microsoft.Authorization/roleDefinitions/b93aa761-3e63-49ed-ac28-beffa264f7ac`,
      principalId: `principal-id-of-${acrIdentityName("registry-access", "dev", "team-a")}`,
      principalType: "ServicePrincipal",
      condition: repositoryReaderCondition(["team-a/*", "shared/base"]),
      conditionVersion: "2.0",
      description: "registry-access: namespace team-a pulls its repositories of mycompany.azurecr.io",
    });
    assert.match(roleAssignmentName, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notStrictEqual(
      roleAssignmentName,
      run.recorder.find(ROLE, "team-b-wi-acr-reader").inputs.roleAssignmentName,
    );
  });

  it("annotates the generator's service account with the identity, and points the generator at it", () => {
    const sa = run.recorder.find(SA, "team-a-wi-generator-sa");
    assert.strictEqual(sa.inputs.metadata.name, "registry-access-acr");
    assert.deepStrictEqual(sa.inputs.metadata.labels, { "app.kubernetes.io/managed-by": "registry-access" });
    assert.strictEqual(
      sa.inputs.metadata.annotations["azure.workload.identity/client-id"],
      `client-id-of-${acrIdentityName("registry-access", "dev", "team-a")}`,
    );
    assert.strictEqual(
      sa.inputs.metadata.annotations["azure.workload.identity/tenant-id"],
      "11111111-1111-1111-1111-111111111111",
    );
    const generator = run.recorder.find(GENERATOR, "team-a-wi-acr-generator");
    assert.strictEqual(generator.inputs.metadata.name, generatorName("acr"));
    assert.strictEqual(generator.inputs.metadata.annotations["pulumi.com/patchForce"], "true");
    assert.deepStrictEqual(generator.inputs.spec, {
      auth: { workloadIdentity: { serviceAccountRef: { name: "registry-access-acr" } } },
      registry: "mycompany.azurecr.io",
      tenantId: "11111111-1111-1111-1111-111111111111",
    });
    assert.ok(generator.dependsOn.includes(sa.urn));
  });

  it("renders the generated token into <secretName>-acr and waits for Ready after the role and federation", () => {
    const es = run.recorder.find(EXTERNAL_SECRET, "team-a-wi-external-secret");
    assert.strictEqual(es.inputs.metadata.name, "regcred-acr");
    assert.strictEqual(es.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    assert.strictEqual(es.inputs.spec.refreshInterval, "1h");
    assert.strictEqual(es.inputs.spec.target.name, "regcred-acr");
    assert.deepStrictEqual(es.inputs.spec.dataFrom, [
      {
        sourceRef: {
          generatorRef: {
            apiVersion: "generators.external-secrets.io/v1alpha1",
            kind: "ACRAccessToken",
            name: generatorName("acr"),
          },
        },
      },
    ]);
    assert.strictEqual(
      es.inputs.spec.target.template.data[".dockerconfigjson"],
      dockerConfigTemplate(["mycompany.azurecr.io"]),
    );
    for (const dep of ["team-a-wi-federation", "team-a-wi-acr-reader"]) {
      const type = dep.endsWith("reader") ? ROLE : FEDERATION;
      assert.ok(es.dependsOn.includes(run.recorder.find(type, dep).urn), dep);
    }
    assert.ok(es.dependsOn.includes(run.recorder.find(GENERATOR, "team-a-wi-acr-generator").urn));
  });

  it("keeps Docker Hub in regcred, and lists regcred, the generated Secret and the extras on the account", () => {
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    const json = JSON.parse(Buffer.from(secret.inputs.data[".dockerconfigjson"], "base64").toString());
    assert.deepStrictEqual(Object.keys(json.auths), ["https://index.docker.io/v1/"]);
    const patch = run.recorder.find(SA_PATCH, "team-a-sa-default");
    assert.deepStrictEqual(patch.inputs.secretNames, ["regcred", "regcred-acr", "legacy-pull"]);
  });

  it("orders a migration without a gap: Secret Ready, then accounts, then regcred drops the registry", () => {
    const patch = run.recorder.find(SA_PATCH, "team-a-sa-default");
    const es = run.recorder.find(EXTERNAL_SECRET, "team-a-wi-external-secret");
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    assert.ok(patch.dependsOn.includes(es.urn));
    assert.ok(
      !patch.dependsOn.includes(secret.urn),
      "the account must not wait for regcred: that is a cycle",
    );
    assert.ok(secret.dependsOn.includes(patch.urn));
  });

  it("writes no regcred for a namespace whose registries all use workload identity", () => {
    assert.strictEqual(run.recorder.ofType(SECRET).filter((s) => s.name.startsWith("team-b")).length, 0);
    assert.deepStrictEqual(run.recorder.find(SA_PATCH, "team-b-sa-default").inputs.secretNames, [
      "regcred-acr",
    ]);
    assert.deepStrictEqual(run.outputs.namespaces, {
      "team-a": {
        secretName: "regcred",
        generatedSecretName: "regcred-acr",
        delivery: "direct",
        registries: ["mycompany.azurecr.io", "https://index.docker.io/v1/"],
        serviceAccounts: ["default"],
      },
      "team-b": {
        generatedSecretName: "regcred-acr",
        delivery: "direct",
        registries: ["mycompany.azurecr.io"],
        serviceAccounts: ["default"],
      },
    });
  });

  it("holds no credential in plain text anywhere it registers", () => {
    const leaks = run.recorder.resources.flatMap((r) =>
      plaintextStrings(r.inputs).filter((s) => s.text.includes(CANARY.hubPassword)),
    );
    assert.deepStrictEqual(leaks, []);
  });
});

describe("ACR workload identity: how long `up` waits for the generated Secret (issue 16, item 3)", () => {
  for (const [readyTimeoutSeconds, expected] of [
    [undefined, "1800"],
    [900, "900"],
  ] as const) {
    it(`waits ${expected} s for each ExternalSecret (readyTimeoutSeconds ${readyTimeoutSeconds})`, async () => {
      const config = wiConfig();
      if (readyTimeoutSeconds !== undefined) {
        (config.workloadIdentity as Record<string, unknown>).readyTimeoutSeconds = readyTimeoutSeconds;
      }
      const run = await runProgram(stackConfig(config), { stack: "dev" });
      for (const ns of ["team-a", "team-b"]) {
        const annotations = run.recorder.find(EXTERNAL_SECRET, `${ns}-wi-external-secret`).inputs.metadata
          .annotations;
        assert.deepStrictEqual(
          [annotations["pulumi.com/waitFor"], annotations["pulumi.com/timeoutSeconds"]],
          ["condition=Ready", expected],
        );
      }
    });
  }
});

describe("ACR workload identity: the registry's mode, checked before anything is declared", () => {
  async function refusal(properties: Record<string, unknown>): Promise<string> {
    try {
      await runProgram(stackConfig(wiConfig()), {
        stack: "dev",
        invokes: {
          "azure-native:resources:getResource": () => ({ id: REGISTRY_ID, name: "mycompany", properties }),
        },
      });
    } catch (e) {
      return (e as Error).message;
    }
    assert.fail("expected the run to be refused");
  }

  it("refuses a registry in legacy mode with the command that switches it, and what switching drops", async () => {
    assert.strictEqual(
      await refusal({ roleAssignmentMode: "LegacyRegistryPermissions" }),
      "registries.acr: registry mycompany in resource group rg-registry is in role assignment mode " +
        "LegacyRegistryPermissions, where a Repository Reader role with a repository condition is not honoured " +
        "as it is in ABAC mode. Switch it with `az acr update --name mycompany --resource-group rg-registry " +
        "--role-assignment-mode rbac-abac` (in that mode AcrPull, AcrPush and AcrDelete grants stop working: grant " +
        "repository roles to whoever relies on them first), or use auth: token",
    );
  });

  it("refuses a registry that disables Entra authentication as ARM, and lists both problems at once", async () => {
    const message = await refusal({ policies: { azureADAuthenticationAsArmPolicy: { status: "disabled" } } });
    assert.deepStrictEqual(
      message.split("\n").map((l) => l.slice(0, 60)),
      [
        "registries.acr: registry mycompany in resource group rg-registry is in role assignment mode LegacyRegistryPermissions (not reported)".slice(
          0,
          60,
        ),
        "registries.acr: registry mycompany in resource group rg-registry has azureADAuthenticationAsArmPolicy disabled".slice(
          0,
          60,
        ),
      ],
    );
    assert.ok(
      message.endsWith(
        "has azureADAuthenticationAsArmPolicy disabled, so it refuses the ARM-audience token that ESO's " +
          "ACRAccessToken generator exchanges. Enable it with `az acr config authentication-as-arm update " +
          "--registry mycompany --status enabled`, or use auth: token",
      ),
    );
  });

  it("names a registry it cannot read, with what to check", async () => {
    let message = "";
    try {
      await runProgram(stackConfig(wiConfig()), {
        stack: "dev",
        invokes: {
          "azure-native:resources:getResource": () => {
            throw new Error("ResourceNotFound");
          },
        },
      });
    } catch (e) {
      message = (e as Error).message;
    }
    assert.match(
      message,
      /^registries\.acr: could not read registry mycompany in resource group rg-registry \(.*ResourceNotFound.*\)\. Check the name, the resource group and that the identity running Pulumi may read it \(Reader on the registry\)\.$/s,
    );
  });
});

describe("npm run plan: workload identity", () => {
  it("shows per namespace the identity, the role with its condition and the Secret ESO writes", async () => {
    const { buildPlan, formatPlan } = await import("../tools/plan");
    const { parseSettings } = await import("../components/settings");
    const config = wiConfig();
    const run = await runProgram(stackConfig(config), { stack: "dev" });
    const text = formatPlan(buildPlan("dev", parseSettings(config), run.recorder, { dockerhub: "secret" }));
    const identity = acrIdentityName("registry-access", "dev", "team-b");
    assert.strictEqual(
      text.split("\n\n")[2],
      [
        "team-b",
        `  delivery direct, secret regcred, ${text.match(/team-b\n {2}delivery direct, secret regcred, (\d+)/)![1]} resources`,
        "  registries:",
        `    mycompany.azurecr.io  (acr, acr) workload identity ${identity}, repositories: team-b/api`,
        "      role Container Registry Repository Reader (b93aa761-3e63-49ed-ac28-beffa264f7ac) on the registry, " +
          `condition: ${repositoryReaderCondition(["team-b/api"])}`,
        "      secret regcred-acr, written by ESO's ACRAccessToken generator, renewed every 1h",
        "  service accounts: default (patched)",
      ].join("\n"),
    );
  });
});
