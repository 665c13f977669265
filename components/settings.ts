import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { authsKey, isDockerHub } from "./dockerConfig";
import { ESO_API_VERSIONS, EsoApiVersion, parseGoDuration } from "./externalSecretsManifests";
import {
  ACR_NAME,
  ACR_REGISTRY,
  IntegerSpec,
  CONFIG,
  DELIVERY,
  ESO_API_VERSION,
  EXTERNAL_SECRETS,
  KEY_VAULT,
  KEY_VAULT_NAME,
  keysOf,
  MONITORING,
  NAMESPACE,
  NAMESPACE_REGISTRY_OPTIONS,
  OIDC_ISSUER_URL,
  PASSWORD_LIFETIME_DAYS,
  patternOf,
  REFRESH_INTERVAL,
  REPOSITORY,
  ROTATE_AFTER_DAYS,
  ROTATION_SPREAD_DAYS,
  SECRET_NAME,
  SERVER,
  SERVICE_ACCOUNT,
  STATIC_REGISTRY,
  VERIFICATION,
  VERIFICATION_TIMEOUT_SECONDS,
} from "./configSpec";
import { didYouMean, quoted } from "./messages";
import { NAMESPACE_RULE, OBJECT_NAME_RULE, isNamespaceName, isObjectName } from "./names";
import {
  checkRoleConditions,
  readAcrAuth,
  readReadyTimeout,
  readWorkloadIdentity,
  WorkloadIdentitySettings,
} from "./workloadIdentitySettings";

import {
  CONFIG_NAMESPACE,
  locateStackFile,
  passwordsInFile,
  readStackFile,
  StackFileError,
} from "./stackFile";

export { CONFIG_NAMESPACE };

export interface StaticRegistry {
  readonly id: string;
  readonly type: "static";
  /** The server as configured. */
  readonly server: string;
  readonly username: string;
  /** Wrapped in `pulumi.secret` as it is read. */
  readonly password: pulumi.Output<string>;
}

export interface AcrRegistry {
  readonly id: string;
  readonly type: "acr";
  /** The login server, `mycompany.azurecr.io`. */
  readonly server: string;
  readonly resourceGroup: string;
  readonly registryName: string;
  readonly passwordLifetimeDays: number;
  readonly rotateAfterDays: number;
  /** The rotation spread window in days. Set only when configured; see rotationSpreadDaysOf for the default. */
  readonly rotationSpreadDays?: number;
  /** Any new value rotates every token of this registry on the next `pulumi up`. */
  readonly forceRotation?: string;
  /** Set when the registry is pulled through workload identity (no token, no password); absent for a token. */
  readonly auth?: "workloadIdentity";
  /** How a new password is checked before the pull secret uses it. Set only when configured; defaults to pull. */
  readonly verification?: Verification;
  /** How long that check retries, in seconds. Set only when configured; defaults to 120. */
  readonly verificationTimeoutSeconds?: number;
}

export type Verification = (typeof VERIFICATION.enum)[number];

export type Registry = StaticRegistry | AcrRegistry;

export interface NamespaceRegistry {
  readonly registry: Registry;
  /** ACR only: repository names or `prefix/*`. Empty for static registries. */
  readonly repositories: readonly string[];
  /** ACR only: the token's generation, part of its name (acrTokenName). Set only when configured; defaults to 0. */
  readonly tokenGeneration?: number;
}

export interface ServiceAccountSettings {
  readonly name: string;
  /** True: this program creates and owns the account. False: an existing account, patched. */
  readonly create: boolean;
}

/** How the pull secret reaches a namespace. */
export type Delivery = "direct" | "externalSecrets";
export const DELIVERIES: readonly Delivery[] = DELIVERY.enum;

export interface ExternalSecretsSettings {
  /** An existing vault with Azure RBAC authorization. */
  readonly keyVault: { readonly name: string; readonly resourceGroup: string };
  /** The cluster's OIDC issuer, trusted by each namespace's federated identity credential. */
  readonly oidcIssuerUrl: string;
  /** How often ESO reads the vault, as ESO takes it (`1h`). */
  readonly refreshInterval: string;
  readonly apiVersion: EsoApiVersion;
  /** One existing ClusterSecretStore instead of per-namespace identities: less isolated. */
  readonly clusterSecretStore?: string;
  /** Where the per-namespace managed identities live; defaults to the vault's resource group. */
  readonly identityResourceGroup: string;
  /** Azure region of the identities; defaults to the resource group's. */
  readonly location?: string;
  /** How long `up` waits for each ExternalSecret to be Ready. Set only when configured. */
  readonly readyTimeoutSeconds?: number;
}

export interface MonitoringSettings {
  /** Namespace of the PrometheusRule (where the Prometheus operator looks for rules). */
  readonly namespace: string;
  /** Labels the Prometheus `ruleSelector` matches. */
  readonly labels: Readonly<Record<string, string>>;
  /** The repository's web address at a branch: each alert's `runbook_url` starts with it. Defaults to none. */
  readonly runbookBaseUrl?: string;
}

export interface NamespaceSettings {
  readonly name: string;
  readonly delivery: Delivery;
  /** Sorted by registry id, so the docker config and every diff are stable. */
  readonly registries: readonly NamespaceRegistry[];
  readonly serviceAccounts: readonly ServiceAccountSettings[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly extraImagePullSecrets: readonly string[];
}

export interface Settings {
  readonly secretName: string;
  readonly registries: Readonly<Record<string, Registry>>;
  readonly namespaces: readonly NamespaceSettings[];
  /** Present when any namespace is delivered through External Secrets Operator. */
  readonly externalSecrets?: ExternalSecretsSettings;
  /** Present when monitoring is enabled. */
  readonly monitoring?: MonitoringSettings;
  /** Present when a namespace pulls from an ACR registry with auth workloadIdentity. */
  readonly workloadIdentity?: WorkloadIdentitySettings;
}

/**
 * Every problem in a stack's configuration, one line each, with its path. A RunError: Pulumi prints its message
 * alone, without the unhandled-exception stack trace (checked for real by test/e2e, scenario 7).
 */
export class SettingsError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in the registry-access configuration:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "SettingsError";
  }
}

