/**
 * The handshake against registries that answer what no stand-in of the other suites answers (StrykerJS mutants that
 * survived them, issue 12): every failure message a person can get, the paths where an open `/v2/` hides a protected
 * repository, the error codes and challenge errors shown, the response reader's bound, and how network errors are
 * classified (retried or not).
 *
 * The stand-in here is a scripted HTTP server on 127.0.0.1 (the handshake talks plain http only to loopback): each
 * test gives the answers of the Docker Registry HTTP API v2 exchange it needs, which follow the documented rules:
 * - `GET /v2/` answers 200 (open) or 401 with a `WWW-Authenticate` challenge (Basic, or Bearer with `realm`,
 *   `service`, `scope`: the token authentication specification, https://distribution.github.io/distribution/spec/auth/token);
 * - the token service answers 200 with JSON `token` (or `access_token`), 401 for bad credentials;
 * - an error body is `{"errors":[{"code":...}]}` (NAME_UNKNOWN, MANIFEST_UNKNOWN, DENIED, UNAUTHORIZED: the
 *   Distribution API spec's error codes);
 * - a refused Bearer request carries `error="insufficient_scope"` in its challenge (RFC 6750, section 3).
 * It does not model tokens' contents, scopes granted, or anything a real registry stores: a green test here shows
 * how the handshake reads an answer, not that a real registry gives it.
 */
import * as assert from "assert";
import dns from "dns";
import { once } from "events";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo, createServer as createTcpServer, Server as TcpServer, Socket } from "net";
import { checkRegistryLogin, registryBaseUrl } from "../../components/registryHandshake";

const PASSWORD = "wire-canary-pw-8d41";
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`;
const TOKEN = "tok-3e9a";

/** The Accept header a pull sends for a manifest (OCI and Docker, image and index). */
const MANIFEST_ACCEPT =
  "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
  "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

const PULL_REFUSED =
  "no pull permission on the repository, or the token or its scope map was created or changed moments ago " +
  "and has not taken effect yet";

interface Seen {
  readonly method: string;
  readonly path: string;
  /** The Authorization header, or "none". */
  readonly auth: string;
}

interface Scripted {
  /** `127.0.0.1:PORT` */
  readonly server: string;
  readonly port: number;
  readonly seen: Seen[];
  /** Every request's headers, in order. */
  readonly headers: IncomingMessage["headers"][];
  /** Server-side sockets, in the order they connected. */
  readonly sockets: Socket[];
}

const servers: (Server | TcpServer)[] = [];
const openSockets: Socket[] = [];

/** A registry on 127.0.0.1 that answers each request with `answer`; it records what it was asked. */
async function serve(
  answer: (req: IncomingMessage, res: ServerResponse, port: number) => void,
): Promise<Scripted> {
  const seen: Seen[] = [];
  const headers: IncomingMessage["headers"][] = [];
  const sockets: Socket[] = [];
  let port = 0;
  const http = createServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", auth: req.headers.authorization ?? "none" });
    headers.push(req.headers);
    answer(req, res, port);
  });
  http.on("connection", (socket: Socket) => {
    sockets.push(socket);
    openSockets.push(socket);
  });
  servers.push(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  port = (http.address() as AddressInfo).port;
  return { server: `127.0.0.1:${port}`, port, seen, headers, sockets };
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === undefined ? "" : JSON.stringify(body));
}

/** `/v2/` behind HTTP Basic (alice / PASSWORD), and `manifest` for the manifest requests once authenticated. */
function basicRegistry(manifest: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== BASIC) {
      json(
        res,
        401,
        { errors: [{ code: "UNAUTHORIZED" }] },
        { "WWW-Authenticate": 'Basic realm="registry"' },
      );
    } else if (req.url === "/v2/") {
      json(res, 200, {});
    } else {
      manifest(req, res);
    }
  };
}

/** Closes the server side of the connection: the client sees ECONNRESET. */
function hangUp(req: IncomingMessage): void {
  req.socket.destroy();
}

/** Resolves when the server-side socket has closed. */
function closed(socket: Socket): Promise<void> {
  return socket.destroyed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once("close", () => resolve()));
}

const alice = (server: string, password = PASSWORD) => ({ server, username: "alice", password });

/** Each describe's afterEach: closes what its tests opened, even after a test that timed out. */
async function cleanUp(): Promise<void> {
  openSockets.splice(0).forEach((s) => s.destroy());
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}

describe("registryBaseUrl at its edges (mutation tests)", () => {
  it("trims the server it is given", () => {
    assert.strictEqual(registryBaseUrl("  ghcr.io \n"), "https://ghcr.io");
  });

  it("takes a scheme only at the start: `xhttp://` is the host xhttp with an empty port", () => {
    assert.strictEqual(registryBaseUrl("xhttp://"), "https://xhttp");
  });

  it("always talks https to Docker Hub's registry-1.docker.io, whatever scheme or port is given", () => {
    assert.strictEqual(registryBaseUrl("http://registry-1.docker.io"), "https://registry-1.docker.io");
    assert.strictEqual(registryBaseUrl("registry-1.docker.io:5000"), "https://registry-1.docker.io");
  });

  for (const server of ["ghcr.io/owner", "registry.example.com:99999", "[::1"]) {
    it(`rejects ${JSON.stringify(server)}, which is no host[:port]`, () => {
      assert.throws(() => registryBaseUrl(server), {
        message: `registry server ${JSON.stringify(server)} is not a registry host (expected host[:port], e.g. myregistry.azurecr.io)`,
      });
    });
  }
});

