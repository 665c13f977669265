/**
 * The config of ACR's secretless mode (`auth: workloadIdentity` on an ACR registry, and the top-level
 * `workloadIdentity` block), read and checked beside settings.ts, which calls these while it collects its problems.
 * Creates no resources.
 */
import { checkedRepositoryReaderCondition } from "./abacCondition";
import {
  ESO_API_VERSION,
  keysOf,
  OIDC_ISSUER_URL,
  patternOf,
  READY_TIMEOUT_SECONDS,
  WORKLOAD_IDENTITY,
} from "./configSpec";
import { ESO_API_VERSIONS, EsoApiVersion, parseGoDuration } from "./externalSecretsManifests";

export type AcrAuth = "token" | "workloadIdentity";
export const ACR_AUTHS: readonly AcrAuth[] = ["token", "workloadIdentity"];

export interface WorkloadIdentitySettings {
  /** The cluster's OIDC issuer, trusted by each namespace's federated identity credential (exact match). */
  readonly oidcIssuerUrl: string;
  /** Where the per-namespace managed identities go. */
  readonly identityResourceGroup: string;
  /** Azure region of the identities; defaults to the resource group's. */
  readonly location?: string;
  /** How often ESO renews the ACR token, as ESO takes it (`1h`); at most an hour. */
  readonly refreshInterval: string;
  readonly apiVersion: EsoApiVersion;
  /** How long `up` waits for the generated Secret's ExternalSecret to be Ready. Set only when configured. */
  readonly readyTimeoutSeconds?: number;
}

/** ESO's ACR refresh token lives about 3 h: renewing at most hourly leaves two renewals before it expires. */
export const MAX_REFRESH_MS = 3_600_000;

/** Keys of an ACR registry that only a token (a password) uses. */
export const TOKEN_ONLY_KEYS = [
  "passwordLifetimeDays",
  "rotateAfterDays",
  "forceRotation",
  "verification",
  "verificationTimeoutSeconds",
] as const;

/** Adds one problem at a config path (settings.ts's collector). */
export type Report = (path: string, message: string) => void;

/**
 * `readyTimeoutSeconds` of `externalSecrets` or `workloadIdentity`: `{}` when unset, `{ readyTimeoutSeconds }` when
 * valid, undefined (and one problem reported) otherwise.
 */
export function readReadyTimeout(
  report: Report,
  path: string,
  value: unknown,
): { readonly readyTimeoutSeconds?: number } | undefined {
  if (value === undefined) return {};
  const { minimum: min, maximum: max } = READY_TIMEOUT_SECONDS;
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) {
    return { readyTimeoutSeconds: value };
  }
  report(
    path,
    `expected a whole number of seconds from ${min} to ${max}, got ${describe(value)}; ` +
      "a first rollout waits at most ceil(namespaces / --parallel) times this for ESO",
  );
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return JSON.stringify(value);
}

/** An ACR registry's `auth`, `token` when unset; a token-only key beside `workloadIdentity` is a problem. */
export function readAcrAuth(
  report: Report,
  path: string,
  raw: Readonly<Record<string, unknown>>,
): AcrAuth | undefined {
  const auth = raw.auth ?? "token";
  if (!(ACR_AUTHS as readonly unknown[]).includes(auth)) {
    report(`${path}.auth`, `unknown auth ${describe(auth)}; use token or workloadIdentity`);
    return undefined;
  }
  if (auth === "workloadIdentity") {
    for (const key of TOKEN_ONLY_KEYS) {
      if (raw[key] !== undefined) {
        report(
          `${path}.${key}`,
          "applies to auth token only (a workload identity has no password to rotate); remove it",
        );
      }
    }
  }
  return auth as AcrAuth;
}

const OIDC_ISSUER_URL_PATTERN = patternOf(OIDC_ISSUER_URL);

function requiredText(report: Report, path: string, value: unknown, what: string): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value;
  report(path, value === undefined ? `missing; set ${what}` : `expected ${what}, got ${describe(value)}`);
  return undefined;
}

