/**
 * components/settings.ts, the cases StrykerJS showed no test told apart (see test/mutants/SURVIVORS.md for the
 * few that no input can). Every problem is compared whole; a broken block is checked to be reported alone, since
 * a half-read registry or externalSecrets block that slipped through would be checked again further on and add a
 * second, misleading problem (or crash).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import {
  loadSettings,
  parseSettings,
  projectStackFile,
  setStackFileSource,
  SettingsError,
} from "../../components/settings";
import { OBJECT_NAME_RULE, NAMESPACE_RULE } from "../../components/names";
import { CANARY, problemsOf, staticSettings } from "../support/fixtures";

const KNOWN_KEYS =
  "registries, namespaces, namespaceDefaults, secretName, delivery, externalSecrets, workloadIdentity, monitoring";
const ACR_KEYS =
  "type, server, resourceGroup, registryName, passwordLifetimeDays, rotateAfterDays, rotationSpreadDays, forceRotation, auth, " +
  "verification, verificationTimeoutSeconds";

function withNamespace(
  ns: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { ...staticSettings(), namespaces: { app: ns }, ...extra };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail("expected an error");
}

describe("settings: messages and values, exactly", () => {
  it("names its error SettingsError", () => {
    const e = errorOf(() => parseSettings(withNamespace({ registries: {} })));
    assert.ok(e instanceof SettingsError);
    assert.strictEqual(e.name, "SettingsError");
  });

  it("counts several problems in the plural and puts each on its own line", () => {
    const e = errorOf(() => parseSettings(withNamespace({ registries: {} }, { delivery: "email" })));
    assert.strictEqual(
      e.message,
      "2 problems in the registry-access configuration:\n" +
        '  - delivery: unknown delivery "email"; use direct or externalSecrets\n' +
        "  - namespaces.app.registries: empty; a namespace needs at least one registry (null and enabled: false leave one out)",
    );
  });

  it("describes null, a map and a list by what they are, not as JSON", () => {
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), secretName: null }), [
      `secretName: null is not a valid secret name: ${OBJECT_NAME_RULE}`,
    ]);
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), secretName: { name: "x" } }), [
      `secretName: a map is not a valid secret name: ${OBJECT_NAME_RULE}`,
    ]);
    // A list whose text would pass the name pattern ("pull-creds") is still not a name.
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), secretName: ["pull-creds"] }), [
      `secretName: a list is not a valid secret name: ${OBJECT_NAME_RULE}`,
    ]);
  });

  it("reports a registry set to null as such, not as a crash", () => {
    const raw = { ...staticSettings(), registries: { ...(staticSettings().registries as object), x: null } };
    assert.deepStrictEqual(problemsOf(raw), ["registries.x: expected a map, got null"]);
  });

  it("brackets a key that a --path expression must quote (Pulumi: '[\"parent.name\"]')", () => {
    // https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/: a key with a dot is written ["parent.name"].
    assert.deepStrictEqual(
      problemsOf(
        withNamespace({ registries: { dockerhub: {} }, labels: { "app.kubernetes.io/name": 7, ok_1: 8 } }),
      ),
      [
        'namespaces.app.labels["app.kubernetes.io/name"]: expected a string, got 7',
        "namespaces.app.labels.ok_1: expected a string, got 8",
      ],
    );
  });

  it("takes a blank user name as missing text", () => {
    const raw = staticSettings();
    (raw.registries as Record<string, Record<string, unknown>>).ghcr.username = "  ";
    assert.deepStrictEqual(problemsOf(raw), [
      'registries.ghcr.username: expected the user name to log in with, got "  "',
    ]);
  });

  it("says what a registry without a type lacks", () => {
    const raw = staticSettings();
    delete (raw.registries as Record<string, Record<string, unknown>>).ghcr.type;
    assert.deepStrictEqual(problemsOf(raw), [
      "registries.ghcr.type: missing; set the registry type: static or acr",
    ]);
  });

  it("ignores a key whose value is undefined, as allConfig never hands one", () => {
    assert.strictEqual(parseSettings({ ...staticSettings(), leftover: undefined }).secretName, "regcred");
  });

  it("tells a key set without --path from an unknown one by its first segment only", () => {
    assert.deepStrictEqual(
      problemsOf({
        ...staticSettings(),
        "foo.bar": "x",
        ".registries.hub.password": CANARY.hubPassword,
        "registries.hub.passwordHint": "x",
      }),
      [
        `foo.bar: unknown key registry-access:foo.bar; known keys: ${KNOWN_KEYS}`,
        `.registries.hub.password: unknown key registry-access:.registries.hub.password; known keys: ${KNOWN_KEYS}`,
        "registries.hub.passwordHint: a key of its own (registry-access:registries.hub.passwordHint), set without --path, " +
          "which this program does not read; remove it with `pulumi config rm 'registries.hub.passwordHint'` and set it " +
          "with `pulumi config set --path 'registries.hub.passwordHint' <value>`",
      ],
    );
  });

  it("reports namespaces that are not a map, and sorts namespaces by name", () => {
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), namespaces: "team-a" }), [
      'namespaces: expected a map, got "team-a"',
    ]);
    const s = parseSettings({
      ...staticSettings(),
      namespaces: { web: { registries: { gcr: {} } }, api: { registries: { gcr: {} } } },
    });
    assert.deepStrictEqual(
      s.namespaces.map((n) => n.name),
      ["api", "web"],
    );
  });

  it("returns only the keys that are set, and direct delivery by default", () => {
    const s = parseSettings(staticSettings());
    assert.deepStrictEqual(Object.keys(s), ["secretName", "registries", "namespaces"]);
    assert.deepStrictEqual(
      s.namespaces.map((n) => n.delivery),
      ["direct", "direct"],
    );
  });
});

describe("settings: static registries", () => {
  /** Two registries on one server, both used by one namespace: a broken one must not count as the first. */
  function twoOnDockerHub(hub: Record<string, unknown>): Record<string, unknown> {
    return {
      registries: {
        hub: { type: "static", server: "docker.io", username: "a", password: "p", ...hub },
        hub2: { type: "static", server: "docker.io", username: "b", password: "q" },
      },
      namespaces: { app: { registries: { hub: {}, hub2: {} } } },
    };
  }

  it("drops a registry without a user name, so that it does not clash with another on its server", () => {
    assert.deepStrictEqual(problemsOf(twoOnDockerHub({ username: undefined })), [
      "registries.hub.username: missing; set the user name to log in with",
    ]);
  });

  it("drops a registry without a password, so that it does not clash with another on its server", () => {
    assert.deepStrictEqual(problemsOf(twoOnDockerHub({ password: undefined })), [
      "registries.hub.password: missing; set it with `pulumi config set --secret --path 'registries.hub.password' <value>`",
    ]);
  });
});

