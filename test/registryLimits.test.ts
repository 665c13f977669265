import * as assert from "node:assert/strict";
import {
  ACR_MAX_SCOPE_MAP_ACTIONS,
  ACR_SKU_LIMITS,
  acrUsage,
  scopeMapActionProblems,
  skuLimitProblem,
  type AcrUsage,
} from "../components/registryLimits";
import type { AcrRegistry, NamespaceSettings } from "../components/settings";
import { Recorder, runProgram, stackConfig } from "../tools/mockRuntime";
import { acrSettings } from "./support/fixtures";

const GET_REGISTRY = "azure-native:containerregistry:getRegistry";
const ACR: AcrRegistry = {
  id: "acr",
  type: "acr",
  server: "mycompany.azurecr.io",
  resourceGroup: "rg-registry",
  registryName: "mycompany",
  passwordLifetimeDays: 60,
  rotateAfterDays: 30,
};

function usage(count: number): AcrUsage {
  return { registry: ACR, namespaces: Array.from({ length: count }, (_, i) => `ns-${i}`) };
}

function tooMany(sku: string, tokens: number, count: number, target: string): string {
  return (
    `registries.acr: ACR registry mycompany (resource group rg-registry) is on the ${sku} tier, which allows ` +
    `${tokens} tokens and ${tokens} scope maps; this stack declares ${count} of each (one per namespace that pulls ` +
    `from it), so creation number ${tokens + 1} would fail halfway through the rollout. Move the registry to a ` +
    `larger tier (az acr update --name mycompany --resource-group rg-registry --sku ${target}), or spread the ` +
    `namespaces over more registries or stacks.`
  );
}