describe("checkRegistryLogin's own argument checks (mutation tests)", () => {
  afterEach(cleanUp);
  for (const timeoutMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses timeoutMs ${timeoutMs} before asking anything`, async () => {
      await assert.rejects(checkRegistryLogin(alice("127.0.0.1:1"), { timeoutMs }), {
        message: `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`,
      });
    });
  }

  it("refuses a repository name longer than 255 characters (Distribution's limit), accepts 255", async () => {
    const long = `${"a".repeat(127)}/${"b".repeat(127)}`;
    await assert.rejects(checkRegistryLogin(alice("127.0.0.1:1"), { repository: `${long}b` }), {
      message:
        `repository "${long}b" is not a valid repository name ` +
        "(lowercase path components of letters, digits and single separators . _ __ -, e.g. team/app)",
    });
    const open = await serve((_req, res) => json(res, 200, {}));
    const check = await checkRegistryLogin(alice(open.server), { repository: long });
    assert.strictEqual(check.ok, true, check.detail);
  });
});

describe("checkRegistryLogin against an open registry (mutation tests)", () => {
  afterEach(cleanUp);
  it("passes a pull of an open repository without sending credentials, and says they were not checked", async () => {
    const open = await serve((_req, res) => json(res, 200, {}));
    assert.deepStrictEqual(await checkRegistryLogin(alice(open.server), { repository: "team/app" }), {
      ok: true,
      server: open.server,
      detail: `registry ${open.server} needs no credentials for pulling repository "team/app", so user "alice" was not checked`,
    });
    assert.deepStrictEqual(open.seen, [
      { method: "GET", path: "/v2/", auth: "none" },
      { method: "HEAD", path: "/v2/team/app/manifests/latest", auth: "none" },
    ]);
    assert.deepStrictEqual(
      open.headers.map((h) => [h.accept, h["user-agent"]]),
      [
        ["application/json", "registry-access-handshake"],
        [MANIFEST_ACCEPT, "registry-access-handshake"],
      ],
    );
  });

  it("passes an open registry whose repository does not exist yet (404 NAME_UNKNOWN)", async () => {
    const open = await serve((req, res) =>
      req.url === "/v2/" ? json(res, 200, {}) : json(res, 404, { errors: [{ code: "NAME_UNKNOWN" }] }),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(open.server), { repository: "team/app" }), {
      ok: true,
      server: open.server,
      detail:
        `registry ${open.server} needs no credentials for pulling repository "team/app", so user "alice" was ` +
        "not checked (the repository does not exist yet)",
    });
  });
});

describe("checkRegistryLogin when /v2/ is open but the repository is not (mutation tests)", () => {
  afterEach(cleanUp);
  /** `/v2/` open; the manifest behind `protect` until the request carries `accepted`. */
  const openRoot =
    (protect: (res: ServerResponse) => void, accepted: string, then: (res: ServerResponse) => void) =>
    (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === "/v2/") json(res, 200, {});
      else if (req.headers.authorization === accepted) then(res);
      else protect(res);
    };
  const basicChallenge = (res: ServerResponse) =>
    json(res, 401, { errors: [{ code: "UNAUTHORIZED" }] }, { "WWW-Authenticate": 'Basic realm="registry"' });

  it("authenticates with Basic against the manifest's challenge, and passes", async () => {
    const registry = await serve(openRoot(basicChallenge, BASIC, (res) => json(res, 200, {})));
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: true,
      server: registry.server,
      detail: `registry ${registry.server} accepted the credentials for user "alice" and allows pulling repository "team/app"`,
    });
    assert.deepStrictEqual(registry.seen, [
      { method: "GET", path: "/v2/", auth: "none" },
      { method: "HEAD", path: "/v2/team/app/manifests/latest", auth: "none" },
      { method: "GET", path: "/v2/team/app/manifests/latest", auth: "none" },
      { method: "HEAD", path: "/v2/team/app/manifests/latest", auth: BASIC },
    ]);
  });

  it("reports Basic credentials that the manifest still refuses as bad-credentials (never accepted anywhere)", async () => {
    const registry = await serve(openRoot(basicChallenge, "nobody", (res) => json(res, 200, {})));
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "bad-credentials",
      detail:
        `registry ${registry.server} rejected the credentials for user "alice" ` +
        "(wrong password, or the token or password has expired)",
    });
    assert.deepStrictEqual(
      registry.seen.map((s) => `${s.method} ${s.auth}`),
      ["GET none", "HEAD none", "GET none", `HEAD ${BASIC}`, `GET ${BASIC}`],
    );
  });

  it("reports a Bearer token the manifest refuses as no-pull-permission, with the challenge's error", async () => {
    const registry = await serve((req, res, port) => {
      if (req.url === "/v2/") return json(res, 200, {});
      if (req.url?.startsWith("/token")) return json(res, 200, { token: TOKEN });
      const error = req.headers.authorization === `Bearer ${TOKEN}` ? ',error="insufficient_scope"' : "";
      json(
        res,
        401,
        { errors: [{ code: "UNAUTHORIZED" }] },
        {
          "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="svc"${error}`,
        },
      );
    });
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "no-pull-permission",
      detail:
        `registry ${registry.server} accepted the credentials for user "alice" but does not allow pulling ` +
        `repository "team/app" (GET /v2/team/app/manifests/latest answered 401 insufficient_scope): ${PULL_REFUSED}`,
    });
    assert.deepStrictEqual(
      registry.seen.map(
        (s) =>
          `${s.method} ${s.path.replace(/\?.*/, "")} ${s.auth === "none" ? "none" : s.auth.split(" ")[0]}`,
      ),
      [
        "GET /v2/ none",
        "HEAD /v2/team/app/manifests/latest none",
        "GET /v2/team/app/manifests/latest none",
        "GET /token Basic",
        "HEAD /v2/team/app/manifests/latest Bearer",
        "GET /v2/team/app/manifests/latest Bearer",
      ],
    );
  });

  it("reports a manifest 401 without a challenge as protocol, naming the request, and sends nothing", async () => {
    const registry = await serve((req, res) =>
      req.url === "/v2/" ? json(res, 200, {}) : json(res, 401, undefined),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "protocol",
      detail: `registry ${registry.server} answered 401 to GET /v2/team/app/manifests/latest without a WWW-Authenticate challenge`,
    });
    assert.deepStrictEqual(
      registry.seen.map((s) => `${s.method} ${s.path} ${s.auth}`),
      ["GET /v2/ none", "HEAD /v2/team/app/manifests/latest none", "GET /v2/team/app/manifests/latest none"],
    );
  });

  it("reports a connection lost on the authenticated manifest request as unreachable", async () => {
    const registry = await serve((req, res) =>
      req.url === "/v2/"
        ? json(res, 200, {})
        : req.headers.authorization === BASIC
          ? hangUp(req)
          : basicChallenge(res),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "unreachable",
      detail: `registry ${registry.server} is unreachable: ECONNRESET (HEAD http://${registry.server}/v2/team/app/manifests/latest)`,
    });
  });
});

