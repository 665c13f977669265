import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  AZURE_CLOUDS,
  azureCredential,
  chooseAzureAuthMethod,
  cloudNamed,
  oidcAssertion,
  providerCredential,
  readAzureAuthSettings,
  type AzureAuthSettings,
  vaultUrlIn,
} from "../components/azureAuth";
import {
  makeAcrTokenPasswordProvider,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
} from "../components/acrTokenPassword";
import { startArmServer, type ArmServer } from "./support/armServer";
import { GITHUB_REQUEST_TOKEN, startTokenServers, type TokenServers } from "./support/entraServer";

const config = (values: Record<string, string>) => ({
  get: (key: string): string | undefined => values[key],
  require: (key: string): string => values[key],
});
const SP = { ARM_SUBSCRIPTION_ID: "sub-1", ARM_TENANT_ID: "tenant-1", ARM_CLIENT_ID: "client-1" };

function settings(env: NodeJS.ProcessEnv, values: Record<string, string> = {}): AzureAuthSettings {
  return readAzureAuthSettings(config(values), env);
}

function missing(method: string, key: string, variable: string): string {
  return (
    `The ACR password provider authenticates as azure-native does, here ${method}, and that needs ` +
    `azure-native:${key} (or ${variable}): set it with \`pulumi config set azure-native:${key} <value>\` ` +
    `or export ${variable}.`
  );
}

describe("azureAuth: the settings azure-native reads", () => {
  it("config wins over the environment; empty values count as unset; flags are only the string true", () => {
    const s = settings(
      { ...SP, ARM_CLIENT_SECRET: "env-secret", ARM_USE_OIDC: "1", ARM_USE_MSI: "true", ARM_TENANT_ID: "" },
      { "azure-native:clientId": "config-client", "azure-native:subscriptionId": "" },
    );
    assert.deepEqual(s, {
      cloud: AZURE_CLOUDS.public,
      clientId: "config-client",
      subscriptionId: "sub-1",
      clientSecret: "env-secret",
      useDefault: false,
      useOidc: false,
      useMsi: true,
    });
  });

  it("the OIDC request URL and token: config, then ARM_OIDC_REQUEST_*, then GitHub's ACTIONS_ID_TOKEN_REQUEST_*", () => {
    const github = { ACTIONS_ID_TOKEN_REQUEST_URL: "gh-url", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "gh-token" };
    const arm = { ARM_OIDC_REQUEST_URL: "arm-url", ARM_OIDC_REQUEST_TOKEN: "arm-token" };
    const pick = (s: AzureAuthSettings) => [s.oidcRequestUrl, s.oidcRequestToken];
    assert.deepEqual(pick(settings(github)), ["gh-url", "gh-token"]);
    assert.deepEqual(pick(settings({ ...github, ...arm })), ["arm-url", "arm-token"]);
    assert.deepEqual(
      pick(
        settings(
          { ...github, ...arm },
          { "azure-native:oidcRequestUrl": "cfg-url", "azure-native:oidcRequestToken": "cfg-token" },
        ),
      ),
      ["cfg-url", "cfg-token"],
    );
    assert.deepEqual(pick(settings({})), [undefined, undefined]);
    const all = settings(
      { ARM_USE_OIDC: "true", ARM_OIDC_TOKEN: "t", ARM_OIDC_TOKEN_FILE_PATH: "/f", ARM_OIDC_AUDIENCE: "aud" },
      { "azure-native:useDefaultAzureCredential": "true", "azure-native:clientCertificatePath": "/c.pfx" },
    );
    assert.deepEqual(
      [all.useOidc, all.oidcToken, all.oidcTokenFilePath, all.oidcAudience, all.useDefault],
      [true, "t", "/f", "aud", true],
    );
    assert.equal(all.clientCertificatePath, "/c.pfx");
  });

  it("clouds: azure-native's names and aliases, case-insensitive; anything else is refused with the choices", () => {
    assert.equal(cloudNamed(undefined), AZURE_CLOUDS.public);
    assert.equal(cloudNamed(""), AZURE_CLOUDS.public);
    assert.equal(cloudNamed("AzureCloud"), AZURE_CLOUDS.public);
    assert.equal(cloudNamed("usgovernment"), AZURE_CLOUDS.usgovernment);
    assert.equal(cloudNamed("AzureUSGovernment"), AZURE_CLOUDS.usgovernment);
    assert.equal(cloudNamed("AzureUSGovernmentCloud"), AZURE_CLOUDS.usgovernment);
    assert.equal(cloudNamed("China"), AZURE_CLOUDS.china);
    assert.equal(cloudNamed("AzureChinaCloud"), AZURE_CLOUDS.china);
    assert.deepEqual(AZURE_CLOUDS.usgovernment, {
      name: "usgovernment",
      authorityHost: "https://login.microsoftonline.us",
      armEndpoint: "https://management.usgovcloudapi.net",
      vaultSuffix: "vault.usgovcloudapi.net",
    });
    assert.deepEqual(AZURE_CLOUDS.china, {
      name: "china",
      authorityHost: "https://login.chinacloudapi.cn",
      armEndpoint: "https://management.chinacloudapi.cn",
      vaultSuffix: "vault.azure.cn",
    });
    assert.equal(settings({ ARM_ENVIRONMENT: "china" }).cloud, AZURE_CLOUDS.china);
    assert.equal(settings({ AZURE_ENVIRONMENT: "usgovernment" }).cloud, AZURE_CLOUDS.usgovernment);
    assert.equal(
      settings({ ARM_ENVIRONMENT: "china" }, { "azure-native:environment": "public" }).cloud,
      AZURE_CLOUDS.public,
    );
    assert.throws(
      () => cloudNamed("germany"),
      new Error(
        'azure-native:environment (or ARM_ENVIRONMENT) is "germany", which is not an Azure cloud: ' +
          "use public, usgovernment or china.",
      ),
    );
  });
});

