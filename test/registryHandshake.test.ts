import { strict as assert } from "assert";
import { createServer, Server } from "http";
import { createServer as createTcpServer, Socket } from "net";
import * as pulumi from "@pulumi/pulumi";
import {
  checkRegistryLogin,
  LoginCheck,
  parseChallenges,
  registryBaseUrl,
  RegistryLogin,
  waitForRegistryLogin,
} from "../components/registryHandshake";
import { FakeTokenRegistry, startFakeTokenRegistry } from "./support/fakeTokenRegistry";
import { freePort, RunningRegistry, startRegistry } from "./support/registryServer";

const ALICE_PASSWORD = "Alice-pw-9f2c1e77";
const WRONG_PASSWORD = "Wrong-pw-3b8d0a51";

/** No field of the check (detail included) may carry a secret. */
function assertNoSecrets(check: LoginCheck, secrets: readonly string[]): void {
  const text = JSON.stringify(check);
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `a check leaked a secret: ${text}`);
  }
}

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : 0);
    });
  });
}

describe("registryBaseUrl", () => {
  const cases: [string, string][] = [
    ["docker.io", "https://registry-1.docker.io"],
    ["index.docker.io", "https://registry-1.docker.io"],
    ["https://index.docker.io/v1/", "https://registry-1.docker.io"],
    ["ghcr.io", "https://ghcr.io"],
    ["myregistry.azurecr.io", "https://myregistry.azurecr.io"],
    ["registry.example.com:5000", "https://registry.example.com:5000"],
    ["localhost:5000", "http://localhost:5000"],
    ["127.0.0.1:5000", "http://127.0.0.1:5000"],
    ["127.10.20.30", "http://127.10.20.30"],
    ["[::1]:5000", "http://[::1]:5000"],
    ["https://myregistry.azurecr.io", "https://myregistry.azurecr.io"],
    ["http://registry.internal:8080/", "http://registry.internal:8080"],
    ["GHCR.IO", "https://ghcr.io"],
  ];
  for (const [server, expected] of cases) {
    it(`maps ${server} to ${expected}`, () => {
      assert.equal(registryBaseUrl(server), expected);
    });
  }

  it("treats 128.0.0.1 and a look-alike host name as remote (https)", () => {
    assert.equal(registryBaseUrl("128.0.0.1:5000"), "https://128.0.0.1:5000");
    assert.equal(registryBaseUrl("localhost.example.com"), "https://localhost.example.com");
  });

  for (const server of ["", "ghcr.io/owner/app", "alice:pw@registry.example.com", "a b"]) {
    it(`rejects ${JSON.stringify(server)} with a message that names it`, () => {
      assert.throws(() => registryBaseUrl(server), {
        message: `registry server ${JSON.stringify(server)} is not a registry host (expected host[:port], e.g. myregistry.azurecr.io)`,
      });
    });
  }
});

describe("parseChallenges", () => {
  it("keeps commas, '=' and escaped quotes inside quoted values", () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.example.com/token?a=1,b=2",service="svc, \\"quoted\\"",scope="repository:team/app:pull,push"',
      ),
      [
        {
          scheme: "bearer",
          params: {
            realm: "https://auth.example.com/token?a=1,b=2",
            service: 'svc, "quoted"',
            scope: "repository:team/app:pull,push",
          },
        },
      ],
    );
  });

  it("splits several challenges in one header, with unquoted values and a token68", () => {
    assert.deepEqual(
      parseChallenges('Negotiate abc123==, Basic realm="r1", Bearer Realm=https://x/t, service=svc'),
      [
        { scheme: "negotiate", params: {} },
        { scheme: "basic", params: { realm: "r1" } },
        { scheme: "bearer", params: { realm: "https://x/t", service: "svc" } },
      ],
    );
  });
});

