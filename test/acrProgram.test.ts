import * as assert from "assert";
import {
  deployedExpiryWarnings,
  expiryWarning,
  pullOnlyActions,
  ROTATION_TIME_ENV,
  rotationTimeOf,
  verifiableRepository,
} from "../components/AcrPullToken";
import { acrTokenName } from "../components/names";
import { parseSettings, rotationSpreadDaysOf, type AcrRegistry } from "../components/settings";
import { acrSettings, CANARY, problemsOf } from "./support/fixtures";
import { captureRegistrationOptions } from "./support/registrationOptions";
import { collectWarnings } from "./support/warnings";
import { plaintextStrings, ProgramRun, Recorder, runProgram, stackConfig } from "../tools/mockRuntime";

const SCOPE_MAP = "azure-native:containerregistry:ScopeMap";
const TOKEN = "azure-native:containerregistry:Token";
const PASSWORD = "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword";
const SECRET = "kubernetes:core/v1:Secret";

function acrWith(registry: Record<string, unknown>, repositories: unknown): Record<string, unknown> {
  return {
    registries: { acr: { type: "acr", server: "mycompany.azurecr.io", resourceGroup: "rg", ...registry } },
    namespaces: { app: { registries: { acr: repositories === undefined ? {} : { repositories } } } },
  };
}