describe("azureAuth: azure-native's order of methods", () => {
  const everything = {
    ...SP,
    ARM_USE_DEFAULT_AZURE_CREDENTIAL: "true",
    ARM_CLIENT_SECRET: "s",
    ARM_USE_OIDC: "true",
    ARM_OIDC_TOKEN: "t",
    ARM_USE_MSI: "true",
  };

  it("useDefaultAzureCredential, client secret, OIDC, managed identity, then the Azure CLI", () => {
    const order: string[] = [];
    const env: Record<string, string> = { ...everything };
    for (const drop of [
      "ARM_USE_DEFAULT_AZURE_CREDENTIAL",
      "ARM_CLIENT_SECRET",
      "ARM_USE_OIDC",
      "ARM_USE_MSI",
      "",
    ]) {
      order.push(chooseAzureAuthMethod(settings(env)));
      delete env[drop];
    }
    assert.deepEqual(order, ["default", "clientSecret", "oidc", "msi", "cli"]);
    assert.equal(chooseAzureAuthMethod(settings({})), "cli");
  });

  it("a client certificate stops the chain (after useDefaultAzureCredential), saying what to use instead", () => {
    const cert = {
      ...everything,
      ARM_USE_DEFAULT_AZURE_CREDENTIAL: "false",
      ARM_CLIENT_CERTIFICATE_PATH: "/c.pfx",
    };
    assert.throws(
      () => chooseAzureAuthMethod(settings(cert)),
      new Error(
        "azure-native:clientCertificatePath (or ARM_CLIENT_CERTIFICATE_PATH) is set, and the ACR password provider " +
          "cannot read azure-native's PFX certificates: authenticate both with a client secret, OIDC " +
          "(azure-native:useOidc) or a managed identity (azure-native:useMsi) instead.",
      ),
    );
    assert.equal(
      chooseAzureAuthMethod(settings({ ...cert, ARM_USE_DEFAULT_AZURE_CREDENTIAL: "true" })),
      "default",
    );
  });

  it("a configured method that lacks a value is an error naming it, never a fall-through", () => {
    const secret = "as a service principal with a client secret";
    const oidc = "with OIDC (azure-native:useOidc)";
    const cases: [Record<string, string>, string][] = [
      [
        { ARM_USE_DEFAULT_AZURE_CREDENTIAL: "true" },
        missing(
          "with DefaultAzureCredential (azure-native:useDefaultAzureCredential)",
          "subscriptionId",
          "ARM_SUBSCRIPTION_ID",
        ),
      ],
      [{ ARM_CLIENT_SECRET: "s" }, missing(secret, "subscriptionId", "ARM_SUBSCRIPTION_ID")],
      [{ ARM_CLIENT_SECRET: "s", ARM_SUBSCRIPTION_ID: "x" }, missing(secret, "tenantId", "ARM_TENANT_ID")],
      [
        { ARM_CLIENT_SECRET: "s", ARM_SUBSCRIPTION_ID: "x", ARM_TENANT_ID: "t" },
        missing(secret, "clientId", "ARM_CLIENT_ID"),
      ],
      [{ ARM_USE_OIDC: "true", ARM_OIDC_TOKEN: "t" }, missing(oidc, "subscriptionId", "ARM_SUBSCRIPTION_ID")],
      [
        { ARM_USE_OIDC: "true", ARM_SUBSCRIPTION_ID: "x", ARM_CLIENT_ID: "c" },
        missing(oidc, "tenantId", "ARM_TENANT_ID"),
      ],
      [
        { ARM_USE_MSI: "true" },
        missing("with a managed identity (azure-native:useMsi)", "subscriptionId", "ARM_SUBSCRIPTION_ID"),
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => chooseAzureAuthMethod(settings(env)), new Error(message));
    }
    const noToken =
      "The ACR password provider authenticates as azure-native does, here with OIDC (azure-native:useOidc), and " +
      "that needs an ID token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (GitHub sets " +
      "them when the job has `permissions: id-token: write`), or ARM_OIDC_TOKEN, or ARM_OIDC_TOKEN_FILE_PATH.";
    const oidcEnv = { ...SP, ARM_USE_OIDC: "true" };
    assert.throws(() => chooseAzureAuthMethod(settings(oidcEnv)), new Error(noToken));
    assert.throws(
      () => chooseAzureAuthMethod(settings({ ...oidcEnv, ACTIONS_ID_TOKEN_REQUEST_URL: "u" })),
      new Error(noToken),
    );
    assert.throws(
      () => chooseAzureAuthMethod(settings({ ...oidcEnv, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "t" })),
      new Error(noToken),
    );
    for (const extra of [
      { ARM_OIDC_TOKEN: "t" },
      { ARM_OIDC_TOKEN_FILE_PATH: "/f" },
      { ACTIONS_ID_TOKEN_REQUEST_URL: "u", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "t" },
    ]) {
      assert.equal(chooseAzureAuthMethod(settings({ ...oidcEnv, ...extra })), "oidc");
    }
    // A managed identity needs no client id (the system-assigned one) nor tenant.
    assert.equal(chooseAzureAuthMethod(settings({ ARM_USE_MSI: "true", ARM_SUBSCRIPTION_ID: "x" })), "msi");
  });
});

