/**
 * `npm run verify` for a namespace's workload-identity registries: the Secret ESO generates from ACR tokens must
 * exist, be a dockerconfigjson, hold each registry, and its tokens must not have expired. A token is a JWT: only
 * its claims are decoded, for `exp`; no token, claim value other than the expiry, or password is ever printed.
 */
import {
  ACR_TOKEN_USER,
  AuthEntry,
  decodeSecretConfig,
  DOCKER_CONFIG_SECRET_TYPE,
  ExpectedNamespace,
  Finding,
  LoginRequest,
  loginRequests,
  LoginResult,
  loginText,
  readAuthEntries,
  SecretLike,
} from "./verifyChecks";

/** The expiry of a JWT (its `exp` claim), or why it has none; the token itself is never part of the answer. */
export function jwtExpiry(token: string): { expiresAt: Date } | { problem: string } {
  const parts = token.split(".");
  if (parts.length !== 3)
    return { problem: "its password is not a JWT (an ACR token has three dot-separated parts)" };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return { problem: "its token's claims are not JSON" };
  }
  const exp = (claims as { exp?: unknown } | null)?.exp;
  if (!Number.isFinite(exp)) return { problem: "its token has no exp claim" };
  return { expiresAt: new Date((exp as number) * 1000) };
}

function duration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
}

export interface ExpectedGenerated {
  readonly namespace: string;
  /** `<secretName>-acr`. */
  readonly secretName: string;
  /** The `auths` keys of the workload-identity registries. */
  readonly servers: readonly string[];
}

/**
 * Findings on the generated Secret, and the entries whose login verify should try (one repository each, as for
 * tokens). `now` is read once per run by the caller.
 */
export function generatedSecretFindings(
  expected: ExpectedGenerated,
  secret: SecretLike | undefined,
  now: Date,
): { findings: Finding[]; entries: AuthEntry[] } {
  const subject = `secret ${expected.secretName}`;
  const describe = `kubectl describe externalsecret ${expected.secretName} -n ${expected.namespace}`;
  if (secret === undefined) {
    return {
      findings: [
        {
          ok: false,
          subject,
          text: `missing from namespace ${expected.namespace}: ESO has not generated it`,
          fix: `see why in \`${describe}\` (the identity's role and federated credential can take 10 minutes to apply)`,
        },
      ],
      entries: [],
    };
  }
  if (secret.type !== DOCKER_CONFIG_SECRET_TYPE) {
    return {
      findings: [
        {
          ok: false,
          subject,
          text: `has type ${secret.type ?? "(none)"}, not ${DOCKER_CONFIG_SECRET_TYPE}`,
          fix: `kubectl delete secret ${expected.secretName} -n ${expected.namespace}; ESO writes it again`,
        },
      ],
      entries: [],
    };
  }
  const decoded = decodeSecretConfig(secret);
  if ("problem" in decoded) {
    return {
      findings: [{ ok: false, subject, text: decoded.problem, fix: `see \`${describe}\`` }],
      entries: [],
    };
  }
  const entries = readAuthEntries(decoded.auths);
  const findings: Finding[] = [];
  const usable: AuthEntry[] = [];
  for (const server of expected.servers) {
    const entry = entries.find((e) => e.server === server);
    if (entry?.login === undefined) {
      findings.push({
        ok: false,
        subject: server,
        text: entry
          ? `unusable in ${expected.secretName}: ${entry.problem}`
          : `missing from ${expected.secretName}`,
        fix: `see \`${describe}\``,
      });
      continue;
    }
    const expiry = jwtExpiry(entry.login.password);
    if ("problem" in expiry) {
      findings.push({ ok: false, subject: server, text: `in ${expected.secretName}: ${expiry.problem}` });
    } else if (expiry.expiresAt.getTime() <= now.getTime()) {
      findings.push({
        ok: false,
        subject: server,
        text: `token expired at ${expiry.expiresAt.toISOString()}: ESO has stopped renewing it`,
        fix: `see \`${describe}\` and ESO's logs`,
      });
    } else {
      findings.push({
        ok: true,
        subject: server,
        text: `token valid until ${expiry.expiresAt.toISOString()} (${duration(expiry.expiresAt.getTime() - now.getTime())})`,
      });
      usable.push(entry);
    }
  }
  return { findings, entries: usable };
}

/** What verify says of a login with a generated token: the handshake's own words, and where to look if it fails. */
export function generatedLoginFinding(namespace: string, secretName: string, result: LoginResult): Finding {
  const text = loginText(ACR_TOKEN_USER, result.check, result.repository);
  if (result.check.ok) return { ok: true, subject: result.server, text };
  return {
    ok: false,
    subject: result.server,
    text,
    fix:
      `the namespace's role condition must list the repository (npm run plan shows it); a changed role takes ` +
      `up to 10 minutes to apply. See \`kubectl describe externalsecret ${secretName} -n ${namespace}\``,
  };
}

/** The requests for the generated Secret's usable entries: one per repository to check, as for tokens. */
export function generatedLoginRequests(
  expected: ExpectedNamespace,
  entries: readonly AuthEntry[],
): LoginRequest[] {
  if (!expected.generated) return [];
  return loginRequests({ ...expected, registries: expected.generated.registries }, entries);
}