describe("ACR tokens (under mocks)", () => {
  let run: ProgramRun;
  const tokenA = acrTokenName("registry-access", "dev", "team-a");
  const tokenB = acrTokenName("registry-access", "dev", "team-b");
  before(async () => {
    run = await runProgram(stackConfig(acrSettings()), { stack: "dev" });
  });

  it("declares per namespace a pull-only scope map for exactly its repositories", () => {
    const a = run.recorder.find(SCOPE_MAP, "team-a-acr-scope-map");
    assert.deepStrictEqual(a.inputs, {
      resourceGroupName: "rg-registry",
      registryName: "mycompany",
      scopeMapName: tokenA,
      description: "Pull-only access for Kubernetes namespace team-a (stack dev), managed by registry-access",
      actions: ["repositories/team-a/*/content/read", "repositories/shared/base/content/read"],
    });
    assert.deepStrictEqual(run.recorder.find(SCOPE_MAP, "team-b-acr-scope-map").inputs.actions, [
      "repositories/team-b/api/content/read",
    ]);
    for (const sm of run.recorder.ofType(SCOPE_MAP)) {
      for (const action of sm.inputs.actions as string[]) {
        assert.match(action, /^repositories\/[^*]+(\/\*)?\/content\/read$/, "only content read");
      }
    }
  });

  it("declares an enabled token bound to that scope map, named uniquely within ACR's limits", () => {
    const token = run.recorder.find(TOKEN, "team-a-acr-token");
    assert.deepStrictEqual(token.inputs, {
      resourceGroupName: "rg-registry",
      registryName: "mycompany",
      tokenName: tokenA,
      scopeMapId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany/scopeMaps/${tokenA}`,
      status: "enabled",
    });
    assert.deepStrictEqual(token.ignoreChanges, ["credentials"]);
    assert.notStrictEqual(tokenA, tokenB);
    for (const t of run.recorder.ofType(TOKEN)) assert.match(t.inputs.tokenName, /^[a-z0-9-]{5,50}$/);
  });

  it("generates the password through the dynamic provider, as a secret output, with the registry's lifetimes", () => {
    const pw = run.recorder.find(PASSWORD, "team-a-acr-password");
    const token = run.recorder.find(TOKEN, "team-a-acr-token");
    assert.strictEqual(pw.inputs.tokenId, `${token.inputs.scopeMapId.replace(/scopeMaps/, "tokens")}`);
    assert.strictEqual(pw.inputs.scopeMapId, token.inputs.scopeMapId);
    assert.strictEqual(pw.inputs.loginServer, "mycompany.azurecr.io");
    assert.strictEqual(pw.inputs.passwordLifetimeDays, 90);
    assert.strictEqual(pw.inputs.rotateAfterDays, 60);
    assert.strictEqual(pw.inputs.verifyRepository, "shared/base");
    assert.ok(pw.additionalSecretOutputs.includes("password"));
    assert.strictEqual(
      run.recorder.find(PASSWORD, "team-b-acr-password").inputs.verifyRepository,
      "team-b/api",
    );
  });

  it("puts the token name and its active password in the pull secret, only as a secret", () => {
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    assert.deepStrictEqual(plaintextStrings(secret.rawInputs.data), []);
    const config = JSON.parse(
      Buffer.from(secret.inputs.data[".dockerconfigjson"], "base64").toString("utf8"),
    );
    assert.deepStrictEqual(Object.keys(config.auths), [
      "mycompany.azurecr.io",
      "https://index.docker.io/v1/",
    ]);
    assert.deepStrictEqual(config.auths["mycompany.azurecr.io"], {
      username: tokenA,
      password: "generated-for-team-a-acr-password",
      auth: Buffer.from(`${tokenA}:generated-for-team-a-acr-password`).toString("base64"),
    });
    for (const r of run.recorder.resources) {
      for (const { path, text } of plaintextStrings(r.rawInputs)) {
        for (const needle of ["generated-for-", CANARY.hubPassword]) {
          assert.ok(!text.includes(needle), `${r.type}/${r.name} ${path} holds a credential in plaintext`);
        }
      }
    }
  });

  it("exports the token, its scope and the expiry dates, and no password", () => {
    const ns = run.outputs.namespaces as Record<string, Record<string, unknown>>;
    assert.deepStrictEqual(ns["team-b"], {
      secretName: "regcred",
      delivery: "direct",
      registries: ["mycompany.azurecr.io"],
      serviceAccounts: ["default"],
      acrTokens: [
        {
          registry: "mycompany.azurecr.io",
          tokenName: tokenB,
          repositories: ["team-b/api"],
          activeSlot: "password1",
          password1Expiry: "2099-12-31T00:00:00.000Z",
        },
      ],
    });
    assert.ok(!JSON.stringify(run.outputs).includes("generated-for-"));
  });

  it("fails on bad ACR config with its path, before any Azure resource is declared", async () => {
    const bad = acrSettings();
    (bad.namespaces as Record<string, Record<string, Record<string, unknown>>>)["team-b"].registries.acr = {
      repositories: ["team-*/api"],
    };
    const recorder = new Recorder();
    await assert.rejects(
      runProgram(stackConfig(bad), { recorder }),
      (e: Error) =>
        e.message ===
        "1 problem in the registry-access configuration:\n" +
          "  - namespaces.team-b.registries.acr.repositories[0]: \"team-*/api\": a '*' may only stand as a final '/*' (team-a/*)",
    );
    assert.deepStrictEqual(recorder.summary(), []);
  });
});

describe("ACR token writes (under mocks; issue 8, item 3)", () => {
  // What ARM reports as the token's creationDate, in ARM's format.
  const CREATED = "2026-01-05T10:20:30.1234567+00:00";
  let run: ProgramRun;
  let options: ReturnType<typeof captureRegistrationOptions>;
  before(async () => {
    options = captureRegistrationOptions();
    try {
      run = await runProgram(stackConfig(acrSettings()), {
        stack: "dev",
        state: (type) => (type === TOKEN ? { creationDate: CREATED } : undefined),
      });
    } finally {
      options.restore();
    }
  });

  // This proves what the program asks of the engine. That the engine then never sends azure-native an update of
  // the token (every diff becomes a create-then-delete) is Pulumi's documented meaning of these options, not
  // something a test here can run: azure-native's provider cannot run here. The ARM side is in
  // acrTokenPassword.test.ts ("azure-native Token writes against the local ARM server").
  it("declares the token so that any change replaces it, creating first (issue 16, item 7), and never declares credentials", () => {
    for (const ns of ["team-a", "team-b"]) {
      const token = options.find(TOKEN, `${ns}-acr-token`);
      assert.deepStrictEqual(
        {
          replaceOnChanges: token.replaceOnChanges,
          deleteBeforeReplace: token.deleteBeforeReplace,
          deleteBeforeReplaceDefined: token.deleteBeforeReplaceDefined,
          ignoreChanges: token.ignoreChanges,
        },
        {
          replaceOnChanges: ["*"],
          deleteBeforeReplace: false,
          deleteBeforeReplaceDefined: false,
          ignoreChanges: ["credentials"],
        },
      );
      assert.deepStrictEqual(Object.keys(run.recorder.find(TOKEN, `${ns}-acr-token`).inputs).sort(), [
        "registryName",
        "resourceGroupName",
        "scopeMapId",
        "status",
        "tokenName",
      ]);
    }
  });

  it("binds each password to the token's creationDate, so a re-created token gets a fresh password", () => {
    for (const ns of ["team-a", "team-b"]) {
      assert.strictEqual(run.recorder.find(PASSWORD, `${ns}-acr-password`).inputs.tokenCreationDate, CREATED);
    }
  });
});

describe("ACR token generations (under mocks; issue 16, item 7)", () => {
  const SCOPE_MAP_IDS =
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-registry/providers/" +
    "Microsoft.ContainerRegistry/registries/mycompany";
  const gen0 = acrTokenName("registry-access", "dev", "team-a");
  const gen2 = acrTokenName("registry-access", "dev", "team-a", 2);
  let run: ProgramRun;
  let options: ReturnType<typeof captureRegistrationOptions>;
  before(async () => {
    const config = acrSettings();
    const teamA = (
      config.namespaces as Record<string, { registries: Record<string, Record<string, unknown>> }>
    )["team-a"];
    teamA.registries.acr.tokenGeneration = 2;
    options = captureRegistrationOptions();
    try {
      run = await runProgram(stackConfig(config), { stack: "dev" });
    } finally {
      options.restore();
    }
  });

  it("declares generation 2 as a new token resource with a new name, bound to the same scope map", () => {
    assert.strictEqual(gen2, `${gen0}-g2`);
    assert.deepStrictEqual(
      run.recorder
        .ofType(TOKEN)
        .map((t) => [t.name, t.inputs.tokenName])
        .sort(),
      [
        ["team-a-acr-token-g2", gen2],
        ["team-b-acr-token", acrTokenName("registry-access", "dev", "team-b")],
      ],
    );
    assert.deepStrictEqual(run.recorder.find(TOKEN, "team-a-acr-token-g2").inputs, {
      resourceGroupName: "rg-registry",
      registryName: "mycompany",
      tokenName: gen2,
      scopeMapId: `${SCOPE_MAP_IDS}/scopeMaps/${gen0}`,
      status: "enabled",
    });
    // The scope map keeps its name and resource: a new generation replaces the token alone.
    assert.strictEqual(run.recorder.find(SCOPE_MAP, "team-a-acr-scope-map").inputs.scopeMapName, gen0);
  });

  it("creates the new generation before the old one is deleted: no deleteBeforeReplace, no credentials declared", () => {
    const token = options.find(TOKEN, "team-a-acr-token-g2");
    assert.deepStrictEqual(
      [
        token.deleteBeforeReplace,
        token.deleteBeforeReplaceDefined,
        token.replaceOnChanges,
        token.ignoreChanges,
      ],
      [false, false, ["*"], ["credentials"]],
    );
    // A new resource has no state for ignoreChanges to copy credentials from, and the program declares none.
    assert.ok(!("credentials" in run.recorder.find(TOKEN, "team-a-acr-token-g2").rawInputs));
  });

  it("generates the password on the new token, and the pull secret waits for that password and names the new token", () => {
    const token = run.recorder.find(TOKEN, "team-a-acr-token-g2");
    const pw = run.recorder.find(PASSWORD, "team-a-acr-password");
    assert.strictEqual(pw.inputs.tokenId, `${SCOPE_MAP_IDS}/tokens/${gen2}`);
    assert.ok(pw.dependsOn.includes(token.urn), "the password depends on the new token");
    const secret = run.recorder.find(SECRET, "team-a-pull-secret");
    assert.ok(secret.dependsOn.includes(pw.urn), "the pull secret depends on the new password");
    const config = JSON.parse(
      Buffer.from(secret.inputs.data[".dockerconfigjson"], "base64").toString("utf8"),
    );
    assert.deepStrictEqual(config.auths["mycompany.azurecr.io"], {
      username: gen2,
      password: "generated-for-team-a-acr-password",
      auth: Buffer.from(`${gen2}:generated-for-team-a-acr-password`).toString("base64"),
    });
  });

  it("exports the new generation's name", () => {
    const ns = run.outputs.namespaces as Record<string, { acrTokens: { tokenName: string }[] }>;
    assert.deepStrictEqual(
      ns["team-a"].acrTokens.map((t) => t.tokenName),
      [gen2],
    );
  });
});

describe("ACR expiry warning (under mocks)", () => {
  it("warns, naming token and registry, when the active password expires within 14 days; not otherwise", async () => {
    const soon = new Date(Date.now() + 3 * 86_400_000 + 3_600_000).toISOString();
    const { warnings } = await collectWarnings(() =>
      runProgram(stackConfig(acrSettings()), {
        stack: "dev",
        state: (type, name) =>
          type === PASSWORD && name === "team-b-acr-password" ? { password1Expiry: soon } : undefined,
      }),
    );
    // team-a's password expires in 2099 (the mock's default): no warning for it.
    assert.deepStrictEqual(warnings, [
      `the active password of ACR token ${acrTokenName("registry-access", "dev", "team-b")} on mycompany.azurecr.io ` +
        `expires in 4 days (${soon}); run \`pulumi up\` to rotate it (is the scheduled rotation running?)`,
    ]);
  });
});