const KNOWN_KEYS = keysOf(CONFIG);

type Raw = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return typeof value === "string" ? quoted(value) : JSON.stringify(value);
}

function isMap(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A config key that does not need quoting in a `--path` expression is shown bare; others in brackets. */
function child(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${path}.${key}` : `${path}[${quoted(key)}]`;
}

/** What `pulumi config set --path <path> '{}'` stores: a string, taken as an empty map wherever one belongs. */
const EMPTY_MAP_TEXT = "{}";

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  unknownKeys(path: string, value: Raw, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.add(
          child(path, key),
          allowed.length
            ? `unknown key; ${didYouMean(key, allowed)}allowed here: ${allowed.join(", ")}`
            : "unknown key; this takes no options: use {}",
        );
      }
    }
  }
  /**
   * A map; also the text `{}`, which is what `pulumi config set --path '<path>' '{}'` stores (the CLI has no way
   * to set an empty map), taken as the empty map it means.
   */
  map(path: string, value: unknown): Raw | undefined {
    if (isMap(value)) return value;
    if (value === EMPTY_MAP_TEXT) return {};
    this.add(path, `expected a map, got ${describe(value)}`);
    return undefined;
  }
  string(path: string, value: unknown, what: string): string | undefined {
    if (typeof value === "string" && value.trim() !== "") return value;
    this.add(path, value === undefined ? `missing; set ${what}` : `expected ${what}, got ${describe(value)}`);
    return undefined;
  }
  /** A number of days within the spec's range, its default when unset. */
  days(path: string, value: unknown, spec: IntegerSpec): number | undefined {
    const { minimum: min, maximum: max } = spec;
    const days = value ?? spec.default;
    if (typeof days === "number" && Number.isInteger(days) && days >= min && days <= max) return days;
    this.add(path, `expected a whole number of days from ${min} to ${max}, got ${describe(days)}`);
    return undefined;
  }
  stringMap(path: string, value: unknown): Record<string, string> {
    if (value === undefined) return {};
    const map = this.map(path, value);
    const out: [string, string][] = [];
    for (const [k, v] of Object.entries(map ?? {})) {
      if (typeof v === "string") out.push([k, v]);
      else this.add(child(path, k), `expected a string, got ${describe(v)}`);
    }
    // fromEntries defines own properties: a key such as __proto__ stays a key, never a prototype.
    return Object.fromEntries(out);
  }
}

const SERVER_PATTERN = patternOf(SERVER);
const SERVER_RULE =
  "use a host name with an optional port (ghcr.io, registry.example.com:5000), no scheme or path";

function readServer(problems: Problems, path: string, value: unknown): string | undefined {
  const server = problems.string(path, value, "the registry's host name");
  if (server === undefined) return undefined;
  if (isDockerHub(server) || SERVER_PATTERN.test(server)) return server;
  problems.add(path, `${quoted(server)} is not a registry server: ${SERVER_RULE}`);
  return undefined;
}

/** A credential: wrapped in `pulumi.secret` right here, and never quoted in an error. */
function readCredential(
  problems: Problems,
  path: string,
  value: unknown,
  plainTextIn?: string,
): pulumi.Output<string> | undefined {
  const command = `pulumi config set --secret --path '${path}' <value>`;
  if (plainTextIn !== undefined) {
    problems.add(
      path,
      `written in plain text in ${plainTextIn}, where git keeps it; encrypt it with \`${command}\`` +
        ` (if ${plainTextIn} was committed with it, change the password at the registry too)`,
    );
  } else if (value === undefined) {
    problems.add(path, `missing; set it with \`${command}\``);
  } else if (typeof value !== "string") {
    problems.add(path, `expected a string (not shown); set it with \`${command}\``);
  } else if (value === "") {
    problems.add(path, `empty; set it with \`${command}\``);
  } else {
    return pulumi.secret(value);
  }
  return undefined;
}

/** Under `registries`, a string where a map belongs may be a credential set at the wrong path: never quote it. */
function registryMap(problems: Problems, path: string, value: unknown): Raw | undefined {
  if (typeof value === "string") {
    problems.add(
      path,
      "expected a map, got a string (not shown: it may be a credential set at the wrong path)",
    );
    return undefined;
  }
  return problems.map(path, value);
}

function readRegistry(
  problems: Problems,
  path: string,
  id: string,
  value: unknown,
  options: ParseOptions,
): Registry | undefined {
  const raw = registryMap(problems, path, value);
  if (!raw) return undefined;
  const type = raw.type;
  if (type === "static") {
    problems.unknownKeys(path, raw, keysOf(STATIC_REGISTRY));
    const server = readServer(problems, `${path}.server`, raw.server);
    const username = problems.string(`${path}.username`, raw.username, "the user name to log in with");
    const plain = options.plainTextPasswords;
    const password = readCredential(
      problems,
      `${path}.password`,
      raw.password,
      plain?.ids.includes(id) ? plain.file : undefined,
    );
    if (server === undefined || username === undefined || password === undefined) return undefined;
    return { id, type, server, username, password };
  }
  if (type === "acr") {
    return readAcrRegistry(problems, path, id, raw);
  }
  problems.add(
    `${path}.type`,
    type === undefined
      ? "missing; set the registry type: static or acr"
      : `unknown registry type ${describe(type)}; use static or acr`,
  );
  return undefined;
}

const ACR_NAME_PATTERN = patternOf(ACR_NAME);

