/**
 * The Azure credential of the ACR password provider, chosen as azure-native chooses its own, so both act as the
 * same principal: `azure-native:*` stack config first, then the `ARM_*` environment variables, in azure-native's
 * order (pulumi-azure-native provider/pkg/provider/auth_azidentity.go, newSingleMethodAuthCredential and
 * readAuthConfig): useDefaultAzureCredential, client certificate, client secret, OIDC, managed identity, and else
 * the Azure CLI. A method that is configured but incomplete is an error, never a fall-through to the next one.
 *
 * OIDC is a `ClientAssertionCredential` whose assertion callback fetches a new GitHub Actions ID token on every
 * call, so a long `up` outlives the few minutes a single GitHub token lives (issue 16, item 3).
 *
 * One credential per provider process: the dynamic-provider host loads the provider once per process, and the
 * credential is kept on `globalThis` (not in a captured variable, which Pulumi's closure serializer would copy
 * into the state, credential and all).
 */
import type { TokenCredential } from "@azure/identity";

/** Where a value comes from: the stack config (`azure-native:<key>`) as the dynamic provider's configure sees it. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

export type AzureCloudName = "public" | "usgovernment" | "china";

export interface AzureCloud {
  readonly name: AzureCloudName;
  readonly authorityHost: string;
  readonly armEndpoint: string;
  /** The Key Vault DNS suffix: `https://<vault>.<suffix>`. */
  readonly vaultSuffix: string;
}

/** The clouds azure-native names (its azure.GetCloudByName), with the endpoints Azure documents for each. */
export const AZURE_CLOUDS: Readonly<Record<AzureCloudName, AzureCloud>> = {
  public: {
    name: "public",
    authorityHost: "https://login.microsoftonline.com",
    armEndpoint: "https://management.azure.com",
    vaultSuffix: "vault.azure.net",
  },
  usgovernment: {
    name: "usgovernment",
    authorityHost: "https://login.microsoftonline.us",
    armEndpoint: "https://management.usgovcloudapi.net",
    vaultSuffix: "vault.usgovcloudapi.net",
  },
  china: {
    name: "china",
    authorityHost: "https://login.chinacloudapi.cn",
    armEndpoint: "https://management.chinacloudapi.cn",
    vaultSuffix: "vault.azure.cn",
  },
};

const CLOUD_ALIASES: Readonly<Record<string, AzureCloudName>> = {
  public: "public",
  azurecloud: "public",
  usgovernment: "usgovernment",
  azureusgovernment: "usgovernment",
  azureusgovernmentcloud: "usgovernment",
  china: "china",
  azurechinacloud: "china",
};

/** The cloud an `azure-native:environment` / `ARM_ENVIRONMENT` value names; throws on an unknown one. */
export function cloudNamed(value: string | undefined): AzureCloud {
  if (value === undefined || value === "") return AZURE_CLOUDS.public;
  const name = CLOUD_ALIASES[value.toLowerCase()];
  if (name === undefined) {
    throw new Error(
      `azure-native:environment (or ARM_ENVIRONMENT) is "${value}", which is not an Azure cloud: ` +
        "use public, usgovernment or china.",
    );
  }
  return AZURE_CLOUDS[name];
}

/** What azure-native would read, resolved: config wins over the environment, as in its getConfig. */
export interface AzureAuthSettings {
  readonly cloud: AzureCloud;
  readonly clientId?: string;
  readonly tenantId?: string;
  readonly subscriptionId?: string;
  readonly clientSecret?: string;
  readonly clientCertificatePath?: string;
  readonly useDefault: boolean;
  readonly useOidc: boolean;
  readonly oidcAudience?: string;
  readonly oidcToken?: string;
  readonly oidcTokenFilePath?: string;
  readonly oidcRequestUrl?: string;
  readonly oidcRequestToken?: string;
  readonly useMsi: boolean;
}