describe("ACR expiry warning in a preview (under mocks)", () => {
  it("warns from the last deployment's outputs, once, when a password in use expires within 14 days", async () => {
    const soon = new Date(Date.now() + 5 * 86_400_000 + 3_600_000).toISOString();
    const later = new Date(Date.now() + 60 * 86_400_000).toISOString();
    const token = (ns: string, activeSlot: string) => ({
      registry: "mycompany.azurecr.io",
      tokenName: acrTokenName("registry-access", "dev", ns),
      repositories: ["x"],
      activeSlot,
      // password1 of team-a is old and about to expire, but team-a already uses password2.
      password1Expiry: soon,
      password2Expiry: later,
    });
    const { result: run, warnings } = await collectWarnings(() =>
      runProgram(stackConfig(acrSettings()), {
        stack: "dev",
        preview: true,
        lastDeployment: {
          namespaces: {
            "team-a": { acrTokens: [token("team-a", "password2")] },
            "team-b": { acrTokens: [token("team-b", "password1")] },
            "team-c": { registries: ["ghcr.io"] },
          },
        },
        // This run's values say nothing about expiry: a preview must not warn from them.
        state: (type) => (type === PASSWORD ? { password1Expiry: soon } : undefined),
      }),
    );
    assert.deepStrictEqual(warnings, [
      `the active password of ACR token ${acrTokenName("registry-access", "dev", "team-b")} on mycompany.azurecr.io ` +
        `expires in 6 days (${soon}); run \`pulumi up\` to rotate it (is the scheduled rotation running?)`,
    ]);
    // A slot never generated is null, not absent: absent, it reads as unknown and hides the whole output.
    const namespaces = run.outputs.namespaces as Record<
      string,
      { acrTokens: { password2Expiry?: string }[] }
    >;
    assert.strictEqual(namespaces["team-b"].acrTokens[0].password2Expiry, undefined);
    assert.strictEqual(namespaces["team-b"].acrTokens.length, 1);
  });

  it("reads nothing into a last deployment without ACR tokens, or none at all", () => {
    const now = new Date();
    assert.deepStrictEqual(deployedExpiryWarnings(undefined, now), []);
    assert.deepStrictEqual(deployedExpiryWarnings({ app: { registries: [] } }, now), []);
    assert.deepStrictEqual(deployedExpiryWarnings("junk", now), []);
  });
});