describe("checkRegistryLogin's failures once /v2/ asked for credentials (mutation tests)", () => {
  afterEach(cleanUp);
  it("reports a connection lost on the authenticated GET /v2/ as unreachable", async () => {
    const registry = await serve((req, res) =>
      req.headers.authorization === BASIC ? hangUp(req) : basicRegistry(() => undefined)(req, res),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
      ok: false,
      server: registry.server,
      failure: "unreachable",
      detail: `registry ${registry.server} is unreachable: ECONNRESET (GET http://${registry.server}/v2/)`,
    });
  });

  it("reports an authenticated GET /v2/ that answers neither 200 nor 401 as protocol", async () => {
    const registry = await serve((req, res) =>
      req.headers.authorization === BASIC
        ? json(res, 503, { errors: [{ code: "UNAVAILABLE" }] })
        : basicRegistry(() => undefined)(req, res),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
      ok: false,
      server: registry.server,
      failure: "protocol",
      detail: `registry ${registry.server} answered 503 to GET /v2/ (UNAVAILABLE); expected 200 once authenticated`,
    });
  });

  it("reports a connection lost on the manifest HEAD as unreachable, naming HEAD", async () => {
    const registry = await serve(basicRegistry((req) => hangUp(req)));
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "unreachable",
      detail: `registry ${registry.server} is unreachable: ECONNRESET (HEAD http://${registry.server}/v2/team/app/manifests/latest)`,
    });
  });

  it("reports a connection lost on the manifest GET (after a bodiless HEAD 404) as unreachable, naming GET", async () => {
    const registry = await serve(
      basicRegistry((req, res) => (req.method === "HEAD" ? json(res, 404, undefined) : hangUp(req))),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "unreachable",
      detail: `registry ${registry.server} is unreachable: ECONNRESET (GET http://${registry.server}/v2/team/app/manifests/latest)`,
    });
  });

  const refusals: [string, number, unknown, string][] = [
    [
      "403 with two error codes",
      403,
      { errors: [{ code: "DENIED" }, { code: "UNAUTHORIZED" }] },
      " DENIED, UNAUTHORIZED",
    ],
    ["403 without a body", 403, undefined, ""],
    // A 403 that says NAME_UNKNOWN is still a refusal: only a 404 may say the repository is missing.
    ["403 whose body says NAME_UNKNOWN", 403, { errors: [{ code: "NAME_UNKNOWN" }] }, " NAME_UNKNOWN"],
  ];
  for (const [what, status, body, reason] of refusals) {
    it(`reports a manifest ${what} as no-pull-permission`, async () => {
      const registry = await serve(basicRegistry((_req, res) => json(res, status, body)));
      assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
        ok: false,
        server: registry.server,
        failure: "no-pull-permission",
        detail:
          `registry ${registry.server} accepted the credentials for user "alice" but does not allow pulling ` +
          `repository "team/app" (GET /v2/team/app/manifests/latest answered ${status}${reason}): ${PULL_REFUSED}`,
      });
    });
  }

  it("reports a manifest 500 as protocol, listing what it expected", async () => {
    const registry = await serve(
      basicRegistry((_req, res) => json(res, 500, { errors: [{ code: "MANIFEST_UNKNOWN" }] })),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: false,
      server: registry.server,
      failure: "protocol",
      detail:
        `registry ${registry.server} answered 500 to GET /v2/team/app/manifests/latest (MANIFEST_UNKNOWN); ` +
        "expected 200, 401, 403, or 404 NAME_UNKNOWN or MANIFEST_UNKNOWN",
    });
  });

  // RFC 6750 section 3: the error attribute of a Bearer challenge is a short token such as insufficient_scope.
  // Only such a token is shown; anything else falls back to the body's error codes.
  const challengeErrors: [string, string, string][] = [
    [
      "the Bearer challenge's error, not an earlier challenge's lack of one",
      'Basic realm="r", Bearer realm="r",error="insufficient_scope"',
      "insufficient_scope",
    ],
    ["the body's codes when no challenge has an error", 'Bearer realm="r"', "UNAUTHORIZED"],
    ["the body's codes when the error has capitals", 'Bearer error="Insufficient_scope"', "UNAUTHORIZED"],
    [
      "the body's codes when the error ends in other characters",
      'Bearer error="insufficient_scope!"',
      "UNAUTHORIZED",
    ],
    ["the body's codes when the error is longer than 64", `Bearer error="${"x".repeat(65)}"`, "UNAUTHORIZED"],
    ["an error of 64 characters", `Bearer error="${"x".repeat(64)}"`, "x".repeat(64)],
  ];
  for (const [what, challenge, reason] of challengeErrors) {
    it(`shows ${what} for a manifest 401`, async () => {
      const registry = await serve(
        basicRegistry((_req, res) =>
          json(res, 401, { errors: [{ code: "UNAUTHORIZED" }] }, { "WWW-Authenticate": challenge }),
        ),
      );
      const check = await checkRegistryLogin(alice(registry.server), { repository: "team/app" });
      assert.strictEqual(
        check.detail,
        `registry ${registry.server} accepted the credentials for user "alice" but does not allow pulling ` +
          `repository "team/app" (GET /v2/team/app/manifests/latest answered 401 ${reason}): ${PULL_REFUSED}`,
      );
    });
  }
});