/** Read the settings from `azure-native:*` config, then the environment variable azure-native reads for each. */
export function readAzureAuthSettings(config: ConfigSource, env: NodeJS.ProcessEnv): AzureAuthSettings {
  const get = (key: string, ...vars: string[]): string | undefined => {
    const fromConfig = config.get(`azure-native:${key}`);
    if (fromConfig !== undefined && fromConfig !== "") return fromConfig;
    for (const name of vars) {
      const value = env[name];
      if (value !== undefined && value !== "") return value;
    }
    return undefined;
  };
  const flag = (key: string, name: string): boolean => get(key, name) === "true";
  const optional = (key: string, ...vars: string[]): Record<string, string> => {
    const value = get(key, ...vars);
    return value === undefined ? {} : { [key]: value };
  };
  return {
    cloud: cloudNamed(get("environment", "ARM_ENVIRONMENT", "AZURE_ENVIRONMENT")),
    ...optional("clientId", "ARM_CLIENT_ID"),
    ...optional("tenantId", "ARM_TENANT_ID"),
    ...optional("subscriptionId", "ARM_SUBSCRIPTION_ID"),
    ...optional("clientSecret", "ARM_CLIENT_SECRET"),
    ...optional("clientCertificatePath", "ARM_CLIENT_CERTIFICATE_PATH"),
    useDefault: flag("useDefaultAzureCredential", "ARM_USE_DEFAULT_AZURE_CREDENTIAL"),
    useOidc: flag("useOidc", "ARM_USE_OIDC"),
    ...optional("oidcAudience", "ARM_OIDC_AUDIENCE"),
    ...optional("oidcToken", "ARM_OIDC_TOKEN"),
    ...optional("oidcTokenFilePath", "ARM_OIDC_TOKEN_FILE_PATH"),
    ...(get("oidcRequestUrl", "ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL") === undefined
      ? {}
      : { oidcRequestUrl: get("oidcRequestUrl", "ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL") }),
    ...(get("oidcRequestToken", "ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN") === undefined
      ? {}
      : {
          oidcRequestToken: get(
            "oidcRequestToken",
            "ARM_OIDC_REQUEST_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
          ),
        }),
    useMsi: flag("useMsi", "ARM_USE_MSI"),
  };
}

export type AzureAuthMethod = "default" | "clientSecret" | "oidc" | "msi" | "cli";

/** The one method azure-native would use, or the error it would stop on (with the fix). */
export function chooseAzureAuthMethod(settings: AzureAuthSettings): AzureAuthMethod {
  const need = (method: string, what: readonly [string, string, string | undefined][]): void => {
    for (const [key, variable, value] of what) {
      if (value === undefined) {
        throw new Error(
          `The ACR password provider authenticates as azure-native does, here ${method}, and that needs ` +
            `azure-native:${key} (or ${variable}): set it with \`pulumi config set azure-native:${key} <value>\` ` +
            `or export ${variable}.`,
        );
      }
    }
  };
  const sub: [string, string, string | undefined] = [
    "subscriptionId",
    "ARM_SUBSCRIPTION_ID",
    settings.subscriptionId,
  ];
  const sp: [string, string, string | undefined][] = [
    sub,
    ["tenantId", "ARM_TENANT_ID", settings.tenantId],
    ["clientId", "ARM_CLIENT_ID", settings.clientId],
  ];
  if (settings.useDefault) {
    need("with DefaultAzureCredential (azure-native:useDefaultAzureCredential)", [sub]);
    return "default";
  }
  if (settings.clientCertificatePath !== undefined) {
    throw new Error(
      "azure-native:clientCertificatePath (or ARM_CLIENT_CERTIFICATE_PATH) is set, and the ACR password provider " +
        "cannot read azure-native's PFX certificates: authenticate both with a client secret, OIDC " +
        "(azure-native:useOidc) or a managed identity (azure-native:useMsi) instead.",
    );
  }
  if (settings.clientSecret !== undefined) {
    need("as a service principal with a client secret", sp);
    return "clientSecret";
  }
  if (settings.useOidc) {
    need("with OIDC (azure-native:useOidc)", sp);
    const hasRequest = settings.oidcRequestUrl !== undefined && settings.oidcRequestToken !== undefined;
    if (settings.oidcToken === undefined && settings.oidcTokenFilePath === undefined && !hasRequest) {
      throw new Error(
        "The ACR password provider authenticates as azure-native does, here with OIDC (azure-native:useOidc), and " +
          "that needs an ID token: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (GitHub sets " +
          "them when the job has `permissions: id-token: write`), or ARM_OIDC_TOKEN, or ARM_OIDC_TOKEN_FILE_PATH.",
      );
    }
    return "oidc";
  }
  if (settings.useMsi) {
    need("with a managed identity (azure-native:useMsi)", [sub]);
    return "msi";
  }
  return "cli";
}