describe("ACR settings", () => {
  it("defaults registryName to the server's first label, and the lifetimes to 90 and 60 days", () => {
    const s = parseSettings(acrWith({}, ["app"]));
    assert.deepStrictEqual(s.registries.acr, {
      id: "acr",
      type: "acr",
      server: "mycompany.azurecr.io",
      resourceGroup: "rg",
      registryName: "mycompany",
      passwordLifetimeDays: 90,
      rotateAfterDays: 60,
    });
    assert.deepStrictEqual(s.namespaces[0].registries[0].repositories, ["app"]);
  });

  it("reports each bad ACR value with its path", () => {
    assert.deepStrictEqual(problemsOf(acrWith({ rotateAfterDays: 90 }, ["app"])), [
      "registries.acr.rotateAfterDays: 90 must be less than passwordLifetimeDays (90), so that the old password is still valid when the new one takes over",
    ]);
    assert.deepStrictEqual(
      problemsOf(
        acrWith({ resourceGroup: undefined, passwordLifetimeDays: "90", registryName: "my-reg" }, undefined),
      ),
      [
        "registries.acr.resourceGroup: missing; set the resource group of the registry",
        'registries.acr.registryName: "my-reg" is not an ACR registry name: 5 to 50 letters and digits',
        'registries.acr.passwordLifetimeDays: expected a whole number of days from 2 to 3650, got "90"',
        "namespaces.app.registries.acr.repositories: missing; list the repositories this namespace may pull (names, or a prefix ending in /*)",
      ],
    );
    assert.deepStrictEqual(problemsOf(acrWith({}, ["Team/App", "a/*/b", "*", "ok", "ok"])), [
      "namespaces.app.registries.acr.repositories[0]: \"Team/App\" is not an ACR repository name: lowercase letters and digits, with '.', '_' or '-' inside a component and '/' between components",
      "namespaces.app.registries.acr.repositories[1]: \"a/*/b\": a '*' may only stand as a final '/*' (team-a/*)",
      "namespaces.app.registries.acr.repositories[2]: \"*\": a '*' may only stand as a final '/*' (team-a/*)",
      'namespaces.app.registries.acr.repositories[4]: "ok" is listed twice',
    ]);
    assert.deepStrictEqual(problemsOf(acrWith({}, [])), [
      "namespaces.app.registries.acr.repositories: expected a non-empty list of repository names, got a list",
    ]);
    assert.deepStrictEqual(problemsOf(acrWith({ server: "my.azurecr.io" }, ["app"])), [
      'registries.acr.server: "my" is not an ACR registry name: 5 to 50 letters and digits; set registryName explicitly',
    ]);
  });
});