describe("settings: ACR registries", () => {
  const ACR = { type: "acr", server: "mycompany.azurecr.io", resourceGroup: "rg-registry" };

  function acrOnly(acr: Record<string, unknown>, ns: Record<string, unknown> = { repositories: ["app"] }) {
    return {
      registries: { acr: { ...ACR, ...acr } },
      namespaces: { app: { registries: { acr: ns } } },
    };
  }

  /** A broken acr beside a good acr2 on the same server, both used by app. */
  function twoOnOneServer(acr: Record<string, unknown>): Record<string, unknown> {
    return {
      registries: { acr: { ...ACR, ...acr }, acr2: ACR },
      namespaces: {
        app: { registries: { acr: { repositories: ["app"] }, acr2: { repositories: ["app"] } } },
      },
    };
  }

  it("reads every option, and leaves forceRotation out when unset", () => {
    const s = parseSettings(acrOnly({ forceRotation: "2026-11-01" }));
    assert.deepStrictEqual(s.registries.acr, {
      id: "acr",
      type: "acr",
      server: "mycompany.azurecr.io",
      resourceGroup: "rg-registry",
      registryName: "mycompany",
      passwordLifetimeDays: 90,
      rotateAfterDays: 60,
      forceRotation: "2026-11-01",
    });
    assert.ok(!("forceRotation" in parseSettings(acrOnly({})).registries.acr));
  });

  it("accepts the bounds of passwordLifetimeDays and rotateAfterDays", () => {
    for (const [life, rotate] of [
      [2, 1],
      [3650, 3649],
    ]) {
      const acr = parseSettings(acrOnly({ passwordLifetimeDays: life, rotateAfterDays: rotate })).registries
        .acr;
      assert.ok(acr.type === "acr");
      assert.deepStrictEqual([acr.passwordLifetimeDays, acr.rotateAfterDays], [life, rotate]);
    }
  });

  it("rejects days out of range, fractional or not numbers", () => {
    assert.deepStrictEqual(problemsOf(acrOnly({ passwordLifetimeDays: 2.5, rotateAfterDays: 0 })), [
      "registries.acr.passwordLifetimeDays: expected a whole number of days from 2 to 3650, got 2.5",
      "registries.acr.rotateAfterDays: expected a whole number of days from 1 to 3649, got 0",
    ]);
    assert.deepStrictEqual(problemsOf(acrOnly({ passwordLifetimeDays: 3651, rotateAfterDays: "5" })), [
      "registries.acr.passwordLifetimeDays: expected a whole number of days from 2 to 3650, got 3651",
      'registries.acr.rotateAfterDays: expected a whole number of days from 1 to 3649, got "5"',
    ]);
  });

  it("reports unknown keys, a bad registryName and forceRotation with their paths", () => {
    assert.deepStrictEqual(
      problemsOf(acrOnly({ password: CANARY.hubPassword, registryName: 42, forceRotation: 7 })),
      [
        `registries.acr.password: unknown key; allowed here: ${ACR_KEYS}`,
        "registries.acr.registryName: expected the registry's resource name, got 42",
        "registries.acr.forceRotation: expected any new string, a date say, got 7",
      ],
    );
  });

  it("drops a registry with a bad server even when its registryName is given", () => {
    assert.deepStrictEqual(
      problemsOf(acrOnly({ server: "https://mycompany.azurecr.io", registryName: "mycompany" })),
      [
        'registries.acr.server: "https://mycompany.azurecr.io" is not a registry server: use a host name with an ' +
          "optional port (ghcr.io, registry.example.com:5000), no scheme or path",
      ],
    );
  });

  it("drops a broken registry, so that it does not clash with another on its server", () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [
        { resourceGroup: undefined },
        ["registries.acr.resourceGroup: missing; set the resource group of the registry"],
      ],
      [
        { registryName: "ab" },
        ['registries.acr.registryName: "ab" is not an ACR registry name: 5 to 50 letters and digits'],
      ],
      [
        { passwordLifetimeDays: 1 },
        ["registries.acr.passwordLifetimeDays: expected a whole number of days from 2 to 3650, got 1"],
      ],
      [
        { rotateAfterDays: 0 },
        ["registries.acr.rotateAfterDays: expected a whole number of days from 1 to 3649, got 0"],
      ],
      [
        { passwordLifetimeDays: 30, rotateAfterDays: 60 },
        [
          "registries.acr.rotateAfterDays: 60 must be less than passwordLifetimeDays (30), so that the old password is " +
            "still valid when the new one takes over",
        ],
      ],
      [
        { passwordLifetimeDays: 30, rotateAfterDays: 30 },
        [
          "registries.acr.rotateAfterDays: 30 must be less than passwordLifetimeDays (30), so that the old password is " +
            "still valid when the new one takes over",
        ],
      ],
    ];
    for (const [acr, expected] of cases) {
      assert.deepStrictEqual(problemsOf(twoOnOneServer(acr)), expected, JSON.stringify(acr));
    }
    // The setup is sound: two good registries on one server do clash.
    assert.deepStrictEqual(problemsOf(twoOnOneServer({})), [
      'namespaces.app.registries.acr2: registries "acr" and "acr2" both use the server mycompany.azurecr.io; ' +
        "the kubelet would use only one of them, keep one",
    ]);
  });

  it("says to set registryName when the server's first label is not a registry name", () => {
    assert.deepStrictEqual(problemsOf(acrOnly({ server: "my.azurecr.io" })), [
      'registries.acr.server: "my" is not an ACR registry name: 5 to 50 letters and digits; set registryName explicitly',
    ]);
  });

  it("keeps a namespace's repositories in order, and reads none for a static registry", () => {
    const raw = {
      registries: { acr: ACR, hub: { type: "static", server: "docker.io", username: "u", password: "p" } },
      namespaces: { app: { registries: { acr: { repositories: ["team-a/*", "app"] }, hub: {} } } },
    };
    assert.deepStrictEqual(
      parseSettings(raw).namespaces[0].registries.map((r) => [r.registry.id, r.repositories]),
      [
        ["acr", ["team-a/*", "app"]],
        ["hub", []],
      ],
    );
  });

  it("requires a non-empty list of repositories for an ACR registry", () => {
    const cases: [unknown, string][] = [
      [undefined, "missing; list the repositories this namespace may pull (names, or a prefix ending in /*)"],
      [[], "expected a non-empty list of repository names, got a list"],
      ["app", 'expected a non-empty list of repository names, got "app"'],
    ];
    for (const [repositories, expected] of cases) {
      assert.deepStrictEqual(problemsOf(acrOnly({}, { repositories })), [
        `namespaces.app.registries.acr.repositories: ${expected}`,
      ]);
    }
  });

  it("checks each repository entry: type, wildcard, name, duplicates", () => {
    assert.deepStrictEqual(
      problemsOf(acrOnly({}, { repositories: [42, "team*/*", "Team", "app", "app", "team*"], tag: 1 })),
      [
        "namespaces.app.registries.acr.tag: unknown key; allowed here: repositories, tokenGeneration, enabled",
        "namespaces.app.registries.acr.repositories[0]: expected a repository name, got 42",
        "namespaces.app.registries.acr.repositories[1]: \"team*/*\": a '*' may only stand as a final '/*' (team-a/*)",
        'namespaces.app.registries.acr.repositories[2]: "Team" is not an ACR repository name: lowercase letters and ' +
          "digits, with '.', '_' or '-' inside a component and '/' between components",
        'namespaces.app.registries.acr.repositories[4]: "app" is listed twice',
        "namespaces.app.registries.acr.repositories[5]: \"team*\": a '*' may only stand as a final '/*' (team-a/*)",
      ],
    );
  });
});