function readAcrRegistry(problems: Problems, path: string, id: string, raw: Raw): AcrRegistry | undefined {
  problems.unknownKeys(path, raw, keysOf(ACR_REGISTRY));
  const auth = readAcrAuth((p, m) => problems.add(p, m), path, raw);
  const server = readServer(problems, `${path}.server`, raw.server);
  const resourceGroup = problems.string(
    `${path}.resourceGroup`,
    raw.resourceGroup,
    "the resource group of the registry",
  );
  let registryName: string | undefined;
  if (raw.registryName !== undefined) {
    registryName = problems.string(`${path}.registryName`, raw.registryName, "the registry's resource name");
  } else if (server !== undefined) {
    registryName = server.split(".")[0];
  }
  if (registryName !== undefined && !ACR_NAME_PATTERN.test(registryName)) {
    problems.add(
      raw.registryName !== undefined ? `${path}.registryName` : `${path}.server`,
      `${quoted(registryName)} is not an ACR registry name: 5 to 50 letters and digits` +
        (raw.registryName === undefined ? "; set registryName explicitly" : ""),
    );
    registryName = undefined;
  }
  const passwordLifetimeDays = problems.days(
    `${path}.passwordLifetimeDays`,
    raw.passwordLifetimeDays,
    PASSWORD_LIFETIME_DAYS,
  );
  const rotateAfterDays = problems.days(`${path}.rotateAfterDays`, raw.rotateAfterDays, ROTATE_AFTER_DAYS);
  if (
    passwordLifetimeDays !== undefined &&
    rotateAfterDays !== undefined &&
    rotateAfterDays >= passwordLifetimeDays
  ) {
    problems.add(
      `${path}.rotateAfterDays`,
      `${rotateAfterDays} must be less than passwordLifetimeDays (${passwordLifetimeDays}), ` +
        "so that the old password is still valid when the new one takes over",
    );
  }
  let rotationSpreadDays: number | undefined;
  if (raw.rotationSpreadDays !== undefined) {
    rotationSpreadDays = problems.days(
      `${path}.rotationSpreadDays`,
      raw.rotationSpreadDays,
      ROTATION_SPREAD_DAYS,
    );
    if (
      rotationSpreadDays !== undefined &&
      rotateAfterDays !== undefined &&
      rotationSpreadDays * 2 > rotateAfterDays
    ) {
      problems.add(
        `${path}.rotationSpreadDays`,
        `${rotationSpreadDays} is more than half of rotateAfterDays (${rotateAfterDays}): a token's first rotation ` +
          "comes up to rotationSpreadDays early, and no token may rotate twice within one spread; set at most " +
          `${Math.floor(rotateAfterDays / 2)}, or raise rotateAfterDays`,
      );
      rotationSpreadDays = undefined;
    }
  }
  let forceRotation: string | undefined;
  if (raw.forceRotation !== undefined) {
    forceRotation = problems.string(`${path}.forceRotation`, raw.forceRotation, "any new string, a date say");
  }
  const verification = readVerification(problems, path, raw);
  if (
    server === undefined ||
    resourceGroup === undefined ||
    registryName === undefined ||
    verification === undefined ||
    passwordLifetimeDays === undefined ||
    rotateAfterDays === undefined ||
    rotateAfterDays >= passwordLifetimeDays ||
    (raw.rotationSpreadDays !== undefined && rotationSpreadDays === undefined) ||
    auth === undefined
  ) {
    return undefined;
  }
  return {
    id,
    type: "acr",
    server,
    resourceGroup,
    registryName,
    passwordLifetimeDays,
    rotateAfterDays,
    ...(rotationSpreadDays !== undefined ? { rotationSpreadDays } : {}),
    ...(forceRotation !== undefined ? { forceRotation } : {}),
    ...(auth === "workloadIdentity" ? { auth } : {}),
    ...verification,
  };
}

/**
 * The registry's rotation spread window in days: as configured, else 7 (ROTATION_SPREAD_DAYS' default) or half of
 * rotateAfterDays when that is less, so the default always fits.
 */
export function rotationSpreadDaysOf(
  registry: Pick<AcrRegistry, "rotateAfterDays" | "rotationSpreadDays">,
): number {
  return (
    registry.rotationSpreadDays ??
    Math.min(ROTATION_SPREAD_DAYS.default, Math.floor(registry.rotateAfterDays / 2))
  );
}

/** `verification` and `verificationTimeoutSeconds`, each only when set; undefined when either is invalid. */
function readVerification(
  problems: Problems,
  path: string,
  raw: Raw,
): Pick<AcrRegistry, "verification" | "verificationTimeoutSeconds"> | undefined {
  const { verification, verificationTimeoutSeconds: seconds } = raw;
  const modes: readonly unknown[] = VERIFICATION.enum;
  const { minimum: min, maximum: max } = VERIFICATION_TIMEOUT_SECONDS;
  let valid = true;
  if (verification !== undefined && !modes.includes(verification)) {
    problems.add(
      `${path}.verification`,
      `unknown verification ${describe(verification)}; use pull, login or none`,
    );
    valid = false;
  }
  if (
    seconds !== undefined &&
    !(typeof seconds === "number" && Number.isInteger(seconds) && seconds >= min && seconds <= max)
  ) {
    problems.add(
      `${path}.verificationTimeoutSeconds`,
      `expected a whole number of seconds from ${min} to ${max}, got ${describe(seconds)}`,
    );
    valid = false;
  }
  if (!valid) return undefined;
  return {
    ...(verification !== undefined ? { verification: verification as Verification } : {}),
    ...(seconds !== undefined ? { verificationTimeoutSeconds: seconds as number } : {}),
  };
}