describe("ACR pure helpers", () => {
  it("grants content read only (what a pull needs; metadata/read lists tags), per repository", () => {
    assert.deepStrictEqual(pullOnlyActions(["a", "b/*"]), [
      "repositories/a/content/read",
      "repositories/b/*/content/read",
    ]);
  });

  it("verifies a new password against the first repository that is not a prefix", () => {
    assert.strictEqual(verifiableRepository(["a/*", "b", "c"]), "b");
    assert.strictEqual(verifiableRepository(["a/*"]), undefined);
  });

  it("warns when the active password expires within 14 days", () => {
    const now = new Date("2026-11-28T00:00:00Z");
    assert.strictEqual(expiryWarning("tok", "r.azurecr.io", "2026-12-12T00:00:01Z", now), undefined);
    assert.strictEqual(
      expiryWarning("tok", "r.azurecr.io", "2026-12-11T12:00:00Z", now),
      "the active password of ACR token tok on r.azurecr.io expires in 14 days (2026-12-11T12:00:00Z); run `pulumi up` to rotate it (is the scheduled rotation running?)",
    );
    assert.strictEqual(
      expiryWarning("tok", "r.azurecr.io", "2026-11-28T12:00:00Z", now),
      "the active password of ACR token tok on r.azurecr.io expires in 1 day (2026-11-28T12:00:00Z); run `pulumi up` to rotate it (is the scheduled rotation running?)",
    );
    assert.match(
      expiryWarning("tok", "r", "2026-11-01T00:00:00Z", now)!,
      /tok on r has expired \(2026-11-01/,
    );
    assert.strictEqual(expiryWarning("tok", "r", undefined, now), undefined);
  });
});

describe("ACR verification settings (issue 16, items 2 and 8)", () => {
  const acrOf = (registry: Record<string, unknown>) =>
    parseSettings(acrWith(registry, ["app"])).registries.acr;

  it("takes pull, login and none, and 10 to 1800 seconds, and sets them only when configured", () => {
    for (const verification of ["pull", "login", "none"]) {
      assert.deepStrictEqual(acrOf({ verification }), { ...acrOf({}), verification });
    }
    assert.deepStrictEqual(acrOf({ verificationTimeoutSeconds: 10 }), {
      ...acrOf({}),
      verificationTimeoutSeconds: 10,
    });
    assert.deepStrictEqual(acrOf({ verificationTimeoutSeconds: 1800, verification: "login" }), {
      ...acrOf({}),
      verification: "login",
      verificationTimeoutSeconds: 1800,
    });
    assert.strictEqual("verification" in acrOf({}), false);
    assert.strictEqual("verificationTimeoutSeconds" in acrOf({}), false);
  });

  const seconds = (got: string) =>
    `registries.acr.verificationTimeoutSeconds: expected a whole number of seconds from 10 to 1800, got ${got}`;
  const cases: [unknown, string][] = [
    [9, "9"],
    [1801, "1801"],
    [10.5, "10.5"],
    ["120", '"120"'],
    [null, "null"],
  ];
  for (const [value, shown] of cases) {
    it(`refuses verificationTimeoutSeconds ${shown}`, () => {
      assert.deepStrictEqual(problemsOf(acrWith({ verificationTimeoutSeconds: value }, ["app"])), [
        seconds(shown),
      ]);
    });
  }

  it("refuses an unknown verification, and reports both problems at once", () => {
    assert.deepStrictEqual(problemsOf(acrWith({ verification: "Pull" }, ["app"])), [
      'registries.acr.verification: unknown verification "Pull"; use pull, login or none',
    ]);
    assert.deepStrictEqual(
      problemsOf(acrWith({ verification: true, verificationTimeoutSeconds: 0 }, ["app"])),
      ["registries.acr.verification: unknown verification true; use pull, login or none", seconds("0")],
    );
  });
});

describe("ACR verification in the program (under mocks; issue 16, items 2, 8 and 14)", () => {
  const withVerification = (acr: Record<string, unknown>) => {
    const config = acrSettings();
    const registries = config.registries as Record<string, Record<string, unknown>>;
    registries.acr = { ...registries.acr, ...acr };
    return config;
  };

  it("none: warns in the preview, per token, naming the registry, the namespace and the config path", async () => {
    const { result: run, warnings } = await collectWarnings(() =>
      runProgram(stackConfig(withVerification({ verification: "none" })), { stack: "dev", preview: true }),
    );
    const warning = (ns: string) =>
      `registries.acr.verification is none: new passwords of ACR token ${acrTokenName("registry-access", "dev", ns)} ` +
      `(namespace ${ns}) on mycompany.azurecr.io reach the pull secret without a check that the registry accepts them`;
    assert.deepStrictEqual(warnings, [warning("team-a"), warning("team-b")]);
    assert.strictEqual(run.recorder.find(PASSWORD, "team-a-acr-password").inputs.verification, "none");
  });

  it("pull (the default) and login warn about nothing, and reach the provider as configured", async () => {
    const { result: run, warnings } = await collectWarnings(() =>
      runProgram(stackConfig(withVerification({ verification: "login", verificationTimeoutSeconds: 300 })), {
        stack: "dev",
        preview: true,
      }),
    );
    assert.deepStrictEqual(warnings, []);
    const inputs = run.recorder.find(PASSWORD, "team-a-acr-password").inputs;
    assert.strictEqual(inputs.verification, "login");
    assert.strictEqual(inputs.verificationTimeoutSeconds, 300);
    assert.strictEqual(inputs.registryId, "acr");
    const plain = await runProgram(stackConfig(acrSettings()), { stack: "dev", preview: true });
    const defaults = plain.recorder.find(PASSWORD, "team-a-acr-password").inputs;
    assert.strictEqual("verification" in defaults, false);
    assert.strictEqual("verificationTimeoutSeconds" in defaults, false);
  });

  it("every token of a run gets the same rotationTime: REGISTRY_ACCESS_ROTATION_TIME when set", async () => {
    const saved = process.env[ROTATION_TIME_ENV];
    process.env[ROTATION_TIME_ENV] = "2026-12-04T05:00:00+01:00";
    try {
      const run = await runProgram(stackConfig(acrSettings()), { stack: "dev" });
      const times = run.recorder.ofType(PASSWORD).map((p) => p.inputs.rotationTime);
      assert.deepStrictEqual(times, ["2026-12-04T04:00:00.000Z", "2026-12-04T04:00:00.000Z"]);
      process.env[ROTATION_TIME_ENV] = "tomorrow";
      await assert.rejects(runProgram(stackConfig(acrSettings()), { stack: "dev" }), (e: Error) =>
        e.message.includes(
          'REGISTRY_ACCESS_ROTATION_TIME "tomorrow" is not a date and time (ISO 8601, e.g. 2026-12-04T05:00:00Z); ' +
            "unset it to decide rotations at the current time",
        ),
      );
    } finally {
      if (saved === undefined) delete process.env[ROTATION_TIME_ENV];
      else process.env[ROTATION_TIME_ENV] = saved;
    }
    const run = await runProgram(stackConfig(acrSettings()), { stack: "dev" });
    const times = run.recorder.ofType(PASSWORD).map((p) => p.inputs.rotationTime as string);
    assert.strictEqual(times[0], times[1]);
    assert.ok(Math.abs(Date.parse(times[0]) - Date.now()) < 600_000, times[0]);
  });
});

describe("rotationTimeOf", () => {
  const now = new Date("2026-12-04T05:30:00.000Z");
  it("is now when unset or blank, else the given instant in UTC", () => {
    assert.strictEqual(rotationTimeOf(undefined, now), "2026-12-04T05:30:00.000Z");
    assert.strictEqual(rotationTimeOf(" ", now), "2026-12-04T05:30:00.000Z");
    assert.strictEqual(rotationTimeOf("2026-12-01T00:00:00Z", now), "2026-12-01T00:00:00.000Z");
    assert.strictEqual(rotationTimeOf(" 2026-12-01T02:00:00+02:00 ", now), "2026-12-01T00:00:00.000Z");
  });
  for (const value of ["tomorrow", "2026-12-01", "1764547200", "2026-13-01T00:00:00Z"]) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      assert.throws(() => rotationTimeOf(value, now), {
        message:
          `REGISTRY_ACCESS_ROTATION_TIME ${JSON.stringify(value)} is not a date and time (ISO 8601, e.g. ` +
          "2026-12-04T05:00:00Z); unset it to decide rotations at the current time",
      });
    });
  }
});

