/**
 * Parts of the verify checks that the verify tests leave open (StrykerJS mutants that survived them, issue 12):
 * the entries of a missing or unreadable Secret, which workload re-creates a pod, what runLogins asks the
 * handshake, the auths entries and files verify reads as the kubelet would, the notes and details of login lines,
 * and which keys name the same registry. The findings of one namespace are in verifyChecksNamespace.test.ts; the
 * mutants no input can tell apart are listed in SURVIVORS.md.
 */
import * as assert from "assert";
import { LoginCheck, RegistryLogin } from "../../components/registryHandshake";
import {
  decodeSecretConfig,
  ExpectedNamespace,
  failureCause,
  loginRequests,
  loginText,
  owningWorkload,
  parseDockerConfigFile,
  readAuthEntry,
  runLogins,
  sameRegistry,
  secretEntries,
  verifyAuthEntries,
} from "../../tools/verifyChecks";
import { UsageError } from "../../tools/cli";

const CONFIG = JSON.stringify({ auths: { "ghcr.io": { username: "bot", password: "pw-3f1e" } } });

describe("verify checks: Secret entries (secretEntries)", () => {
  it("reads the entries of a Secret's .dockerconfigjson, and none of a missing or unreadable Secret", () => {
    assert.deepStrictEqual(secretEntries({ stringData: { ".dockerconfigjson": CONFIG } }), [
      { server: "ghcr.io", login: { server: "ghcr.io", username: "bot", password: "pw-3f1e" } },
    ]);
    assert.deepStrictEqual(secretEntries(undefined), []);
    assert.deepStrictEqual(secretEntries({ data: { other: "eA==" } }), []);
  });
});

describe("verify checks: the workload that re-creates a pod (owningWorkload)", () => {
  const rs = (name: string, controller?: boolean) => ({
    kind: "ReplicaSet",
    name,
    ...(controller === undefined ? {} : { controller }),
  });

  it("names a Deployment through its controlling ReplicaSet and the pod's template hash", () => {
    assert.deepStrictEqual(
      owningWorkload({
        metadata: {
          name: "web-5d9f-abcde",
          labels: { "pod-template-hash": "5d9f" },
          ownerReferences: [rs("other-5d9f", false), rs("web-5d9f", true)],
        },
      }),
      { kind: "deployment", name: "web" },
    );
  });

  it("falls back to the first owner, and to the ReplicaSet itself without a matching hash", () => {
    assert.deepStrictEqual(
      owningWorkload({ metadata: { name: "p", ownerReferences: [rs("web-5d9f"), rs("api-77aa")] } }),
      { kind: "replicaset", name: "web-5d9f" },
    );
    assert.deepStrictEqual(
      owningWorkload({
        metadata: {
          name: "p",
          labels: { "pod-template-hash": "0000" },
          ownerReferences: [rs("web-5d9f", true)],
        },
      }),
      { kind: "replicaset", name: "web-5d9f" },
    );
    assert.deepStrictEqual(
      owningWorkload({
        metadata: {
          name: "db-0",
          labels: { "pod-template-hash": "5d9f" },
          ownerReferences: [{ kind: "StatefulSet", name: "db-5d9f", controller: true }],
        },
      }),
      { kind: "statefulset", name: "db-5d9f" },
    );
  });

  it("names a pod no controller owns, or says it has no name", () => {
    assert.deepStrictEqual(owningWorkload({ metadata: { name: "lonely" } }), { kind: "pod", name: "lonely" });
    assert.deepStrictEqual(owningWorkload({}), { kind: "pod", name: "(unnamed)" });
  });
});