describe("checkRegistryLogin with HTTP Basic (Docker Distribution, htpasswd)", () => {
  let registry: RunningRegistry;
  let alice: RegistryLogin;

  before(async () => {
    registry = await startRegistry({ users: { alice: ALICE_PASSWORD, bob: "Bob-pw-55aa01" } });
    alice = { server: registry.server, username: "alice", password: ALICE_PASSWORD };
    await registry.pushTinyImage(alice, "team/app", "v1");
  });
  after(async () => {
    await registry?.stop();
  });

  it("accepts good credentials", async () => {
    assert.deepEqual(await checkRegistryLogin(alice), {
      ok: true,
      server: registry.server,
      detail: `registry ${registry.server} accepted the credentials for user "alice"`,
    });
  });

  it("reports a wrong password as bad-credentials, naming the registry and the user but not the password", async () => {
    const check = await checkRegistryLogin({ ...alice, password: WRONG_PASSWORD });
    assert.deepEqual(check, {
      ok: false,
      server: registry.server,
      failure: "bad-credentials",
      detail:
        `registry ${registry.server} rejected the credentials for user "alice" ` +
        "(wrong password, or the token or password has expired)",
    });
    assertNoSecrets(check, [WRONG_PASSWORD, ALICE_PASSWORD]);
  });

  it("reports an unknown user as bad-credentials", async () => {
    const check = await checkRegistryLogin({ ...alice, username: "mallory", password: ALICE_PASSWORD });
    assert.deepEqual(check, {
      ok: false,
      server: registry.server,
      failure: "bad-credentials",
      detail:
        `registry ${registry.server} rejected the credentials for user "mallory" ` +
        "(wrong password, or the token or password has expired)",
    });
    assertNoSecrets(check, [ALICE_PASSWORD]);
  });

  it("authorizes a pull of a pushed repository (tags/list answers 200)", async () => {
    assert.deepEqual(await checkRegistryLogin(alice, { repository: "team/app" }), {
      ok: true,
      server: registry.server,
      detail: `registry ${registry.server} accepted the credentials for user "alice" and allows pulling repository "team/app"`,
    });
  });

  it("counts 404 NAME_UNKNOWN for a repository not pushed yet as authorized", async () => {
    assert.deepEqual(await checkRegistryLogin(alice, { repository: "team/not-yet" }), {
      ok: true,
      server: registry.server,
      detail:
        `registry ${registry.server} accepted the credentials for user "alice" and allows pulling ` +
        'repository "team/not-yet" (the repository does not exist yet)',
    });
  });

  it("rejects the wrong password even when a repository is asked for", async () => {
    const check = await checkRegistryLogin(
      { ...alice, password: WRONG_PASSWORD },
      { repository: "team/app" },
    );
    assert.equal(check.failure, "bad-credentials");
    assert.equal(check.ok, false);
  });

  it("throws for an invalid repository name instead of asking the registry", async () => {
    await assert.rejects(checkRegistryLogin(alice, { repository: "Team/App" }), {
      message:
        'repository "Team/App" is not a valid repository name (lowercase path components of letters, ' +
        "digits and single separators . _ __ -, e.g. team/app)",
    });
  });

  it("serves a replaced user list on the next request (the registry re-reads htpasswd)", async () => {
    const carol = { server: registry.server, username: "carol", password: "Carol-pw-77e3" };
    assert.equal((await checkRegistryLogin(carol)).failure, "bad-credentials");
    await registry.setUsers({ carol: carol.password });
    try {
      assert.equal((await checkRegistryLogin(carol)).ok, true);
      assert.equal((await checkRegistryLogin(alice)).failure, "bad-credentials");
    } finally {
      await registry.setUsers({ alice: ALICE_PASSWORD, bob: "Bob-pw-55aa01" });
    }
    assert.equal((await checkRegistryLogin(alice)).ok, true);
  });
});

