/**
 * What the stack config may hold, declared once: every `registry-access:` key with its type, description,
 * default, allowed values, pattern or range. settings.ts validates against these declarations (allowed keys,
 * defaults, ranges, enums, patterns) and writes its own messages; tools/schema.ts turns them into the JSON
 * Schema editors use (schema/stack-config.schema.json). What a schema cannot say (a namespace may only name
 * registries defined under `registries`, `rotateAfterDays` < `passwordLifetimeDays`, one server per namespace)
 * is checked by settings.ts alone.
 */
import { ESO_API_VERSIONS } from "./externalSecretsManifests";

interface Described {
  /** Shown by editors on hover and in docs/configuration.md (npm run docs). */
  readonly description: string;
}

export interface StringSpec extends Described {
  readonly kind: "string";
  readonly default?: string;
  readonly enum?: readonly string[];
  /** An ECMAScript regular expression (what JSON Schema's `pattern` is), matched with the `u` flag. */
  readonly pattern?: string;
  readonly maxLength?: number;
  /** Other spellings also accepted: Docker Hub's names, matched without regard to case. */
  readonly aliases?: readonly string[];
}

/** A credential: in the stack file only ever `{ secure: ... }`, as `pulumi config set --secret` writes it. */
export interface SecretSpec extends Described {
  readonly kind: "secret";
}

export interface IntegerSpec extends Described {
  readonly kind: "integer";
  readonly minimum: number;
  readonly maximum: number;
  readonly default?: number;
}

export interface BooleanSpec extends Described {
  readonly kind: "boolean";
  readonly default?: boolean;
}

export interface ObjectSpec extends Described {
  readonly kind: "object";
  readonly properties: Readonly<Record<string, Spec>>;
  readonly required?: readonly string[];
}

/** A map with keys of the user's choosing: registry ids, namespace names, labels. */
export interface MapSpec extends Described {
  readonly kind: "map";
  readonly keys?: StringSpec;
  readonly values: Spec;
  readonly minProperties?: number;
}

export interface ListSpec extends Described {
  readonly kind: "list";
  readonly items: Spec;
  readonly minItems?: number;
  readonly unique?: boolean;
  readonly default?: readonly unknown[];
}

/** `null` (YAML `~` or `null`): in a namespace, removes what namespaceDefaults gives under that key. */
export interface NullSpec extends Described {
  readonly kind: "null";
}

/** One of several objects, told apart by the value of the `type` key. */
export interface TaggedSpec extends Described {
  readonly kind: "tagged";
  readonly variants: Readonly<Record<string, ObjectSpec>>;
}

/** A value of one of several shapes: a name, or `{ name, create }`. */
export interface EitherSpec extends Described {
  readonly kind: "either";
  readonly variants: readonly Spec[];
}

export type Spec =
  | StringSpec
  | SecretSpec
  | IntegerSpec
  | BooleanSpec
  | ObjectSpec
  | MapSpec
  | ListSpec
  | TaggedSpec
  | EitherSpec
  | NullSpec;

/** The allowed keys of an object spec, in declaration order. */
export function keysOf(spec: ObjectSpec): string[] {
  return Object.keys(spec.properties);
}

/** A spec pattern as a RegExp, compiled as JSON Schema validators compile it. */
export function patternOf(spec: StringSpec): RegExp {
  if (spec.pattern === undefined) throw new Error("no pattern");
  return new RegExp(spec.pattern, "u");
}

/** Kubernetes DNS-1123 label: namespace names (at most 63 characters). */
const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** Kubernetes DNS-1123 subdomain: secret and service account names (at most 253 characters). */
const DNS1123_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

const objectName = (description: string) =>
  ({ kind: "string", pattern: DNS1123_SUBDOMAIN, maxLength: 253, description }) as const satisfies StringSpec;

const text = (description: string): StringSpec => ({ kind: "string", pattern: "\\S", description });

export const NAMESPACE_NAME = {
  kind: "string",
  pattern: DNS1123_LABEL,
  maxLength: 63,
  description: "A Kubernetes namespace name: lowercase letters, digits and '-', at most 63 characters.",
} as const satisfies StringSpec;

