/**
 * The three components built one at a time under Pulumi's mock runtime, for what the program tests leave open
 * (StrykerJS mutants that survived them, issue 12): the refusals of arguments that the settings never produce,
 * the options each child is registered with, and the outputs each component registers (what the state shows
 * under the component: `registerOutputs`).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { AcrPullToken } from "../../components/AcrPullToken";
import { ExternalSecretsDelivery } from "../../components/ExternalSecretsDelivery";
import { NamespaceRegistryAccess } from "../../components/NamespaceRegistryAccess";
import type { AcrRegistry, ExternalSecretsSettings, NamespaceSettings } from "../../components/settings";
import { installMocks, Recorder, unwrapSecrets, type RunOptions } from "../../tools/mockRuntime";
// Internal modules of the SDK, as tools/mockRuntime.ts uses them: the mock monitor and the wire format.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeSettings = require("@pulumi/pulumi/runtime/settings");

/** One declaration under fresh mocks: what it registered, and the outputs each component registered. */
interface Declared {
  readonly recorder: Recorder;
  /** The outputs registered for the component of this type and name (waits for them). */
  outputsOf(type: string, name: string): Promise<Record<string, unknown>>;
}

/** Install fresh mocks, run `declare`, and wait until the mock monitor has seen every registration. */
async function declared(declare: () => void, options: RunOptions = {}): Promise<Declared> {
  const recorder = new Recorder();
  const settled = await installMocks(recorder, options);
  const registered = new Map<string, Record<string, unknown>>();
  const waiting = new Map<string, (outputs: Record<string, unknown>) => void>();
  const monitor = runtimeSettings.getMonitor();
  const original = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req: { getUrn(): string; getOutputs(): unknown }, callback: unknown) => {
    const outputs = unwrapSecrets(rpc.deserializeProperties(req.getOutputs())) as Record<string, unknown>;
    registered.set(req.getUrn(), outputs);
    waiting.get(req.getUrn())?.(outputs);
    return original(req, callback);
  };
  declare();
  await settled();
  return {
    recorder,
    outputsOf(type, name) {
      const urn = recorder.find(type, name).urn;
      const done = registered.get(urn);
      return done ? Promise.resolve(done) : new Promise((resolve) => waiting.set(urn, resolve));
    },
  };
}

const ACR: AcrRegistry = {
  id: "acr",
  type: "acr",
  server: "mycompany.azurecr.io",
  resourceGroup: "rg-registry",
  registryName: "mycompany",
  passwordLifetimeDays: 90,
  rotateAfterDays: 60,
};

const ESO: ExternalSecretsSettings = {
  keyVault: { name: "kv-pull", resourceGroup: "rg-vault" },
  oidcIssuerUrl: "https://oidc.example.com/issuer/",
  refreshInterval: "1h",
  apiVersion: "external-secrets.io/v1",
  identityResourceGroup: "rg-identities",
};

function namespace(extra: Partial<NamespaceSettings> = {}): NamespaceSettings {
  return {
    name: "team-a",
    delivery: "direct",
    registries: [
      {
        registry: {
          id: "hub",
          type: "static",
          server: "docker.io",
          username: "bot",
          password: pulumi.secret("not-a-real-password"),
        },
        repositories: [],
      },
    ],
    serviceAccounts: [],
    labels: {},
    annotations: {},
    extraImagePullSecrets: [],
    ...extra,
  };
}

const PASSWORD_TYPE = "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword";

describe("NamespaceRegistryAccess: arguments the settings never produce, and its registered outputs", () => {
  const args = { secretName: "pull-secret", project: "registry-access", stack: "test" };

  it("refuses a namespace without registries, and ESO delivery without the externalSecrets settings", async () => {
    await declared(() => {
      assert.throws(
        () => new NamespaceRegistryAccess("empty", { ...args, namespace: namespace({ registries: [] }) }),
        {
          message: "namespaces.team-a.registries: a namespace needs a registry",
        },
      );
      assert.throws(
        () =>
          new NamespaceRegistryAccess("eso", {
            ...args,
            namespace: namespace({ delivery: "externalSecrets" }),
          }),
        {
          message: "namespaces.team-a.delivery: externalSecrets delivery needs the externalSecrets settings",
        },
      );
    });
  });

  it("registers its outputs under the component: names, delivery, servers, accounts and tokens", async () => {
    const run = await declared(() => {
      new NamespaceRegistryAccess("team-a", {
        ...args,
        namespace: namespace({ serviceAccounts: [{ name: "default", create: false }] }),
      });
    });
    assert.deepStrictEqual(await run.outputsOf("registry-access:index:NamespaceRegistryAccess", "team-a"), {
      namespaceName: "team-a",
      secretName: "pull-secret",
      delivery: "direct",
      servers: ["https://index.docker.io/v1/"],
      serviceAccounts: ["default"],
      acrTokens: [],
    });
  });
});