describe("settings: namespaces", () => {
  it("reports a namespace's unknown keys, wrong shapes and bad annotation values", () => {
    assert.deepStrictEqual(
      problemsOf(
        withNamespace({
          registries: { dockerhub: "yes", ghcr: {} },
          sa: [],
          serviceAccounts: "app-sa",
          annotations: { owner: 1 },
          extraImagePullSecrets: "legacy-pull",
        }),
      ),
      [
        "namespaces.app.sa: unknown key; allowed here: registries, serviceAccounts, labels, annotations, " +
          "extraImagePullSecrets, delivery",
        'namespaces.app.registries.dockerhub: expected a map, got "yes"',
        'namespaces.app.serviceAccounts: expected a list of service accounts, got "app-sa"',
        "namespaces.app.annotations.owner: expected a string, got 1",
        'namespaces.app.extraImagePullSecrets: expected a list of secret names, got "legacy-pull"',
      ],
    );
  });

  it("checks service account entries' keys, and patches an account listed by map without create", () => {
    assert.deepStrictEqual(
      problemsOf(
        withNamespace({
          registries: { dockerhub: {} },
          serviceAccounts: [{ name: "app-sa", create: true, role: "x" }],
        }),
      ),
      ["namespaces.app.serviceAccounts[0].role: unknown key; allowed here: name, create"],
    );
    const s = parseSettings(
      withNamespace({
        registries: { dockerhub: {} },
        serviceAccounts: [{ name: "default" }, { name: "app-sa" }],
      }),
    );
    assert.deepStrictEqual(s.namespaces[0].serviceAccounts, [
      { name: "default", create: false },
      { name: "app-sa", create: false },
    ]);
  });

  it("rejects a non-string extra pull secret even when its text is a valid name", () => {
    assert.deepStrictEqual(
      problemsOf(withNamespace({ registries: { dockerhub: {} }, extraImagePullSecrets: [["legacy-pull"]] })),
      [`namespaces.app.extraImagePullSecrets[0]: a list is not a valid secret name: ${OBJECT_NAME_RULE}`],
    );
  });

  it("sorts a namespace's registries by id", () => {
    const s = parseSettings(withNamespace({ registries: { ghcr: {}, dockerhub: {} } }));
    assert.deepStrictEqual(
      s.namespaces[0].registries.map((r) => r.registry.id),
      ["dockerhub", "ghcr"],
    );
  });

  it("reports an unknown delivery with its path", () => {
    assert.deepStrictEqual(problemsOf(withNamespace({ registries: { dockerhub: {} }, delivery: "email" })), [
      'namespaces.app.delivery: unknown delivery "email"; use direct or externalSecrets',
    ]);
  });

  it("names the registry a namespace asks for when none is defined", () => {
    assert.deepStrictEqual(problemsOf({ registries: {}, namespaces: { app: { registries: { hub: {} } } } }), [
      'namespaces.app.registries.hub: no registry "hub" is defined under registries',
    ]);
  });
});

