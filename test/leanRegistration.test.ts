import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { isVersionAlias, leanRegistration, notRegisteredMessage } from "../components/leanRegistration";
import { NamespaceRegistryAccess } from "../components/NamespaceRegistryAccess";
import type { NamespaceSettings } from "../components/settings";
import { installMocks, Recorder, runProgram, stackConfig } from "../tools/mockRuntime";
import { ACR_REGISTRY, acrSettings } from "./support/fixtures";

const TOKEN = "azure-native:containerregistry:Token";
const CREATED = "2026-12-05T01:02:03Z";
const ACR = ACR_REGISTRY;

/** The transformation applied outside the SDK, to a stand-in for the resource object. */
function transform(
  keep: readonly string[],
  props: pulumi.Inputs,
  opts: pulumi.CustomResourceOptions = {},
  type = TOKEN,
) {
  const resource = {} as pulumi.Resource;
  const result = leanRegistration(...(keep as never[]))({ resource, type, name: "t", props, opts })!;
  return { resource, props: result.props, opts: result.opts };
}

describe("leanRegistration: only the outputs the program reads (issue 17, item 5)", () => {
  it("knows an alias that names an API version of the same azure-native type, and nothing else", () => {
    const cases: [unknown, boolean][] = [
      [{ type: "azure-native:containerregistry/v20230701:Token" }, true],
      [{ type: "azure-native:containerregistry/v20190501preview:Token" }, true],
      [{ type: "azure-native:containerregistry/v20230701:ScopeMap" }, false],
      [{ type: "azure-native:storage/v20230701:Token" }, false],
      [{ type: "azure-native:containerregistry:Token" }, false],
      [{ type: "azure-native:containerregistry/v2023:Token" }, false],
      [{ type: "azure-native:containerregistry/v20230701beta:Token" }, false],
      [{ type: "azure-native:containerregistry/v20230701:Token", name: "old" }, false],
      [{ name: "old" }, false],
      ["urn:pulumi:dev::registry-access::azure-native:containerregistry/v20230701:Token::t", false],
      [pulumi.output({ type: "azure-native:containerregistry/v20230701:Token" }), false],
      [null, false],
    ];
    for (const [alias, expected] of cases) {
      assert.strictEqual(isVersionAlias(alias, TOKEN), expected, JSON.stringify(alias));
    }
  });

  it("keeps the properties with a value and the listed outputs, and drops the rest", () => {
    const { props } = transform(["creationDate"], {
      tokenName: "t",
      status: "enabled",
      enabledFlag: false,
      count: 0,
      empty: "",
      creationDate: undefined,
      credentials: undefined,
      provisioningState: undefined,
    });
    assert.deepStrictEqual(props, {
      tokenName: "t",
      status: "enabled",
      enabledFlag: false,
      count: 0,
      empty: "",
      creationDate: undefined,
    });
    assert.ok(Object.prototype.hasOwnProperty.call(props, "creationDate"));
  });

  it("makes a read of a dropped output throw, with the fix, and hides it from enumeration", () => {
    const { resource } = transform([], { tokenName: "t", provisioningState: undefined });
    assert.throws(
      () => (resource as unknown as { provisioningState: unknown }).provisioningState,
      (error: Error) => error.message === notRegisteredMessage(TOKEN, "t", "provisioningState"),
    );
    assert.deepStrictEqual(Object.keys(resource), []);
    assert.strictEqual(Object.prototype.hasOwnProperty.call(resource, "tokenName"), false);
    assert.strictEqual(
      notRegisteredMessage(TOKEN, "t", "provisioningState"),
      "azure-native:containerregistry:Token t: the output provisioningState is not registered; registry-access " +
        "registers only the outputs it reads (components/leanRegistration.ts). Add " +
        '"provisioningState" to the outputs passed to leanRegistration where the resource is declared',
    );
  });

  it("drops the version aliases and keeps every other alias and option", () => {
    const rename = { name: "old-name" };
    const other = { type: "azure-native:containerregistry/v20230701:ScopeMap" };
    const { opts } = transform(
      [],
      {},
      {
        aliases: [{ type: "azure-native:containerregistry/v20230701:Token" }, rename, other],
        ignoreChanges: ["credentials"],
        retainOnDelete: true,
      },
    );
    assert.deepStrictEqual(opts, {
      aliases: [rename, other],
      ignoreChanges: ["credentials"],
      retainOnDelete: true,
    });
    assert.strictEqual(transform([], {}, {}).opts.aliases, undefined);
  });

  describe("on azure-native's Token under the mock runtime", () => {
    const recorder = new Recorder();
    let lean: containerregistry.Token;
    before(async () => {
      // What ARM returns: the kept output, and one that is dropped.
      const settled = await installMocks(recorder, {
        state: () => ({ creationDate: CREATED, provisioningState: "Succeeded" }),
      });
      const args = {
        resourceGroupName: "rg",
        registryName: "reg",
        tokenName: "tok",
        scopeMapId: "/scopeMaps/tok",
        status: "enabled",
      };
      new containerregistry.Token("full", args);
      lean = new containerregistry.Token("lean", args, {
        transformations: [leanRegistration<containerregistry.Token>("creationDate")],
      });
      await settled();
    });

    it("registers the same inputs, without the 20 version aliases the class adds", () => {
      const full = recorder.find(TOKEN, "full");
      const registered = recorder.find(TOKEN, "lean");
      assert.strictEqual(full.aliases.length, 20);
      assert.ok(full.aliases.every((type) => isVersionAlias({ type }, TOKEN)));
      assert.deepStrictEqual(registered.aliases, []);
      assert.deepStrictEqual(registered.inputs, full.inputs);
    });

    it("resolves the kept output and refuses the others by name", async () => {
      const created = await new Promise((resolve) => lean.creationDate.apply(resolve));
      assert.strictEqual(created, CREATED);
      assert.throws(() => lean.provisioningState, {
        message: notRegisteredMessage(TOKEN, "lean", "provisioningState"),
      });
      const status = await new Promise((resolve) => lean.status.apply(resolve));
      assert.strictEqual(status, "enabled");
    });
  });

  it("the program registers no resource with a version alias", async () => {
    const run = await runProgram(stackConfig(acrSettings()), { stack: "dev" });
    const withAliases = run.recorder.resources.filter((r) => r.aliases.length > 0);
    assert.deepStrictEqual(
      withAliases.map((r) => `${r.type} ${r.name}`),
      [],
    );
    assert.ok(run.recorder.ofType(TOKEN).length > 0);
  });

  it("no component imports a versioned azure-native module, so no state holds a versioned type", () => {
    const root = path.resolve(__dirname, "..");
    const files = [
      "index.ts",
      ...fs.readdirSync(path.join(root, "components")).map((f) => path.join("components", f)),
    ].filter((f) => f.endsWith(".ts"));
    const versioned = files.filter((f) =>
      /@pulumi\/azure-native\/[A-Za-z]+\/v\d{8}/.test(fs.readFileSync(path.join(root, f), "utf8")),
    );
    assert.deepStrictEqual(versioned, []);
    assert.ok(files.includes(path.join("components", "AcrPullToken.ts")));
  });
});

