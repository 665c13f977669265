/**
 * components/registryHandshake.ts, the cases StrykerJS showed no other suite told apart (issue 12): what goes
 * over the wire to an HTTPS forward proxy (the CONNECT line, its Host and Proxy-Authorization, SNI through the
 * tunnel), that every connection of a check is closed when it fails or times out, NO_PROXY and HTTPS_PROXY at
 * their edges, and an open registry's tags fallback and firewall codes.
 *
 * Stand-ins, all on 127.0.0.1 (or [::1]):
 * - a scripted forward proxy (test/support/forwardProxy.ts models a well-behaved one): it answers `CONNECT
 *   host:port` (RFC 9110 section 9.3.6: a 2xx answer turns the connection into a blind tunnel) by tunnelling to
 *   one fixed registry whatever host it is asked for (as a proxy in front of a private DNS name would), by a
 *   refusal that leaves the connection open, or not at all; it records each CONNECT's target and headers, and
 *   when the client closed the connection. It does not model proxy authentication, keep-alive or any policy;
 * - an open registry over TLS (`GET /v2/` answers 200, the Docker Registry HTTP API v2), with a self-signed
 *   certificate for the name registry.test, 127.0.0.1 and ::1 only, that records the SNI name of each connection;
 * - a plain-http scripted registry (the handshake talks plain http only to loopback) for the tags fallback and a
 *   firewall's 403: error bodies are `{"errors":[{"code":...}]}` (the Distribution API spec's error codes).
 * A green test here shows what the handshake sends and closes, not that a real proxy or registry answers so.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { createServer as createHttpsServer, Server as HttpsServer } from "https";
import { AddressInfo, connect as netConnect, Socket } from "net";
import * as os from "os";
import * as path from "path";
import { TLSSocket } from "tls";
import { checkRegistryLogin, noProxyMatches, proxyFor } from "../../components/registryHandshake";

const PASSWORD = "proxy-canary-pw-51c7";
const alice = (server: string) => ({ server, username: "alice", password: PASSWORD });

/** A self-signed certificate for registry.test, 127.0.0.1 and ::1 (not localhost), made with openssl. */
function certificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "handshake-proxy-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    const certFile = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "1",
        "-subj",
        "/CN=registry.test",
        "-addext",
        "subjectAltName=DNS:registry.test,IP:127.0.0.1,IP:::1",
      ],
      { stdio: "pipe" },
    );
    return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves when the other side has closed `socket` (its end arrived, or the socket is gone). */
function closed(socket: Socket): Promise<void> {
  return socket.destroyed || socket.readableEnded
    ? Promise.resolve()
    : new Promise((resolve) => {
        socket.once("end", () => resolve());
        socket.once("close", () => resolve());
      });
}

/** Rejects when `promise` takes longer than `ms`: what a leaked connection looks like here. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function listen(server: Server | HttpsServer, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

function stop(server: Server | HttpsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Connect {
  readonly target: string;
  readonly host: string | undefined;
  readonly proxyAuthorization: string | undefined;
  /** The proxy's side of the client's connection. */
  readonly client: Socket;
}

interface Proxy {
  readonly url: string;
  readonly connects: Connect[];
  stop(): Promise<void>;
}

type Behaviour =
  | { readonly kind: "tunnel"; readonly delayMs?: number }
  | { readonly kind: "refuse"; readonly status: number }
  | { readonly kind: "silent" };

