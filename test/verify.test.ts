import { strict as assert } from "assert";
import { spawn } from "child_process";
import { promises as fs } from "fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { tmpdir } from "os";
import * as path from "path";
import { LoginCheck, RegistryLogin } from "../components/registryHandshake";
import { parseSettings } from "../components/settings";
import { readStackFile, stackFilePath } from "../components/stackFile";
import {
  AuthEntry,
  checkNamespace,
  decodeBase64,
  ExpectedNamespace,
  expectedFromStack,
  failureCause,
  formatNamespaceReport,
  formatSummary,
  LoginResult,
  loginRequests,
  loginText,
  foreignWriter,
  ObservedNamespace,
  owningWorkload,
  parseDockerConfigFile,
  PodLike,
  PROJECT,
  readAuthEntry,
  reportOk,
  upFix,
  verifyAuthEntries,
} from "../tools/verifyChecks";
import { UsageError } from "../tools/cli";
import { main } from "../tools/verify";
import { acrTokenName } from "../components/names";
import { AcrRegistry, startAcrRegistry } from "./support/acrRegistry";
import { freePort, RunningRegistry, startRegistry } from "./support/registryServer";

const ROOT = path.resolve(__dirname, "..");
const ALICE_PASSWORD = "Alice-pw-5e1d9c20";
const CAROL_PASSWORD = "Carol-pw-8a7b6c43";
const WRONG_PASSWORD = "Wrong-pw-0f4e2d19";
const TOKEN_PASSWORD = "Token-pw-2d7a5e31";
const ALL_PASSWORDS = [ALICE_PASSWORD, CAROL_PASSWORD, WRONG_PASSWORD, TOKEN_PASSWORD];

/** The handshake's reasons for a refused pull (ACR changes take a while to take effect). */
const NOT_YET =
  "no pull permission on the repository, or the token or its scope map was created or changed moments ago " +
  "and has not taken effect yet";

/** What stays of it after "no pull permission on <repo>:" has said the first part. */
const NOT_YET_REST =
  "the token or its scope map was created or changed moments ago and has not taken effect yet";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

function dockerConfig(auths: Record<string, Record<string, string>>): string {
  return JSON.stringify({ auths });
}