describe("checkRegistryLogin's protocol failures on GET /v2/ (mutation tests)", () => {
  afterEach(cleanUp);
  const cases: [string, (res: ServerResponse) => void, string][] = [
    [
      "a 404 (not a registry)",
      (res) => json(res, 404, undefined),
      "does not speak the Docker Registry v2 API (GET /v2/ answered 404)",
    ],
    [
      "a redirect, shown without its query",
      (res) => json(res, 302, undefined, { Location: "https://login.example.com/sso?session=abc#frag" }),
      "answered 302 to GET /v2/ (redirect to https://login.example.com/sso, not followed); expected 200 or 401",
    ],
    [
      "a 300 with a Location",
      (res) => json(res, 300, undefined, { Location: "https://mirror.example.com/v2/" }),
      "answered 300 to GET /v2/ (redirect to https://mirror.example.com/v2/, not followed); expected 200 or 401",
    ],
    [
      "a redirect without a Location",
      (res) => json(res, 302, undefined),
      "answered 302 to GET /v2/; expected 200 or 401",
    ],
    [
      "a 400 with a Location (not a redirect) and an error code",
      (res) => json(res, 400, { errors: [{ code: "UNSUPPORTED" }] }, { Location: "https://x.example.com/" }),
      "answered 400 to GET /v2/ (UNSUPPORTED); expected 200 or 401",
    ],
    [
      "a 500 with a Location and no body",
      (res) => json(res, 500, undefined, { Location: "https://x.example.com/" }),
      "answered 500 to GET /v2/; expected 200 or 401",
    ],
    [
      "a 201 with a Location",
      (res) => json(res, 201, undefined, { Location: "https://x.example.com/" }),
      "answered 201 to GET /v2/; expected 200 or 401",
    ],
    [
      "two error codes",
      (res) => json(res, 500, { errors: [{ code: "UNKNOWN" }, { code: "UNAVAILABLE" }] }),
      "answered 500 to GET /v2/ (UNKNOWN, UNAVAILABLE); expected 200 or 401",
    ],
    [
      "errors that are not a list",
      (res) => json(res, 500, { errors: { code: "UNKNOWN" } }),
      "answered 500 to GET /v2/; expected 200 or 401",
    ],
    [
      "a body that is not JSON",
      (res) => {
        res.writeHead(500, { "Content-Type": "text/html" });
        res.end("<html>UNKNOWN</html>");
      },
      "answered 500 to GET /v2/; expected 200 or 401",
    ],
    [
      // Only the `code`s that look like Distribution's (capitals and _, at most 64) are shown, never free text.
      "errors of every shape, of which one has a proper code",
      (res) =>
        json(res, 500, {
          errors: [
            null,
            "STRING",
            7,
            { message: "no code" },
            { code: 7 },
            { code: ["SECRET"] },
            { code: "lower" },
            { code: "xTAIL" },
            { code: "HEADx" },
            { code: "A".repeat(65) },
            { code: "UNKNOWN" },
          ],
        }),
      "answered 500 to GET /v2/ (UNKNOWN); expected 200 or 401",
    ],
  ];
  for (const [what, answer, detail] of cases) {
    it(`reports ${what}`, async () => {
      const registry = await serve((_req, res) => answer(res));
      assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
        ok: false,
        server: registry.server,
        failure: "protocol",
        detail: `registry ${registry.server} ${detail}`,
      });
    });
  }

  it("names every unsupported scheme it was offered, and sends no credentials", async () => {
    const registry = await serve((_req, res) =>
      json(res, 401, undefined, { "WWW-Authenticate": "Negotiate abc, NTLM" }),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
      ok: false,
      server: registry.server,
      failure: "protocol",
      detail: `registry ${registry.server} asks for unsupported authentication (negotiate, ntlm) on GET /v2/`,
    });
    assert.deepStrictEqual(registry.seen, [{ method: "GET", path: "/v2/", auth: "none" }]);
  });
});

