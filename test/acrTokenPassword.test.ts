import * as assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import {
  AcrTokenPassword,
  acrTokenPasswordProvider,
  driftOf,
  IMPORT_REFUSAL,
  makeAcrTokenPasswordProvider,
  parseTokenId,
  retryAfterMsOf,
  THROTTLE_WAIT_LIMIT_MS,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
  type AcrTokenPasswordProviderOverrides,
} from "../components/acrTokenPassword";
import type { LoginCheck, RegistryLogin } from "../components/registryHandshake";
import { startArmServer, TEST_BEARER_TOKEN, type ArmServer } from "./support/armServer";
import { startDynamicProviderHost, type DynamicProviderHost } from "./support/dynamicProviderHost";

type Provider = Required<pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs>>;

const SUB = "00000000-0000-0000-0000-000000000001";
const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany`;
const TOKEN_ID = `${REGISTRY_ID}/tokens/ns-team-a`;
const SCOPE_MAP_ID = `${REGISTRY_ID}/scopeMaps/ns-team-a`;
const GENERATE_PATH = `${REGISTRY_ID}/generateCredentials`;
const START = new Date("2025-01-01T00:00:00.000Z");
const DAY_MS = 86_400_000;

function withoutRepository<T extends { verifyRepository?: string }>(value: T): T {
  const copy = { ...value };
  delete copy.verifyRepository;
  return copy;
}

function daysAfter(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** An ARM time (`...0000000+00:00`) as the provider stores it (`...000Z`). */
function isoOf(armTimeText: string): string {
  return new Date(armTimeText).toISOString();
}

describe("AcrTokenPassword provider against a local ARM server", () => {
  let server: ArmServer;
  let clock: Date;
  let getTokenCalls: number;
  let verifyCalls: { login: RegistryLogin; options: unknown }[];
  let verifyAnswer: (login: RegistryLogin) => Promise<LoginCheck>;
  let provider: Provider;

  const ok = async (login: RegistryLogin): Promise<LoginCheck> => ({
    ok: true,
    server: login.server,
    detail: `${login.server}: logged in as ${login.username}`,
  });

  function inputs(extra: Partial<AcrTokenPasswordInputs> = {}): AcrTokenPasswordInputs {
    return {
      tokenId: TOKEN_ID,
      scopeMapId: SCOPE_MAP_ID,
      loginServer: "mycompany.azurecr.io",
      passwordLifetimeDays: 60,
      rotateAfterDays: 30,
      verifyRepository: "team-a/app",
      armEndpoint: server.endpoint,
      ...extra,
    };
  }

  /** What the Pulumi engine hands diff/update as news: the inputs plus the serialized provider. */
  function news(extra: Partial<AcrTokenPasswordInputs> = {}): AcrTokenPasswordInputs {
    return { ...inputs(extra), __provider: "serialized provider" } as AcrTokenPasswordInputs;
  }

  function posts(): number {
    return server.requests.filter((r) => r.method === "POST").length;
  }

  /** Forget what the server, the credential and the verifier saw. */
  function forget(): void {
    server.reset();
    getTokenCalls = 0;
    verifyCalls = [];
  }

  /** The state right after a successful create at START, with the records cleared. */
  async function created(extra: Partial<AcrTokenPasswordInputs> = {}): Promise<AcrTokenPasswordOutputs> {
    clock = START;
    const result = await provider.create(inputs(extra));
    forget();
    return result.outs as AcrTokenPasswordOutputs;
  }

  before(async () => {
    server = await startArmServer();
  });

  after(async () => {
    await server.close();
  });

  beforeEach(() => {
    clock = START;
    verifyAnswer = ok;
    forget();
    server.resetResources();
    server.createRegistry(REGISTRY_ID);
    server.createToken(TOKEN_ID, SCOPE_MAP_ID);
    provider = makeProvider();
  });

  /** The provider of these tests: the test credential, clock, verifier and CA, and `extra`. */
  function makeProvider(extra: Partial<AcrTokenPasswordProviderOverrides> = {}): Provider {
    return makeAcrTokenPasswordProvider({
      credential: {
        getToken: async () => {
          getTokenCalls += 1;
          return { token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 };
        },
      },
      now: () => clock,
      verify: async (login, options) => {
        verifyCalls.push({ login, options });
        return verifyAnswer(login);
      },
      pollIntervalMs: 1,
      tlsCa: server.caPem,
      ...extra,
    }) as Provider;
  }

  it("create generates password1 expiring after the lifetime, verifies it and returns the state", async () => {
    const result = await provider.create(inputs());

    const operationId = server.requests[1]?.path.split("/").pop();
    const operations = `/subscriptions/${SUB}/providers/Microsoft.ContainerRegistry/locations/local`;
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [
        `POST ${GENERATE_PATH}`,
        `GET ${operations}/operationStatuses/${operationId}`,
        `GET ${operations}/operationStatuses/${operationId}`,
        `GET ${operations}/operationResults/${operationId}`,
      ],
    );
    // The SDK's own api-version (a date), the same on every request including the polls.
    const apiVersion = server.requests[0].apiVersion ?? "";
    assert.match(apiVersion, /^\d{4}-\d{2}-\d{2}(-preview)?$/);
    assert.deepEqual(
      server.requests.map((r) => [r.authorized, r.apiVersion]),
      Array(4).fill([true, apiVersion]),
    );
    assert.deepEqual(server.requests[0].body, {
      tokenId: TOKEN_ID,
      name: "password1",
      expiry: "2025-03-02T00:00:00.000Z",
    });
    assert.equal(server.issued.length, 1);
    const password = server.issued[0].value;
    assert.deepEqual(result, {
      id: TOKEN_ID,
      outs: {
        ...inputs(),
        tokenName: "ns-team-a",
        activeSlot: "password1",
        password,
        activeCreated: "2025-01-01T00:00:00.000Z",
        password1Expiry: "2025-03-02T00:00:00.000Z",
        password2Expiry: null,
        password1Created: isoOf(server.issued[0].creationTime),
        password2Created: null,
        drift: null,
      },
    });
    // The token now holds that slot, as a GET shows it: no value.
    assert.deepEqual(server.token(TOKEN_ID)?.passwords, [
      {
        name: "password1",
        creationTime: server.issued[0].creationTime,
        expiry: "2025-03-02T00:00:00.0000000+00:00",
      },
    ]);
    assert.deepEqual(verifyCalls, [
      {
        login: { server: "mycompany.azurecr.io", username: "ns-team-a", password },
        options: { deadlineMs: 120_000, repository: "team-a/app" },
      },
    ]);
  });

  it("create without verifyRepository verifies the login only and leaves it out of the state", async () => {
    const result = await provider.create(withoutRepository(inputs()));
    assert.deepEqual(verifyCalls[0].options, { deadlineMs: 120_000 });
    assert.equal("verifyRepository" in (result.outs as object), false);
    // Present as null, not absent: an absent output would read as unknown in every preview.
    assert.strictEqual((result.outs as { password2Expiry: unknown }).password2Expiry, null);
  });

  it("diff right after creation reports no changes and calls neither Azure nor the registry", async () => {
    const olds = await created();
    clock = daysAfter(START, 1);
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, news()), { changes: false });
    clock = new Date(daysAfter(START, 30).getTime() - 1);
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, news()), { changes: false });
    assert.deepEqual([...server.requests], []);
    assert.equal(getTokenCalls, 0);
    assert.deepEqual(verifyCalls, []);
  });

  it("when the password is rotateAfterDays old, diff shows an update and update rotates to password2", async () => {
    const olds = await created();
    clock = daysAfter(START, 30);
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, news()), { changes: true });
    assert.deepEqual([...server.requests], []);

    const result = await provider.update(TOKEN_ID, olds, news());

    assert.equal(posts(), 1);
    assert.deepEqual(server.requests[0].body, {
      tokenId: TOKEN_ID,
      name: "password2",
      expiry: "2025-04-01T00:00:00.000Z",
    });
    const password = server.issued[0].value;
    assert.notEqual(password, olds.password);
    assert.deepEqual(result.outs, {
      ...inputs(),
      tokenName: "ns-team-a",
      activeSlot: "password2",
      password,
      activeCreated: "2025-01-31T00:00:00.000Z",
      password1Expiry: "2025-03-02T00:00:00.000Z",
      password2Expiry: "2025-04-01T00:00:00.000Z",
      password1Created: olds.password1Created,
      password2Created: isoOf(server.issued[0].creationTime),
      drift: null,
    });
    assert.deepEqual(verifyCalls, [
      {
        login: { server: "mycompany.azurecr.io", username: "ns-team-a", password },
        options: { deadlineMs: 120_000, repository: "team-a/app" },
      },
    ]);
  });

  it("the next rotation goes back to password1 and keeps password2's expiry", async () => {
    const first = await created();
    clock = daysAfter(START, 30);
    const second = (await provider.update(TOKEN_ID, first, news())).outs as AcrTokenPasswordOutputs;
    forget();

    clock = daysAfter(START, 60);
    assert.deepEqual(await provider.diff(TOKEN_ID, second, news()), { changes: true });
    const third = (await provider.update(TOKEN_ID, second, news())).outs as AcrTokenPasswordOutputs;

    assert.equal(posts(), 1);
    assert.deepEqual(server.requests[0].body, {
      tokenId: TOKEN_ID,
      name: "password1",
      expiry: "2025-05-01T00:00:00.000Z",
    });
    assert.deepEqual(third, {
      ...inputs(),
      tokenName: "ns-team-a",
      activeSlot: "password1",
      password: server.issued[0].value,
      activeCreated: "2025-03-02T00:00:00.000Z",
      password1Expiry: "2025-05-01T00:00:00.000Z",
      password2Expiry: "2025-04-01T00:00:00.000Z",
      password1Created: isoOf(server.issued[0].creationTime),
      password2Created: second.password2Created,
      drift: null,
    });
  });

  it("a new forceRotation value rotates once; the same value again does not", async () => {
    const olds = await created();
    clock = daysAfter(START, 1);
    const forced = news({ forceRotation: "ticket-1234" });
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, forced), { changes: true });

    const rotated = (await provider.update(TOKEN_ID, olds, forced)).outs as AcrTokenPasswordOutputs;
    assert.equal(posts(), 1);
    assert.equal((server.requests[0].body as { name: string }).name, "password2");
    assert.equal(rotated.activeSlot, "password2");
    assert.equal(rotated.forceRotation, "ticket-1234");
    assert.equal(rotated.activeCreated, "2025-01-02T00:00:00.000Z");

    forget();
    clock = daysAfter(START, 2);
    assert.deepEqual(await provider.diff(TOKEN_ID, rotated, forced), { changes: false });
    assert.deepEqual(await provider.update(TOKEN_ID, rotated, forced), { outs: rotated });
    assert.deepEqual([...server.requests], []);
  });

  it("a new scope map binding rotates to the other slot", async () => {
    const olds = await created();
    clock = daysAfter(START, 1);
    const rebound = news({ scopeMapId: `${REGISTRY_ID}/scopeMaps/ns-team-a-v2` });
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, rebound), { changes: true });

    const result = (await provider.update(TOKEN_ID, olds, rebound)).outs as AcrTokenPasswordOutputs;
    assert.equal(posts(), 1);
    assert.deepEqual(server.requests[0].body, {
      tokenId: TOKEN_ID,
      name: "password2",
      expiry: "2025-03-03T00:00:00.000Z",
    });
    assert.equal(result.activeSlot, "password2");
    assert.equal(result.password, server.issued[0].value);
    assert.equal(result.scopeMapId, `${REGISTRY_ID}/scopeMaps/ns-team-a-v2`);
    assert.equal(result.password1Expiry, "2025-03-02T00:00:00.000Z");
  });

  it("a new tokenId replaces the resource and the create makes a fresh password1 for the new token", async () => {
    const olds = await created();
    clock = daysAfter(START, 1);
    const otherRegistry = `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.ContainerRegistry/registries/othercompany`;
    const newTokenId = `${otherRegistry}/tokens/ns-team-a-v2`;
    server.createRegistry(otherRegistry);
    server.createToken(newTokenId, `${otherRegistry}/scopeMaps/ns-team-a-v2`);
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, news({ tokenId: newTokenId })), {
      changes: true,
      replaces: ["tokenId"],
      deleteBeforeReplace: false,
    });
    assert.deepEqual([...server.requests], []);

    const result = await provider.create(inputs({ tokenId: newTokenId }));
    assert.equal(posts(), 1);
    assert.equal(server.requests[0].path, `${otherRegistry}/generateCredentials`);
    assert.deepEqual(server.requests[0].body, {
      tokenId: newTokenId,
      name: "password1",
      expiry: "2025-03-03T00:00:00.000Z",
    });
    assert.equal(result.id, newTokenId);
    assert.equal(result.outs?.tokenName, "ns-team-a-v2");
    assert.equal(result.outs?.activeSlot, "password1");
    assert.equal(result.outs?.password, server.issued[0].value);
    assert.equal(verifyCalls[0].login.username, "ns-team-a-v2");
  });

  it("a change of other inputs only is an update that generates nothing", async () => {
    const olds = await created();
    clock = daysAfter(START, 1);
    const rest = withoutRepository(news({ passwordLifetimeDays: 90, rotateAfterDays: 45 }));
    assert.deepEqual(await provider.diff(TOKEN_ID, olds, rest), { changes: true });

    const result = await provider.update(TOKEN_ID, olds, rest);

    assert.deepEqual(result.outs, {
      ...withoutRepository(olds),
      passwordLifetimeDays: 90,
      rotateAfterDays: 45,
    });
    assert.deepEqual([...server.requests], []);
    assert.equal(getTokenCalls, 0);
    assert.deepEqual(verifyCalls, []);
  });

  it("when the registry does not accept the new password, update throws and names registry and token", async () => {
    const olds = await created();
    clock = daysAfter(START, 30);
    verifyAnswer = async (login) => ({
      ok: false,
      server: login.server,
      failure: "bad-credentials",
      detail: "mycompany.azurecr.io answered 401 Unauthorized for ns-team-a (tried for 120 s)",
    });

    await assert.rejects(provider.update(TOKEN_ID, olds, news()), (err: Error) => {
      assert.equal(
        err.message,
        "Registry mycompany.azurecr.io did not accept the new password2 of ACR token ns-team-a: " +
          "mycompany.azurecr.io answered 401 Unauthorized for ns-team-a (tried for 120 s). " +
          "The pull secret was left unchanged: it keeps password1, valid until 2025-03-02T00:00:00.000Z.",
      );
      assert.equal(err.message.includes(server.issued[0].value), false);
      return true;
    });
    assert.equal(posts(), 1);
  });

  it("when the registry does not accept the first password, create throws and no pull secret is written", async () => {
    verifyAnswer = async (login) => ({
      ok: false,
      server: login.server,
      failure: "no-pull-permission",
      detail: "ns-team-a may not pull team-a/app",
    });
    await assert.rejects(provider.create(inputs()), {
      message:
        "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: " +
        "ns-team-a may not pull team-a/app. No pull secret was written; the next `pulumi up` checks this password1 again instead of generating a new one.",
    });
  });

  it("the password never reaches an error message, even when the verifier echoes it or throws", async () => {
    verifyAnswer = async (login) => ({
      ok: false,
      server: login.server,
      failure: "protocol",
      detail: `odd answer for ${login.password}`,
    });
    await assert.rejects(provider.create(inputs()), (err: Error) => {
      assert.equal(
        err.message,
        "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: odd answer for ***. " +
          "No pull secret was written; the next `pulumi up` checks this password1 again instead of generating a new one.",
      );
      return true;
    });

    verifyAnswer = async (login) => {
      throw new Error(`socket hang up while sending ${login.password}`);
    };
    await assert.rejects(provider.create(inputs()), (err: Error) => {
      assert.equal(
        err.message,
        "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: socket hang up while sending ***. " +
          "No pull secret was written; the next `pulumi up` checks this password1 again instead of generating a new one.",
      );
      return true;
    });
  });

  it("a 403 names the permission the deploying identity needs", async () => {
    server.failNext({
      status: 403,
      code: "AuthorizationFailed",
      message:
        "The client 'deployer' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/generateCredentials/action'.",
    });
    await assert.rejects(provider.create(inputs()), {
      message:
        "Azure refused to generate the password1 of ACR token ns-team-a on registry mycompany: the deploying identity " +
        "needs the permission Microsoft.ContainerRegistry/registries/generateCredentials/action on the registry " +
        `${REGISTRY_ID}. ARM said: AuthorizationFailed: The client 'deployer' does not have authorization to perform ` +
        "action 'Microsoft.ContainerRegistry/registries/generateCredentials/action'.",
    });
    assert.equal(posts(), 1);
    assert.deepEqual(verifyCalls, []);
  });

  it("a 404 says the token or the registry was not found", async () => {
    server.failNext({
      status: 404,
      code: "ResourceNotFound",
      message:
        "The Resource 'Microsoft.ContainerRegistry/registries/mycompany/tokens/ns-team-a' was not found.",
    });
    await assert.rejects(provider.create(inputs()), {
      message:
        "Azure found no token ns-team-a or no registry mycompany (resource group rg-registry, subscription " +
        `${SUB}) to generate the password1 of. ARM said: ResourceNotFound: The Resource ` +
        "'Microsoft.ContainerRegistry/registries/mycompany/tokens/ns-team-a' was not found.",
    });
    assert.equal(posts(), 1);
  });

  it("a 409 says the token is being updated and to retry", async () => {
    const olds = await created();
    clock = daysAfter(START, 30);
    server.failNext({
      status: 409,
      code: "Conflict",
      message: "Another operation is in progress on token ns-team-a.",
    });
    await assert.rejects(provider.update(TOKEN_ID, olds, news()), {
      message:
        "Azure reported a conflict generating the password2 of ACR token ns-team-a on registry mycompany: the token " +
        "is being updated by another operation; retry `pulumi up` once it has finished. ARM said: Conflict: " +
        "Another operation is in progress on token ns-team-a.",
    });
    assert.equal(posts(), 1);
    assert.deepEqual(verifyCalls, []);
  });

  it("a 429 with Retry-After is retried by the SDK and then succeeds", async () => {
    server.failNext(
      { status: 429, code: "TooManyRequests", message: "Too many requests.", retryAfterSeconds: 1 },
      2,
    );
    const result = await provider.create(inputs());
    assert.equal(posts(), 3);
    assert.equal(server.issued.length, 1);
    assert.equal(result.outs?.password, server.issued[0].value);
  });

  it("when 429s outlast the SDK's retries, the error says throttled", async () => {
    server.failNext(
      { status: 429, code: "TooManyRequests", message: "Too many requests.", retryAfterSeconds: 1 },
      4,
    );
    await assert.rejects(provider.create(inputs()), {
      message:
        "Azure throttled generating the password1 of ACR token ns-team-a on registry mycompany: the client waited " +
        "as Retry-After asked and retried, and ARM still answered 429; retry later. ARM said: TooManyRequests: " +
        "Too many requests.",
    });
    assert.equal(posts(), 4);
    assert.equal(server.issued.length, 0);
  });

  describe("under ARM's write throttling (issue 17, item 6)", () => {
    it("reads the wait a 429 or 503 asks for as the SDK's throttlingRetryStrategy does", () => {
      const headers =
        (h: Record<string, string>) =>
        (name: string): string | undefined =>
          h[name];
      assert.equal(retryAfterMsOf(429, headers({ "retry-after": "7" })), 7000);
      assert.equal(retryAfterMsOf(503, headers({ "retry-after": "0" })), 0);
      assert.equal(retryAfterMsOf(429, headers({ "retry-after-ms": "250", "retry-after": "7" })), 250);
      assert.equal(retryAfterMsOf(429, headers({ "x-ms-retry-after-ms": "300", "retry-after": "7" })), 300);
      assert.equal(retryAfterMsOf(429, headers({ "retry-after-ms": "", "retry-after": "2" })), 2000);
      const inAMinute = new Date(Date.now() + 60_000).toUTCString();
      const fromDate = retryAfterMsOf(429, headers({ "retry-after": inAMinute })) ?? NaN;
      assert.ok(fromDate > 58_000 && fromDate <= 60_000, String(fromDate));
      assert.equal(retryAfterMsOf(429, headers({ "retry-after": new Date(0).toUTCString() })), 0);
      assert.equal(retryAfterMsOf(429, headers({ "retry-after": "soon" })), undefined);
      assert.equal(retryAfterMsOf(429, headers({})), undefined);
      assert.equal(retryAfterMsOf(500, headers({ "retry-after": "7" })), undefined);
      assert.equal(retryAfterMsOf(200, headers({ "retry-after": "7" })), undefined);
    });

    it("a write bucket: 429 SubscriptionRequestsThrottled with Retry-After; the SDK waits as asked and every password is generated", async () => {
      const tokens = ["ns-a", "ns-b", "ns-c", "ns-d"].map((t) => `${REGISTRY_ID}/tokens/${t}`);
      for (const id of tokens) server.createToken(id, SCOPE_MAP_ID);
      server.throttleWrites({ bucketSize: 2, refillPerSecond: 2 });
      const started = Date.now();
      const results = await Promise.all(tokens.map((tokenId) => provider.create(inputs({ tokenId }))));
      const took = Date.now() - started;

      assert.deepEqual(
        results.map((r) => r.outs?.password),
        tokens.map((id) => server.issued.find((p) => p.tokenId === id)?.value),
      );
      assert.equal(server.issued.length, 4);
      // Two writes fit the bucket; the other two waited the 1 s ARM asked for, once each.
      assert.deepEqual(
        server.throttled.map((r) => [r.method, r.path, r.retryAfterSeconds]),
        [
          ["POST", GENERATE_PATH, 1],
          ["POST", GENERATE_PATH, 1],
        ],
      );
      assert.ok(took >= 1000 && took < 10_000, `took ${took} ms`);
    });

    it("a Retry-After past the wait limit fails at once, naming what was waited and the limit", async () => {
      server.failNext({
        status: 429,
        code: "TooManyRequests",
        message: "Too many requests.",
        retryAfterSeconds: 3600,
      });
      const started = Date.now();
      await assert.rejects(provider.create(inputs()), {
        message:
          "Azure throttled generating the password1 of ACR token ns-team-a on registry mycompany: after waiting 0 s " +
          "as Retry-After asked, ARM asked for 3600 s more, past the 300 s this provider waits for one password. " +
          "The pull secret keeps its password; run `pulumi up` again later (docs/acr.md, rotation spread).",
      });
      assert.ok(Date.now() - started < 5000);
      assert.equal(posts(), 1);
      assert.equal(THROTTLE_WAIT_LIMIT_MS, 300_000);
    });

    it("the waits of one password add up to at most the limit: a wait that reaches it exactly is still made", async () => {
      provider = makeProvider({ throttleWaitLimitMs: 2000 });
      const throttle = {
        status: 429,
        code: "TooManyRequests",
        message: "Too many requests.",
        retryAfterSeconds: 1,
      };
      server.failNext(throttle, 2);
      const result = await provider.create(inputs());
      assert.equal(result.outs?.password, server.issued[0].value);
      assert.equal(posts(), 3);

      forget();
      server.resetResources();
      server.createRegistry(REGISTRY_ID);
      server.createToken(TOKEN_ID, SCOPE_MAP_ID);
      server.failNext(throttle, 3);
      await assert.rejects(provider.create(inputs()), {
        message:
          "Azure throttled generating the password1 of ACR token ns-team-a on registry mycompany: after waiting 2 s " +
          "as Retry-After asked, ARM asked for 1 s more, past the 2 s this provider waits for one password. " +
          "The pull secret keeps its password; run `pulumi up` again later (docs/acr.md, rotation spread).",
      });
      assert.equal(posts(), 3);
      assert.equal(server.issued.length, 0);
    });
  });

  it("delete calls nothing", async () => {
    const olds = await created();
    await provider.delete(TOKEN_ID, olds);
    assert.deepEqual([...server.requests], []);
    assert.equal(getTokenCalls, 0);
  });

  it("check reports every invalid input and skips values unknown in a preview", async () => {
    const bad = {
      ...inputs(),
      tokenId: `${REGISTRY_ID}/scopeMaps/ns-team-a`,
      loginServer: "",
      passwordLifetimeDays: 30,
      rotateAfterDays: 30,
    };
    assert.deepEqual(await provider.check(inputs(), bad), {
      inputs: bad,
      failures: [
        {
          property: "tokenId",
          reason:
            "must be a token's ARM id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<registry>/tokens/<token>",
        },
        { property: "loginServer", reason: "must be a non-empty string" },
        {
          property: "rotateAfterDays",
          reason: "must be less than passwordLifetimeDays (30), or the password expires before it is rotated",
        },
      ],
    });
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const preview = { ...inputs(), tokenId: unknown, scopeMapId: unknown } as AcrTokenPasswordInputs;
    assert.deepEqual(await provider.check(inputs(), preview), { inputs: preview });
    assert.deepEqual(await provider.check(inputs(), inputs({ rotateAfterDays: 0 })), {
      inputs: inputs({ rotateAfterDays: 0 }),
      failures: [{ property: "rotateAfterDays", reason: "must be a number of days greater than 0" }],
    });
  });

  /** The ARM client an operator's tools use (the portal, `az acr token ...`): out-of-band changes. */
  async function arm() {
    const { ContainerRegistryManagementClient } = await import("@azure/arm-containerregistry");
    return new ContainerRegistryManagementClient(
      { getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) },
      SUB,
      { endpoint: server.endpoint, tlsOptions: { ca: server.caPem } },
    );
  }
  const LRO = { updateIntervalInMs: 1 };

  /** The state as the engine passes it to read: the previous outputs, with the serialized provider. */
  function engineState(outs: AcrTokenPasswordOutputs): AcrTokenPasswordOutputs {
    return { ...outs, __provider: "serialized provider" } as AcrTokenPasswordOutputs;
  }

  async function refreshed(outs: AcrTokenPasswordOutputs): Promise<AcrTokenPasswordOutputs> {
    const result = await provider.read(TOKEN_ID, engineState(outs));
    assert.equal(result.id, TOKEN_ID);
    return result.props as AcrTokenPasswordOutputs;
  }

  const GONE =
    "the active password1 of ACR token ns-team-a on registry mycompany no longer exists: it was removed outside " +
    "Pulumi, or by a token write that left it out";
  const TOKEN_GONE =
    "ACR token ns-team-a on registry mycompany no longer exists: it was deleted, or its registry was re-created";

  describe("verification depth, timeout and a password still propagating (issue 16, items 2 and 8)", () => {
    const refused = async (login: RegistryLogin): Promise<LoginCheck> => ({
      ok: false,
      server: login.server,
      failure: "bad-credentials",
      detail: "not accepted yet",
    });
    const NEXT_UP =
      "No pull secret was written; the next `pulumi up` checks this password1 again instead of generating a new one.";

    it("none: no check at all, and the password becomes the state", async () => {
      const result = await provider.create(inputs({ verification: "none" }));
      assert.deepEqual(verifyCalls, []);
      assert.equal((result.outs as AcrTokenPasswordOutputs).password, server.issued[0].value);
      assert.equal((result.outs as AcrTokenPasswordOutputs).verification, "none");
    });

    it("login: the check asks for no repository; pull (explicit) asks for verifyRepository", async () => {
      await provider.create(inputs({ verification: "login" }));
      await provider.create(inputs({ verification: "pull" }));
      assert.deepEqual(
        verifyCalls.map((c) => c.options),
        [{ deadlineMs: 120_000 }, { deadlineMs: 120_000, repository: "team-a/app" }],
      );
    });

    it("verificationTimeoutSeconds is the check's deadline (10 and 1800 s, the bounds)", async () => {
      await provider.create(inputs({ verificationTimeoutSeconds: 10 }));
      await provider.create(inputs({ verificationTimeoutSeconds: 1800, verification: "login" }));
      assert.deepEqual(
        verifyCalls.map((c) => c.options),
        [{ deadlineMs: 10_000, repository: "team-a/app" }, { deadlineMs: 1_800_000 }],
      );
    });

    it("check accepts the bounds and refuses 9, 1801, a fraction, an unknown mode and a bad rotationTime", async () => {
      const failures = async (extra: Partial<AcrTokenPasswordInputs>) =>
        (await provider.check(inputs(), inputs(extra))).failures ?? [];
      assert.deepEqual(await failures({ verificationTimeoutSeconds: 10 }), []);
      assert.deepEqual(await failures({ verificationTimeoutSeconds: 1800 }), []);
      assert.deepEqual(await failures({ verification: "none", rotationTime: "2025-01-01T00:00:00Z" }), []);
      const seconds = {
        property: "verificationTimeoutSeconds",
        reason: "must be a whole number of seconds from 10 to 1800",
      };
      assert.deepEqual(await failures({ verificationTimeoutSeconds: 9 }), [seconds]);
      assert.deepEqual(await failures({ verificationTimeoutSeconds: 1801 }), [seconds]);
      assert.deepEqual(await failures({ verificationTimeoutSeconds: 10.5 }), [seconds]);
      assert.deepEqual(await failures({ verificationTimeoutSeconds: "120" as unknown as number }), [seconds]);
      assert.deepEqual(await failures({ verification: "full" as "pull" }), [
        { property: "verification", reason: "must be pull, login or none" },
      ]);
      assert.deepEqual(await failures({ rotationTime: "soon" }), [
        { property: "rotationTime", reason: "must be a date and time" },
      ]);
      assert.deepEqual(await failures({ rotationTime: 5 as unknown as string }), [
        { property: "rotationTime", reason: "must be a date and time" },
      ]);
    });

    it("a registry firewall: the message names the config path that skips the check", async () => {
      verifyAnswer = async (login) => ({
        ok: false,
        server: login.server,
        failure: "firewall",
        detail:
          "registry mycompany.azurecr.io refused GET /v2/ with 403 (...): run it from a network the registry allows",
      });
      await assert.rejects(provider.create(inputs({ registryId: "acr" })), {
        message:
          "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: registry " +
          "mycompany.azurecr.io refused GET /v2/ with 403 (...): run it from a network the registry allows, or set " +
          "registries.acr.verification to none in the stack config (the check is then skipped, with a warning in " +
          `every preview). ${NEXT_UP}`,
      });
      await assert.rejects(provider.create(inputs()), (err: Error) => {
        assert.match(err.message, / or set registries\.<id>\.verification to none /);
        return true;
      });
    });

    it("a failed create keeps the generated password as the state (an initialization failure), marked unverified", async () => {
      verifyAnswer = refused;
      const error = await provider.create(news()).then(
        () => assert.fail("create passed"),
        (err: unknown) =>
          err as Error & { id: string; properties: Record<string, unknown>; reasons: string[] },
      );
      const message =
        "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: not accepted yet. " +
        NEXT_UP;
      assert.equal(error.message, message);
      assert.equal(error.id, TOKEN_ID);
      assert.deepEqual(error.reasons, [message]);
      assert.deepEqual(error.properties, {
        ...inputs(),
        tokenName: "ns-team-a",
        activeSlot: "password1",
        password: server.issued[0].value,
        activeCreated: START.toISOString(),
        password1Expiry: "2025-03-02T00:00:00.000Z",
        password2Expiry: null,
        password1Created: isoOf(server.issued[0].creationTime),
        password2Created: null,
        drift: null,
        unverified: message,
        __provider: "serialized provider",
      });
    });

    it("the next up checks that same password again, generates nothing, and clears the mark once accepted", async () => {
      verifyAnswer = refused;
      const kept = await provider.create(news()).then(
        () => assert.fail("create passed"),
        (err: { properties: AcrTokenPasswordOutputs }) => err.properties,
      );
      const password = server.issued[0].value;
      forget();
      clock = daysAfter(START, 1);
      assert.deepEqual(await provider.diff(TOKEN_ID, kept, news()), { changes: true });

      // Still not accepted: the same state again, the same password, nothing generated.
      const again = await provider.update(TOKEN_ID, kept, news()).then(
        () => assert.fail("update passed"),
        (err: Error & { id: string; properties: Record<string, unknown> }) => err,
      );
      const message =
        "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: not accepted yet. " +
        "No pull secret was written; the next `pulumi up` checks this password1 again.";
      assert.equal(again.message, message);
      assert.equal(again.id, TOKEN_ID);
      assert.equal(again.properties.password, password);
      assert.equal(again.properties.unverified, message);
      assert.equal(posts(), 0);

      verifyAnswer = ok;
      const result = await provider.update(TOKEN_ID, kept, news());
      const outs = result.outs as AcrTokenPasswordOutputs;
      assert.equal(outs.password, password);
      assert.equal(outs.activeSlot, "password1");
      assert.equal(outs.activeCreated, START.toISOString());
      assert.equal("unverified" in outs, false);
      assert.equal(posts(), 0);
      assert.deepEqual(
        verifyCalls.map((c) => c.login.password),
        [password, password],
      );
      assert.deepEqual(await provider.diff(TOKEN_ID, outs, news()), { changes: false });
    });

    it("rotationTime, not the clock, decides a rotation in diff and update (one decision per run)", async () => {
      const olds = await created();
      const due = daysAfter(START, 30).toISOString();
      const notDue = new Date(daysAfter(START, 30).getTime() - 1).toISOString();
      clock = daysAfter(START, 31);
      assert.deepEqual(await provider.diff(TOKEN_ID, olds, news({ rotationTime: notDue })), {
        changes: false,
      });
      const kept = await provider.update(TOKEN_ID, olds, news({ rotationTime: notDue }));
      assert.equal((kept.outs as AcrTokenPasswordOutputs).activeSlot, "password1");
      assert.equal(posts(), 0);
      clock = START;
      assert.deepEqual(await provider.diff(TOKEN_ID, olds, news({ rotationTime: due })), { changes: true });
      const rotated = await provider.update(TOKEN_ID, olds, news({ rotationTime: due }));
      assert.equal((rotated.outs as AcrTokenPasswordOutputs).activeSlot, "password2");
      // Not part of the state: a new instant every run must not show as a change.
      assert.equal("rotationTime" in (rotated.outs as object), false);
      assert.equal("registryId" in (rotated.outs as object), false);
    });
  });

  describe("refresh (read; issue 8, item 2)", () => {
    it("right after create, read GETs the token, finds the active slot as generated and returns the state as it was", async () => {
      const olds = await created();
      const result = await provider.read(TOKEN_ID, engineState(olds));

      assert.deepEqual(result, { id: TOKEN_ID, props: { ...engineState(olds), drift: null } });
      // The very password the state held, under the same key: the engine marks it secret again by that key.
      assert.strictEqual(result.props?.password, olds.password);
      assert.deepEqual(
        server.requests.map((r) => `${r.method} ${r.path}`),
        [`GET ${TOKEN_ID}`],
      );
      assert.deepEqual(verifyCalls, []);
      assert.deepEqual(await provider.diff(TOKEN_ID, result.props as AcrTokenPasswordOutputs, news()), {
        changes: false,
      });
    });

    it("someone regenerates the active slot by hand: read records it, diff shows an update, update rotates to password2", async () => {
      const olds = await created();
      // `az acr token credential generate --password1 --expiration-in-days 30`, three days later.
      await (
        await arm()
      ).registries.beginGenerateCredentialsAndWait(
        "rg-registry",
        "mycompany",
        { tokenId: TOKEN_ID, name: "password1", expiry: daysAfter(START, 33) },
        LRO,
      );
      const byHand = server.token(TOKEN_ID)!.passwords[0];
      forget();

      clock = daysAfter(START, 3);
      const state = await refreshed(olds);
      assert.equal(
        state.drift,
        "the active password1 of ACR token ns-team-a on registry mycompany was regenerated outside Pulumi: ARM has " +
          `it created ${isoOf(byHand.creationTime)}, expiring 2025-02-03T00:00:00.000Z; the state has created ` +
          `${olds.password1Created}, expiring 2025-03-02T00:00:00.000Z`,
      );
      // Nothing else changes: the (now dead) password stays exactly what the state had.
      assert.deepEqual({ ...state, drift: null }, engineState(olds));
      assert.deepEqual(await provider.diff(TOKEN_ID, state, news()), { changes: true });

      const rotated = (await provider.update(TOKEN_ID, state, news())).outs as AcrTokenPasswordOutputs;
      assert.equal(posts(), 1);
      assert.deepEqual(server.requests.find((r) => r.method === "POST")?.body, {
        tokenId: TOKEN_ID,
        name: "password2",
        expiry: "2025-03-05T00:00:00.000Z",
      });
      const password = server.issued[0].value;
      assert.deepEqual(rotated, {
        ...inputs(),
        tokenName: "ns-team-a",
        activeSlot: "password2",
        password,
        activeCreated: "2025-01-04T00:00:00.000Z",
        password1Expiry: "2025-03-02T00:00:00.000Z",
        password2Expiry: "2025-03-05T00:00:00.000Z",
        password1Created: olds.password1Created,
        password2Created: isoOf(server.issued[0].creationTime),
        drift: null,
      });
      assert.deepEqual(verifyCalls[0].login, {
        server: "mycompany.azurecr.io",
        username: "ns-team-a",
        password,
      });
      assert.equal((await refreshed(rotated)).drift, null);
    });

    it("when the rotation after a drift is not accepted, the error says the secret's password no longer works", async () => {
      const olds = await created();
      const client = await arm();
      await client.tokens.beginDeleteAndWait("rg-registry", "mycompany", "ns-team-a", LRO);
      await client.tokens.beginCreateAndWait(
        "rg-registry",
        "mycompany",
        "ns-team-a",
        { scopeMapId: SCOPE_MAP_ID, status: "enabled" },
        LRO,
      );
      const state = await refreshed(olds);
      assert.equal(state.drift, GONE);
      verifyAnswer = async (login) => ({
        ok: false,
        server: login.server,
        failure: "bad-credentials",
        detail: "mycompany.azurecr.io answered 401 Unauthorized for ns-team-a (tried for 120 s)",
      });
      await assert.rejects(provider.update(TOKEN_ID, state, news()), {
        message:
          "Registry mycompany.azurecr.io did not accept the new password2 of ACR token ns-team-a: " +
          "mycompany.azurecr.io answered 401 Unauthorized for ns-team-a (tried for 120 s). " +
          `The pull secret was left unchanged, and its password1 no longer works: ${GONE}.`,
      });
    });

    it("the token is deleted and re-created under the same id: read says so, and the new creationDate replaces the resource", async () => {
      const firstCreated = server.token(TOKEN_ID)!.creationDate;
      const olds = await created({ tokenCreationDate: firstCreated });
      const client = await arm();
      await client.tokens.beginDeleteAndWait("rg-registry", "mycompany", "ns-team-a", LRO);
      await client.tokens.beginCreateAndWait(
        "rg-registry",
        "mycompany",
        "ns-team-a",
        { scopeMapId: SCOPE_MAP_ID, status: "enabled" },
        LRO,
      );
      const secondCreated = server.token(TOKEN_ID)!.creationDate;
      assert.notEqual(secondCreated, firstCreated);
      forget();

      const state = await refreshed(olds);
      assert.equal(
        state.drift,
        `ACR token ns-team-a on registry mycompany was re-created (created ${isoOf(secondCreated)}, the state has ` +
          `${firstCreated}): its passwords are gone`,
      );
      // A state without the token's creationDate still sees the active slot gone.
      const older = { ...olds };
      delete (older as { tokenCreationDate?: string }).tokenCreationDate;
      assert.equal((await refreshed(older)).drift, GONE);

      // azure-native's refresh reads the new creationDate too: the next up replaces this resource...
      const replace = { changes: true, replaces: ["tokenCreationDate"], deleteBeforeReplace: false };
      assert.deepEqual(
        await provider.diff(TOKEN_ID, state, news({ tokenCreationDate: secondCreated })),
        replace,
      );
      // ...and a preview, while the new value is unknown, says the same.
      const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
      assert.deepEqual(await provider.diff(TOKEN_ID, state, news({ tokenCreationDate: unknown })), replace);
      // The same value is no change; the same instant in another format only updates the stored text.
      assert.deepEqual(await provider.diff(TOKEN_ID, olds, news({ tokenCreationDate: firstCreated })), {
        changes: false,
      });
      assert.deepEqual(
        await provider.diff(TOKEN_ID, olds, news({ tokenCreationDate: isoOf(firstCreated) })),
        { changes: true },
      );

      const fresh = await provider.create(inputs({ tokenCreationDate: secondCreated }));
      assert.equal(fresh.outs?.password, server.issued[0].value);
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => p.name),
        ["password1"],
      );
      assert.equal((await refreshed(fresh.outs as AcrTokenPasswordOutputs)).drift, null);
    });

    it("the token is re-created but this input is not refreshed yet: the drift alone rotates onto the new token", async () => {
      const olds = await created();
      const client = await arm();
      await client.tokens.beginDeleteAndWait("rg-registry", "mycompany", "ns-team-a", LRO);
      await client.tokens.beginCreateAndWait(
        "rg-registry",
        "mycompany",
        "ns-team-a",
        { scopeMapId: SCOPE_MAP_ID, status: "enabled" },
        LRO,
      );
      forget();
      const state = await refreshed(olds);
      assert.equal(state.drift, GONE);
      clock = daysAfter(START, 1);
      assert.deepEqual(await provider.diff(TOKEN_ID, state, news()), { changes: true });
      const rotated = (await provider.update(TOKEN_ID, state, news())).outs as AcrTokenPasswordOutputs;
      assert.equal(rotated.activeSlot, "password2");
      assert.equal(rotated.password, server.issued[0].value);
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => p.name),
        ["password2"],
      );
      assert.equal((await refreshed(rotated)).drift, null);
    });

    it("the registry is re-created: the token is gone (404), read says so, and once the token is back the update rotates", async () => {
      const olds = await created();
      server.deleteRegistry(REGISTRY_ID);
      // While the registry is missing, ARM answers 404 ParentResourceNotFound.
      assert.equal((await refreshed(olds)).drift, TOKEN_GONE);
      server.createRegistry(REGISTRY_ID);
      // In the new registry, 404 ResourceNotFound.
      const state = await refreshed(olds);
      assert.equal(state.drift, TOKEN_GONE);
      assert.deepEqual(
        server.requests.map((r) => `${r.method} ${r.path}`),
        [`GET ${TOKEN_ID}`, `GET ${TOKEN_ID}`],
      );

      // The next `up`: azure-native creates the token again (its refresh found it gone), then this update runs.
      server.createToken(TOKEN_ID, SCOPE_MAP_ID);
      forget();
      clock = daysAfter(START, 1);
      assert.deepEqual(await provider.diff(TOKEN_ID, state, news()), { changes: true });
      const rotated = (await provider.update(TOKEN_ID, state, news())).outs as AcrTokenPasswordOutputs;
      assert.equal(rotated.activeSlot, "password2");
      assert.equal(rotated.drift, null);
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => [p.name, p.creationTime]),
        [["password2", server.issued[0].creationTime]],
      );
    });

    it("a state written before read existed takes ARM's creation time once the expiry shows the slot is ours", async () => {
      const olds = await created();
      // What a state written before `read` existed lacks.
      const { password1Created, password2Created, drift, ...older } = olds;
      assert.deepEqual([typeof password1Created, password2Created, drift], ["string", null, null]);
      const state = await refreshed(older as AcrTokenPasswordOutputs);
      assert.deepEqual(state, {
        ...engineState(older as AcrTokenPasswordOutputs),
        password1Created: olds.password1Created,
        drift: null,
      });
      // Its first update after the upgrade takes the token's creationDate as it is: no replacement, no password.
      forget();
      const withDate = news({ tokenCreationDate: server.token(TOKEN_ID)!.creationDate });
      assert.deepEqual(await provider.diff(TOKEN_ID, state, withDate), { changes: true });
      const updated = (await provider.update(TOKEN_ID, state, withDate)).outs as AcrTokenPasswordOutputs;
      assert.equal(updated.password, olds.password);
      assert.equal(updated.tokenCreationDate, server.token(TOKEN_ID)!.creationDate);
      assert.deepEqual([...server.requests], []);
    });

    it("a refresh the identity may not make fails, naming the permission", async () => {
      const olds = await created();
      server.failNext({
        on: "getToken",
        status: 403,
        code: "AuthorizationFailed",
        message:
          "The client 'previewer' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/tokens/read'.",
      });
      await assert.rejects(provider.read(TOKEN_ID, engineState(olds)), {
        message:
          "Azure refused to read ACR token ns-team-a on registry mycompany: the identity running the refresh needs " +
          "the permission Microsoft.ContainerRegistry/registries/tokens/read on the registry " +
          `${REGISTRY_ID}. ARM said: AuthorizationFailed: The client 'previewer' does not have authorization to ` +
          "perform action 'Microsoft.ContainerRegistry/registries/tokens/read'.",
      });
    });

    it("an import (read with no state) refuses before calling Azure and says what to do instead", async () => {
      const refusal =
        "An AcrTokenPassword cannot be imported: Azure never returns a token password after it was generated, so " +
        "there is nothing to read back into the state. Remove the `import` option (or skip `pulumi import` for it) " +
        "and let `pulumi up` create it: it generates a new password1 for the token (whatever password1 held before " +
        "stops working; password2 is left alone) and verifies it before the pull secret uses it.";
      assert.equal(IMPORT_REFUSAL, refusal);
      await assert.rejects(provider.read(TOKEN_ID, {} as AcrTokenPasswordOutputs), { message: refusal });
      await assert.rejects(provider.read(TOKEN_ID), { message: refusal });
      assert.deepEqual([...server.requests], []);
      assert.equal(getTokenCalls, 0);
    });
  });

  describe("azure-native Token writes against the local ARM server (issue 8, item 3)", () => {
    // What azure-native sends is taken from its source (provider/pkg/provider/provider.go: Update PUTs every
    // input; Read copies the response, credentials included, into the inputs) and sent here with the same SDK
    // models; azure-native itself does not run. What ACR does with it is this stand-in's model (armServer.ts).
    it("a Token update after a refresh, with ignoreChanges alone, re-sends the snapshot and drops the active password2", async () => {
      const client = await arm();
      const olds = await created();
      // `pulumi refresh`: azure-native's Read puts the live slots (password1) into the Token's inputs.
      const snapshot = await client.tokens.get("rg-registry", "mycompany", "ns-team-a");
      clock = daysAfter(START, 30);
      const rotated = (await provider.update(TOKEN_ID, olds, news())).outs as AcrTokenPasswordOutputs;
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => p.name),
        ["password1", "password2"],
      );

      // A PUT that lists both live slots keeps both: the list is what ACR keeps.
      const live = await client.tokens.get("rg-registry", "mycompany", "ns-team-a");
      await client.tokens.beginCreateAndWait(
        "rg-registry",
        "mycompany",
        "ns-team-a",
        { scopeMapId: SCOPE_MAP_ID, status: "enabled", credentials: live.credentials },
        LRO,
      );
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => p.name),
        ["password1", "password2"],
      );

      // The update azure-native sends once anything else differs: every input, credentials from the snapshot.
      forget();
      await client.tokens.beginCreateAndWait(
        "rg-registry",
        "mycompany",
        "ns-team-a",
        { scopeMapId: SCOPE_MAP_ID, status: "enabled", credentials: snapshot.credentials },
        LRO,
      );
      const put = server.requests.find((r) => r.method === "PUT");
      assert.deepEqual(
        (
          put?.body as { properties: { credentials: { passwords: { name: string }[] } } }
        ).properties.credentials.passwords.map((p) => p.name),
        ["password1"],
      );
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => p.name),
        ["password1"],
      );
      // The pull secret's password is gone; the refresh after that shows it.
      assert.equal(
        (await refreshed(rotated)).drift,
        "the active password2 of ACR token ns-team-a on registry mycompany no longer exists: it was removed " +
          "outside Pulumi, or by a token write that left it out",
      );
    });

    it("a token deleted and created again under its name (even with the stale snapshot) gets a fresh verified password1", async () => {
      const client = await arm();
      const olds = await created({ tokenCreationDate: server.token(TOKEN_ID)!.creationDate });
      const snapshot = await client.tokens.get("rg-registry", "mycompany", "ns-team-a");
      clock = daysAfter(START, 30);
      const rotated = (
        await provider.update(TOKEN_ID, olds, news({ tokenCreationDate: olds.tokenCreationDate }))
      ).outs as AcrTokenPasswordOutputs;
      assert.equal(rotated.activeSlot, "password2");
      forget();

      // A same-name re-creation (deleteBeforeReplace before issue 16.7; a new generation now avoids it, see
      // acrTokenGeneration.test.ts). The engine applies ignoreChanges to a same-URN replacement's inputs too.
      await client.tokens.beginDeleteAndWait("rg-registry", "mycompany", "ns-team-a", LRO);
      await client.tokens.beginCreateAndWait(
        "rg-registry",
        "mycompany",
        "ns-team-a",
        { scopeMapId: SCOPE_MAP_ID, status: "enabled", credentials: snapshot.credentials },
        LRO,
      );
      assert.deepEqual(
        server.requests.map((r) => `${r.method} ${r.path}`),
        [`DELETE ${TOKEN_ID}`, `PUT ${TOKEN_ID}`],
      );
      const recreated = server.token(TOKEN_ID)!;
      assert.deepEqual(recreated.passwords, []);

      // The new token's creationDate replaces the password resource; its create generates and verifies password1.
      const news2 = news({ tokenCreationDate: recreated.creationDate });
      assert.deepEqual(await provider.diff(TOKEN_ID, rotated, news2), {
        changes: true,
        replaces: ["tokenCreationDate"],
        deleteBeforeReplace: false,
      });
      forget();
      const fresh = (await provider.create(inputs({ tokenCreationDate: recreated.creationDate })))
        .outs as AcrTokenPasswordOutputs;
      const password = server.issued[0].value;
      assert.equal(fresh.activeSlot, "password1");
      assert.equal(fresh.password, password);
      assert.deepEqual(
        verifyCalls.map((c) => c.login.password),
        [password],
      );
      assert.deepEqual(
        server.token(TOKEN_ID)!.passwords.map((p) => [p.name, p.creationTime]),
        [["password1", server.issued[0].creationTime]],
      );
      assert.equal((await refreshed(fresh)).drift, null);
    });
  });
});

describe("AcrTokenPassword through Pulumi's dynamic-provider host (issue 8, item 2)", () => {
  const URN =
    "urn:pulumi:test::registry-access::pulumi-nodejs:dynamic/registry-access:AcrTokenPassword::team-a";
  let server: ArmServer;
  let host: DynamicProviderHost;
  let serializedProvider: string;

  before(async () => {
    server = await startArmServer();
    host = await startDynamicProviderHost();
    const caPem = server.caPem;
    // Literals only in the closure: the serializer would otherwise capture whole modules.
    const provider = makeAcrTokenPasswordProvider({
      credential: {
        getToken: async () => ({ token: "test-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
      },
      tlsCa: caPem,
      pollIntervalMs: 1,
      verify: async (login) => ({ ok: true, server: login.server, detail: `logged in as ${login.username}` }),
    });
    const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
    assert.equal(serialized.exportName, "handler");
    serializedProvider = serialized.text;
  });

  after(async () => {
    await host?.close();
    await server?.close();
  });

  it("a refresh reads the state the host was sent and returns it, password and all, with what it found", async () => {
    server.createRegistry(REGISTRY_ID);
    server.createToken(TOKEN_ID, SCOPE_MAP_ID);
    const inputs = {
      tokenId: TOKEN_ID,
      scopeMapId: SCOPE_MAP_ID,
      loginServer: "mycompany.azurecr.io",
      passwordLifetimeDays: 60,
      rotateAfterDays: 30,
      armEndpoint: server.endpoint,
      __provider: serializedProvider,
    };
    const created = await host.create(URN, inputs);
    const password = server.issued[0].value;
    assert.equal(created.id, TOKEN_ID);
    assert.equal(created.properties.password, password);
    // null crosses the protobuf Struct; undefined would not.
    assert.deepEqual(
      [created.properties.password2Expiry, created.properties.password2Created, created.properties.drift],
      [null, null, null],
    );

    // `pulumi refresh`: the engine sends the state (secrets unwrapped: this host does not accept secrets).
    const unchanged = await host.read(URN, TOKEN_ID, created.properties);
    assert.deepEqual(unchanged, { id: TOKEN_ID, properties: created.properties });

    const { ContainerRegistryManagementClient } = await import("@azure/arm-containerregistry");
    await new ContainerRegistryManagementClient(
      { getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) },
      SUB,
      { endpoint: server.endpoint, tlsOptions: { ca: server.caPem } },
    ).registries.beginGenerateCredentialsAndWait(
      "rg-registry",
      "mycompany",
      { tokenId: TOKEN_ID, name: "password1" },
      { updateIntervalInMs: 1 },
    );
    const byHand = server.token(TOKEN_ID)!.passwords[0];
    const drifted = await host.read(URN, TOKEN_ID, created.properties);
    assert.equal(drifted.properties.password, password);
    assert.deepEqual({ ...drifted.properties, drift: null }, created.properties);
    assert.equal(
      drifted.properties.drift,
      "the active password1 of ACR token ns-team-a on registry mycompany was regenerated outside Pulumi: ARM has " +
        `it created ${new Date(byHand.creationTime).toISOString()}, expiring none; the state has created ` +
        `${created.properties.password1Created}, expiring ${created.properties.password1Expiry}`,
    );
  });

  it("an import reaches the host with no state and fails there, before any provider code: hence the refusal up front", async () => {
    await assert.rejects(host.read(URN, TOKEN_ID, {}), (err: Error) => {
      assert.equal(err.message, "2 UNKNOWN: code must be a string, not undefined");
      return true;
    });
  });
});

describe("driftOf: what a refresh compares", () => {
  const token = parseTokenId(TOKEN_ID)!;
  const state = {
    tokenId: TOKEN_ID,
    scopeMapId: SCOPE_MAP_ID,
    loginServer: "mycompany.azurecr.io",
    passwordLifetimeDays: 60,
    rotateAfterDays: 30,
    tokenName: "ns-team-a",
    activeSlot: "password2",
    password: "not-a-real-password",
    activeCreated: "2025-01-31T00:00:00.000Z",
    password1Expiry: "2025-03-02T00:00:00.000Z",
    password2Expiry: "2025-04-01T00:00:00.000Z",
    password1Created: "2025-01-01T00:00:01.123Z",
    password2Created: "2025-01-31T00:00:02.456Z",
    drift: null,
  } as const satisfies AcrTokenPasswordOutputs;
  const slot2 = {
    name: "password2",
    creationTime: new Date("2025-01-31T00:00:02.4560000+00:00"),
    expiry: new Date("2025-04-01T00:00:00.0000000+00:00"),
  };

  it("the same instants in ARM's format are no drift; the inactive slot does not matter", () => {
    assert.equal(driftOf(state, token, { passwords: [slot2] }), null);
    assert.equal(driftOf(state, token, { passwords: [{ name: "password1" }, slot2] }), null);
  });

  it("the same expiry with another creation time is a regeneration", () => {
    const again = { ...slot2, creationTime: new Date("2025-02-10T08:00:00.000Z") };
    assert.equal(
      driftOf(state, token, { passwords: [again] }),
      "the active password2 of ACR token ns-team-a on registry mycompany was regenerated outside Pulumi: ARM has it " +
        "created 2025-02-10T08:00:00.000Z, expiring 2025-04-01T00:00:00.000Z; the state has created " +
        "2025-01-31T00:00:02.456Z, expiring 2025-04-01T00:00:00.000Z",
    );
  });

  it("a slot regenerated without expiry is a regeneration, even in a state that has no creation time", () => {
    const older = { ...state, password2Created: undefined };
    assert.equal(driftOf(older, token, { passwords: [slot2] }), null);
    assert.equal(
      driftOf(older, token, { passwords: [{ name: "password2", creationTime: slot2.creationTime }] }),
      "the active password2 of ACR token ns-team-a on registry mycompany was regenerated outside Pulumi: ARM has it " +
        "created 2025-01-31T00:00:02.456Z, expiring none; the state has created unrecorded, expiring " +
        "2025-04-01T00:00:00.000Z",
    );
  });
});

describe("AcrTokenPassword serialization", () => {
  const secretEnv = "AZURE_CLIENT_SECRET";
  let savedSecret: string | undefined;

  before(() => {
    savedSecret = process.env[secretEnv];
    process.env[secretEnv] = "sentinel-client-secret-9f2c";
  });

  after(() => {
    if (savedSecret === undefined) delete process.env[secretEnv];
    else process.env[secretEnv] = savedSecret;
  });

  it("the default provider serializes without any credential and works once loaded as the engine loads it", async () => {
    const serialized = await pulumi.runtime.serializeFunction(() => acrTokenPasswordProvider, {
      allowSecrets: true,
    });
    assert.equal(serialized.containsSecrets, false);
    assert.equal(serialized.text.includes("sentinel-client-secret-9f2c"), false);
    assert.equal(serialized.text.includes("ClientAssertionCredential"), true);

    // Pulumi's dynamic-provider host loads the text with require-from-string and calls the export.
    const hostRequire = createRequire(require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js"));
    const requireFromString = hostRequire("require-from-string") as (
      code: string,
    ) => Record<string, () => Provider>;
    const loaded = requireFromString(serialized.text)[serialized.exportName]();

    const state = {
      tokenId: TOKEN_ID,
      scopeMapId: SCOPE_MAP_ID,
      loginServer: "mycompany.azurecr.io",
      passwordLifetimeDays: 60,
      rotateAfterDays: 30,
      tokenName: "ns-team-a",
      activeSlot: "password1",
      password: "not-a-real-password",
      activeCreated: new Date().toISOString(),
      password1Expiry: daysAfter(new Date(), 60).toISOString(),
      password2Expiry: null,
    } as const;
    assert.deepEqual(await loaded.diff(TOKEN_ID, state, state), { changes: false });
    const old = { ...state, activeCreated: daysAfter(new Date(), -31).toISOString() };
    assert.deepEqual(await loaded.diff(TOKEN_ID, old, state), { changes: true });
    assert.deepEqual(await loaded.check(state, { ...state, rotateAfterDays: 90 }), {
      inputs: { ...state, rotateAfterDays: 90 },
      failures: [
        {
          property: "rotateAfterDays",
          reason: "must be less than passwordLifetimeDays (60), or the password expires before it is rotated",
        },
      ],
    });
  });
});

describe("AcrTokenPassword resource", () => {
  const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
  const secretOutputs: { name: string; list: string[] }[] = [];

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          return {
            id: String(args.inputs.tokenId),
            state: {
              ...args.inputs,
              tokenName: "ns-team-a",
              activeSlot: "password1",
              password: "mock-password",
              activeCreated: "2025-01-01T00:00:00.000Z",
            },
          };
        },
        call: (args) => {
          throw new Error(`unexpected call ${args.token}`);
        },
      },
      "registry-access",
      "test",
    );
    const monitor = settings.getMonitor() as unknown as {
      registerResource: (
        req: { getName(): string; getAdditionalsecretoutputsList(): string[] },
        cb: unknown,
      ) => void;
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      secretOutputs.push({ name: req.getName(), list: req.getAdditionalsecretoutputsList() });
      return original(req, cb);
    };
  });

  it("refuses the import option before registering anything, saying what to do instead", async () => {
    const before = secretOutputs.length;
    assert.throws(
      () =>
        new AcrTokenPassword(
          "imported",
          {
            tokenId: TOKEN_ID,
            scopeMapId: SCOPE_MAP_ID,
            loginServer: "mycompany.azurecr.io",
            passwordLifetimeDays: 60,
            rotateAfterDays: 30,
          },
          { import: TOKEN_ID },
        ),
      (err: Error) => {
        assert.equal(err.message, IMPORT_REFUSAL);
        return true;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(secretOutputs.length, before);
    assert.equal(
      registered.some((r) => r.name === "imported"),
      false,
    );
  });

  function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
  }

  it("registers password as an additional secret output, merged with the caller's, and never as an input", async () => {
    const res = new AcrTokenPassword(
      "team-a",
      {
        tokenId: TOKEN_ID,
        scopeMapId: SCOPE_MAP_ID,
        loginServer: "mycompany.azurecr.io",
        passwordLifetimeDays: 60,
        rotateAfterDays: 30,
      },
      { additionalSecretOutputs: ["activeCreated"] },
    );
    assert.equal(await valueOf(res.tokenName), "ns-team-a");

    assert.deepEqual(secretOutputs, [{ name: "team-a", list: ["activeCreated", "password"] }]);
    assert.equal(registered.length, 1);
    assert.equal(registered[0].type, "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword");
    const { __provider: serializedProvider, ...declared } = registered[0].inputs;
    assert.equal(typeof serializedProvider, "string");
    assert.deepEqual(declared, {
      tokenId: TOKEN_ID,
      scopeMapId: SCOPE_MAP_ID,
      loginServer: "mycompany.azurecr.io",
      passwordLifetimeDays: 60,
      rotateAfterDays: 30,
    });
  });
});