/** The scripted proxy: see the top of this file. */
async function startProxy(behaviour: Behaviour, upstreamPort: number, host = "127.0.0.1"): Promise<Proxy> {
  const connects: Connect[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on("connection", (socket: Socket) => sockets.add(socket));
  server.on("connect", (req: IncomingMessage, client: Socket) => {
    client.on("error", () => {});
    connects.push({
      target: req.url ?? "",
      host: req.headers.host,
      proxyAuthorization: req.headers["proxy-authorization"],
      client,
    });
    if (behaviour.kind === "silent") {
      client.resume();
      return;
    }
    if (behaviour.kind === "refuse") {
      client.resume();
      client.write(`HTTP/1.1 ${behaviour.status} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    client.pause();
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = netConnect(upstreamPort, "127.0.0.1", () => {
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
      });
      sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
    }, behaviour.delayMs ?? 0);
  });
  const port = await listen(server, host);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    connects,
    stop: () => {
      for (const socket of sockets) socket.destroy();
      return stop(server);
    },
  };
}

describe("the handshake through a scripted forward proxy (mutation tests)", () => {
  let tls: { key: string; cert: string };
  let registry: HttpsServer;
  let registryPort: number;
  /** The SNI name of each TLS connection to the registry (false: none sent). */
  const sni: (string | false | null)[] = [];
  const requests: string[] = [];
  const sockets: TLSSocket[] = [];
  /** How the registry answers `GET /v2/`: open, or by dropping the connection. */
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  let proxy: Proxy | undefined;

  before(async () => {
    tls = certificate();
    registry = createHttpsServer(tls, (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      answer(req, res);
    });
    registry.on("secureConnection", (socket: TLSSocket) => {
      sni.push(socket.servername);
      sockets.push(socket);
    });
    registryPort = await listen(registry);
  });
  beforeEach(() => {
    answer = (_req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    sni.length = 0;
    requests.length = 0;
    sockets.length = 0;
  });
  afterEach(async () => {
    if (proxy) await proxy.stop();
    proxy = undefined;
  });
  after(() => stop(registry));

  it("asks the proxy for host:443 when the server has no port, with a Host header, without proxy credentials, and sends SNI", async () => {
    proxy = await startProxy({ kind: "tunnel" }, registryPort);
    const check = await checkRegistryLogin(alice("registry.test"), {
      ca: tls.cert,
      timeoutMs: 5_000,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.deepStrictEqual(check, {
      ok: true,
      server: "registry.test",
      detail:
        'registry registry.test needs no credentials (GET /v2/ answered 200 without them), so user "alice" was not checked',
    });
    // registry.test resolves nowhere: the answer came through the tunnel, not over a direct connection.
    assert.deepStrictEqual(
      proxy.connects.map(({ target, host, proxyAuthorization }) => [target, host, proxyAuthorization]),
      [["registry.test:443", "registry.test:443", undefined]],
    );
    assert.deepStrictEqual(sni, ["registry.test"]);
    assert.deepStrictEqual(requests, ["GET /v2/"]);
  });

  it("sends no SNI for an IP address (RFC 6066 allows only names), and checks the certificate against the address", async () => {
    proxy = await startProxy({ kind: "tunnel" }, registryPort);
    for (const server of ["https://127.0.0.1:1", "https://127.0.0.1:2"]) {
      const check = await checkRegistryLogin(alice(server), {
        ca: tls.cert,
        timeoutMs: 5_000,
        env: { HTTPS_PROXY: proxy.url },
      });
      assert.deepStrictEqual(check, {
        ok: true,
        server,
        detail: `registry ${server} needs no credentials (GET /v2/ answered 200 without them), so user "alice" was not checked`,
      });
    }
    assert.deepStrictEqual(
      proxy.connects.map((c) => c.target),
      ["127.0.0.1:1", "127.0.0.1:2"],
    );
    assert.deepStrictEqual(sni, [false, false]);
  });

  it("reaches a proxy given by an IPv6 address", async () => {
    proxy = await startProxy({ kind: "tunnel" }, registryPort, "::1");
    const check = await checkRegistryLogin(alice("registry.test"), {
      ca: tls.cert,
      timeoutMs: 5_000,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.strictEqual(check.ok, true, check.detail);
    assert.deepStrictEqual(
      proxy.connects.map((c) => c.target),
      ["registry.test:443"],
    );
  });

  it("names a certificate it does not trust through the tunnel (not retried)", async () => {
    proxy = await startProxy({ kind: "tunnel" }, registryPort);
    const check = await checkRegistryLogin(alice("registry.test"), {
      timeoutMs: 5_000,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.deepStrictEqual(check, {
      ok: false,
      server: "registry.test",
      failure: "protocol",
      detail:
        "registry registry.test could not be talked to: DEPTH_ZERO_SELF_SIGNED_CERT self-signed certificate " +
        `(GET https://registry.test/v2/ through proxy ${proxy.url})`,
    });
  });

  it("names the proxy when the registry drops a request that went through it", async () => {
    answer = (req) => req.socket.destroy();
    proxy = await startProxy({ kind: "tunnel" }, registryPort);
    const check = await checkRegistryLogin(alice("registry.test"), {
      ca: tls.cert,
      timeoutMs: 5_000,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.deepStrictEqual(check, {
      ok: false,
      server: "registry.test",
      failure: "unreachable",
      detail: `registry registry.test is unreachable: ECONNRESET (GET https://registry.test/v2/ through proxy ${proxy.url})`,
    });
  });

  it("closes its connection to a proxy that refused the tunnel", async () => {
    proxy = await startProxy({ kind: "refuse", status: 403 }, registryPort);
    const check = await checkRegistryLogin(alice("registry.test"), {
      ca: tls.cert,
      timeoutMs: 5_000,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.deepStrictEqual(check, {
      ok: false,
      server: "registry.test",
      failure: "protocol",
      detail: `registry registry.test could not be reached: the proxy answered 403 to CONNECT (GET https://registry.test/v2/ through proxy ${proxy.url})`,
    });
    assert.strictEqual(proxy.connects.length, 1);
    await within(closed(proxy.connects[0].client), 2_000, "the refused connection was not closed");
  });

  it("closes its connection to a proxy that never answers the CONNECT once the timeout passes", async () => {
    proxy = await startProxy({ kind: "silent" }, registryPort);
    const check = await checkRegistryLogin(alice("registry.test"), {
      ca: tls.cert,
      timeoutMs: 300,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.deepStrictEqual(check, {
      ok: false,
      server: "registry.test",
      failure: "unreachable",
      detail:
        "registry registry.test is unreachable: no answer within 300 ms (GET https://registry.test/v2/)",
    });
    assert.strictEqual(proxy.connects.length, 1);
    await within(closed(proxy.connects[0].client), 2_000, "the unanswered CONNECT was not closed");
  });

  it("sends nothing through a tunnel that opens after the timeout, and closes it", async () => {
    proxy = await startProxy({ kind: "tunnel", delayMs: 600 }, registryPort);
    const check = await checkRegistryLogin(alice("registry.test"), {
      ca: tls.cert,
      timeoutMs: 300,
      env: { HTTPS_PROXY: proxy.url },
    });
    assert.deepStrictEqual(check, {
      ok: false,
      server: "registry.test",
      failure: "unreachable",
      detail:
        "registry registry.test is unreachable: no answer within 300 ms (GET https://registry.test/v2/)",
    });
    await within(closed(proxy.connects[0].client), 3_000, "the late tunnel was not closed");
    assert.deepStrictEqual(requests, []);
  });
});

describe("proxyFor and noProxyMatches at their edges (mutation tests)", () => {
  it("takes a scheme only at the start of HTTPS_PROXY: a later `x://` is part of a bare host:port's path", () => {
    assert.strictEqual(
      proxyFor(new URL("https://registry.test/v2/"), { HTTPS_PROXY: "proxy.test:3128/a://b" })?.href,
      "http://proxy.test:3128/a://b",
    );
  });

  const cases: [string, string, boolean][] = [
    // Empty entries exempt nothing, not even a host written with its trailing root dot.
    ["https://example.com./", ",,", false],
    ["https://example.com./", " , ", false],
    // A port is read only from a whole `host:port` entry.
    ["https://b:5000/", "a:b:5000", false],
    ["https://example.com/", "example.com:443x", false],
    // Brackets are taken off only around a whole entry.
    ["https://a.b/", "a.[b]", false],
    ["https://b.a/", "[b].a", false],
  ];
  for (const [url, noProxy, expected] of cases) {
    it(`NO_PROXY ${JSON.stringify(noProxy)} ${expected ? "exempts" : "does not exempt"} ${url}`, () => {
      assert.strictEqual(noProxyMatches(new URL(url), noProxy), expected);
    });
  }
});

describe("an open registry's tags fallback and a firewall's codes (mutation tests)", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(stop));
  });
  async function serve(
    answer: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<{ server: string; seen: string[] }> {
    const seen: string[] = [];
    const http = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? "none"}`);
      answer(req, res);
    });
    servers.push(http);
    return { server: `127.0.0.1:${await listen(http)}`, seen };
  }
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res
      .writeHead(status, { "Content-Type": "application/json" })
      .end(body === undefined ? "" : JSON.stringify(body));
  const codes = (...list: string[]) => ({ errors: list.map((code) => ({ code })) });

  it("asks an open registry's tags list without credentials, and counts only a 404 NAME_UNKNOWN from it", async () => {
    const registry = await serve((req, res) => {
      if (req.url === "/v2/") json(res, 200, {});
      else if (req.url === "/v2/team/app/tags/list") json(res, 401, codes("NAME_UNKNOWN"));
      else json(res, 404, codes("MANIFEST_UNKNOWN"));
    });
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: true,
      server: registry.server,
      detail:
        `registry ${registry.server} needs no credentials for pulling repository "team/app", so user "alice" was ` +
        'not checked (it has no tag "latest")',
    });
    assert.deepStrictEqual(registry.seen, [
      "GET /v2/ none",
      "HEAD /v2/team/app/manifests/latest none",
      "GET /v2/team/app/manifests/latest none",
      "GET /v2/team/app/tags/list none",
    ]);
  });

  it("does not ask the tags list when the manifest's answer already says NAME_UNKNOWN", async () => {
    const registry = await serve((req, res) =>
      req.url === "/v2/" ? json(res, 200, {}) : json(res, 404, codes("MANIFEST_UNKNOWN", "NAME_UNKNOWN")),
    );
    assert.deepStrictEqual(await checkRegistryLogin(alice(registry.server), { repository: "team/app" }), {
      ok: true,
      server: registry.server,
      detail:
        `registry ${registry.server} needs no credentials for pulling repository "team/app", so user "alice" was ` +
        "not checked (the repository does not exist yet)",
    });
    assert.deepStrictEqual(registry.seen, [
      "GET /v2/ none",
      "HEAD /v2/team/app/manifests/latest none",
      "GET /v2/team/app/manifests/latest none",
    ]);
  });

  const FIREWALL =
    "before any credentials were sent: a registry firewall (IP rules, or public access disabled for a private " +
    "endpoint) does not admit the address this check runs from. The check runs from the machine that runs it, " +
    "not from the cluster's nodes: run it from a network the registry allows";

  it("shows a firewall's error codes comma-separated, and none when its 403 has no body", async () => {
    for (const [body, shown] of [
      [codes("DENIED", "UNAUTHORIZED"), " (DENIED, UNAUTHORIZED)"],
      [undefined, ""],
    ] as const) {
      const firewall = await serve((_req, res) => json(res, 403, body));
      assert.deepStrictEqual(await checkRegistryLogin(alice(firewall.server)), {
        ok: false,
        server: firewall.server,
        failure: "firewall",
        detail: `registry ${firewall.server} refused GET /v2/ with 403${shown} ${FIREWALL}`,
      });
    }
  });
});