export const SERVER = {
  kind: "string",
  /** `host`, `host:port`, lowercase DNS labels or an IPv4 address. */
  pattern: "^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?)(?:\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(?::[0-9]{1,5})?$",
  aliases: [
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "https://index.docker.io/v1/",
    "https://index.docker.io/v1",
  ],
  description:
    "Host with an optional port: docker.io, gcr.io, ghcr.io, registry.example.com:5000. docker.io, " +
    "index.docker.io and https://index.docker.io/v1/ all mean Docker Hub, written under its canonical key " +
    "https://index.docker.io/v1/.",
} as const satisfies StringSpec;

export const STATIC_REGISTRY = {
  kind: "object",
  description: "A registry with a user name and password: Docker Hub, GCR, GHCR or any other.",
  properties: {
    type: { kind: "string", enum: ["static"], description: "static: a user name and a password." },
    server: SERVER,
    username: text("The user to log in as (_json_key for a GCR JSON key)."),
    password: {
      kind: "secret",
      description:
        "A secret: set it with `pulumi config set --secret --path 'registries.<id>.password' <value>`, " +
        "never in plain text.",
    },
  },
  required: ["type", "server", "username"],
} as const satisfies ObjectSpec;

export const ACR_NAME = {
  kind: "string",
  pattern: "^[a-zA-Z0-9]{5,50}$",
  description:
    "The registry's resource name (5 to 50 letters and digits). Defaults to the first label of server.",
} as const satisfies StringSpec;

export const PASSWORD_LIFETIME_DAYS = {
  kind: "integer",
  minimum: 2,
  maximum: 3650,
  default: 90,
  description: "Every generated password expires after this many days.",
} as const satisfies IntegerSpec;

export const ROTATE_AFTER_DAYS = {
  kind: "integer",
  minimum: 1,
  maximum: 3649,
  default: 60,
  description:
    "The next `pulumi up` after this age rotates to the other password slot; must be less than " +
    "passwordLifetimeDays.",
} as const satisfies IntegerSpec;

export const ROTATION_SPREAD_DAYS = {
  kind: "integer",
  minimum: 0,
  maximum: 1824,
  default: 7,
  description:
    "Spreads this registry's token rotations over this many days before rotateAfterDays: each token draws a " +
    "stable random offset (kept in the state), so tokens created the same day do not all rotate in the same " +
    "`pulumi up`. At most half of rotateAfterDays; the default 7 is lowered to that. 0 turns the spread off.",
} as const satisfies IntegerSpec;

export const VERIFICATION = {
  kind: "string",
  enum: ["pull", "login", "none"],
  default: "pull",
  description:
    "How a new token password is checked from the machine that runs `pulumi up` before the pull secret uses it: " +
    "pull (the registry grants a pull of the first listed repository), login (the registry's /v2/ login and " +
    "token exchange succeed), or none (not checked; every preview warns). The check runs from the deploying " +
    "machine, not from the cluster's nodes.",
} as const satisfies StringSpec;

export const VERIFICATION_TIMEOUT_SECONDS = {
  kind: "integer",
  minimum: 10,
  maximum: 1800,
  default: 120,
  description:
    "How long the check of a new token password keeps retrying while the registry does not accept it yet " +
    "(ACR can take a minute or more to accept a new password or scope map).",
} as const satisfies IntegerSpec;

export const ACR_REGISTRY = {
  kind: "object",
  description: "An Azure Container Registry: no credential to set, each namespace gets its own token.",
  properties: {
    type: {
      kind: "string",
      enum: ["acr"],
      description: "acr: Azure Container Registry, a token per namespace.",
    },
    server: { ...SERVER, description: "The login server, mycompany.azurecr.io." },
    resourceGroup: text("The registry's resource group."),
    registryName: ACR_NAME,
    passwordLifetimeDays: PASSWORD_LIFETIME_DAYS,
    rotateAfterDays: ROTATE_AFTER_DAYS,
    rotationSpreadDays: ROTATION_SPREAD_DAYS,
    forceRotation: text("Any new value rotates every token of this registry on the next `pulumi up`."),
    auth: {
      kind: "string",
      enum: ["token", "workloadIdentity"],
      default: "token",
      description:
        "token: a token and password per namespace, rotated by the program. workloadIdentity: no password; " +
        "per namespace a managed identity with a Repository Reader role on its repositories, and ESO's " +
        "ACRAccessToken generator (needs registry-access:workloadIdentity and the registry in ABAC mode).",
    },
    verification: VERIFICATION,
    verificationTimeoutSeconds: VERIFICATION_TIMEOUT_SECONDS,
  },
  required: ["type", "server", "resourceGroup"],
} as const satisfies ObjectSpec;