describe("checkRegistryLogin when the registry cannot be reached", () => {
  it("reports connection refused as unreachable", async () => {
    const port = await freePort();
    const check = await checkRegistryLogin(
      { server: `127.0.0.1:${port}`, username: "alice", password: ALICE_PASSWORD },
      { timeoutMs: 2_000 },
    );
    assert.deepEqual(check, {
      ok: false,
      server: `127.0.0.1:${port}`,
      failure: "unreachable",
      detail: `registry 127.0.0.1:${port} is unreachable: ECONNREFUSED (GET http://127.0.0.1:${port}/v2/)`,
    });
  });

  it("gives up on a server that accepts the connection but never answers, after timeoutMs", async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    const port = await listen(silent);
    try {
      const check = await checkRegistryLogin(
        { server: `127.0.0.1:${port}`, username: "alice", password: ALICE_PASSWORD },
        { timeoutMs: 150 },
      );
      assert.deepEqual(check, {
        ok: false,
        server: `127.0.0.1:${port}`,
        failure: "unreachable",
        detail: `registry 127.0.0.1:${port} is unreachable: no answer within 150 ms (GET http://127.0.0.1:${port}/v2/)`,
      });
      assert.equal(sockets.length, 1, "the request did reach the silent server");
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("checkRegistryLogin against registries that are open or broken", () => {
  let server: Server;
  let address: string;
  let answer: { status: number; body: string };
  const seen: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization === undefined ? "anonymous" : "authorized"}`);
      res.writeHead(answer.status, { "Content-Type": "application/json" });
      res.end(answer.body);
    });
    address = `127.0.0.1:${await listen(server)}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it("accepts an open registry and says the credentials were not checked", async () => {
    answer = { status: 200, body: "{}" };
    const check = await checkRegistryLogin({ server: address, username: "alice", password: ALICE_PASSWORD });
    assert.deepEqual(check, {
      ok: true,
      server: address,
      detail: `registry ${address} needs no credentials (GET /v2/ answered 200 without them), so user "alice" was not checked`,
    });
    assert.deepEqual(seen, ["/v2/ anonymous"]);
  });

  it("reports a 500 on /v2/ as protocol, with the registry's error code", async () => {
    answer = { status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"storage is on fire"}]}' };
    const check = await checkRegistryLogin({ server: address, username: "alice", password: ALICE_PASSWORD });
    assert.deepEqual(check, {
      ok: false,
      server: address,
      failure: "protocol",
      detail: `registry ${address} answered 500 to GET /v2/ (UNKNOWN); expected 200 or 401`,
    });
  });

  it("reports a 401 without a WWW-Authenticate challenge as protocol", async () => {
    answer = { status: 401, body: "" };
    const check = await checkRegistryLogin({ server: address, username: "alice", password: ALICE_PASSWORD });
    assert.deepEqual(check, {
      ok: false,
      server: address,
      failure: "protocol",
      detail: `registry ${address} answered 401 to GET /v2/ without a WWW-Authenticate challenge`,
    });
    assert.deepEqual(seen, ["/v2/ anonymous"], "no credentials were sent anywhere");
  });
});

describe("checkRegistryLogin with Bearer tokens (fake ACR-like token service)", () => {
  let fake: FakeTokenRegistry;
  let alice: RegistryLogin;

  before(async () => {
    fake = await startFakeTokenRegistry({
      users: { alice: ALICE_PASSWORD },
      pull: { alice: ["team/app", "team/new"] },
      existing: ["team/app", "team/secret"],
    });
    alice = { server: fake.server, username: "alice", password: ALICE_PASSWORD };
  });
  after(async () => {
    await fake?.stop();
  });
  beforeEach(() => {
    fake.clearRecords();
  });

  it("accepts good credentials and asks the token service for exactly the challenge's service, no scope", async () => {
    const check = await checkRegistryLogin(alice);
    assert.deepEqual(check, {
      ok: true,
      server: fake.server,
      detail: `registry ${fake.server} accepted the credentials for user "alice"`,
    });
    assert.deepEqual(fake.tokenRequests, [
      {
        url: `/oauth2/token?service=127.0.0.1%3A${fake.port}`,
        service: fake.server,
        scopes: [],
        username: "alice",
        status: 200,
      },
    ]);
    assert.deepEqual(fake.registryRequests, [
      { path: "/v2/", auth: "none", status: 401 },
      { path: "/v2/", auth: "bearer", status: 200 },
    ]);
    assertNoSecrets(check, [ALICE_PASSWORD, ...fake.issuedTokens]);
  });

  it("asks for scope repository:<repo>:pull and authorizes a pull of an existing repository", async () => {
    const check = await checkRegistryLogin(alice, { repository: "team/app" });
    assert.deepEqual(check, {
      ok: true,
      server: fake.server,
      detail: `registry ${fake.server} accepted the credentials for user "alice" and allows pulling repository "team/app"`,
    });
    assert.deepEqual(fake.tokenRequests, [
      {
        url: `/oauth2/token?service=127.0.0.1%3A${fake.port}&scope=repository%3Ateam%2Fapp%3Apull`,
        service: fake.server,
        scopes: ["repository:team/app:pull"],
        username: "alice",
        status: 200,
      },
    ]);
    assert.deepEqual(fake.registryRequests, [
      { path: "/v2/", auth: "none", status: 401 },
      { path: "/v2/", auth: "bearer", status: 200 },
      { path: "/v2/team/app/tags/list", auth: "bearer", status: 200 },
    ]);
  });

  it("counts NAME_UNKNOWN for an allowed repository as authorized", async () => {
    assert.deepEqual(await checkRegistryLogin(alice, { repository: "team/new" }), {
      ok: true,
      server: fake.server,
      detail:
        `registry ${fake.server} accepted the credentials for user "alice" and allows pulling ` +
        'repository "team/new" (the repository does not exist yet)',
    });
  });

  it("reports a repository the token does not grant as no-pull-permission", async () => {
    const check = await checkRegistryLogin(alice, { repository: "team/secret" });
    assert.deepEqual(check, {
      ok: false,
      server: fake.server,
      failure: "no-pull-permission",
      detail:
        `registry ${fake.server} accepted the credentials for user "alice" but does not allow pulling ` +
        'repository "team/secret" (GET /v2/team/secret/tags/list answered 401 insufficient_scope)',
    });
    assert.deepEqual(fake.registryRequests.at(-1), {
      path: "/v2/team/secret/tags/list",
      auth: "bearer",
      status: 401,
    });
    assertNoSecrets(check, [ALICE_PASSWORD, ...fake.issuedTokens]);
  });

  it("reports a token endpoint 401 as bad-credentials and never calls the registry with a token", async () => {
    const check = await checkRegistryLogin(
      { ...alice, password: WRONG_PASSWORD },
      { repository: "team/app" },
    );
    assert.deepEqual(check, {
      ok: false,
      server: fake.server,
      failure: "bad-credentials",
      detail:
        `registry ${fake.server} rejected the credentials for user "alice" ` +
        "(wrong password, or the token or password has expired)",
    });
    assert.deepEqual(
      fake.tokenRequests.map((r) => r.status),
      [401],
    );
    assert.deepEqual(fake.registryRequests, [{ path: "/v2/", auth: "none", status: 401 }]);
    assertNoSecrets(check, [WRONG_PASSWORD, ALICE_PASSWORD]);
  });
});

describe("checkRegistryLogin with an unusual token service", () => {
  it("sends a service with commas and quotes back exactly and reads the `token` field", async () => {
    const fake = await startFakeTokenRegistry({
      users: { alice: ALICE_PASSWORD },
      service: 'acr, "west" region=eu',
      tokenField: "token",
    });
    try {
      const check = await checkRegistryLogin({
        server: fake.server,
        username: "alice",
        password: ALICE_PASSWORD,
      });
      assert.equal(check.ok, true, check.detail);
      assert.deepEqual(
        fake.tokenRequests.map((r) => [r.service, r.scopes]),
        [['acr, "west" region=eu', []]],
      );
    } finally {
      await fake.stop();
    }
  });
});

describe("waitForRegistryLogin", () => {
  const fast = { initialDelayMs: 10, maxDelayMs: 40, deadlineMs: 2_000 };

  it("retries bad-credentials until a new password is accepted (third attempt)", async () => {
    const fake = await startFakeTokenRegistry({
      users: { alice: ALICE_PASSWORD },
      rejectFirstTokenRequests: 2,
    });
    try {
      const check = await waitForRegistryLogin(
        { server: fake.server, username: "alice", password: ALICE_PASSWORD },
        fast,
      );
      assert.equal(check.ok, true);
      assert.match(
        check.detail,
        new RegExp(
          `^registry ${fake.server} accepted the credentials for user "alice" \\(accepted after 3 attempts in \\d+\\.\\d s\\)$`,
        ),
      );
      assert.deepEqual(
        fake.tokenRequests.map((r) => r.status),
        [401, 401, 200],
      );
    } finally {
      await fake.stop();
    }
  });

  it("returns the last bad-credentials failure after the deadline, saying it gave up", async () => {
    const fake = await startFakeTokenRegistry({ users: { alice: ALICE_PASSWORD } });
    try {
      const check = await waitForRegistryLogin(
        { server: fake.server, username: "alice", password: WRONG_PASSWORD },
        { ...fast, deadlineMs: 300 },
      );
      const match = new RegExp(
        `^registry ${fake.server} rejected the credentials for user "alice" \\(wrong password, or the token or ` +
          `password has expired\\); gave up after (\\d+) attempts in (\\d+\\.\\d) s$`,
      ).exec(check.detail);
      assert.ok(match, check.detail);
      assert.equal(check.ok, false);
      assert.equal(check.failure, "bad-credentials");
      assert.equal(Number(match[1]), fake.tokenRequests.length, "the detail counts the attempts made");
      assert.ok(Number(match[1]) >= 2, "it did retry");
      assert.ok(Number(match[2]) >= 0.3, `it kept trying until the deadline: ${match[2]} s`);
      assertNoSecrets(check, [WRONG_PASSWORD]);
    } finally {
      await fake.stop();
    }
  });

  it("retries an unreachable registry until the deadline", async () => {
    const port = await freePort();
    const check = await waitForRegistryLogin(
      { server: `127.0.0.1:${port}`, username: "alice", password: ALICE_PASSWORD },
      { ...fast, deadlineMs: 300 },
    );
    assert.equal(check.failure, "unreachable");
    const match = new RegExp(
      `^registry 127\\.0\\.0\\.1:${port} is unreachable: ECONNREFUSED \\(GET http://127\\.0\\.0\\.1:${port}/v2/\\); ` +
        "gave up after (\\d+) attempts in \\d+\\.\\d s$",
    ).exec(check.detail);
    assert.ok(match, check.detail);
    assert.ok(Number(match[1]) >= 2, "it did retry");
  });

  it("does not retry a protocol failure", async () => {
    const fake = await startFakeTokenRegistry({ users: { alice: ALICE_PASSWORD }, brokenStatus: 500 });
    try {
      const check = await waitForRegistryLogin(
        { server: fake.server, username: "alice", password: ALICE_PASSWORD },
        fast,
      );
      assert.deepEqual(check, {
        ok: false,
        server: fake.server,
        failure: "protocol",
        detail: `registry ${fake.server} answered 500 to GET /v2/ (UNKNOWN); expected 200 or 401`,
      });
      assert.equal(fake.registryRequests.length, 1);
    } finally {
      await fake.stop();
    }
  });

  it("does not retry no-pull-permission", async () => {
    const fake = await startFakeTokenRegistry({ users: { alice: ALICE_PASSWORD } });
    try {
      const check = await waitForRegistryLogin(
        { server: fake.server, username: "alice", password: ALICE_PASSWORD },
        { ...fast, repository: "team/app" },
      );
      assert.equal(check.failure, "no-pull-permission");
      assert.equal(fake.tokenRequests.length, 1);
    } finally {
      await fake.stop();
    }
  });
});

describe("closure serialization (the module runs inside a Pulumi dynamic provider)", () => {
  it("serializes checkRegistryLogin and the serialized copy performs the handshake", async () => {
    const fake = await startFakeTokenRegistry({
      users: { alice: ALICE_PASSWORD },
      pull: { alice: ["team/app"] },
    });
    try {
      const serialized = await pulumi.runtime.serializeFunction(
        () => (login: RegistryLogin) => checkRegistryLogin(login, { repository: "team/app" }),
      );
      const module = { exports: {} as Record<string, () => (login: RegistryLogin) => Promise<LoginCheck>> };
      new Function("module", "exports", "require", serialized.text)(module, module.exports, require);
      const check = await module.exports[serialized.exportName]()({
        server: fake.server,
        username: "alice",
        password: ALICE_PASSWORD,
      });
      assert.deepEqual(check, {
        ok: true,
        server: fake.server,
        detail:
          `registry ${fake.server} accepted the credentials for user "alice" and allows pulling ` +
          'repository "team/app" (the repository does not exist yet)',
      });
    } finally {
      await fake.stop();
    }
  });
});
