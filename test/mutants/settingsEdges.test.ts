/**
 * components/settings.ts, more cases StrykerJS showed no test told apart (issue 12): a broken registry that is
 * kept out of the namespaces that use it, registry entries left out by null or kept by a bad `enabled`, a null
 * namespace key without namespaceDefaults, the monitoring runbook address, and lists and names shown in
 * messages. Every problem list is compared whole.
 */
import * as assert from "assert";
import { parseSettings } from "../../components/settings";
import { OBJECT_NAME_RULE } from "../../components/names";
import { acrSettings, problemsOf, staticSettings } from "../support/fixtures";

const SERVER = "mycompany.azurecr.io";

/**
 * Two ACR registries on the same server, the second with `broken` merged into its definition, and one namespace
 * that pulls from both: the broken one must be reported alone, not checked again as a duplicate of the first.
 */
function twinRegistries(broken: Record<string, unknown>): Record<string, unknown> {
  const base = staticSettings();
  return {
    ...base,
    registries: {
      ...(base.registries as Record<string, unknown>),
      first: { type: "acr", server: SERVER, resourceGroup: "rg-registry" },
      second: { type: "acr", server: SERVER, resourceGroup: "rg-registry", ...broken },
    },
    namespaces: {
      app: { registries: { first: { repositories: ["app/*"] }, second: { repositories: ["app/*"] } } },
    },
  };
}

describe("settings: edges, exactly", () => {
  it("shows a string that is not printable ASCII with \\u escapes, as the config file would spell it", () => {
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), secretName: "pull-\u00e9\u2028" }), [
      `secretName: "pull-\\u00e9\\u2028" is not a valid secret name: ${OBJECT_NAME_RULE}`,
    ]);
  });

  it("reports a duplicate server between two valid registries (the case the next test keeps out)", () => {
    assert.deepStrictEqual(problemsOf(twinRegistries({})), [
      `namespaces.app.registries.second: registries "first" and "second" both use the server ${SERVER}; ` +
        "the kubelet would use only one of them, keep one",
    ]);
  });

  it("reports a registry whose definition is broken once, and does not check it again in a namespace", () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { verification: "maybe" },
        'registries.second.verification: unknown verification "maybe"; use pull, login or none',
      ],
      [
        { verificationTimeoutSeconds: 0 },
        "registries.second.verificationTimeoutSeconds: expected a whole number of seconds from 10 to 1800, got 0",
      ],
      [
        { rotateAfterDays: 10, rotationSpreadDays: 6 },
        "registries.second.rotationSpreadDays: 6 is more than half of rotateAfterDays (10): a token's first " +
          "rotation comes up to rotationSpreadDays early, and no token may rotate twice within one spread; set at " +
          "most 5, or raise rotateAfterDays",
      ],
      [
        { auth: "password" },
        'registries.second.auth: unknown auth "password"; use token or workloadIdentity',
      ],
    ];
    for (const [broken, problem] of cases) {
      assert.deepStrictEqual(problemsOf(twinRegistries(broken)), [problem], JSON.stringify(broken));
    }
  });

  it("leaves out a registry entry that is null, also without namespaceDefaults", () => {
    const base = staticSettings();
    const settings = parseSettings({
      ...base,
      namespaces: { app: { registries: { dockerhub: null, ghcr: {} } } },
    });
    assert.deepStrictEqual(
      settings.namespaces.map((ns) => [ns.name, ns.registries.map((r) => r.registry.id)]),
      [["app", ["ghcr"]]],
    );
  });

  it("keeps (and checks) a registry entry whose enabled is neither true nor false", () => {
    assert.deepStrictEqual(
      problemsOf({
        ...staticSettings(),
        namespaces: { app: { registries: { ghcr: { enabled: "yes", repositories: ["x"] } } } },
      }),
      [
        'namespaces.app.registries.ghcr.enabled: expected true or false, got "yes"',
        'namespaces.app.registries.ghcr.repositories: registry "ghcr" is static: its credential reaches every ' +
          "repository it can, so repositories apply only to acr registries; remove it",
      ],
    );
  });

  it("takes a null namespace key for what it is when there are no namespaceDefaults to remove it from", () => {
    assert.deepStrictEqual(
      problemsOf({ ...staticSettings(), namespaces: { app: { registries: { ghcr: {} }, delivery: null } } }),
      ["namespaces.app.delivery: unknown delivery null; use direct or externalSecrets"],
    );
  });

  it("lists every registry and namespace that needs the missing workloadIdentity block, comma-separated", () => {
    const base = acrSettings();
    const wi = { type: "acr", resourceGroup: "rg-registry", auth: "workloadIdentity" };
    assert.deepStrictEqual(
      problemsOf({
        ...base,
        registries: {
          wia: { ...wi, server: "wiaregistry.azurecr.io" },
          wib: { ...wi, server: "wibregistry.azurecr.io" },
        },
        namespaces: {
          "team-a": { registries: { wia: { repositories: ["a/*"] } } },
          "team-b": { registries: { wia: { repositories: ["b/*"] }, wib: { repositories: ["b/*"] } } },
        },
      }),
      [
        "workloadIdentity: missing; registries wia, wib use auth workloadIdentity (namespaces team-a, team-b), " +
          "which needs oidcIssuerUrl and identityResourceGroup",
      ],
    );
  });

  describe("monitoring.runbookBaseUrl", () => {
    const FIX =
      "is not an http(s) address without a ?query or #fragment; give the repository's web address at a branch, " +
      "such as https://github.com/<org>/registry-access/blob/main";
    const withMonitoring = (monitoring: unknown) => ({ ...staticSettings(), monitoring });

    it("rejects a value that is not an http(s) address, or not a string, naming the path, the value and the fix", () => {
      for (const [value, shown] of [
        ["github.com/acme/registry-access", '"github.com/acme/registry-access"'],
        [
          "https://github.com/acme/registry-access?ref=main",
          '"https://github.com/acme/registry-access?ref=main"',
        ],
        [42, "42"],
        [null, "null"],
        // A list whose text would pass the pattern (RegExp.test converts what it is given to a string).
        [["https://wiki.example.com"], "a list"],
      ] as const) {
        assert.deepStrictEqual(problemsOf(withMonitoring({ enabled: true, runbookBaseUrl: value })), [
          `monitoring.runbookBaseUrl: ${shown} ${FIX}`,
        ]);
      }
    });

    it("reports a bad one even when monitoring is off", () => {
      assert.deepStrictEqual(problemsOf(withMonitoring({ enabled: false, runbookBaseUrl: "ftp://wiki" })), [
        `monitoring.runbookBaseUrl: "ftp://wiki" ${FIX}`,
      ]);
    });

    it("passes a valid one on as given, and leaves the key out when unset", () => {
      assert.deepStrictEqual(
        parseSettings(withMonitoring({ enabled: true, runbookBaseUrl: "https://wiki.example.com/x/" }))
          .monitoring,
        { namespace: "monitoring", labels: {}, runbookBaseUrl: "https://wiki.example.com/x/" },
      );
      const unset = parseSettings(withMonitoring({ enabled: true })).monitoring;
      assert.deepStrictEqual(unset, { namespace: "monitoring", labels: {} });
      assert.strictEqual(unset !== undefined && "runbookBaseUrl" in unset, false);
    });
  });
});