describe("settings: externalSecrets", () => {
  const GOOD = {
    keyVault: { name: "kv-pull", resourceGroup: "rg-kv" },
    oidcIssuerUrl: "https://issuer.example/abc/",
  };
  const RULE = "a positive Go duration such as 1h, 30m or 1h30m";

  function esoRaw(eso: unknown, namespaces?: Record<string, unknown>): Record<string, unknown> {
    return {
      registries: { acr: { type: "acr", server: "mycompany.azurecr.io", resourceGroup: "rg-registry" } },
      namespaces: namespaces ?? {
        app: { delivery: "externalSecrets", registries: { acr: { repositories: ["app"] } } },
      },
      externalSecrets: eso,
    };
  }

  // 720h is 30 days, the whole overlap of the default 90 and 60 days: too slow for the rotation check.
  const SLOW = "720h";
  const TOO_SLOW =
    'externalSecrets.refreshInterval: "720h" is not well below registries.acr.passwordLifetimeDays - rotateAfterDays ' +
    "(90 - 60 = 30 days): ESO must pick up a new password while the old one is valid; use at most half of it (360h)";

  it("reads every option, with defaults, and keeps unset ones out", () => {
    assert.deepStrictEqual(parseSettings(esoRaw(GOOD)).externalSecrets, {
      keyVault: { name: "kv-pull", resourceGroup: "rg-kv" },
      oidcIssuerUrl: "https://issuer.example/abc/",
      refreshInterval: "1h",
      apiVersion: "external-secrets.io/v1",
      identityResourceGroup: "rg-kv",
    });
    const all = {
      ...GOOD,
      refreshInterval: "30m",
      apiVersion: "external-secrets.io/v1beta1",
      clusterSecretStore: "vault-store",
      identityResourceGroup: "rg-ids",
      location: "westeurope",
    };
    assert.deepStrictEqual(parseSettings(esoRaw(all)).externalSecrets, {
      keyVault: { name: "kv-pull", resourceGroup: "rg-kv" },
      oidcIssuerUrl: "https://issuer.example/abc/",
      refreshInterval: "30m",
      apiVersion: "external-secrets.io/v1beta1",
      clusterSecretStore: "vault-store",
      identityResourceGroup: "rg-ids",
      location: "westeurope",
    });
  });

  it("leaves externalSecrets out when no namespace uses it", () => {
    const s = parseSettings(esoRaw(GOOD, { app: { registries: { acr: { repositories: ["app"] } } } }));
    assert.deepStrictEqual(Object.keys(s), ["secretName", "registries", "namespaces"]);
  });

  it("checks a refresh interval against each ACR registry once, however many namespaces use it", () => {
    const ns = { delivery: "externalSecrets", registries: { acr: { repositories: ["app"] } } };
    assert.deepStrictEqual(problemsOf(esoRaw({ ...GOOD, refreshInterval: SLOW }, { app: ns, web: ns })), [
      TOO_SLOW,
    ]);
  });

  it("reports a broken block alone, without checking its refresh interval against rotation", () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { keyVault: { resourceGroup: "rg-kv" } },
        "externalSecrets.keyVault.name: missing; set the vault's name",
      ],
      [
        { keyVault: { name: "kv--pull", resourceGroup: "rg-kv" } },
        'externalSecrets.keyVault.name: "kv--pull" is not a Key Vault name: 3 to 24 letters, digits and single hyphens, starting with a letter',
      ],
      [
        { keyVault: { name: "kv-pull" } },
        "externalSecrets.keyVault.resourceGroup: missing; set the vault's resource group",
      ],
      [{ keyVault: "kv-pull" }, 'externalSecrets.keyVault: expected a map, got "kv-pull"'],
      [
        { keyVault: undefined },
        "externalSecrets.keyVault: missing; set { name, resourceGroup } of an existing vault with Azure RBAC",
      ],
      [
        { oidcIssuerUrl: undefined },
        "externalSecrets.oidcIssuerUrl: missing; set the cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
      ],
      // A list whose text would pass the URL pattern is still not a URL.
      [
        { oidcIssuerUrl: ["https://issuer.example/abc/"] },
        "externalSecrets.oidcIssuerUrl: expected an https:// URL, got a list",
      ],
      [
        { apiVersion: "external-secrets.io/v2" },
        'externalSecrets.apiVersion: unsupported "external-secrets.io/v2"; use external-secrets.io/v1 for ESO 0.16 ' +
          "or later, or external-secrets.io/v1beta1 for ESO 0.10 to 0.16 (ESO 0.17 no longer serves v1beta1)",
      ],
      [
        { clusterSecretStore: "Vault_Store" },
        `externalSecrets.clusterSecretStore: "Vault_Store" is not a valid store name: ${OBJECT_NAME_RULE}`,
      ],
      [
        { clusterSecretStore: ["vault-store"] },
        `externalSecrets.clusterSecretStore: a list is not a valid store name: ${OBJECT_NAME_RULE}`,
      ],
      // The identities' own group set, so that the vault's missing one is the only gap.
      [
        { keyVault: { name: "kv-pull" }, identityResourceGroup: "rg-ids" },
        "externalSecrets.keyVault.resourceGroup: missing; set the vault's resource group",
      ],
      [
        { identityResourceGroup: 42 },
        "externalSecrets.identityResourceGroup: expected a resource group, got 42",
      ],
      [{ location: 42 }, "externalSecrets.location: expected an Azure region, got 42"],
    ];
    for (const [change, expected] of cases) {
      const eso = { ...GOOD, refreshInterval: SLOW, ...change };
      assert.deepStrictEqual(problemsOf(esoRaw(eso)), [expected], JSON.stringify(change));
    }
    // The setup is sound: a good block with that interval is too slow.
    assert.deepStrictEqual(problemsOf(esoRaw({ ...GOOD, refreshInterval: SLOW })), [TOO_SLOW]);
  });

  it("accepts a refresh interval of exactly half the overlap", () => {
    assert.strictEqual(
      parseSettings(esoRaw({ ...GOOD, refreshInterval: "360h" })).externalSecrets?.refreshInterval,
      "360h",
    );
  });

  it("applies the top-level delivery to namespaces without their own", () => {
    const raw = esoRaw(GOOD, {
      app: { registries: { acr: { repositories: ["app"] } } },
      web: { delivery: "direct", registries: { acr: { repositories: ["web"] } } },
    });
    const s = parseSettings({ ...raw, delivery: "externalSecrets" });
    assert.deepStrictEqual(
      s.namespaces.map((n) => [n.name, n.delivery]),
      [
        ["app", "externalSecrets"],
        ["web", "direct"],
      ],
    );
  });

  it("requires the block when a namespace uses it, naming those namespaces", () => {
    const ns = { delivery: "externalSecrets", registries: { acr: { repositories: ["app"] } } };
    const raw = esoRaw(undefined, {
      app: ns,
      other: { registries: { acr: { repositories: ["app"] } } },
      web: ns,
    });
    assert.deepStrictEqual(problemsOf(raw), [
      "externalSecrets: missing; namespaces app, web use delivery externalSecrets, which needs keyVault " +
        "{ name, resourceGroup } and oidcIssuerUrl",
    ]);
  });

  it("rejects a refresh interval that is not a positive Go duration (ESO parses it with time.ParseDuration)", () => {
    // https://pkg.go.dev/time#ParseDuration: "0s" parses, to zero; ESO would then never refresh.
    for (const [interval, shown] of [
      [5, "5"],
      ["0s", '"0s"'],
      ["soon", '"soon"'],
    ] as const) {
      assert.deepStrictEqual(problemsOf(esoRaw({ ...GOOD, refreshInterval: interval })), [
        `externalSecrets.refreshInterval: ${shown} is not a duration ESO accepts: ${RULE}`,
      ]);
    }
  });

  it("reports a block that is not a map, and unknown keys at both levels", () => {
    assert.deepStrictEqual(problemsOf(esoRaw("kv-pull")), ['externalSecrets: expected a map, got "kv-pull"']);
    assert.deepStrictEqual(
      problemsOf(esoRaw({ ...GOOD, vault: "x", keyVault: { ...GOOD.keyVault, tenant: "t" } })),
      [
        "externalSecrets.vault: unknown key; allowed here: keyVault, oidcIssuerUrl, refreshInterval, apiVersion, " +
          "clusterSecretStore, identityResourceGroup, location, readyTimeoutSeconds",
        "externalSecrets.keyVault.tenant: unknown key; allowed here: name, resourceGroup",
      ],
    );
    assert.deepStrictEqual(problemsOf(esoRaw({ ...GOOD, keyVault: { name: 42, resourceGroup: "rg-kv" } })), [
      "externalSecrets.keyVault.name: expected the vault's name, got 42",
    ]);
  });
});