/** `tokenGeneration` of a namespace's ACR registry: undefined when unset (or invalid, reported). */
function readTokenGeneration(problems: Problems, path: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const { minimum: min, maximum: max } = NAMESPACE_REGISTRY_OPTIONS.properties.tokenGeneration;
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
  problems.add(
    path,
    `expected a whole number from ${min} to ${max}, got ${describe(value)}; ` +
      "raise it by one to replace this namespace's token",
  );
  return undefined;
}

const REPOSITORY_PATTERN = patternOf(REPOSITORY);

function readRepositories(problems: Problems, path: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.add(
      path,
      value === undefined
        ? "missing; list the repositories this namespace may pull (names, or a prefix ending in /*)"
        : `expected a non-empty list of repository names, got ${describe(value)}`,
    );
    return [];
  }
  const out: string[] = [];
  value.forEach((repo, i) => {
    const at = `${path}[${i}]`;
    if (typeof repo !== "string") {
      problems.add(at, `expected a repository name, got ${describe(repo)}`);
      return;
    }
    const base = repo.endsWith("/*") ? repo.slice(0, -2) : repo;
    if (base.includes("*")) {
      problems.add(at, `${quoted(repo)}: a '*' may only stand as a final '/*' (team-a/*)`);
    } else if (!REPOSITORY_PATTERN.test(repo)) {
      problems.add(
        at,
        `${quoted(repo)} is not an ACR repository name: lowercase letters and digits, ` +
          "with '.', '_' or '-' inside a component and '/' between components",
      );
    } else if (out.includes(repo)) {
      problems.add(at, `${quoted(repo)} is listed twice`);
    } else {
      out.push(repo);
    }
  });
  return out;
}

function readServiceAccounts(problems: Problems, path: string, value: unknown): ServiceAccountSettings[] {
  if (value === undefined) {
    return NAMESPACE.properties.serviceAccounts.default.map((name) => ({ name, create: false }));
  }
  if (!Array.isArray(value)) {
    problems.add(path, `expected a list of service accounts, got ${describe(value)}`);
    return [];
  }
  const out: ServiceAccountSettings[] = [];
  value.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    let name: unknown = entry;
    let create = false;
    if (isMap(entry)) {
      problems.unknownKeys(at, entry, keysOf(SERVICE_ACCOUNT));
      name = entry.name;
      if (entry.create !== undefined && typeof entry.create !== "boolean") {
        problems.add(`${at}.create`, `expected true or false, got ${describe(entry.create)}`);
      }
      create = entry.create === true;
      if (typeof name !== "string") {
        problems.add(
          `${at}.name`,
          name === undefined
            ? "missing; name the account: { name: app-sa, create: true }"
            : `expected a service account name, got ${describe(name)}`,
        );
        return;
      }
    }
    if (typeof name !== "string") {
      problems.add(at, `expected a service account name or { name, create: true }, got ${describe(name)}`);
      return;
    }
    if (!isObjectName(name)) {
      problems.add(at, `${quoted(name)} is not a valid service account name: ${OBJECT_NAME_RULE}`);
    } else if (out.some((sa) => sa.name === name)) {
      problems.add(at, `service account ${quoted(name)} is listed twice`);
    } else if (name === "default" && create) {
      problems.add(
        at,
        'the "default" account is made by Kubernetes in every namespace and is never created here; list it as "default" to patch it',
      );
    } else {
      out.push({ name, create });
    }
  });
  return out;
}

function readExtraSecrets(problems: Problems, path: string, value: unknown, secretName: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add(path, `expected a list of secret names, got ${describe(value)}`);
    return [];
  }
  const out: string[] = [];
  value.forEach((name, i) => {
    const at = `${path}[${i}]`;
    if (typeof name !== "string" || !isObjectName(name)) {
      problems.add(at, `${describe(name)} is not a valid secret name: ${OBJECT_NAME_RULE}`);
    } else if (name === secretName) {
      problems.add(at, `${quoted(name)} is the pull secret this program writes; it is always listed`);
    } else if (out.includes(name)) {
      problems.add(at, `${quoted(name)} is listed twice`);
    } else {
      out.push(name);
    }
  });
  return out;
}

/**
 * How readNamespace reads: a namespace (it must end up with a registry), namespaceDefaults (no name, no
 * registry needed), or a namespace whose namespaceDefaults are broken (no registry needed either).
 */
type NamespaceMode = "namespace" | "defaults" | "inherits";

/**
 * A namespace's registry entry that leaves the registry out: null, or `enabled: false`. Any other `enabled`
 * than true or false is reported, and the entry kept (and checked).
 */
function removed(problems: Problems, path: string, value: unknown): boolean {
  if (value === null) return true;
  if (!isMap(value) || value.enabled === undefined) return false;
  if (typeof value.enabled !== "boolean") {
    problems.add(`${path}.enabled`, `expected true or false, got ${describe(value.enabled)}`);
    return false;
  }
  return !value.enabled;
}

/**
 * `patch` over `base` as a JSON merge patch (RFC 7386): maps merge key by key, the patch winning; anything else
 * in the patch (a list, a string) replaces; null removes the key. The text `{}` counts as an empty map.
 */
export function mergePatch(base: unknown, patch: unknown): unknown {
  const over = patch === EMPTY_MAP_TEXT ? {} : patch;
  if (!isMap(over)) return over;
  // A Map, not an object: a key such as __proto__ stays a key.
  const out = new Map<string, unknown>(Object.entries(isMap(base) ? base : {}));
  for (const [key, value] of Object.entries(over)) {
    if (value === null) out.delete(key);
    else out.set(key, mergePatch(out.get(key), value));
  }
  return Object.fromEntries(out);
}

