import { strict as assert } from "assert";
import { createServer, request as httpRequest, Server } from "http";
import { connect as netConnect, createServer as createTcpServer, Socket } from "net";
import { createServer as createTlsServer, Server as TlsServer } from "tls";
import * as pulumi from "@pulumi/pulumi";
import {
  checkRegistryLogin,
  LoginCheck,
  noProxyMatches,
  parseChallenges,
  proxyFor,
  registryBaseUrl,
  RegistryLogin,
  waitForRegistryLogin,
} from "../components/registryHandshake";
import {
  makeAcrTokenPasswordProvider,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
} from "../components/acrTokenPassword";
import { AcrRegistry, startAcrRegistry } from "./support/acrRegistry";
import { makeCertificate, startArmServer, TEST_BEARER_TOKEN, type ArmServer } from "./support/armServer";
import { startForwardProxy, type ForwardProxy } from "./support/forwardProxy";
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

function listen(server: Server | ReturnType<typeof createTcpServer> | TlsServer): Promise<number> {
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
    // An OCI manifest: Distribution serves it only to a client that accepts the OCI media types.
    await registry.pushTinyImage(alice, "team/app", "latest");
    await registry.pushTinyImage(alice, "team/tagged", "v1");
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

  it("authorizes a pull of a pushed OCI image: its manifest is found, so the Accept header names the OCI types", async () => {
    assert.deepEqual(await checkRegistryLogin(alice, { repository: "team/app" }), {
      ok: true,
      server: registry.server,
      detail: `registry ${registry.server} accepted the credentials for user "alice" and allows pulling repository "team/app"`,
    });
  });

  // Distribution answers a manifest of a repository that does not exist with MANIFEST_UNKNOWN, as it does a
  // missing tag: both are authorized reads that found nothing, so both pass; its tags list (404 NAME_UNKNOWN)
  // tells which.
  for (const [repository, what, note] of [
    ["team/tagged", "images, but none tagged latest", 'it has no tag "latest"'],
    ["team/not-yet", "a repository not pushed yet", "the repository does not exist yet"],
  ]) {
    it(`counts 404 MANIFEST_UNKNOWN (${what}) as authorized, and says which from the tags list`, async () => {
      assert.deepEqual(await checkRegistryLogin(alice, { repository }), {
        ok: true,
        server: registry.server,
        detail:
          `registry ${registry.server} accepted the credentials for user "alice" and allows pulling ` +
          `repository "${repository}" (${note})`,
      });
    });
  }

  it("rejects the wrong password even when a repository is asked for", async () => {
    const check = await checkRegistryLogin(
      { ...alice, password: WRONG_PASSWORD },
      { repository: "team/app" },
    );
    assert.deepEqual(check, {
      ok: false,
      server: registry.server,
      failure: "bad-credentials",
      detail:
        `registry ${registry.server} rejected the credentials for user "alice" ` +
        "(wrong password, or the token or password has expired)",
    });
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

/** What the handshake says when a pull is refused: both causes, since ACR changes take a while to take effect. */
const NOT_YET =
  "no pull permission on the repository, or the token or its scope map was created or changed moments ago " +
  "and has not taken effect yet";

/** The Accept header of a manifest request: the Docker and OCI manifest and index types, as a pull sends. */
const MANIFEST_ACCEPT =
  "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
  "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

const TOKEN_PASSWORD = "Token-pw-6c1f09e4";

describe("checkRegistryLogin against an ACR-like registry (repository-scoped tokens and scope maps)", () => {
  let acr: AcrRegistry;
  let teamA: RegistryLogin;
  let teamB: RegistryLogin;

  before(async () => {
    acr = await startAcrRegistry({
      scopeMaps: {
        // content/read only: what ACR's built-in _repositories_pull grants (Azure/acr issues 600 and 690).
        "pull-only": [
          "repositories/team-a/app/content/read",
          "repositories/team-a/empty/content/read",
          "repositories/team-a/tools/content/read",
        ],
        "team-b": ["repositories/team-b/*/content/read", "repositories/team-b/*/metadata/read"],
      },
      tokens: {
        "ns-team-a": { scopeMap: "pull-only", passwords: [TOKEN_PASSWORD] },
        "ns-team-b": { scopeMap: "team-b", passwords: [TOKEN_PASSWORD] },
      },
      images: {
        "team-a/app": ["latest", "v1"],
        "team-a/tools": ["v1"],
        "team-b/api": ["latest"],
        "team-c/secret": ["latest"],
      },
    });
    teamA = { server: acr.server, username: "ns-team-a", password: TOKEN_PASSWORD };
    teamB = { server: acr.server, username: "ns-team-b", password: TOKEN_PASSWORD };
  });
  after(async () => {
    await acr?.stop();
  });
  beforeEach(() => {
    acr.clearRecords();
  });

  it("the stand-in: a pull token lists no tags (ACR's 401, Action metadata_read: Azure/acr 676, renovate 14708)", async () => {
    await checkRegistryLogin(teamA, { repository: "team-a/app" });
    const token = acr.issuedTokens.at(-1) ?? "";
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        `http://${acr.server}/v2/team-a/app/tags/list`,
        { headers: { Authorization: `Bearer ${token}` } },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString("utf8")));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(
      { status: answer.status, body: JSON.parse(answer.body) as unknown },
      {
        status: 401,
        body: {
          errors: [
            {
              code: "UNAUTHORIZED",
              message:
                "authentication required, visit https://aka.ms/acr/authorization for more information.",
              detail: [{ Type: "repository", Name: "team-a/app", Action: "metadata_read" }],
            },
          ],
        },
      },
    );
  });

  it("passes for a token that holds only content_read: it asks for pull and reads the manifest, as a pull does", async () => {
    const check = await checkRegistryLogin(teamA, { repository: "team-a/app" });
    assert.deepEqual(check, {
      ok: true,
      server: acr.server,
      detail: `registry ${acr.server} accepted the credentials for user "ns-team-a" and allows pulling repository "team-a/app"`,
    });
    assert.deepEqual(acr.tokenRequests, [
      {
        url: `/oauth2/token?service=127.0.0.1%3A${acr.port}&scope=repository%3Ateam-a%2Fapp%3Apull`,
        service: acr.server,
        scopes: ["repository:team-a/app:pull"],
        username: "ns-team-a",
        status: 200,
        granted: ["team-a/app:content_read"],
      },
    ]);
    assert.deepEqual(acr.registryRequests, [
      { method: "GET", path: "/v2/", auth: "none", status: 401 },
      { method: "GET", path: "/v2/", auth: "bearer", status: 200 },
      {
        method: "HEAD",
        path: "/v2/team-a/app/manifests/latest",
        auth: "bearer",
        status: 200,
        accept: MANIFEST_ACCEPT,
      },
    ]);
    assertNoSecrets(check, [TOKEN_PASSWORD, ...acr.issuedTokens]);
  });

  it("passes for an in-scope repository with no image yet (404 NAME_UNKNOWN once authorized)", async () => {
    assert.deepEqual(await checkRegistryLogin(teamA, { repository: "team-a/empty" }), {
      ok: true,
      server: acr.server,
      detail:
        `registry ${acr.server} accepted the credentials for user "ns-team-a" and allows pulling ` +
        'repository "team-a/empty" (the repository does not exist yet)',
    });
    // HEAD carries no body: the GET that follows reads which 404 it is.
    assert.deepEqual(
      acr.registryRequests.slice(2).map((r) => `${r.method} ${r.path} ${r.auth} ${r.status}`),
      [
        "HEAD /v2/team-a/empty/manifests/latest bearer 404",
        "GET /v2/team-a/empty/manifests/latest bearer 404",
      ],
    );
  });

  it("passes for an in-scope repository whose images have no tag latest (404 MANIFEST_UNKNOWN)", async () => {
    assert.deepEqual(await checkRegistryLogin(teamA, { repository: "team-a/tools" }), {
      ok: true,
      server: acr.server,
      detail:
        `registry ${acr.server} accepted the credentials for user "ns-team-a" and allows pulling ` +
        'repository "team-a/tools" (it has no tag "latest")',
    });
  });

  it("passes for repositories under a team-b/* prefix, at any depth", async () => {
    assert.deepEqual(
      [
        await checkRegistryLogin(teamB, { repository: "team-b/api" }),
        await checkRegistryLogin(teamB, { repository: "team-b/tools/lint" }),
      ],
      [
        {
          ok: true,
          server: acr.server,
          detail: `registry ${acr.server} accepted the credentials for user "ns-team-b" and allows pulling repository "team-b/api"`,
        },
        {
          ok: true,
          server: acr.server,
          detail:
            `registry ${acr.server} accepted the credentials for user "ns-team-b" and allows pulling ` +
            'repository "team-b/tools/lint" (the repository does not exist yet)',
        },
      ],
    );
  });

  it("fails for a repository outside the scope map, naming both causes and neither password nor token", async () => {
    const check = await checkRegistryLogin(teamA, { repository: "team-c/secret" });
    assert.deepEqual(check, {
      ok: false,
      server: acr.server,
      failure: "no-pull-permission",
      detail:
        `registry ${acr.server} accepted the credentials for user "ns-team-a" but does not allow pulling ` +
        `repository "team-c/secret" (GET /v2/team-c/secret/manifests/latest answered 401 UNAUTHORIZED): ${NOT_YET}`,
    });
    assert.deepEqual(
      acr.tokenRequests.map((r) => r.granted),
      [[]],
    );
    assertNoSecrets(check, [TOKEN_PASSWORD, ...acr.issuedTokens]);
  });

  it("fails for a prefix look-alike: team-b/* does not cover team-bx/api", async () => {
    const check = await checkRegistryLogin(teamB, { repository: "team-bx/api" });
    assert.equal(check.failure, "no-pull-permission");
  });

  it("fails for a wrong password (token service 401) and never calls the registry with a token", async () => {
    const check = await checkRegistryLogin(
      { ...teamA, password: WRONG_PASSWORD },
      { repository: "team-a/app" },
    );
    assert.deepEqual(check, {
      ok: false,
      server: acr.server,
      failure: "bad-credentials",
      detail:
        `registry ${acr.server} rejected the credentials for user "ns-team-a" ` +
        "(wrong password, or the token or password has expired)",
    });
    assert.deepEqual(
      acr.tokenRequests.map((r) => r.status),
      [401],
    );
    assert.deepEqual(acr.registryRequests, [{ method: "GET", path: "/v2/", auth: "none", status: 401 }]);
    assertNoSecrets(check, [WRONG_PASSWORD, TOKEN_PASSWORD]);
  });

  it("accepts good credentials without a repository and asks for exactly the challenge's service, no scope", async () => {
    const check = await checkRegistryLogin(teamA);
    assert.deepEqual(check, {
      ok: true,
      server: acr.server,
      detail: `registry ${acr.server} accepted the credentials for user "ns-team-a"`,
    });
    assert.deepEqual(
      acr.tokenRequests.map((r) => [r.url, r.scopes]),
      [[`/oauth2/token?service=127.0.0.1%3A${acr.port}`, []]],
    );
  });
});

describe("checkRegistryLogin with a token service that refuses an ungranted scope (403)", () => {
  it("reports no-pull-permission, naming both causes", async () => {
    const acr = await startAcrRegistry({
      scopeMaps: { m: ["repositories/team-a/app/content/read"] },
      tokens: { "ns-team-a": { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
      refuseUngrantedScopes: true,
    });
    try {
      const check = await checkRegistryLogin(
        { server: acr.server, username: "ns-team-a", password: TOKEN_PASSWORD },
        { repository: "team-c/secret" },
      );
      assert.deepEqual(check, {
        ok: false,
        server: acr.server,
        failure: "no-pull-permission",
        detail:
          `registry ${acr.server} accepted the credentials for user "ns-team-a" but its token service ` +
          `${acr.realm} refused to grant pull of repository "team-c/secret" (403): ${NOT_YET}`,
      });
    } finally {
      await acr.stop();
    }
  });
});

describe("checkRegistryLogin sends credentials to a token service only over https, or http on loopback", () => {
  const login = (server: string): RegistryLogin => ({
    server,
    username: "ns-team-a",
    password: TOKEN_PASSWORD,
  });

  // 0.0.0.0 reaches this machine's own servers, so a refusal that was removed would show up as a token request.
  for (const [what, realm] of [
    [
      "0.0.0.0 (not a loopback name, though it reaches this machine)",
      (port: number) => `http://0.0.0.0:${port}/oauth2/token`,
    ],
    ["a remote host", () => "http://auth.example.com/oauth2/token"],
  ] as const) {
    it(`refuses a plain-http realm on ${what}, sends it nothing and never shows the password`, async () => {
      const acr = await startAcrRegistry({
        scopeMaps: { m: [] },
        tokens: { "ns-team-a": { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
        realm,
      });
      try {
        const check = await checkRegistryLogin(login(acr.server), { timeoutMs: 2_000 });
        const shown = realm(acr.port);
        assert.deepEqual(check, {
          ok: false,
          server: acr.server,
          failure: "protocol",
          detail: `registry ${acr.server} points to token service ${shown}, which is not https; refusing to send the credentials`,
        });
        assert.deepEqual(acr.tokenRequests, []);
        assertNoSecrets(check, [TOKEN_PASSWORD]);
      } finally {
        await acr.stop();
      }
    });
  }

  it("sends them to a plain-http realm on 127.0.0.1 (loopback, where Docker talks http too)", async () => {
    const acr = await startAcrRegistry({
      scopeMaps: { m: [] },
      tokens: { "ns-team-a": { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
    });
    try {
      assert.match(acr.realm, /^http:\/\/127\.0\.0\.1:\d+\/oauth2\/token$/);
      assert.deepEqual(await checkRegistryLogin(login(acr.server)), {
        ok: true,
        server: acr.server,
        detail: `registry ${acr.server} accepted the credentials for user "ns-team-a"`,
      });
      assert.deepEqual(
        acr.tokenRequests.map((r) => [r.username, r.status]),
        [["ns-team-a", 200]],
      );
    } finally {
      await acr.stop();
    }
  });
});

describe("checkRegistryLogin with an unusual token service", () => {
  it("sends a service with commas and quotes back exactly and reads the `token` field", async () => {
    const fake = await startAcrRegistry({
      scopeMaps: { m: [] },
      tokens: { alice: { scopeMap: "m", passwords: [ALICE_PASSWORD] } },
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
  const pullOnly = (repository: string) => ({
    scopeMaps: { m: [`repositories/${repository}/content/read`] },
    tokens: { "ns-team-a": { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
  });
  const teamA = (server: string): RegistryLogin => ({
    server,
    username: "ns-team-a",
    password: TOKEN_PASSWORD,
  });

  it("retries bad-credentials until a new password is accepted (third attempt)", async () => {
    const fake = await startAcrRegistry({ ...pullOnly("team-a/app"), rejectFirstTokenRequests: 2 });
    try {
      const check = await waitForRegistryLogin(teamA(fake.server), fast);
      assert.equal(check.ok, true);
      assert.match(
        check.detail,
        new RegExp(
          `^registry ${fake.server} accepted the credentials for user "ns-team-a" \\(accepted after 3 attempts in \\d+\\.\\d s\\)$`,
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
    const fake = await startAcrRegistry(pullOnly("team-a/app"));
    try {
      const check = await waitForRegistryLogin(
        { ...teamA(fake.server), password: WRONG_PASSWORD },
        { ...fast, deadlineMs: 300 },
      );
      const match = new RegExp(
        `^registry ${fake.server} rejected the credentials for user "ns-team-a" \\(wrong password, or the token or ` +
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
    const fake = await startAcrRegistry({ ...pullOnly("team-a/app"), brokenStatus: 500 });
    try {
      const check = await waitForRegistryLogin(teamA(fake.server), fast);
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

  it("retries no pull permission until a changed scope map takes effect (third token request)", async () => {
    const fake = await startAcrRegistry({ ...pullOnly("team-a/app"), images: { "team-a/api": ["latest"] } });
    try {
      fake.setScopeMap("m", ["repositories/team-a/*/content/read"], { afterTokenRequests: 3 });
      const check = await waitForRegistryLogin(teamA(fake.server), { ...fast, repository: "team-a/api" });
      assert.equal(check.ok, true, check.detail);
      assert.match(
        check.detail,
        new RegExp(
          `^registry ${fake.server} accepted the credentials for user "ns-team-a" and allows pulling repository ` +
            `"team-a/api" \\(accepted after 3 attempts in \\d+\\.\\d s\\)$`,
        ),
      );
      assert.deepEqual(
        fake.tokenRequests.map((r) => r.granted),
        [[], [], ["team-a/api:content_read"]],
      );
    } finally {
      await fake.stop();
    }
  });

  it("gives up on no pull permission at the deadline, naming both causes", async () => {
    const fake = await startAcrRegistry(pullOnly("team-a/app"));
    try {
      const check = await waitForRegistryLogin(teamA(fake.server), {
        ...fast,
        deadlineMs: 300,
        repository: "team-c/secret",
      });
      assert.equal(check.failure, "no-pull-permission");
      const match = new RegExp(
        `^registry ${fake.server.replace(/\./g, "\\.")} accepted the credentials for user "ns-team-a" but does not allow ` +
          'pulling repository "team-c/secret" \\(GET /v2/team-c/secret/manifests/latest answered 401 UNAUTHORIZED\\): ' +
          "no pull permission on the repository, or the token or its scope map was created or changed moments ago " +
          "and has not taken effect yet; gave up after (\\d+) attempts in \\d+\\.\\d s$",
      ).exec(check.detail);
      assert.ok(match, check.detail);
      assert.ok(Number(match[1]) >= 2, "it did retry");
      assert.equal(Number(match[1]), fake.tokenRequests.length);
      assertNoSecrets(check, [TOKEN_PASSWORD, ...fake.issuedTokens]);
    } finally {
      await fake.stop();
    }
  });
});

describe("closure serialization (the module runs inside a Pulumi dynamic provider)", () => {
  it("serializes checkRegistryLogin and the serialized copy performs the handshake", async () => {
    const fake = await startAcrRegistry({
      scopeMaps: { m: ["repositories/team-a/app/content/read"] },
      tokens: { "ns-team-a": { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
    });
    try {
      const serialized = await pulumi.runtime.serializeFunction(
        () => (login: RegistryLogin) => checkRegistryLogin(login, { repository: "team-a/app" }),
      );
      const module = { exports: {} as Record<string, () => (login: RegistryLogin) => Promise<LoginCheck>> };
      new Function("module", "exports", "require", serialized.text)(module, module.exports, require);
      const check = await module.exports[serialized.exportName]()({
        server: fake.server,
        username: "ns-team-a",
        password: TOKEN_PASSWORD,
      });
      assert.deepEqual(check, {
        ok: true,
        server: fake.server,
        detail:
          `registry ${fake.server} accepted the credentials for user "ns-team-a" and allows pulling ` +
          'repository "team-a/app" (the repository does not exist yet)',
      });
    } finally {
      await fake.stop();
    }
  });
});

describe("closure serialization of waitForRegistryLogin (what the provider captures)", () => {
  it("the serialized copy retries no pull permission until the scope map change takes effect", async () => {
    const fake = await startAcrRegistry({
      scopeMaps: { m: [] },
      tokens: { "ns-team-a": { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
      images: { "team-a/app": ["latest"] },
    });
    try {
      fake.setScopeMap("m", ["repositories/team-a/app/content/read"], { afterTokenRequests: 2 });
      const serialized = await pulumi.runtime.serializeFunction(
        () => (login: RegistryLogin) =>
          waitForRegistryLogin(login, { repository: "team-a/app", initialDelayMs: 10, deadlineMs: 2_000 }),
      );
      const module = { exports: {} as Record<string, () => (login: RegistryLogin) => Promise<LoginCheck>> };
      new Function("module", "exports", "require", serialized.text)(module, module.exports, require);
      const check = await module.exports[serialized.exportName]()({
        server: fake.server,
        username: "ns-team-a",
        password: TOKEN_PASSWORD,
      });
      assert.equal(check.ok, true, check.detail);
      assert.deepEqual(
        fake.tokenRequests.map((r) => r.granted),
        [[], ["team-a/app:content_read"]],
      );
    } finally {
      await fake.stop();
    }
  });
});

describe("the dynamic provider's cut-over against the local ARM server and the ACR-like registry", () => {
  const SUB = "00000000-0000-0000-0000-000000000001";
  const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany`;
  let arm: ArmServer;
  let acr: AcrRegistry;
  let provider: pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs>;

  const inputs = (verifyRepository: string): AcrTokenPasswordInputs => ({
    tokenId: `${REGISTRY_ID}/tokens/ns-team-a`,
    scopeMapId: `${REGISTRY_ID}/scopeMaps/ns-team-a`,
    loginServer: acr.server,
    passwordLifetimeDays: 60,
    rotateAfterDays: 30,
    verifyRepository,
    armEndpoint: arm.endpoint,
  });

  before(async () => {
    arm = await startArmServer();
    // An ARM stand-in that holds registries and tokens (issue 8, item 2) generates passwords only for a token that
    // exists: create it there. One that does not model them has no such methods and needs nothing.
    const resources = arm as ArmServer &
      Partial<{ createRegistry(id: string): void; createToken(id: string, scopeMapId: string): unknown }>;
    resources.createRegistry?.(REGISTRY_ID);
    resources.createToken?.(`${REGISTRY_ID}/tokens/ns-team-a`, `${REGISTRY_ID}/scopeMaps/ns-team-a`);
    acr = await startAcrRegistry({
      // The actions this program writes for repositories [team-a/app, team-a/tools/*] (content and metadata read).
      scopeMaps: {
        "ns-team-a": [
          "repositories/team-a/app/content/read",
          "repositories/team-a/app/metadata/read",
          "repositories/team-a/tools/*/content/read",
          "repositories/team-a/tools/*/metadata/read",
        ],
      },
      // The token accepts exactly the passwords ARM generated for it.
      tokens: {
        "ns-team-a": {
          scopeMap: "ns-team-a",
          passwords: () =>
            arm.issued.filter((p) => p.tokenId.endsWith("/tokens/ns-team-a")).map((p) => p.value),
        },
      },
      images: { "team-a/app": ["latest"] },
    });
    provider = makeAcrTokenPasswordProvider({
      credential: {
        getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
      },
      // The real handshake, with a shorter back-off than the two minutes of a real `up`.
      verify: (login, options) =>
        waitForRegistryLogin(login, { ...options, initialDelayMs: 10, maxDelayMs: 40, deadlineMs: 300 }),
      pollIntervalMs: 1,
      tlsCa: arm.caPem,
    });
  });
  after(async () => {
    await acr?.stop();
    await arm?.close();
  });
  beforeEach(() => {
    arm.reset();
    acr.clearRecords();
  });

  it("create: the password ARM generated passes the pull check, and becomes the state", async () => {
    const result = await provider.create?.(inputs("team-a/app"));
    assert.equal(arm.issued.length, 1);
    assert.equal(result?.outs?.password, arm.issued[0].value);
    assert.deepEqual(
      acr.tokenRequests.map((r) => [r.username, r.scopes, r.status, r.granted]),
      [["ns-team-a", ["repository:team-a/app:pull"], 200, ["team-a/app:content_read"]]],
    );
    assert.deepEqual(acr.registryRequests.at(-1), {
      method: "HEAD",
      path: "/v2/team-a/app/manifests/latest",
      auth: "bearer",
      status: 200,
      accept: MANIFEST_ACCEPT,
    });
  });

  it("create fails for a repository outside the scope map, naming both causes and not the password", async () => {
    await assert.rejects(provider.create?.(inputs("team-c/app")) ?? Promise.resolve(), (error: Error) => {
      const password = arm.issued[0]?.value ?? "";
      assert.ok(password !== "" && !error.message.includes(password), error.message);
      assert.match(
        error.message,
        new RegExp(
          `^Registry ${acr.server.replace(/\./g, "\\.")} did not accept the new password1 of ACR token ns-team-a: ` +
            `registry ${acr.server.replace(/\./g, "\\.")} accepted the credentials for user "ns-team-a" but does not ` +
            'allow pulling repository "team-c/app" \\(GET /v2/team-c/app/manifests/latest answered 401 UNAUTHORIZED\\): ' +
            "no pull permission on the repository, or the token or its scope map was created or changed moments ago " +
            "and has not taken effect yet; gave up after \\d+ attempts in \\d+\\.\\d s\\. " +
            "No pull secret was written; the next `pulumi up` checks this password1 again instead of generating a new one\\.$",
        ),
      );
      return true;
    });
  });
});

describe("proxyFor and noProxyMatches (HTTPS_PROXY and NO_PROXY as curl reads them)", () => {
  const registry = new URL("https://myregistry.azurecr.io/v2/");
  const shown = (proxy: URL | undefined) => proxy?.href;

  it("takes HTTPS_PROXY, or https_proxy before it, and adds http:// to a bare host:port", () => {
    assert.equal(shown(proxyFor(registry, { HTTPS_PROXY: "http://proxy:3128" })), "http://proxy:3128/");
    assert.equal(shown(proxyFor(registry, { https_proxy: "proxy:3128" })), "http://proxy:3128/");
    assert.equal(
      shown(proxyFor(registry, { https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:2" })),
      "http://lower:1/",
    );
    assert.equal(shown(proxyFor(registry, { https_proxy: " ", HTTPS_PROXY: "http://upper:2" })), undefined);
  });

  it("connects directly with no proxy set, for plain http, and for a host NO_PROXY (or no_proxy) exempts", () => {
    assert.equal(proxyFor(registry, {}), undefined);
    assert.equal(proxyFor(registry, { HTTPS_PROXY: "" }), undefined);
    assert.equal(
      proxyFor(new URL("http://127.0.0.1:5000/v2/"), { HTTPS_PROXY: "http://proxy:3128" }),
      undefined,
    );
    assert.equal(proxyFor(registry, { HTTPS_PROXY: "http://p:1", NO_PROXY: "azurecr.io" }), undefined);
    assert.equal(proxyFor(registry, { HTTPS_PROXY: "http://p:1", no_proxy: ".azurecr.io" }), undefined);
    assert.equal(
      shown(proxyFor(registry, { HTTPS_PROXY: "http://p:1", no_proxy: "other.io", NO_PROXY: "azurecr.io" })),
      "http://p:1/",
    );
  });

  it("refuses a proxy setting that is not an http:// URL, without showing its value", () => {
    assert.throws(() => proxyFor(registry, { HTTPS_PROXY: "https://user:s3cret@proxy:3128" }), {
      message:
        "HTTPS_PROXY is not a proxy URL such as http://proxy.example.com:3128 (scheme https; only http:// proxies are supported)",
      code: "REGISTRY_PROXY_INVALID",
    });
    assert.throws(() => proxyFor(registry, { https_proxy: "http://[bad" }), {
      message: "https_proxy is not a proxy URL such as http://proxy.example.com:3128 (it does not parse)",
      code: "REGISTRY_PROXY_INVALID",
    });
  });

  const cases: [string, string, boolean][] = [
    ["https://a.example.com/", "*", true],
    ["https://a.example.com/", "example.com", true],
    ["https://example.com/", "example.com", true],
    ["https://example.com/", ".example.com", true],
    ["https://a.b.example.com/", ".example.com", true],
    ["https://notexample.com/", "example.com", false],
    ["https://example.com.evil.io/", "example.com", false],
    ["https://A.Example.COM/", " other.io , EXAMPLE.com ", true],
    ["https://example.com/", ",,", false],
    ["https://example.com/", "", false],
    ["https://example.com/", "example.com:443", true],
    ["https://example.com/", "example.com:8443", false],
    ["https://example.com:8443/", "example.com:8443", true],
    ["https://example.com:8443/", "example.com", true],
    ["http://example.com/", "example.com:80", true],
    ["http://example.com/", "example.com:443", false],
    ["https://127.0.0.1:5000/", "127.0.0.1", true],
    ["https://127.0.0.1:5000/", "127.0.0.2", false],
    ["https://[::1]:5000/", "::1", true],
    ["https://[::1]:5000/", "[::1]:5000", true],
    ["https://[::1]:5000/", "[::1]:5001", false],
  ];
  for (const [url, noProxy, expected] of cases) {
    it(`NO_PROXY ${JSON.stringify(noProxy)} ${expected ? "exempts" : "does not exempt"} ${url}`, () => {
      assert.equal(noProxyMatches(new URL(url), noProxy), expected);
    });
  }
});

describe("the handshake through a forward proxy on 127.0.0.1 to an ACR-like registry over TLS", () => {
  const TOKEN = "ns-team-a";
  let acr: AcrRegistry;
  let front: TlsServer;
  let frontPort: number;
  let ca: string;
  let server: string;
  let proxy: ForwardProxy | undefined;
  const login = (): RegistryLogin => ({ server, username: TOKEN, password: TOKEN_PASSWORD });

  before(async () => {
    const { key, cert } = makeCertificate();
    ca = cert;
    // TLS on 127.0.0.1 in front of the plain-http stand-in: the handshake talks https to it, as to ACR.
    front = createTlsServer({ key, cert }, (socket) => {
      const upstream = netConnect(acr.port, "127.0.0.1");
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    });
    frontPort = await listen(front);
    server = `https://127.0.0.1:${frontPort}`;
    acr = await startAcrRegistry({
      scopeMaps: { m: ["repositories/team-a/app/content/read"] },
      tokens: { [TOKEN]: { scopeMap: "m", passwords: [TOKEN_PASSWORD] } },
      images: { "team-a/app": ["latest"] },
      realm: () => `https://127.0.0.1:${frontPort}/oauth2/token`,
    });
  });
  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
    acr.clearRecords();
  });
  after(async () => {
    await acr.stop();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  });

  it("tunnels every request (registry and token service) through HTTPS_PROXY and passes", async () => {
    proxy = await startForwardProxy();
    const check = await checkRegistryLogin(login(), { ca, env: { HTTPS_PROXY: proxy.url } });
    assert.deepEqual(check, {
      ok: true,
      server,
      detail: `registry ${server} accepted the credentials for user "${TOKEN}"`,
    });
    const host = `127.0.0.1:${frontPort}`;
    // GET /v2/ (401), the token service, GET /v2/ with the token: a fresh tunnel each.
    assert.deepEqual(proxy.tunnelled, [host, host, host]);
    assert.deepEqual(proxy.otherRequests, []);
  });

  it("reads HTTPS_PROXY from process.env by default, and pulls through it", async () => {
    proxy = await startForwardProxy();
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, https_proxy: process.env.https_proxy };
    const savedNo = { NO_PROXY: process.env.NO_PROXY, no_proxy: process.env.no_proxy };
    process.env.HTTPS_PROXY = proxy.url;
    delete process.env.https_proxy;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    try {
      const check = await checkRegistryLogin(login(), { ca, repository: "team-a/app" });
      assert.deepEqual(check, {
        ok: true,
        server,
        detail: `registry ${server} accepted the credentials for user "${TOKEN}" and allows pulling repository "team-a/app"`,
      });
      assert.equal(proxy.tunnelled.length, 4); // GET /v2/, token, GET /v2/, HEAD manifest
    } finally {
      for (const [k, v] of Object.entries({ ...saved, ...savedNo })) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it("connects directly when NO_PROXY exempts the registry", async () => {
    proxy = await startForwardProxy();
    const check = await checkRegistryLogin(login(), {
      ca,
      env: { HTTPS_PROXY: proxy.url, NO_PROXY: "localhost,127.0.0.1" },
    });
    assert.equal(check.ok, true);
    assert.deepEqual(proxy.tunnelled, []);
    assert.equal(acr.tokenRequests.length, 1, "the registry was reached directly");
  });

  it("sends the proxy's user and password from the URL as Basic Proxy-Authorization, and never shows them", async () => {
    proxy = await startForwardProxy({ credentials: "alice:pr0xy-s3cret" });
    const url = proxy.url.replace("http://", "http://alice:pr0xy-s3cret@");
    assert.equal((await checkRegistryLogin(login(), { ca, env: { https_proxy: url } })).ok, true);
    const refused = await checkRegistryLogin(login(), {
      ca,
      env: { https_proxy: proxy.url.replace("http://", "http://alice:wrong-pw@") },
    });
    assert.deepEqual(refused, {
      ok: false,
      server,
      failure: "protocol",
      detail: `registry ${server} could not be reached: the proxy answered 407 to CONNECT (GET ${server}/v2/ through proxy ${proxy.url})`,
    });
    assertNoSecrets(refused, ["pr0xy-s3cret", "wrong-pw"]);
  });

  it("names a proxy that refuses the tunnel (403: its policy, not retried)", async () => {
    proxy = await startForwardProxy({ refuseWith: 403 });
    const check = await waitForRegistryLogin(login(), {
      ca,
      env: { HTTPS_PROXY: proxy.url },
      deadlineMs: 5_000,
    });
    assert.deepEqual(check, {
      ok: false,
      server,
      failure: "protocol",
      detail: `registry ${server} could not be reached: the proxy answered 403 to CONNECT (GET ${server}/v2/ through proxy ${proxy.url})`,
    });
    assert.equal(proxy.tunnelled.length, 1);
  });

  it("retries a proxy's gateway error (502: the registry may be down for a moment)", async () => {
    proxy = await startForwardProxy({ refuseWith: 502 });
    const check = await checkRegistryLogin(login(), { ca, env: { HTTPS_PROXY: proxy.url } });
    assert.deepEqual(check, {
      ok: false,
      server,
      failure: "unreachable",
      detail: `registry ${server} could not be reached: the proxy answered 502 to CONNECT (GET ${server}/v2/ through proxy ${proxy.url})`,
    });
  });

  it("names the proxy when it is down", async () => {
    const port = await freePort();
    const check = await checkRegistryLogin(login(), { ca, env: { HTTPS_PROXY: `127.0.0.1:${port}` } });
    assert.deepEqual(check, {
      ok: false,
      server,
      failure: "unreachable",
      detail: `registry ${server} is unreachable: ECONNREFUSED (GET ${server}/v2/ through proxy http://127.0.0.1:${port})`,
    });
  });

  it("says which proxy setting is wrong, and tries nothing", async () => {
    const check = await checkRegistryLogin(login(), { ca, env: { HTTPS_PROXY: "socks5://127.0.0.1:1080" } });
    assert.deepEqual(check, {
      ok: false,
      server,
      failure: "protocol",
      detail:
        `registry ${server} was not tried: HTTPS_PROXY is not a proxy URL such as http://proxy.example.com:3128 ` +
        "(scheme socks5; only http:// proxies are supported)",
    });
    assert.equal(acr.registryRequests.length, 0);
  });

  it("bounds a proxy that accepts the connection and never answers by the request timeout", async () => {
    const silent = createTcpServer((socket) => socket.on("error", () => {}));
    const port = await listen(silent);
    try {
      const check = await checkRegistryLogin(login(), {
        ca,
        timeoutMs: 300,
        env: { HTTPS_PROXY: `http://127.0.0.1:${port}` },
      });
      assert.deepEqual(check, {
        ok: false,
        server,
        failure: "unreachable",
        detail: `registry ${server} is unreachable: no answer within 300 ms (GET ${server}/v2/)`,
      });
    } finally {
      silent.close();
    }
  });
});

describe("a registry firewall: 403 on GET /v2/ before any credentials (ACR IP rules, private endpoint)", () => {
  const FIREWALL =
    "before any credentials were sent: a registry firewall (IP rules, or public access disabled for a private " +
    "endpoint) does not admit the address this check runs from. The check runs from the machine that runs it, " +
    "not from the cluster's nodes: run it from a network the registry allows";

  it("names the firewall and the fix, with ACR's DENIED code, and is not retried", async () => {
    // ACR's answer to a client its network rules refuse: 403 with `{"errors":[{"code":"DENIED","message":"client
    // with IP '<ip>' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."}]}` (Microsoft's
    // "Troubleshoot network issues with registry").
    const requests: string[] = [];
    const firewall = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(403, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          errors: [
            {
              code: "DENIED",
              message:
                "client with IP '127.0.0.1' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.",
            },
          ],
        }),
      );
    });
    const port = await listen(firewall);
    try {
      const server = `127.0.0.1:${port}`;
      const check = await waitForRegistryLogin(
        { server, username: "t", password: TOKEN_PASSWORD },
        { repository: "team-a/app", deadlineMs: 5_000 },
      );
      assert.deepEqual(check, {
        ok: false,
        server,
        failure: "firewall",
        detail: `registry ${server} refused GET /v2/ with 403 (DENIED) ${FIREWALL}`,
      });
      assert.deepEqual(requests, ["GET /v2/"]);
    } finally {
      firewall.close();
    }
  });

  it("names a bare 403 the same way", async () => {
    const acr = await startAcrRegistry({ scopeMaps: {}, tokens: {}, brokenStatus: 403 });
    try {
      const check = await checkRegistryLogin({ server: acr.server, username: "t", password: TOKEN_PASSWORD });
      assert.deepEqual(check, {
        ok: false,
        server: acr.server,
        failure: "firewall",
        detail: `registry ${acr.server} refused GET /v2/ with 403 (UNKNOWN) ${FIREWALL}`,
      });
    } finally {
      await acr.stop();
    }
  });
});
