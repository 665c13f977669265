/**
 * waitForRegistryLogin's back-off, exactly (StrykerJS mutants that survived the other suites, issue 12): the delays
 * it waits, when it gives up, and what its detail says, on a virtual clock, so that no test waits or depends on how
 * fast the machine is. The clock stands in for `Date.now` and for the `setTimeout` of the waits between attempts
 * (recognized by their callback, a promise's native resolve function); every other timer, such as a request's
 * timeout, runs for real.
 *
 * The registry is a scripted HTTP server on 127.0.0.1 behind HTTP Basic (Docker Distribution with htpasswd answers
 * 401 with `WWW-Authenticate: Basic realm=...` to wrong credentials); it models nothing else.
 */
import * as assert from "assert";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo } from "net";
import { waitForRegistryLogin } from "../../components/registryHandshake";

const PASSWORD = "wait-canary-pw-1c7d";

const realNow = Date.now;
const realSetTimeout = globalThis.setTimeout;
/** The waits between attempts, in virtual ms, while the clock runs. */
let waits: number[] = [];

function startVirtualClock(): void {
  let now = 1_750_000_000_000;
  waits = [];
  Date.now = () => now;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (Function.prototype.toString.call(callback).includes("[native code]")) {
      waits.push(ms ?? 0);
      now += ms ?? 0;
      return realSetTimeout(callback, 0, ...args);
    }
    return realSetTimeout(callback, ms, ...args);
  }) as typeof setTimeout;
}

function stopVirtualClock(): void {
  Date.now = realNow;
  globalThis.setTimeout = realSetTimeout;
}

let http: Server | undefined;
/** How many times GET /v2/ was asked with credentials. */
let attempts = 0;

/** A registry behind HTTP Basic whose answer to the credentials of attempt n is `answer(n)`. */
async function registry(answer: (attempt: number, res: ServerResponse) => void): Promise<string> {
  attempts = 0;
  http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization === undefined) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="registry"' }).end();
    } else {
      attempts++;
      answer(attempts, res);
    }
  });
  await new Promise<void>((resolve) => http?.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(http.address() as AddressInfo).port}`;
}

const accept = (res: ServerResponse) => res.writeHead(200).end("{}");
const reject = (res: ServerResponse) =>
  res.writeHead(401, { "WWW-Authenticate": 'Basic realm="registry"' }).end();

const rejected = (server: string) =>
  `registry ${server} rejected the credentials for user "alice" (wrong password, or the token or password has expired)`;

describe("waitForRegistryLogin's back-off on a virtual clock (mutation tests)", () => {
  beforeEach(startVirtualClock);
  afterEach(async () => {
    stopVirtualClock();
    http?.closeAllConnections();
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    http = undefined;
  });

  it("returns the first check as it is when it passes, with no options at all", async () => {
    const server = await registry((_n, res) => accept(res));
    assert.deepStrictEqual(await waitForRegistryLogin({ server, username: "alice", password: PASSWORD }), {
      ok: true,
      server,
      detail: `registry ${server} accepted the credentials for user "alice"`,
    });
    assert.deepStrictEqual(waits, []);
  });

  it("waits 2, 4, 8, 16, then 20 s between attempts by default, and gives up after 120 s", async () => {
    const server = await registry((_n, res) => reject(res));
    assert.deepStrictEqual(await waitForRegistryLogin({ server, username: "alice", password: PASSWORD }), {
      ok: false,
      server,
      failure: "bad-credentials",
      detail: `${rejected(server)}; gave up after 10 attempts in 120.0 s`,
    });
    assert.deepStrictEqual(waits, [2_000, 4_000, 8_000, 16_000, 20_000, 20_000, 20_000, 20_000, 10_000]);
    assert.strictEqual(attempts, 10);
  });

  it("starts at initialDelayMs, doubles up to maxDelayMs, and cuts the last wait at the deadline", async () => {
    const server = await registry((_n, res) => reject(res));
    const check = await waitForRegistryLogin(
      { server, username: "alice", password: PASSWORD },
      { initialDelayMs: 1_000, maxDelayMs: 3_000, deadlineMs: 10_000 },
    );
    assert.strictEqual(check.detail, `${rejected(server)}; gave up after 6 attempts in 10.0 s`);
    assert.deepStrictEqual(waits, [1_000, 2_000, 3_000, 3_000, 1_000]);
  });

  it("never waits longer than maxDelayMs, even when initialDelayMs is longer", async () => {
    const server = await registry((_n, res) => reject(res));
    const check = await waitForRegistryLogin(
      { server, username: "alice", password: PASSWORD },
      { initialDelayMs: 5_000, maxDelayMs: 1_500, deadlineMs: 4_000 },
    );
    assert.strictEqual(check.detail, `${rejected(server)}; gave up after 4 attempts in 4.0 s`);
    assert.deepStrictEqual(waits, [1_500, 1_500, 1_000]);
  });

  it("says how long it took when a later attempt passes", async () => {
    const server = await registry((n, res) => (n < 2 ? reject(res) : accept(res)));
    const check = await waitForRegistryLogin(
      { server, username: "alice", password: PASSWORD },
      { initialDelayMs: 1_500 },
    );
    assert.deepStrictEqual(check, {
      ok: true,
      server,
      detail: `registry ${server} accepted the credentials for user "alice" (accepted after 2 attempts in 1.5 s)`,
    });
  });

  it("stops at a protocol failure after a retried one, and says after how long", async () => {
    const server = await registry((n, res) => (n < 2 ? reject(res) : res.writeHead(500).end()));
    const check = await waitForRegistryLogin(
      { server, username: "alice", password: PASSWORD },
      { initialDelayMs: 1_000 },
    );
    assert.deepStrictEqual(check, {
      ok: false,
      server,
      failure: "protocol",
      detail: `registry ${server} answered 500 to GET /v2/; expected 200 once authenticated (after 2 attempts in 1.0 s)`,
    });
    assert.deepStrictEqual(waits, [1_000]);
  });
});