function readNamespace(
  problems: Problems,
  path: string,
  name: string,
  value: unknown,
  registries: ReadonlyMap<string, Registry>,
  registryTypes: ReadonlyMap<string, unknown>,
  secretName: string,
  defaultDelivery: Delivery,
  mode: NamespaceMode = "namespace",
): NamespaceSettings | undefined {
  if (mode !== "defaults" && !isNamespaceName(name)) {
    problems.add(path, `${quoted(name)} is not a valid namespace name: ${NAMESPACE_RULE}`);
  }
  const raw = problems.map(path, value);
  if (!raw) return undefined;
  problems.unknownKeys(path, raw, keysOf(NAMESPACE));
  const delivery =
    raw.delivery === undefined ? defaultDelivery : readDelivery(problems, `${path}.delivery`, raw.delivery);
  const regPath = `${path}.registries`;
  const regs: NamespaceRegistry[] = [];
  // Only a namespace must end up with a registry; one whose broken namespaceDefaults may have given it one
  // is not told so (the defaults' own problems are).
  const needsRegistry = mode === "namespace";
  if (raw.registries === undefined) {
    if (needsRegistry) {
      problems.add(
        regPath,
        "missing; map at least one registry id to its options ({} for a static registry)",
      );
    }
  } else {
    const regMap = problems.map(regPath, raw.registries);
    const listed = Object.keys(regMap ?? {}).filter(
      (id) => !removed(problems, child(regPath, id), regMap![id]),
    );
    if (regMap && listed.length === 0 && needsRegistry) {
      problems.add(
        regPath,
        "empty; a namespace needs at least one registry (null and enabled: false leave one out)",
      );
    }
    const byKey = new Map<string, string>();
    for (const id of listed.sort()) {
      const at = child(regPath, id);
      if (!registryTypes.has(id)) {
        const known = [...registryTypes.keys()].sort();
        problems.add(
          at,
          `no registry ${quoted(id)} is defined under registries` +
            (known.length ? `; ${didYouMean(id, known)}defined: ${known.join(", ")}` : ""),
        );
        continue;
      }
      const options = problems.map(at, regMap![id]);
      const registry = registries.get(id);
      if (!options) continue;
      let repositories: string[] = [];
      let tokenGeneration: number | undefined;
      const type = registryTypes.get(id);
      if (type !== "acr" && type !== "static") continue; // its own definition is broken and reported
      if (type === "acr") {
        problems.unknownKeys(at, options, keysOf(NAMESPACE_REGISTRY_OPTIONS));
        repositories = readRepositories(problems, `${at}.repositories`, options.repositories);
        tokenGeneration = readTokenGeneration(problems, `${at}.tokenGeneration`, options.tokenGeneration);
      } else if (options.repositories !== undefined) {
        problems.add(
          `${at}.repositories`,
          `registry ${quoted(id)} is static: its credential reaches every repository it can, ` +
            "so repositories apply only to acr registries; remove it",
        );
      } else {
        const others = Object.keys(options).filter((key) => key !== "enabled");
        problems.unknownKeys(at, Object.fromEntries(others.map((key) => [key, options[key]])), []);
      }
      if (!registry) continue; // its own definition is broken and reported
      if (tokenGeneration !== undefined && registry.type === "acr" && registry.auth === "workloadIdentity") {
        problems.add(
          `${at}.tokenGeneration`,
          `registry ${quoted(id)} uses auth workloadIdentity: there is no token to replace; remove tokenGeneration`,
        );
      }
      const key = authsKey(registry.server).toLowerCase();
      const other = byKey.get(key);
      if (other !== undefined) {
        problems.add(
          at,
          `registries ${quoted(other)} and ${quoted(id)} both use the server ${authsKey(registry.server)}; ` +
            "the kubelet would use only one of them, keep one",
        );
        continue;
      }
      byKey.set(key, id);
      regs.push({ registry, repositories, ...(tokenGeneration !== undefined ? { tokenGeneration } : {}) });
    }
  }
  const serviceAccounts = readServiceAccounts(problems, `${path}.serviceAccounts`, raw.serviceAccounts);
  const labels = problems.stringMap(`${path}.labels`, raw.labels);
  const annotations = problems.stringMap(`${path}.annotations`, raw.annotations);
  const extraImagePullSecrets = readExtraSecrets(
    problems,
    `${path}.extraImagePullSecrets`,
    raw.extraImagePullSecrets,
    secretName,
  );
  return {
    name,
    delivery: delivery ?? defaultDelivery,
    registries: regs,
    serviceAccounts,
    labels,
    annotations,
    extraImagePullSecrets,
  };
}

function readDelivery(problems: Problems, path: string, value: unknown): Delivery | undefined {
  if (typeof value === "string" && (DELIVERIES as readonly string[]).includes(value))
    return value as Delivery;
  problems.add(path, `unknown delivery ${describe(value)}; use ${DELIVERIES.join(" or ")}`);
  return undefined;
}

const KEY_VAULT_NAME_PATTERN = patternOf(KEY_VAULT_NAME);
const OIDC_ISSUER_URL_PATTERN = patternOf(OIDC_ISSUER_URL);