describe("ACR token generation settings (issue 16, item 7)", () => {
  const withGeneration = (tokenGeneration: unknown): Record<string, unknown> => {
    const config = acrWith({}, ["app"]);
    const app = (config.namespaces as Record<string, { registries: Record<string, Record<string, unknown>> }>)
      .app;
    app.registries.acr.tokenGeneration = tokenGeneration;
    return config;
  };
  const entryOf = (config: Record<string, unknown>) => parseSettings(config).namespaces[0].registries[0];

  it("takes 0 to 999, and sets it only when configured", () => {
    assert.strictEqual("tokenGeneration" in entryOf(acrWith({}, ["app"])), false);
    assert.strictEqual(entryOf(withGeneration(0)).tokenGeneration, 0);
    assert.strictEqual(entryOf(withGeneration(999)).tokenGeneration, 999);
  });

  const cases: [unknown, string][] = [
    [-1, "-1"],
    [1000, "1000"],
    [1.5, "1.5"],
    ["2", '"2"'],
  ];
  for (const [value, shown] of cases) {
    it(`refuses tokenGeneration ${shown}`, () => {
      assert.deepStrictEqual(problemsOf(withGeneration(value)), [
        `namespaces.app.registries.acr.tokenGeneration: expected a whole number from 0 to 999, got ${shown}; ` +
          "raise it by one to replace this namespace's token",
      ]);
    });
  }
});