export const REGISTRIES = {
  kind: "map",
  description: "Map from a registry id to its definition.",
  values: {
    kind: "tagged",
    description: "A registry: type static (user name and password) or acr (Azure Container Registry).",
    variants: { static: STATIC_REGISTRY, acr: ACR_REGISTRY },
  },
} as const satisfies MapSpec;

/** ACR repository names: lowercase path components joined by `/`, each of `[a-z0-9]` with `.`, `_`, `-` inside. */
const REPOSITORY_PATH = "[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*";

export const REPOSITORY = {
  kind: "string",
  pattern: `^${REPOSITORY_PATH}(?:/\\*)?$`,
  description: "A repository name (webapp, team-a/api) or a prefix ending in /* (team-a/*).",
} as const satisfies StringSpec;

export const NAMESPACE_REGISTRY_OPTIONS = {
  kind: "object",
  description: "{} for a static registry; { repositories: [...] } for an ACR registry.",
  properties: {
    repositories: {
      kind: "list",
      items: REPOSITORY,
      minItems: 1,
      unique: true,
      description:
        "ACR only, required: the repositories this namespace may pull, names or a prefix ending in /*. " +
        "Lowercase, ACR's repository rules.",
    },
    tokenGeneration: {
      kind: "integer",
      minimum: 0,
      maximum: 999,
      default: 0,
      description:
        "ACR with auth token only: a new value replaces this namespace's token with one named <name>-g<n>, " +
        "created and checked beside the old one, which is deleted only after the pull secret uses the new one. " +
        "0 is the name tokens always had.",
    },
    enabled: {
      kind: "boolean",
      default: true,
      description:
        "false: leave this registry out (one namespaceDefaults gives). true changes nothing: " +
        "`pulumi config set --path 'namespaces.<ns>.registries.<id>.enabled' true` adds a static registry.",
    },
  },
} as const satisfies ObjectSpec;

export const DELIVERY = {
  kind: "string",
  enum: ["direct", "externalSecrets"],
  default: "direct",
  description:
    "How the pull secret reaches a namespace: direct (written by the program) or externalSecrets " +
    "(Azure Key Vault and External Secrets Operator).",
} as const satisfies StringSpec;

export const SERVICE_ACCOUNT = {
  kind: "object",
  description: "An account this program creates and owns.",
  properties: {
    name: objectName("The service account's name."),
    create: {
      kind: "boolean",
      default: false,
      description: "true: this program creates and owns the account.",
    },
  },
  required: ["name"],
} as const satisfies ObjectSpec;

/** Removes what namespaceDefaults gives under this key. */
const REMOVED = {
  kind: "null",
  description: "null: leave out what namespaceDefaults gives here.",
} as const satisfies NullSpec;