function readExternalSecrets(problems: Problems, value: unknown): ExternalSecretsSettings | undefined {
  const path = "externalSecrets";
  const raw = problems.map(path, value);
  if (!raw) return undefined;
  problems.unknownKeys(path, raw, keysOf(EXTERNAL_SECRETS));
  let keyVault: { name: string; resourceGroup: string } | undefined;
  if (raw.keyVault === undefined) {
    problems.add(
      `${path}.keyVault`,
      "missing; set { name, resourceGroup } of an existing vault with Azure RBAC",
    );
  } else {
    const kv = problems.map(`${path}.keyVault`, raw.keyVault);
    if (kv) {
      problems.unknownKeys(`${path}.keyVault`, kv, keysOf(KEY_VAULT));
      const name = problems.string(`${path}.keyVault.name`, kv.name, "the vault's name");
      if (name !== undefined && !KEY_VAULT_NAME_PATTERN.test(name)) {
        problems.add(
          `${path}.keyVault.name`,
          `${quoted(name)} is not a Key Vault name: 3 to 24 letters, digits and single hyphens, starting with a letter`,
        );
      }
      const resourceGroup = problems.string(
        `${path}.keyVault.resourceGroup`,
        kv.resourceGroup,
        "the vault's resource group",
      );
      if (name !== undefined && KEY_VAULT_NAME_PATTERN.test(name) && resourceGroup !== undefined) {
        keyVault = { name, resourceGroup };
      }
    }
  }
  let oidcIssuerUrl: string | undefined;
  if (raw.oidcIssuerUrl === undefined) {
    problems.add(
      `${path}.oidcIssuerUrl`,
      "missing; set the cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
    );
  } else if (typeof raw.oidcIssuerUrl !== "string" || !OIDC_ISSUER_URL_PATTERN.test(raw.oidcIssuerUrl)) {
    problems.add(`${path}.oidcIssuerUrl`, `expected an https:// URL, got ${describe(raw.oidcIssuerUrl)}`);
  } else {
    oidcIssuerUrl = raw.oidcIssuerUrl;
  }
  const refreshInterval = raw.refreshInterval ?? REFRESH_INTERVAL.default;
  const refreshMs = typeof refreshInterval === "string" ? parseGoDuration(refreshInterval) : undefined;
  if (refreshMs === undefined || refreshMs <= 0) {
    problems.add(
      `${path}.refreshInterval`,
      `${describe(refreshInterval)} is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m`,
    );
  }
  const apiVersion = raw.apiVersion ?? ESO_API_VERSION.default;
  if (!(ESO_API_VERSIONS as readonly unknown[]).includes(apiVersion)) {
    problems.add(
      `${path}.apiVersion`,
      `unsupported ${describe(apiVersion)}; use external-secrets.io/v1 for ESO 0.16 or later, or ` +
        `external-secrets.io/v1beta1 for ESO 0.10 to 0.16 (ESO 0.17 no longer serves v1beta1)`,
    );
  }
  let clusterSecretStore: string | undefined;
  if (raw.clusterSecretStore !== undefined) {
    if (typeof raw.clusterSecretStore === "string" && isObjectName(raw.clusterSecretStore)) {
      clusterSecretStore = raw.clusterSecretStore;
    } else {
      problems.add(
        `${path}.clusterSecretStore`,
        `${describe(raw.clusterSecretStore)} is not a valid store name: ${OBJECT_NAME_RULE}`,
      );
    }
  }
  const identityResourceGroup =
    raw.identityResourceGroup === undefined
      ? keyVault?.resourceGroup
      : problems.string(`${path}.identityResourceGroup`, raw.identityResourceGroup, "a resource group");
  const location =
    raw.location === undefined
      ? undefined
      : problems.string(`${path}.location`, raw.location, "an Azure region");
  const readyTimeout = readReadyTimeout(
    (at, message) => problems.add(at, message),
    `${path}.readyTimeoutSeconds`,
    raw.readyTimeoutSeconds,
  );
  if (
    !readyTimeout ||
    !keyVault ||
    !oidcIssuerUrl ||
    refreshMs === undefined ||
    refreshMs <= 0 ||
    !(ESO_API_VERSIONS as readonly unknown[]).includes(apiVersion) ||
    (raw.clusterSecretStore !== undefined && clusterSecretStore === undefined) ||
    identityResourceGroup === undefined ||
    (raw.location !== undefined && location === undefined)
  ) {
    return undefined;
  }
  return {
    keyVault,
    oidcIssuerUrl,
    refreshInterval: refreshInterval as string,
    apiVersion: apiVersion as EsoApiVersion,
    identityResourceGroup,
    ...(clusterSecretStore !== undefined ? { clusterSecretStore } : {}),
    ...(location !== undefined ? { location } : {}),
    ...readyTimeout,
  };
}

/**
 * ESO must pick up a rotated password while the old one is still valid: the overlap of the two slots is
 * `passwordLifetimeDays - rotateAfterDays`. "Well below" here means at most half of it, so ESO gets at least
 * two chances to sync before the old password expires.
 */
function checkRefreshAgainstRotation(
  problems: Problems,
  eso: ExternalSecretsSettings,
  esoNamespaces: readonly NamespaceSettings[],
): void {
  const refreshMs = parseGoDuration(eso.refreshInterval)!;
  const seen = new Set<string>();
  for (const ns of esoNamespaces) {
    for (const { registry } of ns.registries) {
      // A workload-identity registry has no password to pick up: ESO's generator renews its own token.
      if (registry.type !== "acr" || registry.auth !== undefined || seen.has(registry.id)) continue;
      seen.add(registry.id);
      const overlapDays = registry.passwordLifetimeDays - registry.rotateAfterDays;
      if (refreshMs * 2 > overlapDays * 86_400_000) {
        problems.add(
          "externalSecrets.refreshInterval",
          `${quoted(eso.refreshInterval)} is not well below registries.${registry.id}.passwordLifetimeDays - ` +
            `rotateAfterDays (${registry.passwordLifetimeDays} - ${registry.rotateAfterDays} = ${overlapDays} days): ` +
            `ESO must pick up a new password while the old one is valid; use at most half of it (${overlapDays * 12}h)`,
        );
      }
    }
  }
}