describe("AcrPullToken: arguments the settings never produce, what its password resource gets, its outputs", () => {
  const args = { namespace: "team-a", project: "registry-access", stack: "test" };

  it("refuses a token without repositories", async () => {
    await declared(() => {
      assert.throws(() => new AcrPullToken("none", { ...args, registry: ACR, repositories: [] }), {
        message: "namespaces.team-a.registries.acr.repositories: list at least one repository",
      });
    });
  });

  it("registers its four children under itself; passes forceRotation and a repository to verify on only when there are some", async () => {
    const run = await declared(() => {
      new AcrPullToken("forced", {
        ...args,
        registry: { ...ACR, forceRotation: "ticket-1234" },
        repositories: ["team-a/*", "team-a/app"],
      });
      new AcrPullToken("plain", { ...args, namespace: "team-b", registry: ACR, repositories: ["team-b/*"] });
    });
    const forced = run.recorder.find(PASSWORD_TYPE, "forced-password").inputs;
    assert.deepStrictEqual([forced.forceRotation, forced.verifyRepository], ["ticket-1234", "team-a/app"]);
    const plain = run.recorder.find(PASSWORD_TYPE, "plain-password").inputs;
    assert.deepStrictEqual(["forceRotation" in plain, "verifyRepository" in plain], [false, false]);
    const component = run.recorder.find("registry-access:index:AcrPullToken", "forced").urn;
    assert.deepStrictEqual(
      run.recorder.resources
        .filter((r) => r.parent === component)
        .map((r) => r.name)
        .sort(),
      ["forced-password", "forced-rotation-offset", "forced-scope-map", "forced-token"],
    );
  });

  it("registers token name, password and a summary with both expiry dates once both slots are generated", async () => {
    const run = await declared(
      () => {
        new AcrPullToken("team-a-acr", { ...args, registry: ACR, repositories: ["team-a/app"] });
      },
      {
        state: (type) =>
          type === PASSWORD_TYPE
            ? { activeSlot: "password2", password2Expiry: "2099-06-30T00:00:00.000Z" }
            : undefined,
      },
    );
    const tokenName = run.recorder.find("azure-native:containerregistry:Token", "team-a-acr-token").inputs
      .tokenName;
    assert.deepStrictEqual(await run.outputsOf("registry-access:index:AcrPullToken", "team-a-acr"), {
      tokenName,
      password: "generated-for-team-a-acr-password",
      summary: {
        registry: "mycompany.azurecr.io",
        tokenName,
        repositories: ["team-a/app"],
        activeSlot: "password2",
        password1Expiry: "2099-12-31T00:00:00.000Z",
        password2Expiry: "2099-06-30T00:00:00.000Z",
      },
    });
  });
});

describe("ExternalSecretsDelivery: what its children are registered with, and its outputs", () => {
  const args = {
    namespace: pulumi.output("team-a"),
    namespaceName: "team-a",
    dockerConfigJson: pulumi.secret('{"auths":{}}'),
    secretName: "pull-secret",
    project: "registry-access",
    stack: "test",
  };
  const TYPE = "registry-access:index:ExternalSecretsDelivery";

  it("registers every child under the component, tags the vault secret and the identity, labels the store's account", async () => {
    const run = await declared(() => {
      new ExternalSecretsDelivery("team-a-eso", { ...args, settings: { ...ESO, location: "westeurope" } });
    });
    const component = run.recorder.find(TYPE, "team-a-eso").urn;
    const children = run.recorder.resources.filter((r) => r.type !== TYPE);
    assert.deepStrictEqual(
      children.map((r) => [r.name, r.parent]),
      children.map((r) => [r.name, component]),
    );
    assert.strictEqual(children.length, 7);
    const tags = { "managed-by": "registry-access", namespace: "team-a", stack: "test" };
    assert.deepStrictEqual(
      run.recorder.find("azure-native:keyvault:Secret", "team-a-eso-vault-secret").inputs.tags,
      tags,
    );
    const identity = run.recorder.find(
      "azure-native:managedidentity:UserAssignedIdentity",
      "team-a-eso-identity",
    );
    assert.deepStrictEqual([identity.inputs.tags, identity.inputs.location], [tags, "westeurope"]);
    assert.deepStrictEqual(
      run.recorder.find("kubernetes:core/v1:ServiceAccount", "team-a-eso-store-sa").inputs.metadata.labels,
      { "app.kubernetes.io/managed-by": "registry-access" },
    );
  });

  it("the store waits for its account, the federation and the role assignment; no location leaves the group's", async () => {
    const run = await declared(() => {
      new ExternalSecretsDelivery("team-a-eso", { ...args, settings: ESO });
    });
    const urn = (type: string, name: string) => run.recorder.find(type, `team-a-eso-${name}`).urn;
    const store = run.recorder.find(
      "kubernetes:external-secrets.io/v1:SecretStore",
      "team-a-eso-secret-store",
    );
    assert.deepStrictEqual(
      [...store.dependsOn].sort(),
      [
        urn("kubernetes:core/v1:ServiceAccount", "store-sa"),
        urn("azure-native:managedidentity:FederatedIdentityCredential", "federation"),
        urn("azure-native:authorization:RoleAssignment", "secret-reader"),
      ].sort(),
    );
    const identity = run.recorder.find(
      "azure-native:managedidentity:UserAssignedIdentity",
      "team-a-eso-identity",
    );
    assert.strictEqual("location" in identity.inputs, false);
    // Retained like its account: without the ExternalSecret it does nothing.
    assert.strictEqual(store.retainOnDelete, true);
    assert.deepStrictEqual(await run.outputsOf(TYPE, "team-a-eso"), {
      vaultSecretName: "ra-test-team-a-acc9cb5d",
      identityClientId: "client-id-of-ra-test-team-a-acc9cb5d",
    });
  });
});
