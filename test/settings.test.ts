import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { mergePatch, parseSettings, plaintextPasswordWarning } from "../components/settings";
import { acrSettings, CANARY, staticSettings, problemsOf } from "./support/fixtures";
import { valueOf } from "../tools/mockRuntime";

function withNamespace(ns: Record<string, unknown>): Record<string, unknown> {
  return { ...staticSettings(), namespaces: { app: ns } };
}

describe("settings", () => {
  it("reads a valid config with its defaults", async () => {
    const s = parseSettings(staticSettings());
    assert.strictEqual(s.secretName, "regcred");
    assert.deepStrictEqual(
      s.namespaces.map((n) => n.name),
      ["team-a", "team-b"],
    );
    const a = s.namespaces[0];
    assert.deepStrictEqual(
      a.registries.map((r) => r.registry.id),
      ["dockerhub", "ghcr"],
    );
    assert.deepStrictEqual(a.serviceAccounts, [
      { name: "default", create: false },
      { name: "builder", create: true },
    ]);
    assert.deepStrictEqual(a.extraImagePullSecrets, ["legacy-pull"]);
    assert.deepStrictEqual(a.labels, { team: "a" });
    const b = s.namespaces[1];
    assert.deepStrictEqual(b.serviceAccounts, [{ name: "default", create: false }]);
    assert.deepStrictEqual(b.labels, {});
    assert.deepStrictEqual(b.extraImagePullSecrets, []);
  });

  it("wraps every password in a Pulumi secret the moment it is read", async () => {
    const s = parseSettings(staticSettings());
    const hub = s.registries.dockerhub;
    assert.strictEqual(hub.type, "static");
    if (hub.type !== "static") return;
    assert.strictEqual(await pulumi.isSecret(hub.password), true);
    assert.strictEqual(await valueOf(hub.password), CANARY.hubPassword);
  });

  it("accepts every name of Docker Hub as a server, the canonical key included", () => {
    for (const server of [
      "docker.io",
      "index.docker.io",
      "https://index.docker.io/v1/",
      "https://index.docker.io/v1",
    ]) {
      const raw = {
        registries: { hub: { type: "static", server, username: "u", password: "p" } },
        namespaces: { app: { registries: { hub: {} } } },
      };
      assert.strictEqual(parseSettings(raw).registries.hub.server, server, server);
    }
  });

  it("has no plain-text warning for stacks without static registries", () => {
    const acrOnly = parseSettings({
      registries: { acr: { type: "acr", server: "mycompany.azurecr.io", resourceGroup: "rg" } },
      namespaces: { app: { registries: { acr: { repositories: ["app"] } } } },
    });
    assert.strictEqual(plaintextPasswordWarning(acrOnly, false), undefined);
    assert.match(plaintextPasswordWarning(parseSettings(staticSettings()), false)!, /^the stack file holds /);
    assert.strictEqual(plaintextPasswordWarning(parseSettings(staticSettings()), true), undefined);
  });

  it("takes a custom secret name", () => {
    assert.strictEqual(
      parseSettings({ ...staticSettings(), secretName: "pull-creds" }).secretName,
      "pull-creds",
    );
  });

  it("reports every problem at once, each with its path, the bad value and what is allowed", () => {
    const raw = {
      secretName: "Reg_Cred",
      registries: {
        dockerhub: { type: "static", server: "docker.io", username: "bot", password: "" },
        quay: { type: "quay", server: "quay.io" },
        weird: { type: "static", server: "https://ghcr.io/org", username: "", password: 42 },
      },
      namespaces: {
        Prod_NS: { registries: { dockerhub: {} } },
        empty: { registries: {} },
        none: {},
        refs: {
          registries: { dockerhub: {}, nosuch: {} },
          serviceAccounts: [
            "default",
            "default",
            "Bad_SA",
            { name: "default", create: true },
            { name: "x", create: "yes" },
          ],
          extraImagePullSecrets: ["regcred-old", "Nope!"],
          labels: { team: 7 },
        },
        typed: "registries: dockerhub",
      },
      unknownKey: true,
    };
    assert.deepStrictEqual(problemsOf(raw), [
      "unknownKey: unknown key registry-access:unknownKey; known keys: registries, namespaces, namespaceDefaults, secretName, delivery, externalSecrets, workloadIdentity, monitoring",
      "secretName: \"Reg_Cred\" is not a valid secret name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
      "registries.dockerhub.password: empty; set it with `pulumi config set --secret --path 'registries.dockerhub.password' <value>`",
      'registries.quay.type: unknown registry type "quay"; use static or acr',
      'registries.weird.server: "https://ghcr.io/org" is not a registry server: use a host name with an optional port (ghcr.io, registry.example.com:5000), no scheme or path',
      'registries.weird.username: expected the user name to log in with, got ""',
      "registries.weird.password: expected a string (not shown); set it with `pulumi config set --secret --path 'registries.weird.password' <value>`",
      "namespaces.Prod_NS: \"Prod_NS\" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
      "namespaces.empty.registries: empty; a namespace needs at least one registry (null and enabled: false leave one out)",
      "namespaces.none.registries: missing; map at least one registry id to its options ({} for a static registry)",
      'namespaces.refs.registries.nosuch: no registry "nosuch" is defined under registries; defined: dockerhub, quay, weird',
      'namespaces.refs.serviceAccounts[1]: service account "default" is listed twice',
      "namespaces.refs.serviceAccounts[2]: \"Bad_SA\" is not a valid service account name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
      'namespaces.refs.serviceAccounts[3]: service account "default" is listed twice',
      'namespaces.refs.serviceAccounts[4].create: expected true or false, got "yes"',
      "namespaces.refs.labels.team: expected a string, got 7",
      "namespaces.refs.extraImagePullSecrets[1]: \"Nope!\" is not a valid secret name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
      'namespaces.typed: expected a map, got "registries: dockerhub"',
    ]);
  });

  it("formats the error as one message listing every problem", () => {
    const raw = withNamespace({ registries: {} });
    assert.throws(
      () => parseSettings(raw),
      (e: Error) =>
        e.message ===
        "1 problem in the registry-access configuration:\n  - namespaces.app.registries: empty; a namespace needs at least one registry (null and enabled: false leave one out)",
    );
  });

  it("requires registries and namespaces", () => {
    assert.deepStrictEqual(problemsOf({}), [
      "registries: missing; define at least one registry (see docs/configuration.md)",
      "namespaces: missing; map each namespace to the registries it may pull from",
    ]);
    assert.deepStrictEqual(problemsOf({ registries: [], namespaces: {} }), [
      "registries: expected a map, got a list",
      "namespaces: empty; map each namespace to the registries it may pull from",
    ]);
  });

  it("never creates the default service account", () => {
    assert.deepStrictEqual(
      problemsOf(
        withNamespace({
          registries: { dockerhub: {} },
          serviceAccounts: [{ name: "default", create: true }],
        }),
      ),
      [
        'namespaces.app.serviceAccounts[0]: the "default" account is made by Kubernetes in every namespace and is never created here; list it as "default" to patch it',
      ],
    );
  });

  it("rejects two registries with the same server in one namespace, Docker Hub aliases included", () => {
    const raw = {
      registries: {
        hub: { type: "static", server: "docker.io", username: "a", password: "p" },
        hub2: { type: "static", server: "index.docker.io", username: "b", password: "q" },
      },
      namespaces: { app: { registries: { hub: {}, hub2: {} } } },
    };
    assert.deepStrictEqual(problemsOf(raw), [
      'namespaces.app.registries.hub2: registries "hub" and "hub2" both use the server https://index.docker.io/v1/; the kubelet would use only one of them, keep one',
    ]);
  });

  it("rejects repositories on a static registry and unknown per-namespace options", () => {
    assert.deepStrictEqual(
      problemsOf(withNamespace({ registries: { dockerhub: { repositories: ["a"] } } })),
      [
        'namespaces.app.registries.dockerhub.repositories: registry "dockerhub" is static: its credential reaches every repository it can, so repositories apply only to acr registries; remove it',
      ],
    );
    assert.deepStrictEqual(problemsOf(withNamespace({ registries: { dockerhub: { tag: "x" } } })), [
      "namespaces.app.registries.dockerhub.tag: unknown key; this takes no options: use {}",
    ]);
  });

  it("rejects the pull secret itself in extraImagePullSecrets, and duplicates", () => {
    assert.deepStrictEqual(
      problemsOf(
        withNamespace({ registries: { dockerhub: {} }, extraImagePullSecrets: ["regcred", "a", "a"] }),
      ),
      [
        'namespaces.app.extraImagePullSecrets[0]: "regcred" is the pull secret this program writes; it is always listed',
        'namespaces.app.extraImagePullSecrets[2]: "a" is listed twice',
      ],
    );
  });

  it("rejects names over the Kubernetes length limits", () => {
    const long = "a".repeat(64);
    assert.deepStrictEqual(
      problemsOf({ ...staticSettings(), namespaces: { [long]: { registries: { gcr: {} } } } }),
      [
        `namespaces.${long}: "${long}" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
      ],
    );
    assert.strictEqual(
      parseSettings({ ...staticSettings(), namespaces: { ["a".repeat(63)]: { registries: { gcr: {} } } } })
        .namespaces.length,
      1,
    );
  });

  it("never quotes a string set where a registry belongs: it may be a misplaced credential", () => {
    const raw = { ...staticSettings(), registries: { dockerhub: CANARY.hubPassword } };
    const problems = problemsOf(raw);
    assert.strictEqual(
      problems[0],
      "registries.dockerhub: expected a map, got a string (not shown: it may be a credential set at the wrong path)",
    );
    assert.ok(!problems.join("\n").includes(CANARY.hubPassword));
    assert.deepStrictEqual(problemsOf({ ...staticSettings(), registries: CANARY.hubPassword }).slice(0, 1), [
      "registries: expected a map, got a string (not shown: it may be a credential set at the wrong path)",
    ]);
  });

  it("reads maps by their own keys: ids named like Object.prototype members get messages, not a crash", () => {
    const hub = { type: "static", server: "docker.io", username: "u", password: "p" };
    // JSON.parse, as the engine's config is read: it keeps __proto__ as an ordinary key.
    const raw = JSON.parse(
      JSON.stringify({
        registries: { hub, toString: { type: "static" }, constructor: "not a map", valueOf: { type: "acr" } },
        namespaces: {
          app: { registries: { toString: {}, constructor: {}, hasOwnProperty: {}, valueOf: {} } },
          other: { registries: { hub: {} }, labels: { toString: "a", valueOf: "b" } },
        },
      }).replace('"hub":', '"__proto__":'),
    );
    assert.deepStrictEqual(problemsOf(raw), [
      "registries.toString.server: missing; set the registry's host name",
      "registries.toString.username: missing; set the user name to log in with",
      "registries.toString.password: missing; set it with `pulumi config set --secret --path 'registries.toString.password' <value>`",
      "registries.constructor: expected a map, got a string (not shown: it may be a credential set at the wrong path)",
      "registries.valueOf.server: missing; set the registry's host name",
      "registries.valueOf.resourceGroup: missing; set the resource group of the registry",
      'namespaces.app.registries.hasOwnProperty: no registry "hasOwnProperty" is defined under registries; defined: __proto__, constructor, toString, valueOf',
      "namespaces.app.registries.valueOf.repositories: missing; list the repositories this namespace may pull (names, or a prefix ending in /*)",
      'namespaces.other.registries.hub: no registry "hub" is defined under registries; defined: __proto__, constructor, toString, valueOf',
    ]);
    const ok = JSON.parse(
      '{"registries": {"__proto__": {"type": "static", "server": "docker.io", "username": "u", "password": "p"}},' +
        ' "namespaces": {"app": {"registries": {"__proto__": {}}, "labels": {"__proto__": "x", "toString": "y"}}}}',
    );
    const settings = parseSettings(ok);
    assert.deepStrictEqual(Object.keys(settings.registries), ["__proto__"]);
    assert.strictEqual(settings.namespaces[0].registries[0].registry.id, "__proto__");
    assert.deepStrictEqual(Object.entries(settings.namespaces[0].labels), [
      ["__proto__", "x"],
      ["toString", "y"],
    ]);
  });

  it("says what a service account entry lacks, and how to name it", () => {
    assert.deepStrictEqual(
      problemsOf(
        withNamespace({
          registries: { dockerhub: {} },
          serviceAccounts: [{ create: true }, { name: 42 }, 7],
        }),
      ),
      [
        "namespaces.app.serviceAccounts[0].name: missing; name the account: { name: app-sa, create: true }",
        "namespaces.app.serviceAccounts[1].name: expected a service account name, got 42",
        "namespaces.app.serviceAccounts[2]: expected a service account name or { name, create: true }, got 7",
      ],
    );
  });

  it("recognizes a value set without --path, and says how to move it where it belongs", () => {
    const raw = {
      ...staticSettings(),
      "registries.dockerhub.password": CANARY.hubPassword,
      "namespaces.team-b.labels.team": "b",
      'registries["x"]': "y",
    };
    const problems = problemsOf(raw);
    assert.deepStrictEqual(problems, [
      "registries.dockerhub.password: a key of its own (registry-access:registries.dockerhub.password), set without --path, which this program does not read; " +
        "remove it with `pulumi config rm 'registries.dockerhub.password'` and set it with `pulumi config set --secret --path 'registries.dockerhub.password' <value>`",
      "namespaces.team-b.labels.team: a key of its own (registry-access:namespaces.team-b.labels.team), set without --path, which this program does not read; " +
        "remove it with `pulumi config rm 'namespaces.team-b.labels.team'` and set it with `pulumi config set --path 'namespaces.team-b.labels.team' <value>`",
      'registries["x"]: a key of its own (registry-access:registries["x"]), set without --path, which this program does not read; ' +
        "remove it with `pulumi config rm 'registries[\"x\"]'` and set it with `pulumi config set --path 'registries[\"x\"]' <value>`",
    ]);
    assert.ok(!problems.join("\n").includes(CANARY.hubPassword));
  });

  it("never quotes a credential in an error", () => {
    const raw = staticSettings();
    // A password of the wrong type, and other errors around it.
    (raw.registries as Record<string, Record<string, unknown>>).dockerhub.password = {
      nested: CANARY.hubPassword,
    };
    (raw.registries as Record<string, Record<string, unknown>>).ghcr.server = "not a server";
    const message = (() => {
      try {
        parseSettings(raw);
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    })();
    assert.ok(message.includes("registries.dockerhub.password: expected a string (not shown)"), message);
    for (const canary of Object.values(CANARY)) assert.ok(!message.includes(canary), "credential leaked");
  });
});

describe("settings: messages a tired operator reads right", () => {
  const NS_RULE =
    "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

  it("escapes invisible and look-alike characters in names and in the paths that name them", () => {
    const raw = staticSettings();
    raw.namespaces = {
      "team\u200b-a": { registries: { dockerhub: {} } },
      "\u0441i": { registries: { dоckerhub: {} } },
    };
    assert.deepStrictEqual(problemsOf(raw), [
      `namespaces["team\\u200b-a"]: "team\\u200b-a" is not a valid namespace name: ${NS_RULE}`,
      `namespaces["\\u0441i"]: "\\u0441i" is not a valid namespace name: ${NS_RULE}`,
      'namespaces["\\u0441i"].registries["d\\u043eckerhub"]: no registry "d\\u043eckerhub" is defined under ' +
        "registries; did you mean `dockerhub`? defined: dockerhub, gcr, ghcr",
    ]);
  });

  it("names the near miss of an unknown key at its path, and of an undefined registry id", () => {
    const raw = acrSettings();
    const registries = raw.registries as Record<string, Record<string, unknown>>;
    registries.acr = { ...registries.acr, resourcegroup: "rg", rotateAfterDay: 30 };
    raw.namespace = {};
    raw.secretname = "x";
    raw.zzz = 1;
    raw.namespaces = {
      "team-a": { registries: { dockerhb: {}, acr: { repositorys: ["a"] } }, label: { a: "b" } },
    };
    const known =
      "known keys: registries, namespaces, namespaceDefaults, secretName, delivery, externalSecrets, workloadIdentity, monitoring";
    const acrKeys =
      "allowed here: type, server, resourceGroup, registryName, passwordLifetimeDays, rotateAfterDays, rotationSpreadDays, forceRotation, auth, " +
      "verification, verificationTimeoutSeconds";
    assert.deepStrictEqual(problemsOf(raw), [
      `namespace: unknown key registry-access:namespace; did you mean \`namespaces\`? ${known}`,
      `secretname: unknown key registry-access:secretname; did you mean \`secretName\`? ${known}`,
      `zzz: unknown key registry-access:zzz; ${known}`,
      `registries.acr.resourcegroup: unknown key; did you mean \`resourceGroup\`? ${acrKeys}`,
      `registries.acr.rotateAfterDay: unknown key; did you mean \`rotateAfterDays\`? ${acrKeys}`,
      "namespaces.team-a.label: unknown key; did you mean `labels`? allowed here: registries, serviceAccounts, " +
        "labels, annotations, extraImagePullSecrets, delivery",
      "namespaces.team-a.registries.acr.repositorys: unknown key; did you mean `repositories`? allowed here: repositories, tokenGeneration, enabled",
      "namespaces.team-a.registries.acr.repositories: missing; list the repositories this namespace may pull " +
        "(names, or a prefix ending in /*)",
      'namespaces.team-a.registries.dockerhb: no registry "dockerhb" is defined under registries; ' +
        "did you mean `dockerhub`? defined: acr, dockerhub, gcr, ghcr",
    ]);
  });

  it("takes the text {} (what `pulumi config set --path ... '{}'` stores) as an empty map, nothing else", () => {
    const raw = staticSettings();
    raw.namespaces = { app: { registries: { dockerhub: "{}" }, labels: "{}", annotations: "{}" } };
    const app = parseSettings(raw).namespaces[0];
    assert.deepStrictEqual(
      [app.registries.map((r) => r.registry.id), app.labels, app.annotations],
      [["dockerhub"], {}, {}],
    );
    raw.namespaces = { app: { registries: { dockerhub: "{ }", ghcr: "[]" }, labels: "{}x" } };
    assert.deepStrictEqual(problemsOf(raw), [
      'namespaces.app.registries.dockerhub: expected a map, got "{ }"',
      'namespaces.app.registries.ghcr: expected a map, got "[]"',
      'namespaces.app.labels: expected a map, got "{}x"',
    ]);
    // Under registries a string is never quoted (it may be a credential set at the wrong path), {} included.
    raw.registries = { ...(raw.registries as object), extra: "{}" };
    raw.namespaces = { app: { registries: { dockerhub: {} } } };
    assert.deepStrictEqual(problemsOf(raw), [
      "registries.extra: expected a map, got a string (not shown: it may be a credential set at the wrong path)",
    ]);
  });
});