function readMonitoring(problems: Problems, value: unknown): MonitoringSettings | undefined {
  const path = "monitoring";
  const raw = problems.map(path, value);
  if (!raw) return undefined;
  problems.unknownKeys(path, raw, keysOf(MONITORING));
  if (raw.enabled !== undefined && typeof raw.enabled !== "boolean") {
    problems.add(`${path}.enabled`, `expected true or false, got ${describe(raw.enabled)}`);
    return undefined;
  }
  const namespace = raw.namespace ?? MONITORING.properties.namespace.default;
  if (typeof namespace !== "string" || !isNamespaceName(namespace)) {
    problems.add(
      `${path}.namespace`,
      `${describe(namespace)} is not a valid namespace name: ${NAMESPACE_RULE}`,
    );
  }
  const labels = problems.stringMap(`${path}.labels`, raw.labels);
  const runbookBaseUrl = raw.runbookBaseUrl;
  const urlOk =
    runbookBaseUrl === undefined ||
    (typeof runbookBaseUrl === "string" &&
      patternOf(MONITORING.properties.runbookBaseUrl).test(runbookBaseUrl));
  if (!urlOk) {
    problems.add(
      `${path}.runbookBaseUrl`,
      `${describe(runbookBaseUrl)} is not an http(s) address without a ?query or #fragment; give the repository's ` +
        `web address at a branch, such as https://github.com/<org>/registry-access/blob/main`,
    );
  }
  if (raw.enabled !== true || typeof namespace !== "string" || !isNamespaceName(namespace) || !urlOk) {
    return undefined;
  }
  return { namespace, labels, ...(typeof runbookBaseUrl === "string" ? { runbookBaseUrl } : {}) };
}

/**
 * `pulumi config set 'registries.hub.password' ...` without `--path` stores a key of that literal name beside
 * `registries`, which nothing reads. Say so, with the commands that undo it and set the value where it belongs.
 */
function pathWithoutPathFlag(key: string): string {
  const secret = /(^|\.)password$/.test(key) ? "--secret " : "";
  return (
    `a key of its own (registry-access:${key}), set without --path, which this program does not read; ` +
    `remove it with \`pulumi config rm '${key}'\` and set it with \`pulumi config set ${secret}--path '${key}' <value>\``
  );
}

export interface ParseOptions {
  /** The stack file's name and the ids of the static registries whose password it holds in plain text. */
  readonly plainTextPasswords?: { readonly file: string; readonly ids: readonly string[] };
}

/**
 * Turn the raw stack config (the `registry-access:` keys, without the prefix, JSON values parsed) into
 * settings. Creates no resources. Throws one SettingsError that lists every problem.
 */