describe("settings: monitoring", () => {
  const read = (monitoring: unknown) => parseSettings({ ...staticSettings(), monitoring }).monitoring;

  it("is off unless enabled is true, whatever else is set", () => {
    for (const monitoring of [
      {},
      { enabled: false, namespace: "obs" },
      { namespace: "obs", labels: { a: "b" } },
    ]) {
      const s = parseSettings({ ...staticSettings(), monitoring });
      assert.deepStrictEqual(
        Object.keys(s),
        ["secretName", "registries", "namespaces"],
        JSON.stringify(monitoring),
      );
    }
  });

  it("reads namespace and labels, with the namespace's default", () => {
    assert.deepStrictEqual(read({ enabled: true }), { namespace: "monitoring", labels: {} });
    assert.deepStrictEqual(read({ enabled: true, namespace: "obs", labels: { release: "prom" } }), {
      namespace: "obs",
      labels: { release: "prom" },
    });
  });

  it("reports every problem of the block", () => {
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), monitoring: "yes" }), [
      'monitoring: expected a map, got "yes"',
    ]);
    assert.deepStrictEqual(
      problemsOf({
        ...staticSettings(),
        monitoring: { enabled: true, namespace: "Obs_NS", labels: { release: 1 }, rules: [] },
      }),
      [
        "monitoring.rules: unknown key; allowed here: enabled, namespace, labels, runbookBaseUrl",
        `monitoring.namespace: "Obs_NS" is not a valid namespace name: ${NAMESPACE_RULE}`,
        "monitoring.labels.release: expected a string, got 1",
      ],
    );
    // A list whose text would pass the name pattern is still not a name.
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), monitoring: { namespace: ["obs"] } }), [
      `monitoring.namespace: a list is not a valid namespace name: ${NAMESPACE_RULE}`,
    ]);
  });
});