describe("ACR rotation spread (under mocks; issue 17, item 6)", () => {
  const RANDOM = "random:index/randomInteger:RandomInteger";
  function withRegistry(extra: Record<string, unknown>): Record<string, unknown> {
    const settings = acrSettings();
    const registries = settings.registries as Record<string, Record<string, unknown>>;
    return { ...settings, registries: { ...registries, acr: { ...registries.acr, ...extra } } };
  }

  it("draws one offset per token in [0, 7 days) of hours, kept by the token's identity, and feeds it to the password", async () => {
    const run = await runProgram(stackConfig(acrSettings()), {
      stack: "dev",
      state: (type, name) =>
        type === RANDOM && name === "team-a-acr-rotation-offset" ? { result: 42 } : undefined,
    });
    for (const ns of ["team-a", "team-b"]) {
      const offset = run.recorder.find(RANDOM, `${ns}-acr-rotation-offset`);
      assert.deepStrictEqual(offset.inputs, {
        min: 0,
        max: 167,
        keepers: {
          resourceGroup: "rg-registry",
          registry: "mycompany",
          token: acrTokenName("registry-access", "dev", ns),
        },
      });
      assert.strictEqual(
        offset.parent,
        run.recorder.find("registry-access:index:AcrPullToken", `${ns}-acr`).urn,
      );
    }
    assert.strictEqual(run.recorder.find(PASSWORD, "team-a-acr-password").inputs.rotationOffsetHours, 42);
    assert.strictEqual(run.recorder.ofType(RANDOM).length, 2);
  });

  it("validates rotationSpreadDays: whole days, at most half of rotateAfterDays, with the fix in the message", () => {
    assert.deepStrictEqual(problemsOf(acrWith({ rotationSpreadDays: 31 }, ["app"])), [
      "registries.acr.rotationSpreadDays: 31 is more than half of rotateAfterDays (60): a token's first rotation " +
        "comes up to rotationSpreadDays early, and no token may rotate twice within one spread; set at most 30, " +
        "or raise rotateAfterDays",
    ]);
    assert.deepStrictEqual(problemsOf(acrWith({ rotateAfterDays: 9, rotationSpreadDays: 5 }, ["app"])), [
      "registries.acr.rotationSpreadDays: 5 is more than half of rotateAfterDays (9): a token's first rotation " +
        "comes up to rotationSpreadDays early, and no token may rotate twice within one spread; set at most 4, " +
        "or raise rotateAfterDays",
    ]);
    assert.deepStrictEqual(problemsOf(acrWith({ rotationSpreadDays: -1 }, ["app"])), [
      "registries.acr.rotationSpreadDays: expected a whole number of days from 0 to 1824, got -1",
    ]);
    assert.deepStrictEqual(problemsOf(acrWith({ rotationSpreadDays: 1.5 }, ["app"])), [
      "registries.acr.rotationSpreadDays: expected a whole number of days from 0 to 1824, got 1.5",
    ]);
    assert.strictEqual(
      (parseSettings(acrWith({ rotationSpreadDays: 30 }, ["app"])).registries.acr as AcrRegistry)
        .rotationSpreadDays,
      30,
    );
    assert.strictEqual(
      (parseSettings(acrWith({ rotationSpreadDays: 0 }, ["app"])).registries.acr as AcrRegistry)
        .rotationSpreadDays,
      0,
    );
    assert.strictEqual(rotationSpreadDaysOf({ rotateAfterDays: 60 }), 7);
    assert.strictEqual(rotationSpreadDaysOf({ rotateAfterDays: 14 }), 7);
    assert.strictEqual(rotationSpreadDaysOf({ rotateAfterDays: 13 }), 6);
    assert.strictEqual(rotationSpreadDaysOf({ rotateAfterDays: 1 }), 0);
    assert.strictEqual(rotationSpreadDaysOf({ rotateAfterDays: 60, rotationSpreadDays: 0 }), 0);
  });

  it("takes the window from rotationSpreadDays, at most half of rotateAfterDays by default, and 0 draws nothing", async () => {
    const wide = await runProgram(stackConfig(withRegistry({ rotationSpreadDays: 30 })), { stack: "dev" });
    assert.strictEqual(wide.recorder.find(RANDOM, "team-b-acr-rotation-offset").inputs.max, 719);
    const short = await runProgram(stackConfig(withRegistry({ rotateAfterDays: 9 })), { stack: "dev" });
    assert.strictEqual(short.recorder.find(RANDOM, "team-b-acr-rotation-offset").inputs.max, 95);
    const none = await runProgram(stackConfig(withRegistry({ rotationSpreadDays: 0 })), { stack: "dev" });
    assert.deepStrictEqual(none.recorder.ofType(RANDOM), []);
    assert.strictEqual(
      "rotationOffsetHours" in none.recorder.find(PASSWORD, "team-b-acr-password").inputs,
      false,
    );
  });
});
