/**
 * NamespaceRegistryAccess built on its own under Pulumi's mock runtime, for the StrykerJS mutants that the program
 * tests leave alive (issue 12): the refusal of workload-identity registries without their settings or resource ids
 * (the program always passes both), the properties each child registers (its leanRegistration), and the early
 * start of the dynamic-provider plugin before an adopted account's wiring.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as plugin from "../../components/dynamicProviderPlugin";
import { NamespaceRegistryAccess } from "../../components/NamespaceRegistryAccess";
import type { AcrRegistry, NamespaceSettings, StaticRegistry } from "../../components/settings";
import type { WorkloadIdentitySettings } from "../../components/workloadIdentitySettings";
import { ACR_REGISTRY, declaredUnderMocks } from "../support/fixtures";

const ACR = ACR_REGISTRY;

const HUB: StaticRegistry = {
  id: "hub",
  type: "static",
  server: "docker.io",
  username: "bot",
  password: pulumi.secret("not-a-real-password"),
};

/** Two registries whose pulls go through workload identity: the refusal names both. */
const WI_A: AcrRegistry = {
  ...ACR,
  id: "wi-a",
  server: "wia.azurecr.io",
  registryName: "wia",
  auth: "workloadIdentity",
};
const WI_B: AcrRegistry = { ...WI_A, id: "wi-b", server: "wib.azurecr.io", registryName: "wib" };

const WORKLOAD_IDENTITY: WorkloadIdentitySettings = {
  oidcIssuerUrl: "https://oidc.example.com/issuer/",
  identityResourceGroup: "rg-identities",
  refreshInterval: "1h",
  apiVersion: "external-secrets.io/v1",
};

const RESOURCE_IDS = new Map([
  [
    WI_A.id,
    "/subscriptions/0/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/wia",
  ],
  [
    WI_B.id,
    "/subscriptions/0/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/wib",
  ],
]);

function namespace(extra: Partial<NamespaceSettings> = {}): NamespaceSettings {
  return {
    name: "team-a",
    delivery: "direct",
    registries: [{ registry: HUB, repositories: [] }],
    serviceAccounts: [],
    labels: {},
    annotations: {},
    extraImagePullSecrets: [],
    ...extra,
  };
}

const ARGS = { secretName: "regcred", project: "registry-access", stack: "test" };

const declared = declaredUnderMocks;

describe("NamespaceRegistryAccess: workload-identity registries without their settings or resource ids", () => {
  const withIdentity = namespace({
    registries: [
      { registry: HUB, repositories: [] },
      { registry: WI_A, repositories: ["team-a/*"] },
      { registry: WI_B, repositories: ["team-a/*"] },
    ],
  });
  const REFUSAL =
    "namespaces.team-a: auth workloadIdentity needs the workloadIdentity settings and the resource id of " +
    "registries wi-a, wi-b";
  const refused = (error: unknown) =>
    error instanceof pulumi.ResourceError && (error as Error).message === REFUSAL;

  it("refuses them without the workloadIdentity settings, though every resource id is known", async () => {
    await declared(() => {
      assert.throws(
        () =>
          new NamespaceRegistryAccess("no-settings", {
            ...ARGS,
            namespace: withIdentity,
            registryResourceIds: RESOURCE_IDS,
          }),
        refused,
      );
    });
  });

  it("refuses them without any resource id, and with the id of only one of the two", async () => {
    await declared(() => {
      assert.throws(
        () =>
          new NamespaceRegistryAccess("no-ids", {
            ...ARGS,
            namespace: withIdentity,
            workloadIdentity: WORKLOAD_IDENTITY,
          }),
        refused,
      );
      assert.throws(
        () =>
          new NamespaceRegistryAccess("one-id", {
            ...ARGS,
            namespace: withIdentity,
            workloadIdentity: WORKLOAD_IDENTITY,
            registryResourceIds: new Map([[WI_A.id, RESOURCE_IDS.get(WI_A.id)!]]),
          }),
        refused,
      );
    });
  });

  it("declares the workload identity once it has the settings and both resource ids", async () => {
    const recorder = await declared(() => {
      new NamespaceRegistryAccess("both", {
        ...ARGS,
        namespace: withIdentity,
        workloadIdentity: WORKLOAD_IDENTITY,
        registryResourceIds: RESOURCE_IDS,
      });
    });
    const component = recorder.find("registry-access:index:NamespaceRegistryAccess", "both").urn;
    assert.strictEqual(
      recorder.find("registry-access:index:AcrWorkloadIdentity", "both-wi").parent,
      component,
    );
  });
});

/** A transformation on the component: it runs for every child after the child's own, so it sees what is registered. */
interface Child {
  readonly name: string;
  readonly props: string[];
}

describe("NamespaceRegistryAccess: what each child registers", () => {
  it("registers the properties with a value and the outputs the program reads, nothing left undefined", async () => {
    const children: Child[] = [];
    await declared(() => {
      new NamespaceRegistryAccess(
        "team-a",
        {
          ...ARGS,
          namespace: namespace({
            registries: [
              { registry: ACR, repositories: ["team-a/*"] },
              { registry: HUB, repositories: [] },
            ],
            serviceAccounts: [
              { name: "default", create: false },
              { name: "builder", create: true },
            ],
          }),
        },
        {
          transformations: [
            ({ name, props, resource }) => {
              if (resource instanceof pulumi.CustomResource)
                children.push({ name, props: Object.keys(props).sort() });
              return undefined;
            },
          ],
        },
      );
    });
    // The namespace's own children; the ACR token's are AcrPullToken's (test/mutants/acrPullTokenEdges.test.ts).
    const own = ["team-a-namespace", "team-a-pull-secret", "team-a-sa-builder", "team-a-sa-default"];
    assert.deepStrictEqual(
      Object.fromEntries(children.filter((c) => own.includes(c.name)).map((c) => [c.name, c.props])),
      {
        "team-a-namespace": ["apiVersion", "kind", "metadata"],
        "team-a-pull-secret": ["apiVersion", "data", "kind", "metadata", "type"],
        "team-a-sa-builder": ["apiVersion", "imagePullSecrets", "kind", "metadata"],
        "team-a-sa-default": ["__provider", "fieldManager", "namespace", "secretNames", "serviceAccount"],
      },
    );
  });
});

describe("NamespaceRegistryAccess: the dynamic-provider plugin is asked to start before an adopted account's wiring", () => {
  it("asks once for each ServiceAccountPullSecrets it declares, and not for an account it creates", async () => {
    const module = plugin as { startDynamicProviderPlugin: () => void };
    const original = module.startDynamicProviderPlugin;
    let calls = 0;
    module.startDynamicProviderPlugin = () => {
      calls += 1;
    };
    try {
      const recorder = await declared(() => {
        new NamespaceRegistryAccess("team-a", {
          ...ARGS,
          namespace: namespace({
            serviceAccounts: [
              { name: "default", create: false },
              { name: "builder", create: true },
              { name: "deployer", create: false },
            ],
          }),
        });
      });
      const wiring = recorder.ofType("pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets");
      assert.deepStrictEqual(
        wiring.map((r) => r.name),
        ["team-a-sa-default", "team-a-sa-deployer"],
      );
      assert.strictEqual(calls, 2);
    } finally {
      module.startDynamicProviderPlugin = original;
    }
  });
});