/** A fetch as the assertion callback uses it (the global one by default). */
export type FetchLike = (
  url: string,
  init: { headers: Record<string, string> },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/**
 * The assertion callback for OIDC: a static token, the file read again on each call, or a NEW GitHub Actions ID
 * token per call (GET the request URL with `audience`, bearer the request token; GitHub answers `{ value }`).
 */
export function oidcAssertion(settings: AzureAuthSettings, fetchImpl?: FetchLike): () => Promise<string> {
  const { oidcToken, oidcTokenFilePath, oidcRequestUrl, oidcRequestToken } = settings;
  if (oidcToken !== undefined) return async () => oidcToken;
  if (oidcTokenFilePath !== undefined) {
    return async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fs = require("fs") as typeof import("fs");
      return fs.readFileSync(oidcTokenFilePath, "utf8").trim();
    };
  }
  const audience = settings.oidcAudience ?? "api://AzureADTokenExchange";
  return async () => {
    const url = new URL(oidcRequestUrl as string);
    url.searchParams.set("audience", audience);
    const doFetch = fetchImpl ?? (fetch as unknown as FetchLike);
    const response = await doFetch(url.toString(), {
      headers: { Accept: "application/json", Authorization: `Bearer ${oidcRequestToken as string}` },
    });
    const body = await response.text();
    if (!response.ok) {
      throw new Error(
        `GitHub refused a new OIDC ID token (HTTP ${response.status}) from ACTIONS_ID_TOKEN_REQUEST_URL: ${body}. ` +
          "Does the job have `permissions: id-token: write`?",
      );
    }
    const value = (JSON.parse(body) as { value?: unknown }).value;
    if (typeof value !== "string" || value === "") {
      throw new Error(
        "GitHub answered the OIDC ID token request without a token (no `value` in its answer).",
      );
    }
    return value;
  };
}

/** What `azureCredential` builds from; tests pass a stand-in for the identity module and fetch. */
export interface AzureCredentialDeps {
  readonly identity?: typeof import("@azure/identity");
  readonly fetch?: FetchLike;
  /** Extra options for the credential (tests: a local authority's CA, no instance discovery). */
  readonly credentialOptions?: Record<string, unknown>;
}

/** Build the credential for the chosen method (not memoized: see `providerCredential`). */
export function azureCredential(
  settings: AzureAuthSettings,
  deps: AzureCredentialDeps = {},
): TokenCredential {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const identity = deps.identity ?? (require("@azure/identity") as typeof import("@azure/identity"));
  const options = { authorityHost: settings.cloud.authorityHost, ...deps.credentialOptions };
  const tenantId = settings.tenantId as string;
  const clientId = settings.clientId as string;
  switch (chooseAzureAuthMethod(settings)) {
    case "default":
      return new identity.DefaultAzureCredential({
        ...options,
        ...(settings.tenantId === undefined ? {} : { tenantId }),
      });
    case "clientSecret":
      return new identity.ClientSecretCredential(
        tenantId,
        clientId,
        settings.clientSecret as string,
        options,
      );
    case "oidc":
      return new identity.ClientAssertionCredential(
        tenantId,
        clientId,
        oidcAssertion(settings, deps.fetch),
        options,
      );
    case "msi":
      return new identity.ManagedIdentityCredential(
        settings.clientId === undefined ? { ...options } : { ...options, clientId },
      );
    case "cli":
      return new identity.AzureCliCredential(settings.tenantId === undefined ? {} : { tenantId });
  }
}

const CACHE_KEY = "registry-access.azureCredential";

/**
 * The provider process's one credential for these settings: built on first use, then reused by every ARM call
 * (an `az` subprocess or a token request only when the credential's own cache needs one).
 */
export function providerCredential(
  settings: AzureAuthSettings,
  deps: AzureCredentialDeps = {},
): TokenCredential {
  const store = globalThis as unknown as Record<string, Map<string, TokenCredential> | undefined>;
  const cache = store[CACHE_KEY] ?? new Map<string, TokenCredential>();
  store[CACHE_KEY] = cache;
  const key = JSON.stringify(settings);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const credential = azureCredential(settings, deps);
  cache.set(key, credential);
  return credential;
}

/** A Key Vault's URL in the cloud azure-native deploys to (`azure-native:environment`, then ARM_ENVIRONMENT). */
export function vaultUrlIn(
  vaultName: string,
  environment: string | undefined,
  env: NodeJS.ProcessEnv,
): string {
  const cloud = cloudNamed(environment ?? env.ARM_ENVIRONMENT ?? env.AZURE_ENVIRONMENT);
  return `https://${vaultName}.${cloud.vaultSuffix}`;
}