function userPass(username: string, password: string): Record<string, string> {
  return { username, password, auth: b64(`${username}:${password}`) };
}

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as `npm run verify` runs it, in a child process (async: the fake API server lives in this one). */
function verifyCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "tools/verify.ts", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** The same command in this process, for the cases whose exit status a child process already showed. */
async function verifyInProcess(args: readonly string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const status = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

function usage(message: string): Run {
  return { status: 2, stdout: "", stderr: `verify: ${message}\n${USAGE}` };
}

function assertNoPasswords(run: Run): void {
  for (const password of ALL_PASSWORDS) {
    assert.ok(
      !run.stdout.includes(password) && !run.stderr.includes(password),
      `a password leaked: ${JSON.stringify(run)}`,
    );
  }
}

const USAGE =
  "usage: npm run verify -- --dockerconfigjson <file> [--repository <name>] [--timeout-ms N]\n" +
  "       npm run verify -- --stack <name> [--context <kube context>] [--timeout-ms N] [--project-dir <dir>]\n";

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

let dir: string;

async function writeFile(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

describe("verify", () => {
  before(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "verify-test-"));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  // ---------------------------------------------------------------------------------------------------------

  describe("verify: reading a docker config", () => {
    it("reads username/password entries and auth-only entries, in auths order; auth wins as in the kubelet", () => {
      const entries = parseDockerConfigFile(
        JSON.stringify({
          auths: {
            "ghcr.io": { username: "gh-bot", password: "p1" },
            "registry.example.com:5000": { auth: b64("robot:p:2") },
            "https://index.docker.io/v1/": {
              username: "ignored",
              password: "ignored",
              auth: b64("hub-bot:p3"),
            },
          },
        }),
        "config.json",
      );
      assert.deepEqual(entries, [
        { server: "ghcr.io", login: { server: "ghcr.io", username: "gh-bot", password: "p1" } },
        {
          server: "registry.example.com:5000",
          login: { server: "registry.example.com:5000", username: "robot", password: "p:2" },
        },
        {
          server: "https://index.docker.io/v1/",
          login: { server: "https://index.docker.io/v1/", username: "hub-bot", password: "p3" },
        },
      ]);
    });

    it("decodes only canonical base64 of UTF-8, as Kubernetes and Docker write it", () => {
      assert.deepEqual(["dTpwOng=", "dTpwOng", "dTpw Ong=", "dTpwOng=!", "//4="].map(decodeBase64), [
        "u:p:x",
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    });

    it("reads a Secret as kubectl prints it in YAML (base64 data) and in JSON (stringData)", () => {
      const config = dockerConfig({ "ghcr.io": userPass("gh-bot", "p1") });
      const yaml = [
        "apiVersion: v1",
        "kind: Secret",
        "metadata:",
        "  name: regcred",
        "  namespace: staging",
        "type: kubernetes.io/dockerconfigjson",
        "data:",
        `  .dockerconfigjson: ${b64(config)}`,
        "",
      ].join("\n");
      const expected: AuthEntry[] = [
        { server: "ghcr.io", login: { server: "ghcr.io", username: "gh-bot", password: "p1" } },
      ];
      assert.deepEqual(parseDockerConfigFile(yaml, "secret.yaml"), expected);
      const json = JSON.stringify({ kind: "Secret", stringData: { ".dockerconfigjson": config } });
      assert.deepEqual(parseDockerConfigFile(json, "secret.json"), expected);
    });

    const errors: [string, string, string][] = [
      [
        "truncated JSON",
        `{"auths": {"ghcr.io": {"password": "${WRONG_PASSWORD}"`,
        "bad.json is not valid JSON (nor a Secret in YAML)",
      ],
      [
        "a document without auths",
        '{"credsStore": "desktop"}',
        'bad.json has no "auths" map: expected a .dockerconfigjson document ({"auths": {...}}) or a kubernetes.io/dockerconfigjson Secret',
      ],
      ["an empty auths", '{"auths": {}}', 'bad.json lists no registry under "auths": nothing to verify'],
      [
        "an empty file",
        " \n",
        'bad.json is empty: expected a .dockerconfigjson document ({"auths": {...}}) or a kubernetes.io/dockerconfigjson Secret',
      ],
      [
        "text that is not JSON",
        `password ${WRONG_PASSWORD}\n`,
        "bad.json is not valid JSON (nor a Secret in YAML)",
      ],
      [
        "a JSON list",
        `["${WRONG_PASSWORD}"]`,
        'bad.json holds a list, not a map: expected a .dockerconfigjson document ({"auths": {...}}) or a kubernetes.io/dockerconfigjson Secret',
      ],
      [
        "the Secret's data value, still in base64 (wrapped as base64 wraps it)",
        `${b64(dockerConfig({ "ghcr.io": userPass("u", WRONG_PASSWORD) })).replace(/(.{76})/g, "$1\n")}\n`,
        "bad.json is base64, not JSON: the Secret's .dockerconfigjson value as the API stores it; decode it first: " +
          "kubectl get secret <name> -n <namespace> -o jsonpath='{.data.\\.dockerconfigjson}' | base64 -d > bad.json",
      ],
      [
        "a Secret without the key",
        JSON.stringify({ kind: "Secret", data: { token: b64(WRONG_PASSWORD) } }),
        "bad.json is a Secret that has no .dockerconfigjson key in its data (keys: token)",
      ],
      [
        "a Secret with bad base64",
        JSON.stringify({ kind: "Secret", data: { ".dockerconfigjson": "not base64!" } }),
        "bad.json is a Secret that has a .dockerconfigjson that is not valid base64 of UTF-8",
      ],
    ];
    for (const [what, text, message] of errors) {
      it(`rejects ${what} with a message naming the file, not quoting it`, () => {
        assert.throws(
          () => parseDockerConfigFile(text, "bad.json"),
          (e: unknown) => e instanceof UsageError && e.message === message,
        );
        assert.ok(!message.includes(WRONG_PASSWORD));
      });
    }

    const problems: [string, unknown, string][] = [
      [
        "a scheme-only key",
        { username: "u", password: "p" },
        'registry server "https://" is not a registry host (expected host[:port], e.g. myregistry.azurecr.io)',
      ],
      ["no credentials", { email: "a@example.com" }, 'it has neither "auth" nor "username" and "password"'],
      [
        "an identitytoken",
        { identitytoken: "tok" },
        "it holds only an identitytoken (an OAuth refresh token), which verify cannot use",
      ],
      [
        "an auth without a colon",
        { auth: b64("justauser") },
        'its "auth" is not the base64 of user:password',
      ],
      ["an auth that is not base64", { auth: "%%%%" }, 'its "auth" is not the base64 of user:password'],
      ["not a map", "user:pass", "the entry is not a map"],
    ];
    for (const [what, value, problem] of problems) {
      it(`marks an entry with ${what} unusable`, () => {
        const server = what === "a scheme-only key" ? "https://" : "ghcr.io";
        assert.deepEqual(readAuthEntry(server, value), { server, problem });
      });
    }
  });

  describe("verify: login lines", () => {
    const check = (failure: LoginCheck["failure"]): LoginCheck => ({
      ok: false,
      server: "r.io",
      failure,
      detail: "d",
    });
    const causes: [LoginCheck["failure"], string][] = [
      ["bad-credentials", "bad password, or the token/password has expired"],
      ["no-pull-permission", "no pull permission on team/app"],
      ["unreachable", "registry unreachable"],
      ["protocol", "unexpected answer"],
    ];
    for (const [failure, cause] of causes) {
      it(`says "${cause}" for ${failure}`, () => {
        assert.equal(failureCause(check(failure), "team/app"), cause);
      });
    }

    // The handshake's details (registryHandshake.ts), each with the line verify prints: nothing said twice.
    const lines: [LoginCheck["failure"], string, string][] = [
      [
        "unreachable",
        "registry r.io is unreachable: no answer within 5000 ms (GET https://r.io/v2/)",
        "registry unreachable: no answer within 5000 ms (GET https://r.io/v2/)",
      ],
      [
        "unreachable",
        "registry r.io (token service) is unreachable: ENOTFOUND (GET https://auth.r.io/token)",
        "registry unreachable: token service: ENOTFOUND (GET https://auth.r.io/token)",
      ],
      [
        "bad-credentials",
        'registry r.io rejected the credentials for user "a \\"b\\"" (wrong password, or the token or password has expired); gave up after 2m',
        'bad password, or the token/password has expired: the registry rejected user "a \\"b\\""; gave up after 2m',
      ],
      [
        "bad-credentials",
        'registry r.io: token service https://r.io/oauth2/token refused user "bot" (403)',
        'bad password, or the token/password has expired: token service https://r.io/oauth2/token refused user "bot" (403)',
      ],
      [
        "no-pull-permission",
        'registry r.io accepted the credentials for user "bot" but its token service https://r.io/oauth2/token ' +
          `refused to grant pull of repository "team/app" (403): ${NOT_YET}`,
        'no pull permission on team/app: the registry accepted user "bot" but its token service ' +
          `https://r.io/oauth2/token refused the pull (403); or ${NOT_YET_REST}`,
      ],
      [
        "protocol",
        "registry r.io does not speak the Docker Registry v2 API (GET /v2/ answered 404)",
        "unexpected answer: the registry does not speak the Docker Registry v2 API (GET /v2/ answered 404)",
      ],
      [
        "protocol",
        "registry r.io: token service https://r.io/token answered 500 (expected 200 or 401)",
        "unexpected answer: token service https://r.io/token answered 500 (expected 200 or 401)",
      ],
    ];
    for (const [failure, detail, line] of lines) {
      it(`says a ${failure} failure once: ${detail.slice(0, 60)}...`, () => {
        const text = loginText("bot", { ok: false, server: "r.io", failure, detail }, "team/app");
        assert.equal(text, line);
      });
    }

    it("checks every entry at once and reports in auths order, whatever order the answers come in", async () => {
      const calls: { login: RegistryLogin; answer: (c: LoginCheck) => void }[] = [];
      const checker = (login: RegistryLogin) =>
        new Promise<LoginCheck>((resolve) => calls.push({ login, answer: resolve }));
      const entries = parseDockerConfigFile(
        dockerConfig({
          "a.io": userPass("ua", "pa"),
          "b.io": { auth: b64("ub:pb") },
          "c.io": { email: "x" },
          "d.io": userPass("ud", "pd"),
        }),
        "f",
      );
      const pending = verifyAuthEntries(entries, {}, checker);
      // All three started before any answered.
      assert.deepEqual(
        calls.map((c) => c.login.server),
        ["a.io", "b.io", "d.io"],
      );
      calls[2].answer({
        ok: false,
        server: "d.io",
        failure: "unreachable",
        detail: "registry d.io is unreachable: ECONNREFUSED (GET https://d.io/v2/)",
      });
      calls[1].answer({ ok: true, server: "b.io", detail: "registry b.io accepted the credentials" });
      calls[0].answer({ ok: true, server: "a.io", detail: "registry a.io accepted the credentials" });
      assert.deepEqual(await pending, {
        ok: false,
        lines: [
          "ok    a.io  user ua",
          "ok    b.io  user ub",
          'FAIL  c.io  unusable entry: it has neither "auth" nor "username" and "password"',
          "FAIL  d.io  registry unreachable: ECONNREFUSED (GET https://d.io/v2/)",
        ],
      });
    });

    it("says so when the registry asks for no credentials, so the user was never checked", async () => {
      const open = createServer((req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(req.url === "/v2/" ? 200 : 404, { "Content-Type": "application/json" }).end("{}");
      });
      const port = await listen(open);
      try {
        const entries = parseDockerConfigFile(
          dockerConfig({ [`127.0.0.1:${port}`]: userPass("alice", ALICE_PASSWORD) }),
          "f",
        );
        assert.deepEqual(await verifyAuthEntries(entries), {
          ok: true,
          lines: [`ok    127.0.0.1:${port}  user alice (not checked: the registry asks for none)`],
        });
      } finally {
        await close(open);
      }
    });
  });

  describe("npm run verify -- --dockerconfigjson, against a real registry", () => {
    let registry: RunningRegistry;
    let server: string;
    const badPassword = (key: string, user: string) =>
      `FAIL  ${key}  bad password, or the token/password has expired: the registry rejected user "${user}"`;

    before(async () => {
      registry = await startRegistry({ users: { alice: ALICE_PASSWORD, carol: CAROL_PASSWORD } });
      server = registry.server;
      await registry.pushTinyImage({ username: "alice", password: ALICE_PASSWORD }, "team/app", "latest");
    });
    after(async () => {
      await registry?.stop();
    });

    it("good credentials, as username/password and as auth only: an ok line each, exit 0", async () => {
      const file = await writeFile(
        "good.json",
        dockerConfig({
          [server]: userPass("alice", ALICE_PASSWORD),
          [`http://${server}`]: { auth: b64(`alice:${ALICE_PASSWORD}`) },
        }),
      );
      const run = await verifyCli(["--dockerconfigjson", file]);
      assert.deepEqual(run, {
        status: 0,
        stdout: `ok    ${server}  user alice\nok    http://${server}  user alice\n`,
        stderr: "",
      });
    });

    it("a wrong password: the bad-password line, exit 1, the password nowhere", async () => {
      const file = await writeFile(
        "wrong.json",
        dockerConfig({ [server]: userPass("alice", WRONG_PASSWORD) }),
      );
      const run = await verifyCli(["--dockerconfigjson", file]);
      assert.deepEqual(run, { status: 1, stdout: `${badPassword(server, "alice")}\n`, stderr: "" });
      assertNoPasswords(run);
    });

    it("a user removed after the config was written (an expired token): the bad-password line, exit 1", async () => {
      const file = await writeFile(
        "carol.json",
        dockerConfig({ [server]: userPass("carol", CAROL_PASSWORD) }),
      );
      const before = await verifyInProcess(["--dockerconfigjson", file]);
      assert.deepEqual(before, { status: 0, stdout: `ok    ${server}  user carol\n`, stderr: "" });
      await registry.setUsers({ alice: ALICE_PASSWORD });
      const run = await verifyCli(["--dockerconfigjson", file]);
      assert.deepEqual(run, { status: 1, stdout: `${badPassword(server, "carol")}\n`, stderr: "" });
      assertNoPasswords(run);
    });

    it("an unreachable registry among good ones: its FAIL line in its place, exit 1", async () => {
      const port = await freePort();
      const file = await writeFile(
        "mixed.json",
        dockerConfig({
          [`127.0.0.1:${port}`]: userPass("alice", ALICE_PASSWORD),
          [server]: userPass("alice", ALICE_PASSWORD),
        }),
      );
      const run = await verifyCli(["--dockerconfigjson", file, "--timeout-ms", "5000"]);
      assert.deepEqual(run, {
        status: 1,
        stdout:
          `FAIL  127.0.0.1:${port}  registry unreachable: ECONNREFUSED (GET http://127.0.0.1:${port}/v2/)\n` +
          `ok    ${server}  user alice\n`,
        stderr: "",
      });
    });

    it("--repository on a pushed repository passes; a Secret in YAML is read as well", async () => {
      const config = dockerConfig({ [server]: userPass("alice", ALICE_PASSWORD) });
      const file = await writeFile(
        "secret.yaml",
        `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${b64(config)}\n`,
      );
      const run = await verifyCli(["--dockerconfigjson", file, "--repository", "team/app"]);
      assert.deepEqual(run, { status: 0, stdout: `ok    ${server}  user alice\n`, stderr: "" });
    });

    it("--repository on a repository the registry does not hold fails (a typo); one with no tag latest passes", async () => {
      const file = await writeFile(
        "typo.json",
        dockerConfig({ [server]: userPass("alice", ALICE_PASSWORD) }),
      );
      await registry.pushTinyImage({ username: "alice", password: ALICE_PASSWORD }, "team/tagged", "v1");
      // Distribution answers a manifest of a repository it does not know with MANIFEST_UNKNOWN, as for a missing
      // tag; its tags list answers NAME_UNKNOWN for the unknown repository only.
      assert.deepEqual(
        [
          await verifyInProcess(["--dockerconfigjson", file, "--repository", "team/ap"]),
          await verifyInProcess(["--dockerconfigjson", file, "--repository", "team/tagged"]),
        ],
        [
          {
            status: 1,
            stdout:
              `FAIL  ${server}  no such repository team/ap: the registry let user alice in and answered ` +
              "NAME_UNKNOWN for it; check the name (or push to it first)\n",
            stderr: "",
          },
          {
            status: 0,
            stdout: `ok    ${server}  user alice (the repository has no tag "latest")\n`,
            stderr: "",
          },
        ],
      );
    });

    it("exit 2 for a missing file and for bad JSON, which is never quoted", async () => {
      const missing = path.join(dir, "nope.json");
      const bad = await writeFile("bad.json", `{"auths": {"${server}": {"password": "${WRONG_PASSWORD}"`);
      const runs = await Promise.all([
        verifyCli(["--dockerconfigjson", missing]),
        verifyCli(["--dockerconfigjson", bad]),
      ]);
      assert.deepEqual(runs, [
        usage(`cannot read ${missing}: no such file`),
        usage(`${bad} is not valid JSON (nor a Secret in YAML)`),
      ]);
      for (const run of runs) assertNoPasswords(run);
    });

    it("exit 2 for a directory given as the file, with the stack file reader's reasons (one readText for both)", async () => {
      assert.deepEqual(
        await verifyInProcess(["--dockerconfigjson", dir]),
        usage(`cannot read ${dir}: it is a directory, not a Docker config file`),
      );
    });

    it("answers --help and -h with its help on stdout and exit 0, whatever else is given", async () => {
      const help: Run = {
        status: 0,
        stdout:
          USAGE +
          "\n" +
          "Does pull access work? The first form logs in to every registry of a .dockerconfigjson (or of a Secret\n" +
          "that holds one); the second checks each namespace of a stack in the live cluster.\n" +
          "\n" +
          "  --dockerconfigjson <file>  a .dockerconfigjson, or a Secret (YAML or JSON) that holds one\n" +
          "  --repository <name>        also check pull access to this repository (with --dockerconfigjson)\n" +
          "  --stack <name>             the stack (dev, org/dev): reads Pulumi.<name>.yaml\n" +
          "  --context <kube context>   the kubeconfig context to check (default: the current one)\n" +
          "  --timeout-ms N             per request, 1 to 9999999\n" +
          "  --project-dir <dir>        where Pulumi.<name>.yaml is (default: this project)\n" +
          "  -h, --help                 this help\n" +
          "\n" +
          "Exit status: 0 all ok; 1 a check failed; 2 verify could not run.\n",
        stderr: "",
      };
      assert.deepEqual(
        [
          await verifyInProcess(["--help"]),
          await verifyInProcess(["-h"]),
          await verifyInProcess(["--verbose", "-h"]),
        ],
        [help, help, help],
      );
    });

    it("exit 2 for a bad repository name, a bad timeout, neither or both of file and stack, an unknown option", async () => {
      const good = await writeFile("ok.json", dockerConfig({ [server]: userPass("alice", ALICE_PASSWORD) }));
      const runs = [
        await verifyInProcess(["--dockerconfigjson", good, "--repository", "Team/App"]),
        await verifyInProcess(["--dockerconfigjson", good, "--timeout-ms", "soon"]),
        await verifyInProcess([]),
        await verifyInProcess(["--dockerconfigjson", good, "--stack", "dev"]),
        await verifyInProcess(["--dockerconfigjson", good, "--verbose"]),
      ];
      assert.deepEqual(runs, [
        usage(
          'repository "Team/App" is not a valid repository name (lowercase path components of letters, digits ' +
            "and single separators . _ __ -, e.g. team/app)",
        ),
        usage('--timeout-ms takes a whole number of milliseconds from 1 to 9999999, got "soon"'),
        usage("give either --dockerconfigjson <file> or --stack <name>"),
        usage("give either --dockerconfigjson <file> or --stack <name>"),
        usage("Unknown option '--verbose'"),
      ]);
    });
  });

  describe("npm run verify -- --dockerconfigjson, against an ACR-like registry (scope-map tokens)", () => {
    let acr: AcrRegistry;
    let server: string;
    let file: string;

    before(async () => {
      acr = await startAcrRegistry({
        // content/read only, as ACR's built-in _repositories_pull grants (Azure/acr issues 600 and 690).
        scopeMaps: {
          "pull-only": ["repositories/team-a/app/content/read", "repositories/team-a/new/content/read"],
        },
        tokens: { "ns-team-a": { scopeMap: "pull-only", passwords: [TOKEN_PASSWORD] } },
        images: { "team-a/app": ["latest"], "team-c/secret": ["latest"] },
      });
      server = acr.server;
      file = await writeFile("acr.json", dockerConfig({ [server]: userPass("ns-team-a", TOKEN_PASSWORD) }));
    });
    after(async () => {
      await acr?.stop();
    });

    it("--repository passes for a token holding only content_read (tags/list would need metadata_read)", async () => {
      const run = await verifyCli(["--dockerconfigjson", file, "--repository", "team-a/app"]);
      assert.deepEqual(run, { status: 0, stdout: `ok    ${server}  user ns-team-a\n`, stderr: "" });
    });

    it("--repository fails for an in-scope repository with no image yet: the registry holds no such repository", async () => {
      assert.deepEqual(await verifyInProcess(["--dockerconfigjson", file, "--repository", "team-a/new"]), {
        status: 1,
        stdout:
          `FAIL  ${server}  no such repository team-a/new: the registry let user ns-team-a in and answered ` +
          "NAME_UNKNOWN for it; check the name (or push to it first)\n",
        stderr: "",
      });
    });

    it("--repository outside the scope map fails with exit 1, naming both causes; no password shown", async () => {
      const run = await verifyInProcess(["--dockerconfigjson", file, "--repository", "team-c/secret"]);
      assert.deepEqual(run, {
        status: 1,
        stdout:
          `FAIL  ${server}  no pull permission on team-c/secret: the registry accepted user "ns-team-a" but refused ` +
          `the pull (GET /v2/team-c/secret/manifests/latest answered 401 UNAUTHORIZED); or ${NOT_YET_REST}\n`,
        stderr: "",
      });
      assertNoPasswords(run);
    });

    it("a wrong password fails with the bad-password line, exit 1", async () => {
      const wrong = await writeFile(
        "acr-wrong.json",
        dockerConfig({ [server]: userPass("ns-team-a", WRONG_PASSWORD) }),
      );
      const run = await verifyInProcess(["--dockerconfigjson", wrong, "--repository", "team-a/app"]);
      assert.deepEqual(run, {
        status: 1,
        stdout: `FAIL  ${server}  bad password, or the token/password has expired: the registry rejected user "ns-team-a"\n`,
        stderr: "",
      });
      assertNoPasswords(run);
    });
  });

  // ---------------------------------------------------------------------------------------------------------

  describe("expectedFromStack", () => {
    it("reads the committed dev stack: namespaces, secret, servers, users and accounts", () => {
      const file = readStackFile(stackFilePath(ROOT, "dev"), { placeholders: true });
      assert.deepEqual(expectedFromStack(parseSettings(file.settings), "dev"), [
        {
          name: "development",
          delivery: "direct",
          secretName: "regcred",
          registries: [
            {
              id: "dockerhub",
              type: "static",
              server: "https://index.docker.io/v1/",
              username: "mycompany-ci",
              pullChecks: [],
            },
            {
              id: "mycompany",
              type: "acr",
              server: "mycompany.azurecr.io",
              username: "ra-dev-development-f215469e",
              pullChecks: ["webapp"],
            },
          ],
          serviceAccounts: ["default"],
          stack: "dev",
        },
        {
          name: "staging",
          delivery: "direct",
          secretName: "regcred",
          registries: [
            {
              id: "dockerhub",
              type: "static",
              server: "https://index.docker.io/v1/",
              username: "mycompany-ci",
              pullChecks: [],
            },
            { id: "gcr", type: "static", server: "gcr.io", username: "_json_key", pullChecks: [] },
            {
              id: "mycompany",
              type: "acr",
              server: "mycompany.azurecr.io",
              username: "ra-dev-staging-9eaa0d8e",
              pullChecks: ["webapp", "app1"],
            },
          ],
          serviceAccounts: ["default", "app-sa"],
          stack: "dev",
        },
      ]);
    });
  });

  // Recorded API objects: plain JSON as `kubectl get -o json` and the API return them.

  const HUB = "https://index.docker.io/v1/";
  const ACR = "mycompany.azurecr.io";
  const TOKEN = "ra-dev-staging-9eaa0d8e";
  const STAGING: ExpectedNamespace = {
    name: "staging",
    delivery: "direct",
    secretName: "regcred",
    registries: [
      { id: "dockerhub", type: "static", server: HUB, username: "mycompany-ci", pullChecks: [] },
      { id: "mycompany", type: "acr", server: ACR, username: TOKEN, pullChecks: ["webapp"] },
    ],
    serviceAccounts: ["default", "app-sa"],
  };

  function secretJson(auths: Record<string, unknown>, type = "kubernetes.io/dockerconfigjson") {
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "regcred", namespace: "staging", resourceVersion: "4711", uid: "0d6e3c5a" },
      type,
      data: { ".dockerconfigjson": b64(JSON.stringify({ auths })) },
    };
  }

  const GOOD_AUTHS = { [HUB]: userPass("mycompany-ci", "hub-pw"), [ACR]: userPass(TOKEN, "acr-pw") };

  function serviceAccountJson(name: string, pullSecrets: string[]) {
    return {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace: "staging", uid: `uid-${name}` },
      ...(pullSecrets.length ? { imagePullSecrets: pullSecrets.map((n) => ({ name: n })) } : {}),
    };
  }

  function podJson(
    name: string,
    options: {
      owner?: { kind: string; name: string };
      hash?: string;
      pullSecrets?: string[];
      serviceAccount?: string;
      phase?: string;
    } = {},
  ): PodLike {
    const labels: Record<string, string> = { app: "web" };
    if (options.hash) labels["pod-template-hash"] = options.hash;
    // Built as a variable, not returned as a literal: the API's JSON has more fields than PodLike names.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        labels,
        ...(options.owner
          ? {
              ownerReferences: [
                {
                  apiVersion: "apps/v1",
                  kind: options.owner.kind,
                  name: options.owner.name,
                  uid: "u",
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            }
          : {}),
      },
      spec: {
        serviceAccountName: options.serviceAccount ?? "default",
        ...(options.pullSecrets ? { imagePullSecrets: options.pullSecrets.map((n) => ({ name: n })) } : {}),
        containers: [{ name: "web", image: `${ACR}/webapp:1.2.3` }],
      },
      status: { phase: options.phase ?? "Running" },
    };
    return pod;
  }

  const GOOD_ACCOUNTS = [
    serviceAccountJson("default", ["regcred"]),
    serviceAccountJson("app-sa", ["regcred", "legacy"]),
  ];
  const GOOD_PODS = [
    podJson("web-7d9f8b6c5-x2x4z", {
      owner: { kind: "ReplicaSet", name: "web-7d9f8b6c5" },
      hash: "7d9f8b6c5",
      pullSecrets: ["regcred"],
    }),
    podJson("migrate-abcde", { owner: { kind: "Job", name: "migrate" }, phase: "Succeeded" }),
  ];

  function good(): ObservedNamespace {
    return { secret: secretJson(GOOD_AUTHS), serviceAccounts: GOOD_ACCOUNTS, pods: GOOD_PODS };
  }

  const accepted = (server: string, detail: string): LoginCheck => ({ ok: true, server, detail });
  const GOOD_LOGINS: LoginResult[] = [
    { server: HUB, check: accepted(HUB, `registry ${HUB} accepted the credentials for user "mycompany-ci"`) },
    {
      server: ACR,
      repository: "webapp",
      check: accepted(
        ACR,
        `registry ${ACR} accepted the credentials for user "${TOKEN}" and allows pulling repository "webapp"`,
      ),
    },
  ];

  const OK_SECRET = "  ok    secret regcred  kubernetes.io/dockerconfigjson, 2 registries";
  const OK_HUB = `  ok    ${HUB}  user mycompany-ci`;
  const OK_ACR = `  ok    ${ACR}  user ${TOKEN}, may pull webapp`;
  const OK_ACCOUNTS = [
    "  ok    service account default  lists regcred",
    "  ok    service account app-sa  lists regcred",
  ];
  const OK_PODS = "  ok    pods  1 active pod, none without regcred";

  function report(
    observed: ObservedNamespace,
    logins: readonly LoginResult[] = GOOD_LOGINS,
    expected = STAGING,
  ) {
    return formatNamespaceReport(checkNamespace(expected, observed, logins));
  }

  describe("checkNamespace, over recorded API objects", () => {
    it("all good: ok lines only", () => {
      const result = checkNamespace(STAGING, good(), GOOD_LOGINS);
      assert.equal(reportOk(result), true);
      assert.deepEqual(formatNamespaceReport(result), [
        "namespace staging: ok",
        OK_SECRET,
        OK_HUB,
        OK_ACR,
        ...OK_ACCOUNTS,
        OK_PODS,
      ]);
    });

    it("plans one login per entry the stack expects, one per repository to check", () => {
      const entries: AuthEntry[] = [
        { server: "docker.io", login: { server: "docker.io", username: "mycompany-ci", password: "a" } },
        { server: ACR, login: { server: ACR, username: TOKEN, password: "b" } },
        { server: "ghcr.io", login: { server: "ghcr.io", username: "x", password: "c" } },
      ];
      const expected = {
        ...STAGING,
        registries: [STAGING.registries[0], { ...STAGING.registries[1], pullChecks: ["webapp", "app1"] }],
      };
      assert.deepEqual(loginRequests(expected, entries), [
        { server: "docker.io", login: entries[0].login },
        { server: ACR, login: entries[1].login, repository: "webapp" },
        { server: ACR, login: entries[1].login, repository: "app1" },
      ]);
    });

    it("a missing secret: says so and how it gets there, for direct and External Secrets delivery", () => {
      const observed = { ...good(), secret: undefined };
      const lines = ["  FAIL  secret regcred  missing from namespace staging", ...OK_ACCOUNTS, OK_PODS];
      assert.deepEqual(report(observed, []), [
        "namespace staging: 1 problem",
        lines[0],
        "        fix: run `pulumi up --refresh` for this stack",
        ...lines.slice(1),
      ]);
      assert.deepEqual(report(observed, [], { ...STAGING, delivery: "externalSecrets" }), [
        "namespace staging: 1 problem",
        lines[0],
        "        fix: External Secrets Operator writes it: see `kubectl describe externalsecret -n staging`",
        ...lines.slice(1),
      ]);
    });

    it("a secret of the wrong type: the kubelet ignores it; its servers are still checked", () => {
      assert.deepEqual(report({ ...good(), secret: secretJson(GOOD_AUTHS, "Opaque") }), [
        "namespace staging: 1 problem",
        "  FAIL  secret regcred  has type Opaque, not kubernetes.io/dockerconfigjson: the kubelet does not use it for pulls",
        "        fix: a Secret's type cannot change: kubectl delete secret regcred -n staging, then run `pulumi up --refresh` for this stack",
        OK_HUB,
        OK_ACR,
        ...OK_ACCOUNTS,
        OK_PODS,
      ]);
    });

    const undecodable: [string, Record<string, string>, string][] = [
      [
        "no .dockerconfigjson key",
        { ".dockercfg": b64("{}") },
        "has no .dockerconfigjson key in its data (keys: .dockercfg)",
      ],
      [
        "bad base64",
        { ".dockerconfigjson": "eyJhdXRocyI6e30=garbage" },
        "has a .dockerconfigjson that is not valid base64 of UTF-8",
      ],
      [
        "bad JSON",
        { ".dockerconfigjson": b64('{"auths": ') },
        "has a .dockerconfigjson that is not valid JSON",
      ],
      [
        "no auths",
        { ".dockerconfigjson": b64('{"credHelpers": {}}') },
        'has a .dockerconfigjson without an "auths" map',
      ],
      ["an empty value", { ".dockerconfigjson": "" }, "has an empty .dockerconfigjson"],
      [
        "base64 twice",
        { ".dockerconfigjson": b64(b64(dockerConfig({ "ghcr.io": userPass("u", "p") }))) },
        "has a .dockerconfigjson encoded in base64 twice: its data must be the base64 of the JSON itself",
      ],
    ];
    for (const [what, data, text] of undecodable) {
      it(`an undecodable secret (${what})`, () => {
        const secret = { ...secretJson(GOOD_AUTHS), data };
        assert.deepEqual(report({ ...good(), secret }, []), [
          "namespace staging: 1 problem",
          `  FAIL  secret regcred  ${text}`,
          "        fix: run `pulumi up --refresh` for this stack",
          ...OK_ACCOUNTS,
          OK_PODS,
        ]);
      });
    }

    it("a missing server and an unexpected one; a Docker Hub alias counts as Docker Hub", () => {
      const auths = { "docker.io": userPass("mycompany-ci", "hub-pw"), "ghcr.io": userPass("someone", "x") };
      const logins = [{ server: "docker.io", check: accepted("docker.io", "fine") }];
      assert.deepEqual(report({ ...good(), secret: secretJson(auths) }, logins), [
        "namespace staging: 2 problems",
        OK_SECRET,
        "  ok    docker.io  user mycompany-ci",
        `  FAIL  ${ACR}  missing from secret regcred (registry mycompany of the stack)`,
        "        fix: run `pulumi up --refresh` for this stack",
        "  FAIL  ghcr.io  in secret regcred but not in the stack: a credential this namespace should not hold",
        "        fix: run `pulumi up --refresh` for this stack",
        ...OK_ACCOUNTS,
        OK_PODS,
      ]);
    });

    it("another namespace's token, and an entry without credentials", () => {
      const auths = {
        [HUB]: { email: "x@example.com" },
        [ACR]: userPass("ra-dev-development-f215469e", "acr-pw"),
      };
      const logins = [{ server: ACR, repository: "webapp", check: accepted(ACR, "fine") }];
      assert.deepEqual(report({ ...good(), secret: secretJson(auths) }, logins), [
        "namespace staging: 2 problems",
        OK_SECRET,
        `  FAIL  ${HUB}  unusable entry: it has neither "auth" nor "username" and "password"`,
        "        fix: run `pulumi up --refresh` for this stack",
        `  FAIL  ${ACR}  holds user ra-dev-development-f215469e, but the stack expects this namespace's token ${TOKEN}`,
        "        fix: run `pulumi up --refresh` for this stack",
        `  ok    ${ACR}  user ra-dev-development-f215469e, may pull webapp`,
        ...OK_ACCOUNTS,
        OK_PODS,
      ]);
    });

    it("a rejected password in a secret changed by hand says up --refresh, not config set (issue 18, item 1)", () => {
      const writtenBy = (...managers: string[]) => ({
        ...good(),
        secret: {
          ...secretJson(GOOD_AUTHS),
          metadata: {
            name: "regcred",
            managedFields: [
              { manager: "kubectl-create", fieldsV1: { "f:type": {} } },
              ...managers.map((manager) => ({
                manager,
                fieldsV1: { "f:data": { ".": {}, "f:.dockerconfigjson": {} } },
              })),
            ],
          },
        },
      });
      const rejected: LoginResult[] = [
        {
          server: HUB,
          check: {
            ok: false,
            server: HUB,
            failure: "bad-credentials",
            detail: `registry ${HUB} rejected the credentials for user "mycompany-ci" (wrong password, or the token or password has expired)`,
          },
        },
        GOOD_LOGINS[1],
      ];
      const dev = { ...STAGING, stack: "dev" };
      const hubLines = (observed: ObservedNamespace, expected = dev) =>
        report(observed, rejected, expected).slice(2, 4);
      const FAIL_HUB = `  FAIL  ${HUB}  bad password, or the token/password has expired: the registry rejected user "mycompany-ci"`;
      assert.deepEqual(hubLines(writtenBy("kubectl-patch")), [
        FAIL_HUB,
        "        fix: secret regcred was changed after this stack wrote it (by kubectl-patch): run `pulumi up " +
          "--refresh --stack dev` to write the stack's credentials back",
      ]);
      const CONFIG_SET =
        "        fix: set the current one with `pulumi config set --secret --path 'registries.dockerhub.password' " +
        "<value>`, then run `pulumi up --refresh --stack dev`";
      // Written by this stack, or by every stack's manager before issue 16 item 10: the stack's password is wrong.
      assert.deepEqual(hubLines(writtenBy("registry-access-dev")), [FAIL_HUB, CONFIG_SET]);
      assert.deepEqual(hubLines(writtenBy("registry-access")), [FAIL_HUB, CONFIG_SET]);
      assert.deepEqual(hubLines(writtenBy("kubectl-patch", "registry-access-dev")), [FAIL_HUB, CONFIG_SET]);
      // Another stack's manager is not this stack.
      assert.match(
        hubLines(writtenBy("registry-access-prod"))[1],
        /changed after this stack wrote it \(by registry-access-prod\)/,
      );
      // ESO writes the secret of an ESO namespace: the vault's value comes from the stack's password.
      assert.deepEqual(hubLines(writtenBy("external-secrets"), { ...dev, delivery: "externalSecrets" }), [
        FAIL_HUB,
        CONFIG_SET,
      ]);
      // No record of who wrote it: the stack's password is what to check.
      assert.deepEqual(hubLines(good()), [FAIL_HUB, CONFIG_SET]);
      assert.strictEqual(
        foreignWriter(writtenBy("kubectl-edit", "helm").secret, "dev"),
        "kubectl-edit, helm",
      );
      assert.strictEqual(foreignWriter(writtenBy("registry-access-x").secret, undefined), undefined);
      assert.strictEqual(foreignWriter(writtenBy("kubectl").secret, undefined), "kubectl");
      assert.strictEqual(
        foreignWriter(
          { metadata: { managedFields: [{ fieldsV1: { "f:data": { "f:.dockerconfigjson": {} } } }] } },
          "dev",
        ),
        "(unnamed)",
      );
      assert.strictEqual(
        foreignWriter({ metadata: { managedFields: [{ manager: "k", fieldsV1: { "f:data": 1 } }] } }, "dev"),
        undefined,
      );
    });

    it("every fix names `up --refresh`, with the stack when verify knows it", () => {
      assert.strictEqual(upFix("prod"), "run `pulumi up --refresh --stack prod`");
      assert.strictEqual(upFix(undefined), "run `pulumi up --refresh` for this stack");
    });

    it("a namespace being deleted is a problem, one that is Active or unread is not (issue 16, item 11)", () => {
      const phase = (p: string) => ({ ...good(), namespace: { status: { phase: p } } });
      assert.deepEqual(report(phase("Terminating"), GOOD_LOGINS, { ...STAGING, stack: "dev" }).slice(0, 3), [
        "namespace staging: 1 problem",
        "  FAIL  namespace  is Terminating: Kubernetes is deleting it, with its pull secret, and `pulumi up` cannot write into it",
        "        fix: wait until `kubectl get namespace staging` answers NotFound, then run `pulumi up --refresh " +
          "--stack dev` to create it again; or remove namespaces.staging from the stack",
      ]);
      for (const observed of [phase("Active"), { ...good(), namespace: { readError: "HTTP 403" } }, good()]) {
        assert.equal(reportOk(checkNamespace(STAGING, observed, GOOD_LOGINS)), true);
      }
    });

    it("failed logins: the cause, the handshake's detail and what to do", () => {
      const logins: LoginResult[] = [
        {
          server: HUB,
          check: {
            ok: false,
            server: HUB,
            failure: "bad-credentials",
            detail: `registry ${HUB} rejected the credentials for user "mycompany-ci" (wrong password, or the token or password has expired)`,
          },
        },
        {
          server: ACR,
          repository: "webapp",
          check: {
            ok: false,
            server: ACR,
            failure: "no-pull-permission",
            detail:
              `registry ${ACR} accepted the credentials for user "${TOKEN}" but does not allow pulling repository ` +
              `"webapp" (HEAD /v2/webapp/manifests/latest answered 401 UNAUTHORIZED): ${NOT_YET}`,
          },
        },
      ];
      const result = checkNamespace(STAGING, good(), logins);
      assert.equal(reportOk(result), false);
      assert.deepEqual(formatNamespaceReport(result), [
        "namespace staging: 2 problems",
        OK_SECRET,
        `  FAIL  ${HUB}  bad password, or the token/password has expired: the registry rejected user "mycompany-ci"`,
        "        fix: set the current one with `pulumi config set --secret --path 'registries.dockerhub.password' <value>`, " +
          "then run `pulumi up --refresh` for this stack",
        `  FAIL  ${ACR}  no pull permission on webapp: the registry accepted user "${TOKEN}" but refused the pull ` +
          `(HEAD /v2/webapp/manifests/latest answered 401 UNAUTHORIZED); or ${NOT_YET_REST}`,
        "        fix: run `pulumi up --refresh` for this stack: it writes the token's scope map from the stack's repositories " +
          "(right after an `up`, verify again shortly: a changed scope map takes a while to take effect)",
        ...OK_ACCOUNTS,
        OK_PODS,
      ]);
      assert.equal(
        formatSummary([result, checkNamespace({ ...STAGING, name: "dev" }, good(), GOOD_LOGINS)]),
        "2 namespaces checked: problems in staging",
      );
    });

    it("a login that was not run is a problem, not a pass", () => {
      assert.deepEqual(report(good(), [GOOD_LOGINS[0]]).slice(0, 4), [
        "namespace staging: 1 problem",
        OK_SECRET,
        OK_HUB,
        `  FAIL  ${ACR}  login not checked`,
      ]);
    });

    it("service accounts: one missing, one not listing the secret", () => {
      const accounts = [serviceAccountJson("default", ["legacy", "other"])];
      assert.deepEqual(report({ ...good(), serviceAccounts: accounts }), [
        "namespace staging: 2 problems",
        OK_SECRET,
        OK_HUB,
        OK_ACR,
        "  FAIL  service account default  does not list regcred in imagePullSecrets (lists legacy, other)",
        "        fix: run `pulumi up --refresh` for this stack",
        "  FAIL  service account app-sa  missing",
        "        fix: run `pulumi up --refresh` for this stack",
        OK_PODS,
      ]);
    });

    it("stale pods, grouped by workload, each with the way to restart it; finished pods are left out", () => {
      const pods = [
        ...GOOD_PODS,
        podJson("api-5c6d7e8f9-aaaaa", {
          owner: { kind: "ReplicaSet", name: "api-5c6d7e8f9" },
          hash: "5c6d7e8f9",
        }),
        podJson("api-5c6d7e8f9-bbbbb", {
          owner: { kind: "ReplicaSet", name: "api-5c6d7e8f9" },
          hash: "5c6d7e8f9",
        }),
        podJson("db-0", { owner: { kind: "StatefulSet", name: "db" }, serviceAccount: "app-sa" }),
        podJson("debug", {}),
        podJson("cache-x1", { owner: { kind: "ReplicaSet", name: "cache" } }),
        podJson("old-job-1", { owner: { kind: "Job", name: "old-job" }, phase: "Failed" }),
      ];
      const stale = (what: string, account = "default") =>
        `without regcred, admitted before service account ${account} listed it (a pod keeps the imagePullSecrets it started with): ${what}`;
      assert.deepEqual(report({ ...good(), pods }).slice(6), [
        `  FAIL  deployment/api  2 pods ${stale("api-5c6d7e8f9-aaaaa, api-5c6d7e8f9-bbbbb")}`,
        "        fix: kubectl rollout restart deployment/api -n staging",
        `  FAIL  statefulset/db  1 pod ${stale("db-0", "app-sa")}`,
        "        fix: kubectl rollout restart statefulset/db -n staging",
        `  FAIL  pod/debug  1 pod ${stale("debug")}`,
        "        fix: delete and re-create pod debug: no controller re-creates it",
        `  FAIL  replicaset/cache  1 pod ${stale("cache-x1")}`,
        "        fix: kubectl delete pod cache-x1 -n staging  (replicaset/cache re-creates it)",
      ]);
    });

    it("pods that restarting would not fix: their own imagePullSecrets, or an account the stack does not configure", () => {
      const pods = [
        podJson("web-1", { owner: { kind: "DaemonSet", name: "agent" }, pullSecrets: ["legacy"] }),
        podJson("batch-1", { owner: { kind: "Job", name: "batch" }, serviceAccount: "batch-runner" }),
      ];
      const result = checkNamespace(STAGING, { ...good(), pods }, GOOD_LOGINS);
      assert.deepEqual(formatNamespaceReport(result).slice(6), [
        "  FAIL  daemonset/agent  1 pod without regcred: they list their own imagePullSecrets (legacy), so service " +
          "account default's are not added: web-1",
        "        fix: add { name: regcred } to the imagePullSecrets of daemonset/agent's pod template",
        "  FAIL  job/batch  1 pod without regcred: they run as service account batch-runner, which the stack does " +
          "not configure: batch-1",
        "        fix: add batch-runner to namespaces.staging.serviceAccounts in the stack, run `pulumi up --refresh` for this " +
          "stack, then restart them",
      ]);
    });

    it("names the owning workload: a Deployment only when the pod-template-hash matches", () => {
      const owner = { kind: "ReplicaSet", name: "web-7d9f8b6c5" };
      assert.deepEqual(owningWorkload(podJson("p", { owner, hash: "7d9f8b6c5" })), {
        kind: "deployment",
        name: "web",
      });
      assert.deepEqual(owningWorkload(podJson("p", { owner, hash: "1111111" })), {
        kind: "replicaset",
        name: "web-7d9f8b6c5",
      });
      assert.deepEqual(owningWorkload(podJson("p")), { kind: "pod", name: "p" });
    });

    it("reads the API refused: each reported as such, no verdict made up", () => {
      const observed: ObservedNamespace = {
        secret: { readError: 'HTTP 403 secrets "regcred" is forbidden' },
        serviceAccounts: GOOD_ACCOUNTS,
        pods: { readError: "HTTP 403 pods is forbidden" },
      };
      assert.deepEqual(report(observed, []), [
        "namespace staging: 2 problems",
        '  FAIL  secret regcred  could not be read: HTTP 403 secrets "regcred" is forbidden',
        ...OK_ACCOUNTS,
        "  FAIL  pods  could not be listed: HTTP 403 pods is forbidden",
      ]);
    });
  });

  // ---------------------------------------------------------------------------------------------------------

  describe("npm run verify -- --stack, against a fake API server, a real registry and an ACR-like one", () => {
    let registry: RunningRegistry;
    let acr: AcrRegistry;
    let api: Server;
    let requests: string[];
    let env: NodeJS.ProcessEnv;
    let projectDir: string;

    before(async () => {
      registry = await startRegistry({ users: { alice: ALICE_PASSWORD } });
      const server = registry.server;
      const tokenA = acrTokenName(PROJECT, "e2e-acr", "acr-a");
      const tokenB = acrTokenName(PROJECT, "e2e-acr", "acr-b");
      acr = await startAcrRegistry({
        scopeMaps: {
          // content/read alone is what a pull needs, and all this program's scope maps grant.
          [tokenA]: ["repositories/team-a/app/content/read", "repositories/team-a/tools/*/content/read"],
          // acr-b's scope map does not hold team-b/api (yet).
          [tokenB]: ["repositories/team-b/web/content/read"],
        },
        tokens: {
          [tokenA]: { scopeMap: tokenA, passwords: [TOKEN_PASSWORD] },
          [tokenB]: { scopeMap: tokenB, passwords: [TOKEN_PASSWORD] },
        },
        images: { "team-a/app": ["latest"], "team-b/api": ["latest"] },
      });
      const objects: Record<string, unknown> = {
        "/api/v1/namespaces/acr-a/secrets/regcred": secretJson({
          [acr.server]: userPass(tokenA, TOKEN_PASSWORD),
        }),
        "/api/v1/namespaces/acr-a/serviceaccounts": {
          kind: "ServiceAccountList",
          items: [serviceAccountJson("default", ["regcred"])],
        },
        "/api/v1/namespaces/acr-b/secrets/regcred": secretJson({
          [acr.server]: userPass(tokenB, TOKEN_PASSWORD),
        }),
        "/api/v1/namespaces/acr-b/serviceaccounts": {
          kind: "ServiceAccountList",
          items: [serviceAccountJson("default", ["regcred"])],
        },
        "/api/v1/namespaces/team-a/secrets/regcred": secretJson({
          [server]: userPass("alice", ALICE_PASSWORD),
        }),
        "/api/v1/namespaces/team-a/serviceaccounts": {
          kind: "ServiceAccountList",
          items: [serviceAccountJson("default", ["regcred"])],
        },
        "/api/v1/namespaces/team-a/pods": {
          kind: "PodList",
          items: [podJson("web-1", { pullSecrets: ["regcred"] })],
        },
        "/api/v1/namespaces/team-b/secrets/regcred": secretJson({
          [server]: userPass("alice", WRONG_PASSWORD),
        }),
        "/api/v1/namespaces/team-b/serviceaccounts": {
          kind: "ServiceAccountList",
          items: [serviceAccountJson("default", [])],
        },
        // Being deleted (issue 16, item 11).
        "/api/v1/namespaces/team-c": {
          kind: "Namespace",
          metadata: { name: "team-c", deletionTimestamp: "2026-01-05T10:20:30Z" },
          status: { phase: "Terminating" },
        },
        "/api/v1/namespaces/team-b/pods": {
          kind: "PodList",
          items: [
            podJson("api-5c6d7e8f9-aaaaa", {
              owner: { kind: "ReplicaSet", name: "api-5c6d7e8f9" },
              hash: "5c6d7e8f9",
            }),
          ],
        },
      };
      requests = [];
      api = createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://x");
        requests.push(`${req.method} ${url.pathname} ${req.headers.authorization ?? "-"}`);
        const body = objects[url.pathname];
        // A list in a namespace that does not exist is empty; team-c's pods are forbidden.
        const list = /\/(serviceaccounts|pods)$/.exec(url.pathname);
        if (body === undefined && list && !url.pathname.startsWith("/api/v1/namespaces/team-c/pods")) {
          res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ items: [] }));
          return;
        }
        const status = body !== undefined ? 200 : list ? 403 : 404;
        const message =
          status === 403 ? 'pods is forbidden: User "tester" cannot list resource "pods"' : "not found";
        res
          .writeHead(status, { "Content-Type": "application/json" })
          .end(
            JSON.stringify(
              body ?? { kind: "Status", apiVersion: "v1", status: "Failure", message, code: status },
            ),
          );
      });
      const apiPort = await listen(api);
      projectDir = await fs.mkdtemp(path.join(dir, "project-"));
      await fs.writeFile(
        path.join(projectDir, "Pulumi.e2e.yaml"),
        [
          "config:",
          "  kubernetes:context: fake",
          "  registry-access:registries:",
          "    local:",
          "      type: static",
          `      server: ${server}`,
          "      username: alice",
          "  registry-access:namespaces:",
          "    team-a:",
          "      registries:",
          "        local: {}",
          "    team-b:",
          "      registries:",
          "        local: {}",
          "    team-c:",
          "      registries:",
          "        local: {}",
          "",
        ].join("\n"),
      );
      await fs.writeFile(
        path.join(projectDir, "Pulumi.e2e-acr.yaml"),
        [
          "config:",
          "  kubernetes:context: fake",
          "  registry-access:registries:",
          "    acr:",
          "      type: acr",
          `      server: ${acr.server}`,
          "      registryName: localacr",
          "      resourceGroup: rg-registry",
          "  registry-access:namespaces:",
          "    acr-a:",
          "      registries:",
          "        acr:",
          "          repositories: [team-a/app, team-a/tools/*]",
          "    acr-b:",
          "      registries:",
          "        acr:",
          "          repositories: [team-b/api]",
          "",
        ].join("\n"),
      );
      await fs.writeFile(
        path.join(projectDir, "Pulumi.broken.yaml"),
        `config:\n  registry-access:registries:\n  password: ${ALICE_PASSWORD}: x\n`,
      );
      await fs.mkdir(path.join(projectDir, "Pulumi.dir.yaml"));
      const kubeconfig = path.join(projectDir, "kubeconfig");
      await fs.writeFile(
        kubeconfig,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters:",
          `- name: fake\n  cluster:\n    server: http://127.0.0.1:${apiPort}\n    insecure-skip-tls-verify: true`,
          "users:",
          "- name: tester\n  user:\n    token: test-token",
          "contexts:",
          "- name: fake\n  context:\n    cluster: fake\n    user: tester",
          "- name: other\n  context:\n    cluster: fake\n    user: tester",
          "current-context: other",
          "",
        ].join("\n"),
      );
      env = { KUBECONFIG: kubeconfig };
    });
    after(async () => {
      await registry?.stop();
      await acr?.stop();
      if (api) await close(api);
    });
    beforeEach(() => {
      requests.length = 0;
    });

    it("ACR tokens: content_read alone passes; a repository outside the scope map fails, naming both causes", async () => {
      const server = acr.server;
      const tokenA = acrTokenName(PROJECT, "e2e-acr", "acr-a");
      const tokenB = acrTokenName(PROJECT, "e2e-acr", "acr-b");
      const run = await verifyCli(["--stack", "e2e-acr", "--project-dir", projectDir], env);
      assert.deepEqual(run, {
        status: 1,
        stdout: [
          "stack e2e-acr: context fake, secret regcred",
          "",
          "namespace acr-a: ok",
          "  ok    secret regcred  kubernetes.io/dockerconfigjson, 1 registry",
          `  ok    ${server}  user ${tokenA}, may pull team-a/app`,
          "  ok    service account default  lists regcred",
          "  ok    pods  none active",
          "",
          "namespace acr-b: 1 problem",
          "  ok    secret regcred  kubernetes.io/dockerconfigjson, 1 registry",
          `  FAIL  ${server}  no pull permission on team-b/api: the registry accepted user "${tokenB}" but refused ` +
            `the pull (GET /v2/team-b/api/manifests/latest answered 401 UNAUTHORIZED); or ${NOT_YET_REST}`,
          "        fix: run `pulumi up --refresh --stack e2e-acr`: it writes the token's scope map from the stack's repositories " +
            "(right after an `up`, verify again shortly: a changed scope map takes a while to take effect)",
          "  ok    service account default  lists regcred",
          "  ok    pods  none active",
          "",
          "2 namespaces checked: problems in acr-b",
          "",
        ].join("\n"),
        stderr: "",
      });
      assertNoPasswords(run);
      // One pull check per named repository; the prefix team-a/tools/* names none.
      assert.deepEqual(acr.tokenRequests.map((r) => [r.username, r.scopes, r.granted]).sort(), [
        [tokenA, ["repository:team-a/app:pull"], ["team-a/app:content_read"]],
        [tokenB, ["repository:team-b/api:pull"], []],
      ]);
    });

    it("reports each namespace, exits 1 on problems, and uses the stack's kube context", async () => {
      const server = registry.server;
      // As the workflows name it, with PULUMI_ORG: the file is Pulumi.e2e.yaml, the tokens are named after e2e.
      const run = await verifyCli(["--stack", "myorg/e2e", "--project-dir", projectDir], env);
      assert.equal(run.stderr, "");
      assert.equal(
        run.stdout,
        [
          "stack e2e: context fake, secret regcred",
          "",
          "namespace team-a: ok",
          "  ok    secret regcred  kubernetes.io/dockerconfigjson, 1 registry",
          `  ok    ${server}  user alice`,
          "  ok    service account default  lists regcred",
          "  ok    pods  1 active pod, none without regcred",
          "",
          "namespace team-b: 3 problems",
          "  ok    secret regcred  kubernetes.io/dockerconfigjson, 1 registry",
          `  FAIL  ${server}  bad password, or the token/password has expired: the registry rejected user "alice"`,
          "        fix: set the current one with `pulumi config set --secret --path 'registries.local.password' <value>`, " +
            "then run `pulumi up --refresh --stack e2e`",
          "  FAIL  service account default  does not list regcred in imagePullSecrets (lists none)",
          "        fix: run `pulumi up --refresh --stack e2e`",
          "  FAIL  deployment/api  1 pod without regcred, admitted before service account default listed it (a pod " +
            "keeps the imagePullSecrets it started with): api-5c6d7e8f9-aaaaa",
          "        fix: kubectl rollout restart deployment/api -n team-b",
          "",
          "namespace team-c: 4 problems",
          "  FAIL  namespace  is Terminating: Kubernetes is deleting it, with its pull secret, and `pulumi up` cannot " +
            "write into it",
          "        fix: wait until `kubectl get namespace team-c` answers NotFound, then run `pulumi up --refresh " +
            "--stack e2e` to create it again; or remove namespaces.team-c from the stack",
          "  FAIL  secret regcred  missing from namespace team-c",
          "        fix: run `pulumi up --refresh --stack e2e`",
          "  FAIL  service account default  missing",
          "        fix: run `pulumi up --refresh --stack e2e`",
          '  FAIL  pods  could not be listed: HTTP 403 pods is forbidden: User "tester" cannot list resource "pods"',
          "",
          "3 namespaces checked: problems in team-b, team-c",
          "",
        ].join("\n"),
      );
      assert.equal(run.status, 1);
      assertNoPasswords(run);
      assert.deepEqual(
        [...requests].sort(),
        ["team-a", "team-b", "team-c"]
          .flatMap((ns) => [
            `GET /api/v1/namespaces/${ns} Bearer test-token`,
            `GET /api/v1/namespaces/${ns}/pods Bearer test-token`,
            `GET /api/v1/namespaces/${ns}/secrets/regcred Bearer test-token`,
            `GET /api/v1/namespaces/${ns}/serviceaccounts Bearer test-token`,
          ])
          .concat(["GET /version Bearer test-token"])
          .sort(),
      );
    });

    it("exit 2 for an unknown kube context, a missing stack file, --repository with --stack; no API call made", async () => {
      requests.length = 0;
      const saved = process.env.KUBECONFIG;
      process.env.KUBECONFIG = env.KUBECONFIG;
      try {
        assert.deepEqual(
          [
            await verifyInProcess(["--stack", "e2e", "--project-dir", projectDir, "--context", "prod-aks"]),
            await verifyInProcess(["--stack", "nope", "--project-dir", projectDir]),
            await verifyInProcess(["--stack", "e2e", "--repository", "team/app"]),
            await verifyInProcess(["--stack", "broken", "--project-dir", projectDir]),
            await verifyInProcess(["--stack", "dir", "--project-dir", projectDir]),
            await verifyInProcess(["--stack", "e2e", "--project-dir"]),
            await verifyInProcess(["--stack", "../e2e"]),
          ],
          [
            usage("kube context prod-aks is not in the kubeconfig (contexts: fake, other)"),
            usage(`no stack file ${path.join(projectDir, "Pulumi.nope.yaml")}`),
            usage(
              "--repository goes with --dockerconfigjson (with --stack, the stack's repositories are checked)",
            ),
            usage(
              "Pulumi.broken.yaml: 1 YAML syntax error:\n" +
                "  - line 3, column 13: a second ': ' on one line (a mapping inside a mapping's value): quote the value",
            ),
            usage(
              `cannot read ${path.join(projectDir, "Pulumi.dir.yaml")}: it is a directory, not a stack file`,
            ),
            usage("Option '--project-dir <value>' argument missing"),
            usage('--stack takes a stack name (dev, or org/dev), got "../e2e"'),
          ],
        );
      } finally {
        if (saved === undefined) delete process.env.KUBECONFIG;
        else process.env.KUBECONFIG = saved;
      }
      assert.deepEqual(requests, [], "nothing was asked of the cluster");
    });

    it("could not run, in one line and exit 2: no kubeconfig, named where it was looked for", async () => {
      const home = await fs.mkdtemp(path.join(dir, "home-"));
      const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
      const restore = () => {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      };
      try {
        delete process.env.KUBECONFIG;
        process.env.HOME = home;
        const none = await verifyInProcess(["--stack", "e2e", "--project-dir", projectDir]);
        process.env.KUBECONFIG = path.join(home, "nope");
        const named = await verifyInProcess(["--stack", "e2e", "--project-dir", projectDir]);
        assert.deepEqual(
          [none, named],
          [
            {
              status: 2,
              stdout: "",
              stderr: `verify: no kubeconfig: KUBECONFIG is not set, and ${path.join(home, ".kube", "config")} does not exist\n`,
            },
            {
              status: 2,
              stdout: "",
              stderr: `verify: no kubeconfig: KUBECONFIG names ${path.join(home, "nope")}, and no such file exists\n`,
            },
          ],
        );
      } finally {
        restore();
      }
    });

    it("could not run, in one line and exit 2: an API server that does not answer", async () => {
      const port = await freePort();
      const kubeconfig = path.join(projectDir, "kubeconfig-down");
      await fs.writeFile(
        kubeconfig,
        [
          "apiVersion: v1",
          "kind: Config",
          `clusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
          "users:\n- name: tester\n  user:\n    token: test-token",
          "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tester",
          "current-context: fake",
          "",
        ].join("\n"),
      );
      const run = await verifyCli(["--stack", "e2e", "--project-dir", projectDir], {
        KUBECONFIG: kubeconfig,
      });
      assert.deepEqual(run, {
        status: 2,
        stdout: "",
        stderr:
          `verify: cannot reach the Kubernetes API server http://127.0.0.1:${port} (context fake): ` +
          `connect ECONNREFUSED 127.0.0.1:${port}\n`,
      });
    });
  });
});