export function parseSettings(raw: Readonly<Record<string, unknown>>, options: ParseOptions = {}): Settings {
  const problems = new Problems();
  for (const key of Object.keys(raw)) {
    if (KNOWN_KEYS.includes(key) || raw[key] === undefined) continue;
    const head = /^([^.[]+)[.[]/.exec(key)?.[1];
    if (head !== undefined && KNOWN_KEYS.includes(head)) {
      problems.add(key, pathWithoutPathFlag(key));
    } else {
      problems.add(
        key,
        `unknown key registry-access:${key}; ${didYouMean(key, KNOWN_KEYS)}known keys: ${KNOWN_KEYS.join(", ")}`,
      );
    }
  }

  let secretName: string = SECRET_NAME.default;
  if (raw.secretName !== undefined) {
    if (typeof raw.secretName === "string" && isObjectName(raw.secretName)) secretName = raw.secretName;
    else
      problems.add(
        "secretName",
        `${describe(raw.secretName)} is not a valid secret name: ${OBJECT_NAME_RULE}`,
      );
  }

  // Maps, not objects: an id such as toString or __proto__ must find nothing it did not define.
  const registries = new Map<string, Registry>();
  const registryTypes = new Map<string, unknown>();
  if (raw.registries === undefined) {
    problems.add("registries", "missing; define at least one registry (see docs/configuration.md)");
  } else {
    const map = registryMap(problems, "registries", raw.registries);
    for (const [id, value] of Object.entries(map ?? {})) {
      registryTypes.set(id, isMap(value) ? value.type : undefined);
      const registry = readRegistry(problems, child("registries", id), id, value, options);
      if (registry) registries.set(id, registry);
    }
  }

  const defaultDelivery =
    raw.delivery === undefined ? "direct" : readDelivery(problems, "delivery", raw.delivery);

  // namespaceDefaults are checked on their own, under their own paths; only valid ones are merged, so that a
  // problem in them is reported once, not once per namespace.
  let defaults: Raw | undefined;
  let defaultsBroken = false;
  if (raw.namespaceDefaults !== undefined) {
    const before = problems.list.length;
    readNamespace(
      problems,
      "namespaceDefaults",
      "",
      raw.namespaceDefaults,
      registries,
      registryTypes,
      secretName,
      defaultDelivery ?? "direct",
      "defaults",
    );
    defaultsBroken = problems.list.length > before;
    if (!defaultsBroken) defaults = problems.map("namespaceDefaults", raw.namespaceDefaults);
  }

  const namespaces: NamespaceSettings[] = [];
  if (raw.namespaces === undefined) {
    problems.add("namespaces", "missing; map each namespace to the registries it may pull from");
  } else {
    const map = problems.map("namespaces", raw.namespaces);
    if (map && Object.keys(map).length === 0) {
      problems.add("namespaces", "empty; map each namespace to the registries it may pull from");
    }
    for (const name of Object.keys(map ?? {}).sort()) {
      const own = map![name];
      const ns = readNamespace(
        problems,
        child("namespaces", name),
        name,
        defaults !== undefined && (isMap(own) || own === EMPTY_MAP_TEXT) ? mergePatch(defaults, own) : own,
        registries,
        registryTypes,
        secretName,
        defaultDelivery ?? "direct",
        defaultsBroken ? "inherits" : "namespace",
      );
      if (ns) namespaces.push(ns);
    }
  }

  const esoNamespaces = namespaces.filter((n) => n.delivery === "externalSecrets");
  let externalSecrets: ExternalSecretsSettings | undefined;
  if (raw.externalSecrets !== undefined) {
    externalSecrets = readExternalSecrets(problems, raw.externalSecrets);
  } else if (esoNamespaces.length > 0) {
    problems.add(
      "externalSecrets",
      `missing; namespaces ${esoNamespaces.map((n) => n.name).join(", ")} use delivery externalSecrets, ` +
        "which needs keyVault { name, resourceGroup } and oidcIssuerUrl",
    );
  }
  if (externalSecrets) checkRefreshAgainstRotation(problems, externalSecrets, esoNamespaces);
  const monitoring = raw.monitoring === undefined ? undefined : readMonitoring(problems, raw.monitoring);
  const workloadIdentityUses = namespaces.flatMap((ns) =>
    ns.registries
      .filter(({ registry }) => registry.type === "acr" && registry.auth === "workloadIdentity")
      .map(({ registry, repositories }) => ({
        namespace: ns.name,
        registryId: registry.id,
        path: `${child(child(child("namespaces", ns.name), "registries"), registry.id)}.repositories`,
        repositories,
      })),
  );
  let workloadIdentity: WorkloadIdentitySettings | undefined;
  if (raw.workloadIdentity !== undefined) {
    workloadIdentity = readWorkloadIdentity((p, m) => problems.add(p, m), raw.workloadIdentity);
  } else if (workloadIdentityUses.length > 0) {
    const ids = [...new Set(workloadIdentityUses.map((u) => u.registryId))];
    const names = [...new Set(workloadIdentityUses.map((u) => u.namespace))];
    problems.add(
      "workloadIdentity",
      `missing; registries ${ids.join(", ")} use auth workloadIdentity (namespaces ${names.join(", ")}), ` +
        "which needs oidcIssuerUrl and identityResourceGroup",
    );
  }
  checkRoleConditions((p, m) => problems.add(p, m), workloadIdentityUses);

  if (problems.list.length > 0) throw new SettingsError(problems.list);
  return {
    secretName,
    registries: Object.fromEntries(registries),
    namespaces,
    ...(externalSecrets && esoNamespaces.length > 0 ? { externalSecrets } : {}),
    ...(monitoring ? { monitoring } : {}),
    ...(workloadIdentity && workloadIdentityUses.length > 0 ? { workloadIdentity } : {}),
  };
}

/** A config value as Pulumi stores it: objects as JSON text, plain strings as they are. */
function decode(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The fallback when the stack file cannot be read: a warning from the engine's secret marking. The engine
 * marks a config key secret when any value in it was set with `--secret`, so a `registries` key that is not
 * secret holds its passwords as written in Pulumi.<stack>.yaml, and so in git. It misses a plain-text password
 * beside one set with `--secret`; the stack file itself tells (see loadSettings).
 */
export function plaintextPasswordWarning(
  settings: Settings,
  registriesKeyIsSecret: boolean,
): string | undefined {
  if (registriesKeyIsSecret) return undefined;
  const ids = Object.values(settings.registries)
    .filter((r) => r.type === "static")
    .map((r) => r.id)
    .sort();
  if (ids.length === 0) return undefined;
  return (
    `the stack file holds ${ids.map((id) => `registries.${id}.password`).join(", ")} in plain text; ` +
    "set each with `pulumi config set --secret --path 'registries.<id>.password' <value>` so that it is encrypted"
  );
}

/** A stack file as the program reads it: its name for messages and its `config:` map. */
export interface StackFileRead {
  readonly name: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** Where the program finds its stack file; undefined when it has none (config from Pulumi ESC, say). */
export type StackFileSource = (stack: string) => StackFileRead | undefined;

/**
 * `Pulumi.<stack>.yaml` beside the project's Pulumi.yaml: the language host gives the project's root directory
 * (PULUMI_NODEJS_ROOT_DIRECTORY); the working directory is the project's too under `pulumi up`.
 */
export const projectStackFile: StackFileSource = (stack) => {
  const file = locateStackFile(stack, [pulumi.runtime.getRootDirectory(), process.cwd()]);
  return file === undefined ? undefined : { name: path.basename(file), config: readStackFile(file).config };
};

let stackFileSource: StackFileSource = projectStackFile;

/** Read the stack file from somewhere else (tests, `npm run plan`); no argument restores the default. */
export function setStackFileSource(source: StackFileSource = projectStackFile): void {
  stackFileSource = source;
}

/**
 * Read the `registry-access:` keys of the running stack and parse them. A static password that the stack file
 * holds in plain text is refused, with the command that encrypts it.
 */
export function loadSettings(): Settings {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = decode(text);
  }
  let file: StackFileRead | undefined;
  try {
    file = stackFileSource(pulumi.getStack());
  } catch (error) {
    if (!(error instanceof StackFileError)) throw error;
    // No registry-access key reached the program: what is wrong with the file (a `configuration:` that Pulumi
    // ignored, say) is the whole story, not `registries: missing`.
    if (Object.keys(raw).length === 0) throw new SettingsError([error.message]);
    pulumi.log.warn(
      `plain-text passwords are checked from the engine's secret marking only: ${error.message}`,
    );
  }
  if (file !== undefined) {
    const passwords = passwordsInFile(file.config);
    const ids = Object.keys(passwords).filter((id) => passwords[id] === "plaintext");
    return parseSettings(raw, { plainTextPasswords: { file: file.name, ids } });
  }
  // No stack file here (Pulumi ESC, an Automation API inline program): today's check from the engine's marking,
  // as a warning, since a value in plain text may come from somewhere other than a file in git.
  const settings = parseSettings(raw);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as {
    isConfigSecret(key: string): boolean;
  };
  const warning = plaintextPasswordWarning(settings, isConfigSecret(`${prefix}registries`));
  if (warning) pulumi.log.warn(warning);
  return settings;
}