describe("azureAuth: the credential built for each method", () => {
  /** A stand-in for @azure/identity that records which class was built and with what. */
  function recordingIdentity() {
    const built: { kind: string; args: unknown[] }[] = [];
    const make = (kind: string) =>
      class {
        constructor(...args: unknown[]) {
          built.push({ kind, args });
        }
        async getToken() {
          return null;
        }
      };
    const identity = {
      DefaultAzureCredential: make("DefaultAzureCredential"),
      ClientSecretCredential: make("ClientSecretCredential"),
      ClientAssertionCredential: make("ClientAssertionCredential"),
      ManagedIdentityCredential: make("ManagedIdentityCredential"),
      AzureCliCredential: make("AzureCliCredential"),
    } as unknown as typeof import("@azure/identity");
    return { identity, built };
  }
  const gov = "https://login.microsoftonline.us";

  it("each class gets the cloud's authority host and the ids azure-native passes", () => {
    const { identity, built } = recordingIdentity();
    const base = { ...SP, ARM_ENVIRONMENT: "usgovernment" };
    azureCredential(settings({ ...base, ARM_USE_DEFAULT_AZURE_CREDENTIAL: "true" }), { identity });
    azureCredential(settings({ ARM_SUBSCRIPTION_ID: "x", ARM_USE_DEFAULT_AZURE_CREDENTIAL: "true" }), {
      identity,
    });
    azureCredential(settings({ ...base, ARM_CLIENT_SECRET: "s" }), { identity });
    azureCredential(settings({ ...base, ARM_USE_MSI: "true" }), { identity });
    azureCredential(settings({ ARM_SUBSCRIPTION_ID: "x", ARM_USE_MSI: "true" }), { identity });
    azureCredential(settings(base), { identity });
    azureCredential(settings({}), { identity });
    assert.deepEqual(built, [
      { kind: "DefaultAzureCredential", args: [{ authorityHost: gov, tenantId: "tenant-1" }] },
      { kind: "DefaultAzureCredential", args: [{ authorityHost: AZURE_CLOUDS.public.authorityHost }] },
      { kind: "ClientSecretCredential", args: ["tenant-1", "client-1", "s", { authorityHost: gov }] },
      { kind: "ManagedIdentityCredential", args: [{ authorityHost: gov, clientId: "client-1" }] },
      { kind: "ManagedIdentityCredential", args: [{ authorityHost: AZURE_CLOUDS.public.authorityHost }] },
      { kind: "AzureCliCredential", args: [{ tenantId: "tenant-1" }] },
      { kind: "AzureCliCredential", args: [{}] },
    ]);
    built.length = 0;
    azureCredential(settings({ ...base, ARM_USE_OIDC: "true", ARM_OIDC_TOKEN: "static" }), {
      identity,
      credentialOptions: { disableInstanceDiscovery: true },
    });
    const [oidc] = built;
    assert.equal(oidc.kind, "ClientAssertionCredential");
    assert.deepEqual(oidc.args.slice(0, 2), ["tenant-1", "client-1"]);
    assert.deepEqual(oidc.args[3], { authorityHost: gov, disableInstanceDiscovery: true });
  });

  it("memoized: one credential per process for the same settings, another for other settings", () => {
    const { identity, built } = recordingIdentity();
    const s = settings({ ...SP, ARM_CLIENT_SECRET: "memo-secret" });
    const first = providerCredential(s, { identity });
    for (let i = 0; i < 50; i++)
      assert.equal(
        providerCredential(settings({ ...SP, ARM_CLIENT_SECRET: "memo-secret" }), { identity }),
        first,
      );
    const other = providerCredential(settings({ ...SP, ARM_CLIENT_SECRET: "other-secret" }), { identity });
    assert.notEqual(other, first);
    assert.deepEqual(
      built.map((b) => b.args[2]),
      ["memo-secret", "other-secret"],
    );
  });

  it("a static token and a token file: the file is read again on each assertion", async () => {
    assert.equal(await oidcAssertion(settings({ ARM_OIDC_TOKEN: "static" }))(), "static");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oidc-"));
    const file = path.join(dir, "token");
    fs.writeFileSync(file, "first\n");
    const assertion = oidcAssertion(settings({ ARM_OIDC_TOKEN_FILE_PATH: file }));
    assert.equal(await assertion(), "first");
    fs.writeFileSync(file, "second");
    assert.equal(await assertion(), "second");
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("azureAuth: OIDC against local GitHub and Entra token endpoints (issue 16, item 3)", () => {
  let servers: TokenServers;
  before(async () => {
    servers = await startTokenServers();
  });
  after(async () => {
    await servers?.close();
  });
  beforeEach(() => {
    servers.githubRequests.length = 0;
    servers.tokenRequests.length = 0;
  });

  const oidcEnv = (): NodeJS.ProcessEnv => ({
    ...SP,
    ARM_USE_OIDC: "true",
    ACTIONS_ID_TOKEN_REQUEST_URL: servers.githubUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: GITHUB_REQUEST_TOKEN,
  });
  const local = () => ({
    authorityHost: servers.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: servers.caPem },
  });

  it("every token request carries a new GitHub ID token, fetched with the audience and the request token", async () => {
    const credential = azureCredential(settings(oidcEnv()), { credentialOptions: local() });
    await credential.getToken("https://management.azure.com/.default");
    await credential.getToken("https://vault.azure.net/.default");
    assert.deepEqual(
      servers.tokenRequests.map((r) => [r.tenant, r.clientId, r.scope?.split(" ")[0]]),
      [
        ["tenant-1", "client-1", "https://management.azure.com/.default"],
        ["tenant-1", "client-1", "https://vault.azure.net/.default"],
      ],
    );
    const assertions = servers.tokenRequests.map((r) => r.assertion);
    const issued = servers.githubRequests.map((r) => r.issued);
    assert.equal(assertions.length, 2);
    assert.equal(new Set(assertions).size, 2, "each token request has its own assertion");
    for (const a of assertions) assert.ok(issued.includes(a ?? ""), `${a} was issued by GitHub`);
    assert.deepEqual(
      new Set(servers.githubRequests.map((r) => [r.audience, r.authorized].join())),
      new Set(["api://AzureADTokenExchange,true"]),
    );
  });

  it("ARM_OIDC_AUDIENCE replaces the default audience", async () => {
    await oidcAssertion(settings({ ...oidcEnv(), ARM_OIDC_AUDIENCE: "api://custom" }))();
    assert.deepEqual(servers.githubRequests, [
      { audience: "api://custom", authorized: true, issued: "gh-id-token-1" },
    ]);
  });

  it("GitHub's refusal names the status, its answer and the likely fix", async () => {
    const assertion = oidcAssertion(settings({ ...oidcEnv(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: "wrong" }));
    await assert.rejects(
      assertion(),
      new Error(
        'GitHub refused a new OIDC ID token (HTTP 401) from ACTIONS_ID_TOKEN_REQUEST_URL: {"message":"Bad credentials"}. ' +
          "Does the job have `permissions: id-token: write`?",
      ),
    );
  });

  it("an answer without a token is refused", async () => {
    const fetchImpl = async () => ({ ok: true, status: 200, text: async () => '{"value":""}' });
    await assert.rejects(
      oidcAssertion(settings(oidcEnv()), fetchImpl)(),
      new Error("GitHub answered the OIDC ID token request without a token (no `value` in its answer)."),
    );
    const noValue = async () => ({ ok: true, status: 200, text: async () => "{}" });
    await assert.rejects(
      oidcAssertion(settings(oidcEnv()), noValue)(),
      new Error("GitHub answered the OIDC ID token request without a token (no `value` in its answer)."),
    );
  });

  describe("the ACR password provider without a credential override", () => {
    let arm: ArmServer;
    const SUB = "00000000-0000-0000-0000-0000000000a1";
    const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/oidcacr`;
    const TOKEN_ID = `${REGISTRY_ID}/tokens/ns-oidc`;
    before(async () => {
      arm = await startArmServer();
      arm.createRegistry(REGISTRY_ID);
      arm.createToken(TOKEN_ID, `${REGISTRY_ID}/scopeMaps/ns-oidc`);
    });
    after(async () => {
      await arm?.close();
    });

    it("without configure it reads the ARM_* environment; without an ARM endpoint input it asks the cloud", async () => {
      const env = {
        ARM_USE_OIDC: "true",
        ARM_CLIENT_ID: "env-client",
        ARM_TENANT_ID: "env-tenant",
        ARM_SUBSCRIPTION_ID: SUB,
        ACTIONS_ID_TOKEN_REQUEST_URL: servers.githubUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: GITHUB_REQUEST_TOKEN,
      };
      const common = {
        credentialOptions: {
          disableInstanceDiscovery: true,
          tlsOptions: { ca: servers.caPem },
          authorityHost: servers.authorityHost,
        },
        tlsCa: arm.caPem,
        pollIntervalMs: 1,
        verify: async (login: { server: string }) => ({
          ok: true as const,
          server: login.server,
          detail: "ok",
        }),
      };
      const tokenId = `${REGISTRY_ID}/tokens/ns-env`;
      arm.createToken(tokenId, `${REGISTRY_ID}/scopeMaps/ns-env`);
      const inputs: AcrTokenPasswordInputs = {
        tokenId,
        scopeMapId: `${REGISTRY_ID}/scopeMaps/ns-env`,
        loginServer: "oidcacr.azurecr.io",
        passwordLifetimeDays: 60,
        rotateAfterDays: 30,
      };
      await makeAcrTokenPasswordProvider({ ...common, env }).create!({
        ...inputs,
        armEndpoint: arm.endpoint,
      });
      assert.deepEqual(
        servers.tokenRequests.map((r) => [r.tenant, r.clientId]),
        [["env-tenant", "env-client"]],
      );
      const germany = makeAcrTokenPasswordProvider({
        ...common,
        env: { ...env, ARM_ENVIRONMENT: "germany" },
      });
      await assert.rejects(
        germany.create!(inputs),
        new Error(
          'azure-native:environment (or ARM_ENVIRONMENT) is "germany", which is not an Azure cloud: ' +
            "use public, usgovernment or china.",
        ),
      );
    });

    it("takes azure-native's OIDC settings from the stack config it is configured with, and one credential serves every ARM call", async () => {
      const env = {
        ACTIONS_ID_TOKEN_REQUEST_URL: servers.githubUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: GITHUB_REQUEST_TOKEN,
      };
      const provider = makeAcrTokenPasswordProvider({
        env,
        credentialOptions: {
          disableInstanceDiscovery: true,
          tlsOptions: { ca: servers.caPem },
          authorityHost: servers.authorityHost,
        },
        tlsCa: arm.caPem,
        pollIntervalMs: 1,
        verify: async (login) => ({ ok: true, server: login.server, detail: "ok" }),
      });
      await provider.configure!({
        config: config({
          "azure-native:useOidc": "true",
          "azure-native:clientId": "provider-client",
          "azure-native:tenantId": "provider-tenant",
          "azure-native:subscriptionId": SUB,
        }),
      });
      const inputs: AcrTokenPasswordInputs = {
        tokenId: TOKEN_ID,
        scopeMapId: `${REGISTRY_ID}/scopeMaps/ns-oidc`,
        loginServer: "oidcacr.azurecr.io",
        passwordLifetimeDays: 60,
        rotateAfterDays: 30,
        armEndpoint: arm.endpoint,
      };
      const created = (await provider.create!(inputs)).outs as AcrTokenPasswordOutputs;
      await provider.read!(TOKEN_ID, created);
      await provider.read!(TOKEN_ID, created);
      await provider.update!(TOKEN_ID, created, { ...inputs, forceRotation: "1" });
      assert.equal(arm.requests.filter((r) => !r.authorized).length, 0);
      assert.ok(arm.requests.length >= 4);
      assert.deepEqual(
        servers.tokenRequests.map((r) => [r.tenant, r.clientId]),
        [["provider-tenant", "provider-client"]],
        "one credential, one token for every ARM call",
      );
    });
  });
});

describe("azureAuth: the Key Vault URL per cloud", () => {
  it("config's environment, then ARM_ENVIRONMENT, then AZURE_ENVIRONMENT, else the public cloud", () => {
    assert.equal(vaultUrlIn("kv", undefined, {}), "https://kv.vault.azure.net");
    assert.equal(vaultUrlIn("kv", "china", { ARM_ENVIRONMENT: "usgovernment" }), "https://kv.vault.azure.cn");
    assert.equal(
      vaultUrlIn("kv", undefined, { ARM_ENVIRONMENT: "usgovernment", AZURE_ENVIRONMENT: "china" }),
      "https://kv.vault.usgovcloudapi.net",
    );
    assert.equal(vaultUrlIn("kv", undefined, { AZURE_ENVIRONMENT: "china" }), "https://kv.vault.azure.cn");
  });
});