describe("settings: namespaceDefaults", () => {
  const DEFAULTS = {
    registries: { dockerhub: {}, ghcr: {} },
    serviceAccounts: ["default", { name: "builder", create: true }],
    labels: { team: "platform", tier: "app" },
    annotations: { owner: "platform@example.com" },
    extraImagePullSecrets: ["legacy-pull"],
  };
  const view = (s: ReturnType<typeof parseSettings>) =>
    s.namespaces.map((n) => ({
      name: n.name,
      registries: n.registries.map((r) => r.registry.id),
      serviceAccounts: n.serviceAccounts.map((sa) => `${sa.name}${sa.create ? "+" : ""}`),
      labels: n.labels,
      annotations: n.annotations,
      extra: n.extraImagePullSecrets,
    }));

  it("each namespace inherits them: maps merge per key (its own winning), lists replace, null removes", () => {
    const raw = {
      ...staticSettings(),
      namespaceDefaults: DEFAULTS,
      namespaces: {
        a: {},
        b: {
          registries: { ghcr: null, gcr: {} },
          labels: { tier: "batch", team: null },
          serviceAccounts: ["default"],
          extraImagePullSecrets: [],
        },
        c: "{}",
        d: { registries: { dockerhub: { enabled: false }, ghcr: { enabled: true } }, annotations: null },
      },
    };
    const inherited = {
      registries: ["dockerhub", "ghcr"],
      serviceAccounts: ["default", "builder+"],
      labels: { team: "platform", tier: "app" },
      annotations: { owner: "platform@example.com" },
      extra: ["legacy-pull"],
    };
    assert.deepStrictEqual(view(parseSettings(raw)), [
      { name: "a", ...inherited },
      {
        name: "b",
        registries: ["dockerhub", "gcr"],
        serviceAccounts: ["default"],
        labels: { tier: "batch" },
        annotations: { owner: "platform@example.com" },
        extra: [],
      },
      { name: "c", ...inherited },
      { name: "d", ...inherited, registries: ["ghcr"], annotations: {} },
    ]);
  });

  it("an ACR registry's repositories are a list: the namespace's replace the inherited ones", () => {
    const raw = {
      ...acrSettings(),
      namespaceDefaults: { registries: { acr: { repositories: ["shared/*"] } }, delivery: "direct" },
      namespaces: { a: {}, b: { registries: { acr: { repositories: ["team-b/*"] } } } },
    };
    assert.deepStrictEqual(
      parseSettings(raw).namespaces.map((n) => [n.name, n.delivery, n.registries[0].repositories]),
      [
        ["a", "direct", ["shared/*"]],
        ["b", "direct", ["team-b/*"]],
      ],
    );
  });

  it("reports a problem in the defaults once, under namespaceDefaults, and no missing registries for namespaces", () => {
    const raw = {
      ...staticSettings(),
      namespaceDefaults: {
        registries: { dockerhb: {}, ghcr: { enabled: "no" } },
        labls: {},
        delivery: "eso",
        extraImagePullSecrets: ["regcred"],
      },
      namespaces: { a: {}, b: { labels: { x: 1 } } },
    };
    assert.deepStrictEqual(problemsOf(raw), [
      "namespaceDefaults.labls: unknown key; did you mean `labels`? allowed here: registries, serviceAccounts, " +
        "labels, annotations, extraImagePullSecrets, delivery",
      'namespaceDefaults.delivery: unknown delivery "eso"; use direct or externalSecrets',
      'namespaceDefaults.registries.ghcr.enabled: expected true or false, got "no"',
      'namespaceDefaults.registries.dockerhb: no registry "dockerhb" is defined under registries; ' +
        "did you mean `dockerhub`? defined: dockerhub, gcr, ghcr",
      'namespaceDefaults.extraImagePullSecrets[0]: "regcred" is the pull secret this program writes; it is always listed',
      "namespaces.b.labels.x: expected a string, got 1",
    ]);
    assert.deepStrictEqual(
      problemsOf({ ...staticSettings(), namespaceDefaults: [], namespaces: { a: {} } }),
      ["namespaceDefaults: expected a map, got a list"],
    );
  });

  it("a namespace must still end up with a registry", () => {
    const raw = {
      ...staticSettings(),
      namespaceDefaults: { registries: { dockerhub: {} } },
      namespaces: {
        a: { registries: { dockerhub: null } },
        b: { registries: { dockerhub: { enabled: false } } },
      },
    };
    const empty = "empty; a namespace needs at least one registry (null and enabled: false leave one out)";
    assert.deepStrictEqual(problemsOf(raw), [
      `namespaces.a.registries: ${empty}`,
      `namespaces.b.registries: ${empty}`,
    ]);
    // Without defaults: missing, empty, or empty once removed entries are left out.
    assert.deepStrictEqual(
      problemsOf({
        ...staticSettings(),
        namespaceDefaults: { labels: { a: "b" } },
        namespaces: { a: {}, b: { registries: {} }, c: { registries: { dockerhub: null } } },
      }),
      [
        "namespaces.a.registries: missing; map at least one registry id to its options ({} for a static registry)",
        `namespaces.b.registries: ${empty}`,
        `namespaces.c.registries: ${empty}`,
      ],
    );
  });

  it("enabled: true adds a static registry (what `pulumi config set --path '…enabled' true` writes)", () => {
    const raw = { ...staticSettings(), namespaces: { a: { registries: { dockerhub: { enabled: true } } } } };
    assert.deepStrictEqual(
      parseSettings(raw).namespaces[0].registries.map((r) => r.registry.id),
      ["dockerhub"],
    );
    raw.namespaces.a.registries.dockerhub = { enabled: true, tag: "x" } as never;
    assert.deepStrictEqual(problemsOf(raw), [
      "namespaces.a.registries.dockerhub.tag: unknown key; this takes no options: use {}",
    ]);
  });
});

describe("settings: mergePatch (RFC 7386)", () => {
  it("merges maps per key, replaces anything else, removes null, takes the text {} as a map", () => {
    assert.deepStrictEqual(
      mergePatch({ a: 1, m: { x: 1, y: 2 }, l: [1, 2] }, { m: { y: null, z: 3 }, l: [3] }),
      {
        a: 1,
        m: { x: 1, z: 3 },
        l: [3],
      },
    );
    assert.deepStrictEqual(mergePatch({ a: 1 }, "{}"), { a: 1 });
    assert.deepStrictEqual(mergePatch({ a: 1 }, "x"), "x");
    assert.deepStrictEqual(mergePatch("x", { a: 1 }), { a: 1 });
    assert.deepStrictEqual(mergePatch([1], { a: null }), {});
    const merged = mergePatch({}, JSON.parse('{"__proto__": {"polluted": 1}}')) as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(merged), ["__proto__"]);
    assert.strictEqual(Object.getPrototypeOf(merged), Object.prototype);
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
  });
});