describe("checkRegistryLogin and the token service's answers (mutation tests)", () => {
  afterEach(cleanUp);
  /** `/v2/` behind a Bearer challenge whose realm is this server's /token, answered by `token`. */
  async function bearer(token: (res: ServerResponse) => void, challengeExtra = ',service="svc"') {
    return serve((req, res, port) => {
      if (req.url?.startsWith("/token")) return token(res);
      if (req.headers.authorization === `Bearer ${TOKEN}`) return json(res, 200, {});
      json(res, 401, undefined, {
        "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${port}/token"${challengeExtra}`,
      });
    });
  }
  const shown = (port: number) => `http://127.0.0.1:${port}/token`;

  it("asks for the challenge's own scope when no repository is checked", async () => {
    const registry = await bearer(
      (res) => json(res, 200, { token: TOKEN }),
      ',service="svc",scope="registry:catalog:*"',
    );
    assert.strictEqual((await checkRegistryLogin(alice(registry.server))).ok, true);
    assert.deepStrictEqual(
      [...new URL(registry.seen[1].path, "http://x").searchParams.entries()],
      [
        ["service", "svc"],
        ["scope", "registry:catalog:*"],
      ],
    );
    assert.deepStrictEqual(
      [registry.headers[1].accept, registry.headers[1]["user-agent"]],
      ["application/json", "registry-access-handshake"],
    );
  });

  it("reports a 403 from the token service without a repository as bad-credentials", async () => {
    const registry = await bearer((res) => json(res, 403, undefined));
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
      ok: false,
      server: registry.server,
      failure: "bad-credentials",
      detail: `registry ${registry.server}: token service ${shown(registry.port)} refused user "alice" (403)`,
    });
  });

  it("reports a 500 from the token service as protocol, without its body (it may hold a token)", async () => {
    const registry = await bearer((res) => json(res, 500, { errors: [{ code: "UNKNOWN" }], token: "leak" }));
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
      ok: false,
      server: registry.server,
      failure: "protocol",
      detail: `registry ${registry.server}: token service ${shown(registry.port)} answered 500 (expected 200 or 401)`,
    });
  });

  for (const [what, body] of [
    ["an empty token", JSON.stringify({ token: "" })],
    ["a token that is a number", JSON.stringify({ token: 42 })],
    ["a body that is not JSON", "token=abc"],
  ]) {
    it(`reports a 200 with ${what} as protocol`, async () => {
      const registry = await bearer((res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(body);
      });
      assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server)), {
        ok: false,
        server: registry.server,
        failure: "protocol",
        detail: `registry ${registry.server}: token service ${shown(registry.port)} answered 200 without a token in its JSON`,
      });
    });
  }
});

