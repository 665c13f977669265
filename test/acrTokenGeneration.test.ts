/**
 * Issue 16, item 7: a token replacement creates the new token first, cuts the pull secret over, then deletes the
 * old one. The program's own declarations (taken from a run under mocks, generation 0 and then 1) are played
 * against the local ARM server in the order the engine runs a create-before-delete replacement: create the new
 * Token (as azure-native's create PUTs the declared inputs), replace the password on it (the real provider: a
 * fresh password1, verified), write the pull secret, and delete the old Token last. azure-native itself does not
 * run here; its existence check before a create (which refuses a same-name create outright) is not modelled.
 */
import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import {
  makeAcrTokenPasswordProvider,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
} from "../components/acrTokenPassword";
import { ACR_TOKEN_NAME } from "../components/names";
import type { LoginCheck, RegistryLogin } from "../components/registryHandshake";
import { acrSettings } from "./support/fixtures";
import { startArmServer, TEST_BEARER_TOKEN, type ArmServer } from "./support/armServer";
import { runProgram, stackConfig } from "../tools/mockRuntime";

const TOKEN = "azure-native:containerregistry:Token";
const PASSWORD = "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword";
const SUB = "00000000-0000-0000-0000-000000000000";
const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany`;
const LRO = { updateIntervalInMs: 1 };

type Provider = Required<pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs>>;

interface Declared {
  readonly resource: string;
  readonly inputs: Record<string, string>;
  readonly password: AcrTokenPasswordInputs;
}

/** team-a's Token and password as the program declares them at this generation. */
async function declared(generation: number | undefined): Promise<Declared> {
  const config = acrSettings();
  const teamA = (
    config.namespaces as Record<string, { registries: Record<string, Record<string, unknown>> }>
  )["team-a"];
  if (generation !== undefined) teamA.registries.acr.tokenGeneration = generation;
  const run = await runProgram(stackConfig(config), { stack: "dev" });
  const token = run.recorder.ofType(TOKEN).find((t) => t.name.startsWith("team-a-"))!;
  const password = run.recorder.find(PASSWORD, "team-a-acr-password");
  return {
    resource: token.name,
    inputs: token.inputs as Record<string, string>,
    password: password.inputs as AcrTokenPasswordInputs,
  };
}

describe("ACR token generations against the local ARM server (issue 16, item 7)", () => {
  let server: ArmServer;
  let old: Declared;
  let next: Declared;
  before(async () => {
    server = await startArmServer();
    old = await declared(undefined);
    next = await declared(1);
  });
  after(async () => {
    await server.close();
  });

  it("declares the next generation as another resource and another token name, both within ACR's rule", () => {
    assert.deepEqual([old.resource, next.resource], ["team-a-acr-token", "team-a-acr-token-g1"]);
    assert.equal(next.inputs.tokenName, `${old.inputs.tokenName}-g1`);
    for (const name of [old.inputs.tokenName, next.inputs.tokenName]) assert.match(name, ACR_TOKEN_NAME);
    assert.equal(next.inputs.scopeMapId, old.inputs.scopeMapId);
    assert.equal("credentials" in next.inputs, false);
  });

  it("creates the new token beside the old one, verifies its password while the old one still works, deletes the old last", async () => {
    const { ContainerRegistryManagementClient } = await import("@azure/arm-containerregistry");
    const client = new ContainerRegistryManagementClient(
      { getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) },
      SUB,
      { endpoint: server.endpoint, tlsOptions: { ca: server.caPem } },
    );
    /** What the old token holds whenever a new password is checked. */
    const oldSlotsAtVerify: string[][] = [];
    const oldId = `${REGISTRY_ID}/tokens/${old.inputs.tokenName}`;
    const newId = `${REGISTRY_ID}/tokens/${next.inputs.tokenName}`;
    const provider = makeAcrTokenPasswordProvider({
      credential: {
        getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
      },
      verify: async (login: RegistryLogin): Promise<LoginCheck> => {
        oldSlotsAtVerify.push((server.token(oldId)?.passwords ?? []).map((p) => p.name));
        return { ok: true, server: login.server, detail: `${login.server}: logged in as ${login.username}` };
      },
      pollIntervalMs: 1,
      tlsCa: server.caPem,
    }) as Provider;
    const passwordInputs = (declaredPassword: Declared, tokenId: string): AcrTokenPasswordInputs => ({
      ...declaredPassword.password,
      tokenId,
      tokenCreationDate: server.token(tokenId)!.creationDate,
      armEndpoint: server.endpoint,
    });

    // The stack as it is: the generation-0 token with its verified password1 in the pull secret.
    server.createRegistry(REGISTRY_ID);
    server.createToken(oldId, old.inputs.scopeMapId);
    const before = (await provider.create(passwordInputs(old, oldId))).outs as AcrTokenPasswordOutputs;
    const inUse = before.password;
    server.reset();
    oldSlotsAtVerify.length = 0;

    // 1. The engine creates the new Token: azure-native PUTs the declared inputs (path parameters in the URL).
    const { resourceGroupName, registryName, tokenName, ...body } = next.inputs;
    await client.tokens.beginCreateAndWait(resourceGroupName, registryName, tokenName, body, LRO);
    assert.deepEqual(
      server.requests.filter((r) => r.method === "PUT").map((r) => [r.path, r.body]),
      [[newId, { properties: { scopeMapId: old.inputs.scopeMapId, status: "enabled" } }]],
    );
    assert.deepEqual(
      server.token(oldId)!.passwords.map((p) => p.name),
      ["password1"],
      "the old token keeps the password the pull secret uses",
    );
    assert.deepEqual(server.token(newId)!.passwords, []);

    // 2. The password's tokenId changed: a replacement, creating first; the new password1 is verified.
    const news = passwordInputs(next, newId);
    assert.deepEqual(await provider.diff(oldId, before, news), {
      changes: true,
      replaces: ["tokenId"],
      deleteBeforeReplace: false,
    });
    const after = (await provider.create(news)).outs as AcrTokenPasswordOutputs;
    assert.notEqual(after.password, inUse);
    assert.deepEqual(
      oldSlotsAtVerify,
      [["password1"]],
      "the old token still worked while the new one was checked",
    );
    assert.deepEqual(
      server.issued.map((p) => p.tokenId),
      [newId],
    );

    // 3. The pull secret takes the new password (it depends on it); 4. the engine deletes the old Token last.
    await client.tokens.beginDeleteAndWait(resourceGroupName, registryName, old.inputs.tokenName, LRO);
    assert.equal(server.token(oldId), undefined);
    assert.deepEqual(
      server.token(newId)!.passwords.map((p) => p.name),
      ["password1"],
    );
  });
});