describe("registryLimits: ACR tier limits (issue 16, item 5)", () => {
  it("the documented limits: Basic 100, Standard 500, Premium 50,000 tokens and scope maps; 500 actions", () => {
    assert.deepEqual(ACR_SKU_LIMITS, {
      Basic: { tokens: 100, scopeMaps: 100 },
      Standard: { tokens: 500, scopeMaps: 500 },
      Premium: { tokens: 50_000, scopeMaps: 50_000 },
    });
    assert.equal(ACR_MAX_SCOPE_MAP_ACTIONS, 500);
  });

  it("Basic: 100 namespaces fit, 101 are refused naming the registry, the count, the limit and the fix", () => {
    assert.equal(skuLimitProblem(usage(100), "Basic"), undefined);
    assert.equal(skuLimitProblem(usage(101), "Basic"), tooMany("Basic", 100, 101, "Standard or Premium"));
  });

  it("Standard: 500 fit, 501 are refused; Premium: 50,000 fit, 50,001 are refused", () => {
    assert.equal(skuLimitProblem(usage(500), "Standard"), undefined);
    assert.equal(skuLimitProblem(usage(501), "Standard"), tooMany("Standard", 500, 501, "Premium"));
    assert.equal(skuLimitProblem(usage(50_000), "Premium"), undefined);
    assert.equal(skuLimitProblem(usage(50_001), "Premium"), tooMany("Premium", 50_000, 50_001, "Premium"));
  });

  it("an unknown or missing SKU is not checked", () => {
    assert.equal(skuLimitProblem(usage(101), "Classic"), undefined);
    assert.equal(skuLimitProblem(usage(101), undefined), undefined);
  });

  it("usage: one entry per registry (by resource group and name, any case), static registries left out", () => {
    const upper = { ...ACR, id: "acr2", resourceGroup: "RG-Registry", registryName: "MyCompany" };
    const other = { ...ACR, id: "other", registryName: "other" };
    const ns = (name: string, registries: NamespaceSettings["registries"]) =>
      ({ name, registries }) as unknown as NamespaceSettings;
    const staticRegistry = {
      registry: { type: "static" },
      repositories: [],
    } as unknown as NamespaceSettings["registries"][0];
    const result = acrUsage({
      namespaces: [
        ns("a", [{ registry: ACR, repositories: ["x"] }, staticRegistry]),
        ns("b", [
          { registry: upper, repositories: ["x"] },
          { registry: other, repositories: ["y"] },
        ]),
        ns("c", [staticRegistry]),
      ],
    });
    assert.deepEqual(
      result.map((u) => [u.registry.id, u.namespaces]),
      [
        ["acr", ["a", "b"]],
        ["other", ["b"]],
      ],
    );
  });

  it("a scope map holds at most 500 actions: 500 repositories fit, 501 are refused with the path", () => {
    const repos = (n: number) => Array.from({ length: n }, (_, i) => `team/r${i}`);
    const ns = (n: number) =>
      ({
        name: "team-a",
        registries: [{ registry: ACR, repositories: repos(n) }],
      }) as unknown as NamespaceSettings;
    const staticNs = {
      name: "team-b",
      registries: [{ registry: { type: "static", id: "hub" }, repositories: repos(300) }],
    } as unknown as NamespaceSettings;
    // One action per repository: a pull needs content/read only (issue 16.13).
    assert.deepEqual(scopeMapActionProblems({ namespaces: [ns(500), staticNs] }), []);
    assert.deepEqual(scopeMapActionProblems({ namespaces: [ns(501)] }), [
      "namespaces.team-a.registries.acr.repositories: 501 repositories make a scope map of 501 actions, over " +
        "ACR's limit of 500 per scope map; list at most 500 repositories, for instance by using prefixes ending in /*.",
    ]);
    // A workload-identity registry has no scope map, whatever its list.
    const wi = {
      name: "team-c",
      registries: [{ registry: { ...ACR, auth: "workloadIdentity" }, repositories: repos(600) }],
    } as unknown as NamespaceSettings;
    assert.deepEqual(scopeMapActionProblems({ namespaces: [wi] }), []);
  });

  describe("through the program", function () {
    // 101 namespaces through the mocked engine: seconds alone, more on a machine shared with others.
    this.timeout(300_000);
    function manyNamespaces(count: number): Record<string, unknown> {
      const base = acrSettings();
      const namespaces: Record<string, unknown> = {};
      for (let i = 0; i < count; i++)
        namespaces[`team-${i}`] = { registries: { acr: { repositories: ["team/app"] } } };
      return { ...base, namespaces };
    }

    it("a Basic registry and 101 namespaces: refused before any resource is declared", async () => {
      const recorder = new Recorder();
      const asked: Record<string, unknown>[] = [];
      await assert.rejects(
        runProgram(stackConfig(manyNamespaces(101)), {
          recorder,
          invokes: {
            [GET_REGISTRY]: (inputs) => {
              asked.push(inputs);
              return { name: inputs.registryName, sku: { name: "Basic", tier: "Basic" } };
            },
          },
        }),
        (e: Error) => {
          assert.equal(e.message, tooMany("Basic", 100, 101, "Standard or Premium"));
          return true;
        },
      );
      assert.deepEqual(asked, [{ resourceGroupName: "rg-registry", registryName: "mycompany" }]);
      assert.deepEqual(recorder.summary(), []);
    });

    it("a Standard registry and the default mock's Premium take the stack's namespaces", async () => {
      const standard = await runProgram(stackConfig(acrSettings()), {
        invokes: { [GET_REGISTRY]: (inputs) => ({ name: inputs.registryName, sku: { name: "Standard" } }) },
      });
      assert.deepEqual(Object.keys(standard.outputs.namespaces as object), ["team-a", "team-b"]);
      const premium = await runProgram(stackConfig(acrSettings()));
      assert.deepEqual(Object.keys(premium.outputs.namespaces as object), ["team-a", "team-b"]);
    });

    it("a registry that cannot be read is refused with the fix", async () => {
      await assert.rejects(
        runProgram(stackConfig(acrSettings()), {
          invokes: {
            [GET_REGISTRY]: () => {
              throw new Error("AuthorizationFailed");
            },
          },
        }),
        (e: Error) => {
          assert.match(
            e.message,
            /^registries\.acr: could not read ACR registry mycompany in resource group rg-registry \(.*AuthorizationFailed.*\)\. Check the name, the resource group and that the identity running Pulumi may read it \(Reader on the registry\)\.$/,
          );
          return true;
        },
      );
    });
  });
});