describe("loadSettings", () => {
  const config = (values: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        `registry-access:${k}`,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    );

  afterEach(() => {
    setStackFileSource();
    pulumi.runtime.setAllConfig({}, []);
  });

  it("reads a top-level string as it is stored: not as JSON", () => {
    // https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/: "Top level entries are always treated as
    // strings": `pulumi config set secretName pull-creds` stores the bare text.
    pulumi.runtime.setAllConfig(
      // Keys of other namespaces (kubernetes:context) are not this program's.
      { ...config({ ...staticSettings(), secretName: "pull-creds" }), "kubernetes:context": "dev-aks" },
      [],
    );
    setStackFileSource(() => ({ name: "Pulumi.test.yaml", config: {} }));
    assert.strictEqual(loadSettings().secretName, "pull-creds");
  });

  it("lets any failure of the stack file source other than a StackFileError through", () => {
    pulumi.runtime.setAllConfig(config(staticSettings()), []);
    const boom = new Error("disk on fire");
    setStackFileSource(() => {
      throw boom;
    });
    // A StackFileError, by contrast, is only a warning (test/plainTextPasswords.test.ts).
    assert.strictEqual(
      errorOf(() => loadSettings()),
      boom,
    );
  });

  it("finds the stack file beside Pulumi.yaml, and none for a stack without one", () => {
    // Mocha runs in the project's directory, where Pulumi.dev.yaml is.
    assert.strictEqual(projectStackFile("dev")?.name, "Pulumi.dev.yaml");
    assert.strictEqual(projectStackFile("no-such-stack"), undefined);
  });
});