describe("checkRegistryLogin never shows the password a registry echoes (mutation tests)", () => {
  afterEach(cleanUp);
  /** /v2/ redirects to a path that holds the password it was sent (as a confused proxy might). */
  async function echoing(password: string) {
    return serve((_req, res) =>
      json(res, 302, undefined, { Location: `http://127.0.0.1:1/a/${password}/b` }),
    );
  }

  for (const password of ["Pw-echo-77aa", "Ab1x"]) {
    it(`redacts a ${password.length}-character password`, async () => {
      const registry = await echoing(password);
      assert.strictEqual(
        (await checkRegistryLogin(alice(registry.server, password))).detail,
        `registry ${registry.server} answered 302 to GET /v2/ (redirect to http://127.0.0.1:1/a/[redacted]/b, not followed); expected 200 or 401`,
      );
    });
  }

  // Redacting fewer than 4 characters would cut up the message around every "a" or "1" it holds.
  for (const password of ["Ab1", ""]) {
    it(`leaves the message whole for a ${password.length}-character password`, async () => {
      const registry = await echoing(password);
      assert.strictEqual(
        (await checkRegistryLogin(alice(registry.server, password))).detail,
        `registry ${registry.server} answered 302 to GET /v2/ (redirect to http://127.0.0.1:1/a/${password}/b, not followed); expected 200 or 401`,
      );
    });
  }
});

