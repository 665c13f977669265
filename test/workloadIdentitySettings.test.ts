import * as assert from "assert";
import { parseSettings } from "../components/settings";
import { readWorkloadIdentity } from "../components/workloadIdentitySettings";
import { problemsOf } from "./support/fixtures";

const ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant/cluster/";

/** One ACR registry in workload-identity mode, pulled by `app`, and whatever else the test adds. */
function wiConfig(
  extra: Record<string, unknown> = {},
  acr: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    registries: {
      acr: {
        type: "acr",
        server: "mycompany.azurecr.io",
        resourceGroup: "rg",
        auth: "workloadIdentity",
        ...acr,
      },
    },
    namespaces: { app: { registries: { acr: { repositories: ["team-a/*"] } } } },
    workloadIdentity: { oidcIssuerUrl: ISSUER, identityResourceGroup: "rg-identities" },
    ...extra,
  };
}

describe("workload identity settings", () => {
  it("reads auth workloadIdentity and the block with its defaults", () => {
    const s = parseSettings(wiConfig());
    assert.strictEqual(s.registries.acr.type === "acr" && s.registries.acr.auth, "workloadIdentity");
    assert.deepStrictEqual(s.workloadIdentity, {
      oidcIssuerUrl: ISSUER,
      identityResourceGroup: "rg-identities",
      refreshInterval: "1h",
      apiVersion: "external-secrets.io/v1",
    });
  });

  it("keeps a token registry's settings as they were, with no auth key and no block", () => {
    const s = parseSettings(wiConfig({ workloadIdentity: undefined }, { auth: "token" }));
    assert.strictEqual(s.registries.acr.type === "acr" && "auth" in s.registries.acr, false);
    assert.strictEqual("workloadIdentity" in s, false);
  });

  it("leaves the block out of the settings when no namespace uses the mode", () => {
    const s = parseSettings(wiConfig({}, { auth: "token" }));
    assert.strictEqual("workloadIdentity" in s, false);
  });

  it("takes location, a shorter refreshInterval and the v1beta1 API", () => {
    const s = parseSettings(
      wiConfig({
        workloadIdentity: {
          oidcIssuerUrl: ISSUER,
          identityResourceGroup: "rg-identities",
          location: "westeurope",
          refreshInterval: "30m",
          apiVersion: "external-secrets.io/v1beta1",
        },
      }),
    );
    assert.deepStrictEqual(s.workloadIdentity, {
      oidcIssuerUrl: ISSUER,
      identityResourceGroup: "rg-identities",
      location: "westeurope",
      refreshInterval: "30m",
      apiVersion: "external-secrets.io/v1beta1",
    });
  });

  it("accepts exactly 1h and refuses 1h0m1s, naming the token's life", () => {
    const at = (refreshInterval: string) =>
      wiConfig({ workloadIdentity: { oidcIssuerUrl: ISSUER, identityResourceGroup: "g", refreshInterval } });
    assert.strictEqual(parseSettings(at("60m")).workloadIdentity?.refreshInterval, "60m");
    assert.deepStrictEqual(problemsOf(at("1h0m1s")), [
      'workloadIdentity.refreshInterval: "1h0m1s" is over 1h: the ACR token ESO generates lives about 3 h, so renew it at least hourly (1h or less)',
    ]);
    assert.deepStrictEqual(problemsOf(at("0s")), [
      'workloadIdentity.refreshInterval: "0s" is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m',
    ]);
  });

  it("takes readyTimeoutSeconds from 60 to 3600, set only when configured (issue 16, item 3)", () => {
    const at = (readyTimeoutSeconds: unknown) =>
      wiConfig({
        workloadIdentity: { oidcIssuerUrl: ISSUER, identityResourceGroup: "g", readyTimeoutSeconds },
      });
    assert.strictEqual("readyTimeoutSeconds" in parseSettings(wiConfig()).workloadIdentity!, false);
    assert.strictEqual(parseSettings(at(60)).workloadIdentity?.readyTimeoutSeconds, 60);
    assert.strictEqual(parseSettings(at(3600)).workloadIdentity?.readyTimeoutSeconds, 3600);
    for (const [value, shown] of [
      [59, "59"],
      [3601, "3601"],
      [90.5, "90.5"],
      ["900", '"900"'],
    ] as const) {
      assert.deepStrictEqual(problemsOf(at(value)), [
        `workloadIdentity.readyTimeoutSeconds: expected a whole number of seconds from 60 to 3600, got ${shown}; ` +
          "a first rollout waits at most ceil(namespaces / --parallel) times this for ESO",
      ]);
    }
  });

  it("refuses tokenGeneration on a workload-identity registry: it has no token (issue 16, item 7)", () => {
    const config = wiConfig();
    const app = (config.namespaces as Record<string, { registries: Record<string, Record<string, unknown>> }>)
      .app;
    app.registries.acr.tokenGeneration = 1;
    assert.deepStrictEqual(problemsOf(config), [
      'namespaces.app.registries.acr.tokenGeneration: registry "acr" uses auth workloadIdentity: there is no token ' +
        "to replace; remove tokenGeneration",
    ]);
  });

  it("names a missing block with the registries and namespaces that need it", () => {
    assert.deepStrictEqual(problemsOf(wiConfig({ workloadIdentity: undefined })), [
      "workloadIdentity: missing; registries acr use auth workloadIdentity (namespaces app), which needs oidcIssuerUrl and identityResourceGroup",
    ]);
  });

  it("reports every problem in the block at once", () => {
    assert.deepStrictEqual(
      problemsOf(
        wiConfig({
          workloadIdentity: { oidcIssuerUrl: "http://x", location: "", apiVersion: "v2", extra: 1 },
        }),
      ),
      [
        "workloadIdentity.extra: unknown key; allowed here: oidcIssuerUrl, identityResourceGroup, location, refreshInterval, apiVersion, readyTimeoutSeconds",
        'workloadIdentity.oidcIssuerUrl: expected an https:// URL, got "http://x"',
        "workloadIdentity.identityResourceGroup: missing; set the resource group where the per-namespace managed identities go",
        'workloadIdentity.location: expected an Azure region, got ""',
        'workloadIdentity.apiVersion: unsupported "v2"; use external-secrets.io/v1 for ESO 0.16 or later, or external-secrets.io/v1beta1 for ESO 0.10 to 0.16 (generators need ESO 0.10 or later)',
      ],
    );
    assert.deepStrictEqual(problemsOf(wiConfig({ workloadIdentity: { identityResourceGroup: "g" } })), [
      "workloadIdentity.oidcIssuerUrl: missing; set the cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
    ]);
    assert.deepStrictEqual(problemsOf(wiConfig({ workloadIdentity: "yes" })), [
      'workloadIdentity: expected a map, got "yes"',
    ]);
  });

  it("describes what it got instead of a map or a URL, and refuses blank or non-string text", () => {
    const block = (b: unknown) => wiConfig({ workloadIdentity: b });
    assert.deepStrictEqual(problemsOf(block(null)), ["workloadIdentity: expected a map, got null"]);
    assert.deepStrictEqual(problemsOf(block([])), ["workloadIdentity: expected a map, got a list"]);
    assert.deepStrictEqual(
      problemsOf(block({ oidcIssuerUrl: ["https://a.example/"], identityResourceGroup: "  ", location: {} })),
      [
        "workloadIdentity.oidcIssuerUrl: expected an https:// URL, got a list",
        'workloadIdentity.identityResourceGroup: expected the resource group where the per-namespace managed identities go, got "  "',
        "workloadIdentity.location: expected an Azure region, got a map",
      ],
    );
    assert.deepStrictEqual(
      problemsOf(block({ oidcIssuerUrl: ISSUER, identityResourceGroup: "g", refreshInterval: 5 })),
      [
        "workloadIdentity.refreshInterval: 5 is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m",
      ],
    );
    assert.deepStrictEqual(
      problemsOf(block({ oidcIssuerUrl: ISSUER, identityResourceGroup: "g", refreshInterval: "1d" })),
      [
        'workloadIdentity.refreshInterval: "1d" is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m',
      ],
    );
  });

  it("returns no settings when the block has any problem, and the settings when it has none", () => {
    const seen: string[] = [];
    const report = (p: string, m: string) => seen.push(`${p}: ${m}`);
    assert.strictEqual(readWorkloadIdentity(report, { oidcIssuerUrl: ISSUER }), undefined);
    assert.strictEqual(seen.length, 1);
    for (const bad of [
      { identityResourceGroup: "g" },
      { oidcIssuerUrl: ISSUER, identityResourceGroup: "g", location: "" },
      { oidcIssuerUrl: ISSUER, identityResourceGroup: "g", refreshInterval: "2h" },
      { oidcIssuerUrl: ISSUER, identityResourceGroup: "g", apiVersion: "x" },
      { oidcIssuerUrl: ISSUER, identityResourceGroup: "g", other: 1 },
    ]) {
      assert.strictEqual(readWorkloadIdentity(report, bad), undefined, JSON.stringify(bad));
    }
    assert.deepStrictEqual(
      readWorkloadIdentity(report, { oidcIssuerUrl: ISSUER, identityResourceGroup: "g" }),
      {
        oidcIssuerUrl: ISSUER,
        identityResourceGroup: "g",
        refreshInterval: "1h",
        apiVersion: "external-secrets.io/v1",
      },
    );
  });

  it("reports a workload-identity registry without repositories once, without a condition to check", () => {
    const config = wiConfig({ namespaces: { app: { registries: { acr: {} } } } });
    assert.strictEqual(problemsOf(config).length, 1);
    assert.match(problemsOf(config)[0], /^namespaces\.app\.registries\.acr\.repositories: /);
  });

  it("refuses an unknown auth and the token-only keys beside workloadIdentity", () => {
    assert.deepStrictEqual(problemsOf(wiConfig({}, { auth: "msi" })), [
      'registries.acr.auth: unknown auth "msi"; use token or workloadIdentity',
    ]);
    assert.deepStrictEqual(
      problemsOf(wiConfig({}, { passwordLifetimeDays: 30, rotateAfterDays: 10, forceRotation: "x" })),
      [
        "registries.acr.passwordLifetimeDays: applies to auth token only (a workload identity has no password to rotate); remove it",
        "registries.acr.rotateAfterDays: applies to auth token only (a workload identity has no password to rotate); remove it",
        "registries.acr.forceRotation: applies to auth token only (a workload identity has no password to rotate); remove it",
      ],
    );
  });

  it("refuses a namespace whose role condition is over Azure's 8 KB, naming its path", () => {
    const repositories = Array.from({ length: 70 }, (_, i) => `team-a/service-${String(i).padStart(4, "0")}`);
    const config = wiConfig({ namespaces: { app: { registries: { acr: { repositories } } } } });
    assert.deepStrictEqual(problemsOf(config), [
      "namespaces.app.registries.acr.repositories: the role condition for these 70 repositories is 8230 bytes, over Azure's limit of 8192; list a prefix (team-a/*) instead of each repository under it",
    ]);
    config.namespaces = { app: { registries: { acr: { repositories: repositories.slice(0, 65) } } } };
    assert.strictEqual(parseSettings(config).namespaces[0].registries[0].repositories.length, 65);
  });

  it("does not hold a workload-identity registry to the ESO refresh-against-rotation rule", () => {
    const config = wiConfig({
      delivery: "externalSecrets",
      externalSecrets: {
        keyVault: { name: "kv-one", resourceGroup: "rg" },
        oidcIssuerUrl: ISSUER,
        refreshInterval: "1000h",
      },
    });
    assert.strictEqual(parseSettings(config).externalSecrets?.refreshInterval, "1000h");
  });
});