export const NAMESPACE = {
  kind: "object",
  description: "A namespace's settings, over namespaceDefaults.",
  properties: {
    registries: {
      kind: "map",
      minProperties: 1,
      values: {
        kind: "either",
        description: "Per-namespace options of a registry, or null to leave out one namespaceDefaults gives.",
        variants: [NAMESPACE_REGISTRY_OPTIONS, REMOVED],
      },
      description:
        "Map from registry id to per-namespace options: {} for a static registry, { repositories: [...] } " +
        "for ACR. Required, with namespaceDefaults.registries: at least one registry in all.",
    },
    serviceAccounts: {
      kind: "list",
      default: ["default"],
      items: {
        kind: "either",
        description:
          "A name (an existing account: the stack's pull secrets are added to its list) or { name, create: true }.",
        variants: [
          objectName(
            "An existing service account: the stack's pull secrets are added to its list, others stay.",
          ),
          SERVICE_ACCOUNT,
        ],
      },
      description:
        "Each entry is a name (an existing account: the stack's pull secrets are added, others stay) or { name, create: true } (an account this program " +
        "creates and owns). default is never created.",
    },
    labels: {
      kind: "map",
      values: {
        kind: "either",
        description: "A label value, or null to leave out one namespaceDefaults gives.",
        variants: [{ kind: "string", description: "A label value." }, REMOVED],
      },
      description: "Labels put on the namespace object.",
    },
    annotations: {
      kind: "map",
      values: {
        kind: "either",
        description: "An annotation value, or null to leave out one namespaceDefaults gives.",
        variants: [{ kind: "string", description: "An annotation value." }, REMOVED],
      },
      description: "Annotations put on the namespace object.",
    },
    extraImagePullSecrets: {
      kind: "list",
      unique: true,
      items: objectName("The name of another pull secret."),
      description: "Other pull secrets every wired service account lists too.",
    },
    delivery: {
      ...DELIVERY,
      default: undefined,
      description: `${DELIVERY.description} Defaults to registry-access:delivery.`,
    },
  },
} as const satisfies ObjectSpec;

/**
 * What every namespace inherits. A namespace's own settings go over it as a JSON merge patch (RFC 7386): maps
 * (registries, labels, annotations, a registry's options) merge key by key, the namespace's value winning;
 * lists (serviceAccounts, extraImagePullSecrets, repositories) and single values (delivery) replace; null
 * removes an inherited key, and `enabled: false` an inherited registry.
 */
export const NAMESPACE_DEFAULTS = {
  ...NAMESPACE,
  description:
    "What every namespace inherits: maps (registries, labels, annotations) merge key by key with the " +
    "namespace's winning, lists and delivery replace, null or enabled: false removes an inherited entry.",
  properties: {
    ...NAMESPACE.properties,
    delivery: {
      ...DELIVERY,
      default: undefined,
      description: `${DELIVERY.description} Defaults to registry-access:delivery.`,
    },
  },
} as const satisfies ObjectSpec;

export const NAMESPACES = {
  kind: "map",
  minProperties: 1,
  keys: NAMESPACE_NAME,
  values: NAMESPACE,
  description: "Map from namespace name to its settings.",
} as const satisfies MapSpec;

export const KEY_VAULT_NAME = {
  kind: "string",
  pattern: "^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$",
  description: "The vault's name: 3 to 24 letters, digits and single hyphens, starting with a letter.",
} as const satisfies StringSpec;

export const REFRESH_INTERVAL = {
  kind: "string",
  default: "1h",
  pattern: "^\\+?(?:(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$",
  description:
    "How often ESO reads the vault: a positive Go duration such as 1h, 30m or 1h30m, at most half of " +
    "passwordLifetimeDays - rotateAfterDays of every ACR registry an ESO namespace uses.",
} as const satisfies StringSpec;

export const ESO_API_VERSION = {
  kind: "string",
  enum: ESO_API_VERSIONS,
  default: "external-secrets.io/v1",
  description:
    "external-secrets.io/v1 for ESO 0.16 or later; external-secrets.io/v1beta1 for ESO 0.10 to 0.16.",
} as const satisfies StringSpec;

export const OIDC_ISSUER_URL = {
  kind: "string",
  pattern: "^https://[^\\s/]+(/\\S*)?$",
  description: "The cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl).",
} as const satisfies StringSpec;

export const READY_TIMEOUT_SECONDS = {
  kind: "integer",
  minimum: 60,
  maximum: 3600,
  default: 1800,
  description:
    "How long `pulumi up` waits for each ExternalSecret to be Ready, holding one of the engine's --parallel " +
    "slots meanwhile: the ESO waits of a first rollout of N namespaces take at most ceil(N / parallel) times this " +
    "(docs/external-secrets.md). The default leaves room for Azure's 10 minutes of RBAC propagation and ESO's " +
    "growing retry back-off.",
} as const satisfies IntegerSpec;