describe("checkRegistryLogin's response reader (mutation tests)", () => {
  afterEach(cleanUp);
  it("reports a connection lost in the middle of a body as unreachable, at once", async () => {
    const registry = await serve((req, res) => {
      res.writeHead(500, { "Content-Length": "1000" });
      res.write("0123456789", () => hangUp(req));
    });
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { timeoutMs: 2_000 }), {
      ok: false,
      server: registry.server,
      failure: "unreachable",
      detail: `registry ${registry.server} is unreachable: ECONNRESET (GET http://${registry.server}/v2/)`,
    });
  });

  it("reads 256 KiB of a body and no more: it answers once they arrived, and closes the connection", async () => {
    const limit = 256 * 1024;
    const head = '{"errors":[{"code":"UNKNOWN"}],"pad":"';
    const body = `${head}${"x".repeat(limit - head.length - 2)}"}`;
    assert.strictEqual(body.length, limit);
    const registry = await serve((_req, res) => {
      // One byte more than is ever sent: a reader that waits for the end would wait until its timeout.
      res.writeHead(500, { "Content-Type": "application/json", "Content-Length": String(limit + 1) });
      res.write(body);
    });
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { timeoutMs: 2_000 }), {
      ok: false,
      server: registry.server,
      failure: "protocol",
      detail: `registry ${registry.server} answered 500 to GET /v2/ (UNKNOWN); expected 200 or 401`,
    });
    // The server never ends this response: only the reader can have closed the connection.
    await closed(registry.sockets[0]);
  });

  it("drops the connection when no answer comes in time", async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => {
      socket.resume(); // reads, so that it sees the client's end
      sockets.push(socket);
      openSockets.push(socket);
    });
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const server = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    // Waited for below: on a loaded machine the 100 ms can pass before the server has taken the connection.
    const accepted = once(silent, "connection");
    const check = await checkRegistryLogin(alice(server), { timeoutMs: 100 });
    assert.strictEqual(
      check.detail,
      `registry ${server} is unreachable: no answer within 100 ms (GET http://${server}/v2/)`,
    );
    await accepted;
    await closed(sockets[0]);
  });

  it("clears each request's timer once it has its answer (a provider process would linger otherwise)", async () => {
    const registry = await serve(basicRegistry((_req, res) => json(res, 200, {})));
    // The timers set with timeoutMs (60 s, as no other timer here) while the check runs, and those cleared.
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const set: unknown[] = [];
    const cleared: unknown[] = [];
    globalThis.setTimeout = ((callback: () => void, ms?: number) => {
      const timer = realSetTimeout(callback, ms);
      if (ms === 60_000) set.push(timer);
      return timer;
    }) as typeof setTimeout;
    globalThis.clearTimeout = ((timer?: Parameters<typeof clearTimeout>[0]) => {
      cleared.push(timer);
      realClearTimeout(timer);
    }) as typeof clearTimeout;
    try {
      const check = await checkRegistryLogin(alice(registry.server), {
        repository: "team/app",
        timeoutMs: 60_000,
      });
      assert.strictEqual(check.ok, true, check.detail);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
    }
    // GET /v2/ twice (without and with credentials), then HEAD of the manifest.
    assert.strictEqual(set.length, 3);
    assert.ok(
      set.every((timer) => cleared.includes(timer)),
      "a timer was left running",
    );
  });
});