describe("verify checks: runLogins", () => {
  it("asks the handshake once per request, with the repository only when there is one", async () => {
    const login: RegistryLogin = { server: "ghcr.io", username: "bot", password: "pw-3f1e" };
    const asked: unknown[] = [];
    const check = async (l: RegistryLogin, options?: unknown): Promise<LoginCheck> => {
      asked.push([l.server, options]);
      return { ok: true, server: l.server, detail: "fine" };
    };
    const results = await runLogins(
      [
        { server: "ghcr.io", login },
        { server: "ghcr.io", login, repository: "team/app" },
      ],
      { timeoutMs: 500 },
      check,
    );
    assert.deepStrictEqual(asked, [
      ["ghcr.io", { timeoutMs: 500 }],
      ["ghcr.io", { timeoutMs: 500, repository: "team/app" }],
    ]);
    assert.deepStrictEqual(results, [
      { server: "ghcr.io", check: { ok: true, server: "ghcr.io", detail: "fine" } },
      { server: "ghcr.io", repository: "team/app", check: { ok: true, server: "ghcr.io", detail: "fine" } },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Reading a docker config: the entries and documents the verify tests leave out.

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const EXPECTED_FILE =
  'expected a .dockerconfigjson document ({"auths": {...}}) or a kubernetes.io/dockerconfigjson Secret';

describe("verify checks: the error verify exits 2 for (UsageError)", () => {
  it("is an Error named UsageError, as an uncaught one prints", () => {
    const error = new UsageError("bad option");
    assert.ok(error instanceof Error);
    assert.strictEqual(String(error), "UsageError: bad option");
  });
});

describe("verify checks: one auths entry (readAuthEntry)", () => {
  // The kubelet (kubernetes/kubernetes pkg/credentialprovider/config.go, DockerConfigEntry.UnmarshalJSON and
  // decodeDockerConfigFieldAuth) keeps username and password when `auth` is empty, and splits a non-empty `auth`
  // with strings.SplitN(decoded, ":", 2): a user name may be empty, only a missing colon is an error.
  it("falls back to username and password when auth is empty", () => {
    assert.deepStrictEqual(readAuthEntry("ghcr.io", { auth: "", username: "bot", password: "pw-3f1e" }), {
      server: "ghcr.io",
      login: { server: "ghcr.io", username: "bot", password: "pw-3f1e" },
    });
  });

  it("reads an auth whose user name is empty: only the first colon splits", () => {
    assert.deepStrictEqual(readAuthEntry("ghcr.io", { auth: b64(":pw:3f1e") }), {
      server: "ghcr.io",
      login: { server: "ghcr.io", username: "", password: "pw:3f1e" },
    });
  });

  // verify's own rule from here on (the kubelet would send whatever strings it found): a login needs a non-empty
  // user name and a password string; anything less is reported as unusable, not tried.
  const NEITHER = 'it has neither "auth" nor "username" and "password"';
  const unusable: [string, unknown, string][] = [
    ["null (JSON null)", null, "the entry is not a map"],
    ["a password without a user", { password: "pw-3f1e" }, NEITHER],
    ["an empty user name", { username: "", password: "pw-3f1e" }, NEITHER],
    ["a user name that is not a string", { username: 7, password: "pw-3f1e" }, NEITHER],
    ["a user without a password", { username: "bot" }, NEITHER],
    ["an empty identitytoken", { identitytoken: "" }, NEITHER],
    ["an identitytoken that is not a string", { identitytoken: 7 }, NEITHER],
  ];
  for (const [what, value, problem] of unusable) {
    it(`marks ${what} unusable, without quoting it`, () => {
      assert.deepStrictEqual(readAuthEntry("ghcr.io", value), { server: "ghcr.io", problem });
    });
  }
});

describe("verify checks: a Secret's .dockerconfigjson (decodeSecretConfig)", () => {
  // A Secret's data and stringData are both optional in the Kubernetes API (core/v1 Secret), and the API
  // returns stringData merged into data; a Secret read from a file may have either or neither.
  it("says a Secret without data has no data, and names the keys of one without the key", () => {
    assert.deepStrictEqual(decodeSecretConfig({ type: "kubernetes.io/dockerconfigjson" }), {
      problem: "has no .dockerconfigjson key in its data (no data)",
    });
    assert.deepStrictEqual(decodeSecretConfig({ data: { token: b64("x"), "ca.crt": b64("y") } }), {
      problem: "has no .dockerconfigjson key in its data (keys: token, ca.crt)",
    });
  });

  it("says a value of only whitespace is empty, in data and in stringData", () => {
    assert.deepStrictEqual(decodeSecretConfig({ data: { ".dockerconfigjson": b64(" \n\t") } }), {
      problem: "has an empty .dockerconfigjson",
    });
    assert.deepStrictEqual(decodeSecretConfig({ stringData: { ".dockerconfigjson": "\n" } }), {
      problem: "has an empty .dockerconfigjson",
    });
  });
});

describe("verify checks: the file given to --dockerconfigjson (parseDockerConfigFile)", () => {
  const CONFIG = JSON.stringify({ auths: { "ghcr.io": { username: "bot", password: "pw-3f1e" } } });
  const ENTRIES = [{ server: "ghcr.io", login: { server: "ghcr.io", username: "bot", password: "pw-3f1e" } }];

  it("reads a Secret by its data or stringData alone, without kind (as a manifest fragment has it)", () => {
    assert.deepStrictEqual(
      parseDockerConfigFile(JSON.stringify({ data: { ".dockerconfigjson": b64(CONFIG) } }), "s.json"),
      ENTRIES,
    );
    assert.deepStrictEqual(
      parseDockerConfigFile(JSON.stringify({ stringData: { ".dockerconfigjson": CONFIG } }), "s.json"),
      ENTRIES,
    );
  });

  const rejected: [string, string, string][] = [
    ["a JSON string", '"pw-3f1e"', `f.json holds a single value, not a map: ${EXPECTED_FILE}`],
    ["a JSON number", "42", `f.json holds a single value, not a map: ${EXPECTED_FILE}`],
    [
      "a Secret with nothing in it",
      '{"kind": "Secret"}',
      "f.json is a Secret that has no .dockerconfigjson key in its data (no data)",
    ],
    // Base64, but of text that is not JSON: not the still-encoded Secret value, and not YAML's map either.
    ["base64 of text", `${b64("pw-3f1e and more")}\n`, "f.json is not valid JSON (nor a Secret in YAML)"],
  ];
  for (const [what, text, message] of rejected) {
    it(`rejects ${what}, naming the file only`, () => {
      assert.throws(
        () => parseDockerConfigFile(text, "f.json"),
        (e: unknown) => e instanceof UsageError && e.message === message,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Login lines.

describe("verify checks: login lines (loginText, failureCause)", () => {
  const ok = (detail: string): LoginCheck => ({ ok: true, server: "r.io", detail });
  const failed = (failure: LoginCheck["failure"], detail: string): LoginCheck => ({
    ok: false,
    server: "r.io",
    failure,
    detail,
  });

  it("names no repository when it was given none", () => {
    assert.strictEqual(
      failureCause(failed("no-pull-permission", "d")),
      "no pull permission on the repository",
    );
  });

  it("gives both notes of an open registry without the repository (registryHandshake's ok detail)", () => {
    const detail =
      'registry r.io needs no credentials for pulling repository "team/app", so user "bot" was not checked ' +
      "(the repository does not exist yet)";
    assert.strictEqual(
      loginText("bot", ok(detail), "team/app"),
      "user bot, may pull team/app (not checked: the registry asks for none; the repository does not exist yet)",
    );
  });

  it("reads a note from the end of the detail only, not from a user name that says the same", () => {
    const user = "x (the repository does not exist yet)";
    assert.strictEqual(
      loginText(user, ok(`registry r.io accepted the credentials for user ${JSON.stringify(user)}`)),
      `user ${user}`,
    );
  });

  // failureDetail knows registryHandshake's forms; any other detail loses only the registry it starts with.
  const otherForms: [LoginCheck["failure"], string, string][] = [
    [
      "unreachable",
      "registry r.io: its proxy says registry mirror.io is unreachable: ECONNREFUSED",
      "registry unreachable: its proxy says registry mirror.io is unreachable: ECONNREFUSED",
    ],
    [
      "no-pull-permission",
      'registry r.io: token service https://r.io/token refused pull of "team/app" (403)',
      'no pull permission on team/app: token service https://r.io/token refused pull of "team/app" (403)',
    ],
    [
      "protocol",
      "TLS handshake with r.io failed: self-signed certificate",
      "unexpected answer: TLS handshake with r.io failed: self-signed certificate",
    ],
  ];
  for (const [failure, detail, line] of otherForms) {
    it(`keeps a ${failure} detail of another form: ${detail.slice(0, 50)}...`, () => {
      assert.strictEqual(loginText("bot", failed(failure, detail), "team/app"), line);
    });
  }
});

describe("verify checks: verifyAuthEntries", () => {
  it("reports an entry without credentials or a problem as unusable, and asks no registry", async () => {
    const asked: string[] = [];
    const check = async (login: RegistryLogin): Promise<LoginCheck> => {
      asked.push(login.server);
      return { ok: true, server: login.server, detail: "fine" };
    };
    assert.deepStrictEqual(await verifyAuthEntries([{ server: "ghcr.io" }], {}, check), {
      ok: false,
      lines: ["FAIL  ghcr.io  unusable entry: no credentials"],
    });
    assert.deepStrictEqual(asked, []);
  });
});

describe("verify checks: verifyAuthEntries with --repository", () => {
  const login = (server: string) => ({ server, login: { server, username: "bot", password: "pw" } });
  const notYet = (server: string) =>
    `registry ${server} accepted the credentials for user "bot" and allows pulling repository "a/b" (the repository does not exist yet)`;
  const check = async (l: RegistryLogin): Promise<LoginCheck> => ({
    ok: true,
    server: l.server,
    detail: l.server === "gone.io" ? notYet(l.server) : "fine",
  });
  const NAME_UNKNOWN =
    "FAIL  gone.io  no such repository a/b: the registry let user bot in and answered NAME_UNKNOWN for it; " +
    "check the name (or push to it first)";

  it("fails an entry whose registry holds no such repository, and only that one", async () => {
    assert.deepStrictEqual(
      await verifyAuthEntries([login("gone.io"), login("here.io")], { repository: "a/b" }, check),
      { ok: false, lines: [NAME_UNKNOWN, "ok    here.io  user bot"] },
    );
    assert.deepStrictEqual(await verifyAuthEntries([login("here.io")], { repository: "a/b" }, check), {
      ok: true,
      lines: ["ok    here.io  user bot"],
    });
  });

  it("without --repository the note is only a note (no repository was asked for by name)", async () => {
    assert.deepStrictEqual(await verifyAuthEntries([login("gone.io")], {}, check), {
      ok: true,
      lines: ["ok    gone.io  user bot (the repository does not exist yet)"],
    });
  });

  it("a failed check is reported as failed, not as a missing repository", async () => {
    const failing = async (l: RegistryLogin): Promise<LoginCheck> => ({
      ok: false,
      server: l.server,
      failure: "bad-credentials",
      detail: notYet(l.server),
    });
    const { ok, lines } = await verifyAuthEntries([login("gone.io")], { repository: "a/b" }, failing);
    assert.strictEqual(ok, false);
    assert.notStrictEqual(lines[0], NAME_UNKNOWN);
    assert.match(lines[0], /^FAIL {2}gone\.io {2}bad password/);
  });
});

describe("verify checks: which auths keys name the same registry (sameRegistry)", () => {
  it("compares keys that are not registry hosts as written, ignoring only letter case", () => {
    assert.strictEqual(sameRegistry("https://", "HTTPS://"), true);
    assert.strictEqual(sameRegistry("https://", "not a host"), false);
    // "ß" upper-cases to "SS": two different keys that only an upper-case comparison would confuse.
    assert.strictEqual(sameRegistry("bad key ß", "bad key ss"), false);
  });
});

describe("verify checks: the logins of a namespace (loginRequests)", () => {
  it("plans none for a registry missing from the secret or whose entry is unusable", () => {
    const registry = (id: string, server: string) => ({
      id,
      type: "static" as const,
      server,
      username: "bot",
      pullChecks: [],
    });
    const expected: ExpectedNamespace = {
      name: "staging",
      delivery: "direct",
      secretName: "regcred",
      registries: [registry("gh", "ghcr.io"), registry("quay", "quay.io")],
      serviceAccounts: ["default"],
    };
    assert.deepStrictEqual(
      loginRequests(expected, [{ server: "ghcr.io", problem: "the entry is not a map" }]),
      [],
    );
  });
});