/** The `workloadIdentity` block, every problem reported. */
export function readWorkloadIdentity(reportTo: Report, value: unknown): WorkloadIdentitySettings | undefined {
  const path = "workloadIdentity";
  let reported = 0;
  const report: Report = (p, m) => {
    reported++;
    reportTo(p, m);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    report(path, `expected a map, got ${describe(value)}`);
    return undefined;
  }
  const raw = value as Record<string, unknown>;
  const allowed = keysOf(WORKLOAD_IDENTITY);
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) report(`${path}.${key}`, `unknown key; allowed here: ${allowed.join(", ")}`);
  }
  let oidcIssuerUrl: string | undefined;
  if (raw.oidcIssuerUrl === undefined) {
    report(
      `${path}.oidcIssuerUrl`,
      "missing; set the cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
    );
  } else if (typeof raw.oidcIssuerUrl !== "string" || !OIDC_ISSUER_URL_PATTERN.test(raw.oidcIssuerUrl)) {
    report(`${path}.oidcIssuerUrl`, `expected an https:// URL, got ${describe(raw.oidcIssuerUrl)}`);
  } else {
    oidcIssuerUrl = raw.oidcIssuerUrl;
  }
  const identityResourceGroup = requiredText(
    report,
    `${path}.identityResourceGroup`,
    raw.identityResourceGroup,
    "the resource group where the per-namespace managed identities go",
  );
  const location =
    raw.location === undefined
      ? undefined
      : requiredText(report, `${path}.location`, raw.location, "an Azure region");
  const refreshInterval = raw.refreshInterval ?? WORKLOAD_IDENTITY.properties.refreshInterval.default;
  const refreshMs = typeof refreshInterval === "string" ? parseGoDuration(refreshInterval) : undefined;
  if (refreshMs === undefined || refreshMs <= 0) {
    report(
      `${path}.refreshInterval`,
      `${describe(refreshInterval)} is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m`,
    );
  } else if (refreshMs > MAX_REFRESH_MS) {
    report(
      `${path}.refreshInterval`,
      `${describe(refreshInterval)} is over 1h: the ACR token ESO generates lives about 3 h, so renew it at ` +
        "least hourly (1h or less)",
    );
  }
  const apiVersion = raw.apiVersion ?? ESO_API_VERSION.default;
  const apiVersionOk = (ESO_API_VERSIONS as readonly unknown[]).includes(apiVersion);
  if (!apiVersionOk) {
    report(
      `${path}.apiVersion`,
      `unsupported ${describe(apiVersion)}; use external-secrets.io/v1 for ESO 0.16 or later, or ` +
        "external-secrets.io/v1beta1 for ESO 0.10 to 0.16 (generators need ESO 0.10 or later)",
    );
  }
  const readyTimeout = readReadyTimeout(report, `${path}.readyTimeoutSeconds`, raw.readyTimeoutSeconds);
  if (reported > 0) return undefined;
  return {
    ...readyTimeout,
    oidcIssuerUrl: oidcIssuerUrl!,
    identityResourceGroup: identityResourceGroup!,
    ...(location !== undefined ? { location } : {}),
    refreshInterval: refreshInterval as string,
    apiVersion: apiVersion as EsoApiVersion,
  };
}

/** A namespace's use of one workload-identity registry, as far as the check needs it. */
export interface WorkloadIdentityUse {
  readonly namespace: string;
  readonly registryId: string;
  /** The config path of the namespace's repositories for that registry. */
  readonly path: string;
  readonly repositories: readonly string[];
}

/** Each namespace's role condition must fit Azure's 8 KB. */
export function checkRoleConditions(report: Report, uses: readonly WorkloadIdentityUse[]): void {
  for (const use of uses) {
    if (use.repositories.length === 0) continue;
    const checked = checkedRepositoryReaderCondition(use.path, use.repositories);
    if (checked.problem !== undefined) {
      report(use.path, checked.problem.slice(use.path.length + 2));
    }
  }
}