describe("checkRegistryLogin's classification of network errors (mutation tests)", () => {
  // Node.js resolves a host name with dns.lookup unless told otherwise (net.connect's `lookup` option:
  // https://nodejs.org/api/net.html#socketconnectoptions-connectlistener): standing in for it gives the errors a
  // network gives, with a host that never resolves for real.
  const realLookup = dns.lookup;
  let lookupError: unknown;
  beforeEach(() => {
    (dns as { lookup: unknown }).lookup = (
      _host: string,
      options: unknown,
      callback?: (error: unknown) => void,
    ) => (typeof options === "function" ? (options as (error: unknown) => void) : callback)?.(lookupError);
  });
  afterEach(() => {
    (dns as { lookup: unknown }).lookup = realLookup;
  });
  const login = { server: "registry.invalid", username: "alice", password: PASSWORD };
  const where = "(GET https://registry.invalid/v2/)";

  // The errors a network change or an outage gives: retried by waitForRegistryLogin.
  for (const code of [
    "ECONNRESET",
    "ECONNABORTED",
    "EPIPE",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EAI_FAIL",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "EHOSTDOWN",
    "ENETUNREACH",
    "ENETDOWN",
  ]) {
    it(`counts ${code} as unreachable`, async () => {
      lookupError = Object.assign(new Error(`getaddrinfo ${code} registry.invalid`), { code });
      assert.deepStrictEqual(await checkRegistryLogin(login), {
        ok: false,
        server: "registry.invalid",
        failure: "unreachable",
        detail: `registry registry.invalid is unreachable: ${code} ${where}`,
      });
    });
  }

  const others: [string, unknown, string][] = [
    [
      "another code, with its message on one line",
      Object.assign(new Error("  getaddrinfo EACCES\n\t registry.invalid  "), { code: "EACCES" }),
      "EACCES getaddrinfo EACCES registry.invalid",
    ],
    ["an error without a code", new Error("resolver broke"), "resolver broke"],
    [
      "an error whose code is not a string",
      Object.assign(new Error("resolver broke"), { code: 42 }),
      "resolver broke",
    ],
    ["a message cut at 200 characters", new Error(`${"m".repeat(199)} tail`), "m".repeat(199) + " "],
  ];
  for (const [what, error, shown] of others) {
    it(`counts ${what} as protocol (retrying will not help)`, async () => {
      lookupError = error;
      const check = await checkRegistryLogin(login);
      assert.deepStrictEqual(check, {
        ok: false,
        server: "registry.invalid",
        failure: "protocol",
        detail: `registry registry.invalid could not be talked to: ${shown} ${where}`,
      });
    });
  }
});