/** A transformation on the component: it runs for every child after the child's own, so it sees what the child registers. */
interface Child {
  readonly type: string;
  readonly name: string;
  readonly props: string[];
  readonly resource: pulumi.Resource;
}

describe("leanRegistration in the components: what each child of a namespace registers", () => {
  const children: Child[] = [];
  before(async () => {
    const settled = await installMocks(new Recorder());
    const namespace: NamespaceSettings = {
      name: "team-a",
      delivery: "direct",
      registries: [
        { registry: ACR, repositories: ["team-a/*"] },
        {
          registry: {
            id: "hub",
            type: "static",
            server: "docker.io",
            username: "bot",
            password: pulumi.secret("x"),
          },
          repositories: [],
        },
      ],
      serviceAccounts: [
        { name: "default", create: false },
        { name: "builder", create: true },
      ],
      labels: {},
      annotations: {},
      extraImagePullSecrets: [],
    };
    new NamespaceRegistryAccess(
      "team-a",
      { namespace, secretName: "regcred", project: "registry-access", stack: "test" },
      {
        transformations: [
          ({ type, name, props, resource }) => {
            if (resource instanceof pulumi.CustomResource) {
              children.push({ type, name, props: Object.keys(props).sort(), resource });
            }
            return undefined;
          },
        ],
      },
    );
    await settled();
  });

  it("registers the properties with a value and the outputs the program reads, nothing else", () => {
    assert.deepStrictEqual(Object.fromEntries(children.map((c) => [`${c.type} ${c.name}`, c.props])), {
      "kubernetes:core/v1:Namespace team-a-namespace": ["apiVersion", "kind", "metadata"],
      "azure-native:containerregistry:ScopeMap team-a-acr-scope-map": [
        "actions",
        "description",
        "registryName",
        "resourceGroupName",
        "scopeMapName",
      ],
      "azure-native:containerregistry:Token team-a-acr-token": [
        "creationDate",
        "registryName",
        "resourceGroupName",
        "scopeMapId",
        "status",
        "tokenName",
      ],
      "random:index/randomInteger:RandomInteger team-a-acr-rotation-offset": [
        "keepers",
        "max",
        "min",
        "result",
      ],
      "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword team-a-acr-password": [
        "__provider",
        "activeSlot",
        "loginServer",
        "password",
        "password1Expiry",
        "password2Expiry",
        "passwordLifetimeDays",
        "registryId",
        "rotateAfterDays",
        "rotationOffsetHours",
        "rotationTime",
        "scopeMapId",
        "tokenCreationDate",
        "tokenId",
      ],
      "kubernetes:core/v1:Secret team-a-pull-secret": ["apiVersion", "data", "kind", "metadata", "type"],
      "kubernetes:core/v1:ServiceAccount team-a-sa-builder": [
        "apiVersion",
        "imagePullSecrets",
        "kind",
        "metadata",
      ],
      "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets team-a-sa-default": [
        "__provider",
        "fieldManager",
        "namespace",
        "secretNames",
        "serviceAccount",
      ],
    });
  });

  it("refuses a read of an output it did not register, naming the resource", () => {
    const token = children.find((c) => c.name === "team-a-acr-token")!.resource as containerregistry.Token;
    assert.throws(() => token.credentials, {
      message: notRegisteredMessage(TOKEN, "team-a-acr-token", "credentials"),
    });
    const secret = children.find((c) => c.name === "team-a-pull-secret")!.resource as k8s.core.v1.Secret;
    assert.throws(() => secret.stringData, {
      message: notRegisteredMessage("kubernetes:core/v1:Secret", "team-a-pull-secret", "stringData"),
    });
  });
});
