import * as assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import {
  AcrTokenPassword,
  acrTokenPasswordProvider,
  makeAcrTokenPasswordProvider,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
} from "../components/acrTokenPassword";
import type { LoginCheck, RegistryLogin } from "../components/registryHandshake";
import { startArmServer, TEST_BEARER_TOKEN, type ArmServer } from "./support/armServer";

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
    provider = makeAcrTokenPasswordProvider({
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
    }) as Provider;
  });

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
      },
    });
    assert.deepEqual(verifyCalls, [
      {
        login: { server: "mycompany.azurecr.io", username: "ns-team-a", password },
        options: { repository: "team-a/app" },
      },
    ]);
  });

  it("create without verifyRepository verifies the login only and leaves it out of the state", async () => {
    const result = await provider.create(withoutRepository(inputs()));
    assert.deepEqual(verifyCalls[0].options, {});
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
    });
    assert.deepEqual(verifyCalls, [
      {
        login: { server: "mycompany.azurecr.io", username: "ns-team-a", password },
        options: { repository: "team-a/app" },
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

  it("when the registry does not accept the first password, create throws and writes nothing", async () => {
    verifyAnswer = async (login) => ({
      ok: false,
      server: login.server,
      failure: "no-pull-permission",
      detail: "ns-team-a may not pull team-a/app",
    });
    await assert.rejects(provider.create(inputs()), {
      message:
        "Registry mycompany.azurecr.io did not accept the new password1 of ACR token ns-team-a: " +
        "ns-team-a may not pull team-a/app. No pull secret was written; the next `pulumi up` generates password1 again.",
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
          "No pull secret was written; the next `pulumi up` generates password1 again.",
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
          "No pull secret was written; the next `pulumi up` generates password1 again.",
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
    assert.equal(serialized.text.includes("DefaultAzureCredential"), true);

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