export const KEY_VAULT = {
  kind: "object",
  description: "An existing vault with Azure RBAC authorization.",
  properties: {
    name: KEY_VAULT_NAME,
    resourceGroup: text("The vault's resource group."),
  },
  required: ["name", "resourceGroup"],
} as const satisfies ObjectSpec;

export const EXTERNAL_SECRETS = {
  kind: "object",
  description: "Azure Key Vault and External Secrets Operator, for namespaces with delivery externalSecrets.",
  properties: {
    keyVault: KEY_VAULT,
    oidcIssuerUrl: OIDC_ISSUER_URL,
    refreshInterval: REFRESH_INTERVAL,
    apiVersion: ESO_API_VERSION,
    clusterSecretStore: objectName(
      "One existing ClusterSecretStore instead of per-namespace identities: simpler, less isolated.",
    ),
    identityResourceGroup: text(
      "Where the per-namespace managed identities go. Defaults to the vault's resource group.",
    ),
    location: text("The identities' Azure region. Defaults to the resource group's."),
    readyTimeoutSeconds: READY_TIMEOUT_SECONDS,
  },
  required: ["keyVault", "oidcIssuerUrl"],
} as const satisfies ObjectSpec;

export const WORKLOAD_IDENTITY = {
  kind: "object",
  description:
    "For ACR registries with auth workloadIdentity: where the per-namespace identities go and how ESO " +
    "renews the short-lived tokens.",
  properties: {
    oidcIssuerUrl: OIDC_ISSUER_URL,
    identityResourceGroup: text("Where the per-namespace managed identities go."),
    location: text("The identities' Azure region. Defaults to the resource group's."),
    refreshInterval: {
      ...REFRESH_INTERVAL,
      description:
        "How often ESO renews each namespace's ACR token (about 3 h long): a positive Go duration, at most 1h.",
    },
    apiVersion: ESO_API_VERSION,
    readyTimeoutSeconds: READY_TIMEOUT_SECONDS,
  },
  required: ["oidcIssuerUrl", "identityResourceGroup"],
} as const satisfies ObjectSpec;

export const MONITORING = {
  kind: "object",
  description: "Alerts on failed pulls: one PrometheusRule for the stack's namespaces.",
  properties: {
    enabled: { kind: "boolean", default: false, description: "true: declare the PrometheusRule." },
    namespace: {
      ...NAMESPACE_NAME,
      default: "monitoring",
      description: "Where the PrometheusRule goes (where the Prometheus operator looks for rules).",
    },
    labels: {
      kind: "map",
      values: { kind: "string", description: "A label value." },
      description: "Labels your Prometheus's ruleSelector matches.",
    },
    runbookBaseUrl: {
      kind: "string",
      pattern: "^https?://[^\\s?#/]+(?:/[^\\s?#]*)?$",
      description:
        "The repository's web address at a branch (https://github.com/<org>/registry-access/blob/main): each " +
        "alert then also carries runbook_url <runbookBaseUrl>/docs/runbooks/<AlertName>.md. Defaults to none: " +
        "only the relative runbook annotation.",
    },
  },
} as const satisfies ObjectSpec;

export const SECRET_NAME = {
  ...objectName("The name of the pull secret in every namespace."),
  default: "regcred",
} as const satisfies StringSpec;

/** Every key under `registry-access:`, as `Pulumi.<stack>.yaml` spells it without the prefix. */
export const CONFIG = {
  kind: "object",
  description: "The registry-access keys of a stack.",
  properties: {
    registries: REGISTRIES,
    namespaces: NAMESPACES,
    namespaceDefaults: NAMESPACE_DEFAULTS,
    secretName: SECRET_NAME,
    delivery: { ...DELIVERY, description: `${DELIVERY.description} The default of every namespace.` },
    externalSecrets: EXTERNAL_SECRETS,
    workloadIdentity: WORKLOAD_IDENTITY,
    monitoring: MONITORING,
  },
  required: ["registries", "namespaces"],
} as const satisfies ObjectSpec;
