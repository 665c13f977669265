/**
 * Where the handshake sends credentials, at the edges the other handshake tests leave open (StrykerJS mutants that
 * survived them, issue 12): an https realm is accepted, a realm that is neither https nor http is refused even on
 * loopback, a host that only starts like 127.x is remote, a challenge without a usable realm is reported, and one
 * without `service` sends none.
 */
import * as assert from "assert";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo } from "net";
import { checkRegistryLogin, parseChallenges, registryBaseUrl } from "../../components/registryHandshake";

const PASSWORD = "mutant-canary-pw-5b7e";

/**
 * A registry on 127.0.0.1 that answers `GET /v2/` with the challenge a test gives (Distribution's token auth), and
 * `GET /token` with a token; it records the token requests. Models only that exchange.
 */
async function startRegistry(
  challenge: (port: number) => string,
): Promise<{ server: string; port: number; tokenQueries: URLSearchParams[]; stop(): Promise<void> }> {
  const tokenQueries: URLSearchParams[] = [];
  const http: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname === "/token") {
      tokenQueries.push(url.searchParams);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ token: "t0k3n" }));
    } else if (req.headers.authorization === "Bearer t0k3n") {
      res.writeHead(200).end("{}");
    } else {
      res.writeHead(401, { "WWW-Authenticate": challenge(port) }).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    server: `127.0.0.1:${port}`,
    port,
    tokenQueries,
    stop: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("registry handshake: where credentials may go (mutation tests)", () => {
  it("sends credentials to an https realm: a refused connection, not a refusal to send", async () => {
    const port = await closedPort();
    const registry = await startRegistry(
      () => `Bearer realm="https://127.0.0.1:${port}/token",service="svc"`,
    );
    try {
      const check = await checkRegistryLogin(
        { server: registry.server, username: "bot", password: PASSWORD },
        { timeoutMs: 2_000 },
      );
      assert.deepStrictEqual(check, {
        ok: false,
        server: registry.server,
        failure: "unreachable",
        detail: `registry ${registry.server} (its token service) is unreachable: ECONNREFUSED (GET https://127.0.0.1:${port}/token)`,
      });
    } finally {
      await registry.stop();
    }
  });

  for (const scheme of ["ftp", "ws"]) {
    it(`refuses a ${scheme}:// realm on loopback, where only http is allowed besides https`, async () => {
      const registry = await startRegistry((port) => `Bearer realm="${scheme}://127.0.0.1:${port}/token"`);
      try {
        const check = await checkRegistryLogin({
          server: registry.server,
          username: "bot",
          password: PASSWORD,
        });
        assert.deepStrictEqual(check, {
          ok: false,
          server: registry.server,
          failure: "protocol",
          detail: `registry ${registry.server} points to token service ${scheme}://127.0.0.1:${registry.port}/token, which is not https; refusing to send the credentials`,
        });
        assert.deepStrictEqual(registry.tokenQueries, []);
      } finally {
        await registry.stop();
      }
    });
  }

  it("treats a host name that starts like a loopback address as remote", async () => {
    assert.strictEqual(registryBaseUrl("127.0.0.1.example.com"), "https://127.0.0.1.example.com");
    const registry = await startRegistry(() => 'Bearer realm="http://127.0.0.1.example.com/token"');
    try {
      const check = await checkRegistryLogin({
        server: registry.server,
        username: "bot",
        password: PASSWORD,
      });
      assert.deepStrictEqual(check, {
        ok: false,
        server: registry.server,
        failure: "protocol",
        detail: `registry ${registry.server} points to token service http://127.0.0.1.example.com/token, which is not https; refusing to send the credentials`,
      });
    } finally {
      await registry.stop();
    }
  });

  for (const [what, challenge] of [
    ["no realm", 'Bearer service="svc"'],
    ["a realm that is not a URL", 'Bearer realm="token service",service="svc"'],
  ]) {
    it(`reports a Bearer challenge with ${what} and sends nothing`, async () => {
      const registry = await startRegistry(() => challenge);
      try {
        const check = await checkRegistryLogin({
          server: registry.server,
          username: "bot",
          password: PASSWORD,
        });
        assert.deepStrictEqual(check, {
          ok: false,
          server: registry.server,
          failure: "protocol",
          detail: `registry ${registry.server} sent a Bearer challenge without a valid realm URL`,
        });
        assert.deepStrictEqual(registry.tokenQueries, []);
      } finally {
        await registry.stop();
      }
    });
  }

  it("sends no service to a token service whose challenge names none", async () => {
    const registry = await startRegistry((port) => `Bearer realm="http://127.0.0.1:${port}/token"`);
    try {
      const check = await checkRegistryLogin({
        server: registry.server,
        username: "bot",
        password: PASSWORD,
      });
      assert.strictEqual(check.ok, true, check.detail);
      assert.deepStrictEqual(
        registry.tokenQueries.map((q) => [...q.entries()]),
        [[]],
      );
    } finally {
      await registry.stop();
    }
  });
});

describe("parseChallenges at its edges (mutation tests)", () => {
  const cases: [string, ReturnType<typeof parseChallenges>][] = [
    ['\t Basic\trealm="r"', [{ scheme: "basic", params: { realm: "r" } }]],
    ['@@ Basic realm="r"', [{ scheme: "basic", params: { realm: "r" } }]],
    ['Bearer realm="abc', [{ scheme: "bearer", params: { realm: "abc" } }]],
    ['Bearer realm="a\\', [{ scheme: "bearer", params: { realm: "a\\" } }]],
    ['Bearer realm="a\\"b"', [{ scheme: "bearer", params: { realm: 'a"b' } }]],
    [
      'Negotiate abc==\t, Basic realm="r"',
      [
        { scheme: "negotiate", params: {} },
        { scheme: "basic", params: { realm: "r" } },
      ],
    ],
    ["Negotiate a/b+c~d.e_f-g==", [{ scheme: "negotiate", params: {} }]],
    ["Bearer x==", [{ scheme: "bearer", params: {} }]],
    ["Bearer realm=", [{ scheme: "bearer", params: {} }]],
    [
      'Basic realm="r",, ,Bearer',
      [
        { scheme: "basic", params: { realm: "r" } },
        { scheme: "bearer", params: {} },
      ],
    ],
    ['Bearer REALM="x"', [{ scheme: "bearer", params: { realm: "x" } }]],
    ["Bearer realm=abc\tservice=svc", [{ scheme: "bearer", params: { realm: "abc", service: "svc" } }]],
    ["Bearer realm=abc service=svc", [{ scheme: "bearer", params: { realm: "abc", service: "svc" } }]],
    ['Bearer realm = "x" , service= y', [{ scheme: "bearer", params: { realm: "x", service: "y" } }]],
    ["Basic   ", [{ scheme: "basic", params: {} }]],
    // RFC 7235 section 2.1: auth-param = token BWS "=" BWS ( token / quoted-string ), and BWS may be tabs.
    ['Bearer realm\t=\t"x"', [{ scheme: "bearer", params: { realm: "x" } }]],
    // Lenient: a parameter before any scheme is junk, not a crash, and the challenge after it is read.
    [
      'realm="x", Basic realm="r"',
      [
        { scheme: "realm", params: {} },
        { scheme: "x", params: {} },
        { scheme: "basic", params: { realm: "r" } },
      ],
    ],
    // "==" cannot start a value (a token has no "="): not a parameter.
    [
      "Basic realm==x",
      [
        { scheme: "basic", params: {} },
        { scheme: "realm", params: {} },
        { scheme: "x", params: {} },
      ],
    ],
    // A token68 is the whole rest of a challenge, up to a comma or the end: never a later word.
    [
      "NTLM, Negotiate",
      [
        { scheme: "ntlm", params: {} },
        { scheme: "negotiate", params: {} },
      ],
    ],
    ["Negotiate YIIabc", [{ scheme: "negotiate", params: {} }]],
    // `name=` followed by a comma is a parameter with an empty value, not a token68 with padding.
    ['Bearer ab=, realm="r"', [{ scheme: "bearer", params: { ab: "", realm: "r" } }]],
  ];
  for (const [header, expected] of cases) {
    it(`reads ${JSON.stringify(header)}`, () => {
      assert.deepStrictEqual(parseChallenges(header), expected);
    });
  }
});
