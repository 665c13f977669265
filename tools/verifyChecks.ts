/**
 * What `npm run verify` checks, as functions over plain data: a `.dockerconfigjson` document (or a Secret that
 * holds one) read into registry logins, the lines that report each login, what a stack expects in each
 * namespace, and the findings for one namespace from the objects the Kubernetes API returned. Only the login
 * handshake talks to the network; the CLI (tools/verify.ts) does the file and API reads.
 *
 * No function here puts a password in a message: logins are reported by server and user name, and the
 * handshake's details are redacted by registryHandshake.
 */
import { parseDocument } from "yaml";
import { authsKey } from "../components/dockerConfig";
import { acrTokenName, fieldManager } from "../components/names";
import {
  checkRegistryLogin,
  LoginCheck,
  RegistryLogin,
  registryBaseUrl,
} from "../components/registryHandshake";
import type { Delivery, Settings } from "../components/settings";
import { UsageError } from "./cli";

/** The data key of a `kubernetes.io/dockerconfigjson` Secret. */
export const DOCKER_CONFIG_KEY = ".dockerconfigjson";
export const DOCKER_CONFIG_SECRET_TYPE = "kubernetes.io/dockerconfigjson";

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// Docker config documents.

/** One `auths` entry: the credentials the kubelet would use, or why it cannot use any. */
export interface AuthEntry {
  /** The `auths` key as written. */
  readonly server: string;
  readonly login?: RegistryLogin;
  /** Says what is wrong with the entry, never its content. */
  readonly problem?: string;
}

/** Strict standard base64 of UTF-8 text (what Kubernetes and Docker write), or undefined. */
export function decodeBase64(text: string): string | undefined {
  const bytes = Buffer.from(text, "base64");
  // Node skips what is not base64; only the canonical encoding of what it decoded is accepted.
  if (bytes.toString("base64") !== text) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Read one `auths` entry as the kubelet does: a non-empty `auth` (base64 of `user:password`, split at the first
 * colon) wins over `username` and `password`.
 */
export function readAuthEntry(server: string, value: unknown): AuthEntry {
  try {
    registryBaseUrl(server);
  } catch (error) {
    return { server, problem: (error as Error).message };
  }
  if (!isMap(value)) return { server, problem: "the entry is not a map" };
  const { auth, username, password } = value;
  if (typeof auth === "string" && auth !== "") {
    const decoded = decodeBase64(auth);
    const colon = decoded === undefined ? -1 : decoded.indexOf(":");
    if (decoded === undefined || colon < 0) {
      return { server, problem: 'its "auth" is not the base64 of user:password' };
    }
    return {
      server,
      login: { server, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
    };
  }
  if (typeof username === "string" && username !== "" && typeof password === "string") {
    return { server, login: { server, username, password } };
  }
  if (typeof value.identitytoken === "string" && value.identitytoken !== "") {
    return {
      server,
      problem: "it holds only an identitytoken (an OAuth refresh token), which verify cannot use",
    };
  }
  return { server, problem: 'it has neither "auth" nor "username" and "password"' };
}

export function readAuthEntries(auths: Readonly<Record<string, unknown>>): AuthEntry[] {
  return Object.entries(auths).map(([server, value]) => readAuthEntry(server, value));
}

/** The fields of a Secret verify reads; a client-node V1Secret or the API's JSON fits. */
export interface SecretLike {
  /** managedFields tell who last wrote `.dockerconfigjson`: this stack, or a hand (kubectl) since. */
  readonly metadata?: { readonly name?: string; readonly managedFields?: readonly ManagedFieldsLike[] };
  readonly type?: string;
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}

export interface ManagedFieldsLike {
  readonly manager?: string;
  readonly fieldsV1?: unknown;
}

/** The field managers that own the Secret's `.dockerconfigjson`, as the API server records them. */
export function dockerConfigWriters(secret: SecretLike): string[] {
  return (secret.metadata?.managedFields ?? [])
    .filter((m) => {
      const data = (m.fieldsV1 as Record<string, unknown> | undefined)?.["f:data"];
      return isMap(data) && "f:.dockerconfigjson" in data;
    })
    .map((m) => m.manager ?? "(unnamed)");
}

/**
 * Who changed the pull secret's credentials after this stack wrote them, or undefined: the stack's manager (or
 * `registry-access`, every stack's manager before issue 16, item 10) still owns them, or the API recorded no owner.
 */
export function foreignWriter(secret: SecretLike, stack: string | undefined): string | undefined {
  const writers = dockerConfigWriters(secret);
  const ours = (m: string): boolean =>
    m === "registry-access" ||
    (stack === undefined ? m.startsWith("registry-access-") : m === fieldManager(stack));
  return writers.length > 0 && !writers.some(ours) ? writers.join(", ") : undefined;
}

/**
 * The `auths` map of a Secret's `.dockerconfigjson`, or what stops it being read (a clause that follows
 * "secret <name>"). `stringData` wins over `data`, as the API server merges them.
 */
export function decodeSecretConfig(
  secret: SecretLike,
): { readonly auths: Readonly<Record<string, unknown>> } | { readonly problem: string } {
  let text = secret.stringData?.[DOCKER_CONFIG_KEY];
  if (typeof text !== "string") {
    const encoded = secret.data?.[DOCKER_CONFIG_KEY];
    if (typeof encoded !== "string") {
      const keys = Object.keys(secret.data ?? {});
      return {
        problem: `has no ${DOCKER_CONFIG_KEY} key in its data (${keys.length ? `keys: ${keys.join(", ")}` : "no data"})`,
      };
    }
    text = decodeBase64(encoded);
    if (text === undefined)
      return { problem: `has a ${DOCKER_CONFIG_KEY} that is not valid base64 of UTF-8` };
  }
  if (text.trim() === "") return { problem: `has an empty ${DOCKER_CONFIG_KEY}` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return {
      problem:
        stillBase64(text) !== undefined
          ? `has a ${DOCKER_CONFIG_KEY} encoded in base64 twice: its data must be the base64 of the JSON itself`
          : `has a ${DOCKER_CONFIG_KEY} that is not valid JSON`,
    };
  }
  if (!isMap(doc) || !isMap(doc.auths))
    return { problem: `has a ${DOCKER_CONFIG_KEY} without an "auths" map` };
  return { auths: doc.auths };
}

/**
 * The JSON document that `text` is the base64 of (whitespace ignored: `base64` wraps its lines), or undefined:
 * a Secret's data value that is still encoded.
 */
function stillBase64(text: string): unknown {
  const compact = text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const decoded = decodeBase64(compact);
  if (decoded === undefined) return undefined;
  try {
    const doc: unknown = JSON.parse(decoded);
    return isMap(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

const EXPECTED_FILE =
  'expected a .dockerconfigjson document ({"auths": {...}}) or a kubernetes.io/dockerconfigjson Secret';

/** The entries of a Secret, none when it is missing or unreadable (checkNamespace reports why). */
export function secretEntries(secret: SecretLike | undefined): AuthEntry[] {
  if (secret === undefined) return [];
  const decoded = decodeSecretConfig(secret);
  return "auths" in decoded ? readAuthEntries(decoded.auths) : [];
}

/**
 * The entries of a file given to `verify --dockerconfigjson`: a `.dockerconfigjson` document, or a Secret
 * (JSON or YAML, as `kubectl get secret -o yaml` prints it). Errors name `source`, never quote the content.
 */
export function parseDockerConfigFile(text: string, source: string): AuthEntry[] {
  if (text.trim() === "") throw new UsageError(`${source} is empty: ${EXPECTED_FILE}`);
  if (stillBase64(text) !== undefined) {
    throw new UsageError(
      `${source} is base64, not JSON: the Secret's ${DOCKER_CONFIG_KEY} value as the API stores it; decode it first: ` +
        `kubectl get secret <name> -n <namespace> -o jsonpath='{.data.\\${DOCKER_CONFIG_KEY}}' | base64 -d > ${source}`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // parseDocument, not parse: it collects warnings instead of printing them (they may quote the content).
    const yaml = parseDocument(text);
    doc = yaml.errors.length > 0 ? undefined : yaml.toJS();
    // Any text that is not YAML syntax is a YAML string: only a map can be a Secret.
    if (!isMap(doc)) throw new UsageError(`${source} is not valid JSON (nor a Secret in YAML)`);
  }
  if (!isMap(doc)) {
    throw new UsageError(
      `${source} holds ${Array.isArray(doc) ? "a list" : "a single value"}, not a map: ${EXPECTED_FILE}`,
    );
  }
  let auths: Readonly<Record<string, unknown>>;
  if (isMap(doc) && isMap(doc.auths)) {
    auths = doc.auths;
  } else if (isMap(doc) && (doc.kind === "Secret" || isMap(doc.data) || isMap(doc.stringData))) {
    const decoded = decodeSecretConfig(doc as SecretLike);
    if ("problem" in decoded) throw new UsageError(`${source} is a Secret that ${decoded.problem}`);
    auths = decoded.auths;
  } else {
    throw new UsageError(`${source} has no "auths" map: ${EXPECTED_FILE}`);
  }
  const entries = readAuthEntries(auths);
  if (entries.length === 0)
    throw new UsageError(`${source} lists no registry under "auths": nothing to verify`);
  return entries;
}

// ---------------------------------------------------------------------------------------------------------
// Login checks and the lines that report them.

/** What a failed login means, in words for the person reading the report. */
export function failureCause(check: LoginCheck, repository?: string): string {
  switch (check.failure) {
    case "bad-credentials":
      return "bad password, or the token/password has expired";
    case "no-pull-permission":
      return `no pull permission on ${repository ?? "the repository"}`;
    case "unreachable":
      return "registry unreachable";
    case "firewall":
      return "registry firewall";
    case "protocol":
    case undefined:
      return "unexpected answer";
  }
}

/** `ok    <subject>  <text>` or `FAIL  <subject>  <text>`: the subjects line up. */
export function reportLine(ok: boolean, subject: string, text: string): string {
  return `${ok ? "ok  " : "FAIL"}  ${subject}  ${text}`;
}

/**
 * What an ok line must not hide: a registry that asks for no credentials never tested them, and a repository
 * that does not exist (a typo, say) says nothing about pulling it. The pull check reads the manifest `latest`:
 * ACR answers NAME_UNKNOWN for a repository it does not hold, Docker Distribution MANIFEST_UNKNOWN as for a
 * missing tag, so "no tag latest" may be a typo too.
 */
/** The handshake's note for a repository the registry says it does not hold (404 NAME_UNKNOWN). */
const NO_SUCH_REPOSITORY = /\(the repository does not exist yet\)$/;

function okNotes(check: LoginCheck): string {
  const notes = [
    / needs no credentials /.test(check.detail) ? "not checked: the registry asks for none" : "",
    NO_SUCH_REPOSITORY.test(check.detail) ? "the repository does not exist yet" : "",
    /\(it has no tag "latest"\)$/.test(check.detail) ? 'the repository has no tag "latest"' : "",
  ].filter((n) => n !== "");
  return notes.length ? ` (${notes.join("; ")})` : "";
}

/** A quoted user name as the handshake writes it: `user "alice"`. */
const USER = 'user "(?:[^"\\\\]|\\\\.)*"';

/**
 * The handshake's detail without what the report line already says: the server is the line's subject and the
 * cause stands before the detail, so neither is said twice.
 */
export function failureDetail(check: LoginCheck): string {
  const detail = check.detail;
  const registry = `registry ${check.server}`;
  let m: RegExpExecArray | null;
  switch (check.failure) {
    case "unreachable":
      // registry <server> is unreachable: <why>; or registry <server> (<what>) is unreachable: <why>
      m = /^registry \S+(?: \(([^)]*)\))? is unreachable: /.exec(detail);
      if (m) return `${m[1] !== undefined ? `${m[1]}: ` : ""}${detail.slice(m[0].length)}`;
      break;
    case "bad-credentials":
      m = new RegExp(
        `^registry \\S+ rejected the credentials for (${USER}) \\(wrong password, or the token or password has expired\\)`,
      ).exec(detail);
      if (m) return `the registry rejected ${m[1]}${detail.slice(m[0].length)}`;
      break;
    case "no-pull-permission":
      m = new RegExp(
        `^registry \\S+ accepted the credentials for (${USER}) but (does not allow pulling|its token service \\S+ refused to grant pull of) ` +
          `repository "(?:[^"\\\\]|\\\\.)*" (\\([^)]*\\)): no pull permission on the repository, or `,
      ).exec(detail);
      if (m) {
        const who =
          m[2] === "does not allow pulling"
            ? "refused the pull"
            : `${m[2].replace(/ refused to grant pull of$/, "")} refused the pull`;
        return `the registry accepted ${m[1]} but ${who} ${m[3]}; or ${detail.slice(m[0].length)}`;
      }
      break;
  }
  if (detail.startsWith(`${registry}: `)) return detail.slice(registry.length + 2);
  if (detail.startsWith(`${registry} `)) return `the registry ${detail.slice(registry.length + 1)}`;
  return detail;
}

/** The text after the server for one login: `user <name>` when ok, `<cause>: <detail>` when not. */
export function loginText(username: string, check: LoginCheck, repository?: string): string {
  if (!check.ok) return `${failureCause(check, repository)}: ${failureDetail(check)}`;
  return `user ${username}${repository !== undefined ? `, may pull ${repository}` : ""}${okNotes(check)}`;
}

export interface LoginOptions {
  /** Also check pull authorization for this repository. */
  readonly repository?: string;
  /** Per-request timeout of the handshake. */
  readonly timeoutMs?: number;
}

export type LoginChecker = typeof checkRegistryLogin;

/**
 * Check every usable entry at once; one report line per entry, in the order given. A bad `repository` or
 * `timeoutMs` (checkRegistryLogin throws for them) is a UsageError.
 */
export async function verifyAuthEntries(
  entries: readonly AuthEntry[],
  options: LoginOptions = {},
  check: LoginChecker = checkRegistryLogin,
): Promise<{ readonly ok: boolean; readonly lines: readonly string[] }> {
  const checks = await Promise.all(
    entries.map(async (entry) => {
      if (entry.login === undefined) return undefined;
      try {
        return await check(entry.login, options);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    }),
  );
  // A repository asked for by name that the registry does not hold is a typo until shown otherwise: it fails.
  const missing = checks.map(
    (c) => c?.ok === true && options.repository !== undefined && NO_SUCH_REPOSITORY.test(c.detail),
  );
  const lines = entries.map((entry, i) => {
    const result = checks[i];
    if (entry.login === undefined || result === undefined) {
      return reportLine(false, entry.server, `unusable entry: ${entry.problem ?? "no credentials"}`);
    }
    if (missing[i]) {
      return reportLine(
        false,
        entry.server,
        `no such repository ${options.repository}: the registry let user ${entry.login.username} in and answered ` +
          "NAME_UNKNOWN for it; check the name (or push to it first)",
      );
    }
    // The ok line names the user only: `--repository` passing is what the exit status says.
    const text = result.ok
      ? `user ${entry.login.username}${okNotes(result)}`
      : loginText(entry.login.username, result, options.repository);
    return reportLine(result.ok, entry.server, text);
  });
  return { ok: checks.every((c, i) => c?.ok === true && !missing[i]), lines };
}

// ---------------------------------------------------------------------------------------------------------
// What a stack expects in each namespace.

export interface ExpectedRegistry {
  readonly id: string;
  readonly type: "static" | "acr";
  /** The `auths` key the program writes (authsKey of the configured server). */
  readonly server: string;
  /** Static: the configured user. ACR: this namespace's token. */
  readonly username: string;
  /** ACR repositories whose pull is checked; wildcards (`dev/*`) name no repository and are left out. */
  readonly pullChecks: readonly string[];
}

export interface ExpectedNamespace {
  readonly name: string;
  readonly delivery: Delivery;
  readonly secretName: string;
  /** In the stack's order (sorted by registry id). */
  readonly registries: readonly ExpectedRegistry[];
  /** Every account that must list the secret. */
  readonly serviceAccounts: readonly string[];
  /** The stack, as the fix lines name it (`pulumi up --refresh --stack <stack>`). */
  readonly stack?: string;
  /** Workload-identity registries: the Secret ESO generates for them, checked apart from `secretName`. */
  readonly generated?: {
    readonly secretName: string;
    readonly registries: readonly ExpectedRegistry[];
  };
}

/** The Pulumi project name, part of every ACR token name. */
export const PROJECT = "registry-access";

/** The user name of every token ESO's ACRAccessToken generator writes. */
export const ACR_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

export function expectedFromStack(settings: Settings, stack: string, project = PROJECT): ExpectedNamespace[] {
  return settings.namespaces.map((ns) => {
    const expected = (generated: boolean) =>
      ns.registries
        .filter(
          ({ registry }) => (registry.type === "acr" && registry.auth === "workloadIdentity") === generated,
        )
        .map(({ registry, repositories, tokenGeneration }) => ({
          id: registry.id,
          type: registry.type,
          server: authsKey(registry.server),
          username: generated
            ? ACR_TOKEN_USER
            : registry.type === "acr"
              ? acrTokenName(project, stack, ns.name, tokenGeneration)
              : registry.username,
          pullChecks: repositories.filter((r) => !r.includes("*")),
        }));
    const generated = expected(true);
    return {
      name: ns.name,
      delivery: ns.delivery,
      secretName: settings.secretName,
      registries: expected(false),
      serviceAccounts: ns.serviceAccounts.map((sa) => sa.name),
      stack,
      ...(generated.length > 0
        ? { generated: { secretName: `${settings.secretName}-acr`, registries: generated } }
        : {}),
    };
  });
}

/** Two `auths` keys for the same registry (`docker.io` and `https://index.docker.io/v1/`) compare equal. */
export function sameRegistry(a: string, b: string): boolean {
  const identity = (key: string) => {
    try {
      return registryBaseUrl(key).toLowerCase();
    } catch {
      return key.toLowerCase();
    }
  };
  return identity(a) === identity(b);
}

export interface LoginRequest {
  /** The `auths` key. */
  readonly server: string;
  readonly login: RegistryLogin;
  readonly repository?: string;
}

export interface LoginResult {
  readonly server: string;
  readonly repository?: string;
  readonly check: LoginCheck;
}

/**
 * The logins to try for a namespace: each usable entry the stack expects, once per repository to check (or
 * once without one). Entries the stack does not expect are reported, not used.
 */
export function loginRequests(expected: ExpectedNamespace, entries: readonly AuthEntry[]): LoginRequest[] {
  const requests: LoginRequest[] = [];
  for (const registry of expected.registries) {
    const entry = entries.find((e) => sameRegistry(e.server, registry.server));
    if (entry?.login === undefined) continue;
    if (registry.pullChecks.length === 0) {
      requests.push({ server: entry.server, login: entry.login });
    }
    for (const repository of registry.pullChecks) {
      requests.push({ server: entry.server, login: entry.login, repository });
    }
  }
  return requests;
}

export async function runLogins(
  requests: readonly LoginRequest[],
  options: { readonly timeoutMs?: number } = {},
  check: LoginChecker = checkRegistryLogin,
): Promise<LoginResult[]> {
  return Promise.all(
    requests.map(async (r) => ({
      server: r.server,
      ...(r.repository !== undefined ? { repository: r.repository } : {}),
      check: await check(r.login, {
        ...options,
        ...(r.repository !== undefined ? { repository: r.repository } : {}),
      }),
    })),
  );
}

// ---------------------------------------------------------------------------------------------------------
// One namespace's findings, from what the Kubernetes API returned.

export interface OwnerReferenceLike {
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
}

export interface ObjectMetaLike {
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReferenceLike[];
}

export interface LocalObjectReferenceLike {
  readonly name?: string;
}

export interface ServiceAccountLike {
  readonly metadata?: ObjectMetaLike;
  readonly imagePullSecrets?: readonly LocalObjectReferenceLike[];
}

export interface PodLike {
  readonly metadata?: ObjectMetaLike;
  readonly spec?: {
    readonly serviceAccountName?: string;
    readonly imagePullSecrets?: readonly LocalObjectReferenceLike[];
  };
  readonly status?: { readonly phase?: string };
}

/** A read the API refused or could not answer; `readError` says why in one line. */
export interface ReadError {
  readonly readError: string;
}

export interface ObservedNamespace {
  /** The namespace itself; undefined when the API answered 404 or it was not read. */
  readonly namespace?: { readonly status?: { readonly phase?: string } } | ReadError;
  /** undefined: the API answered 404. */
  readonly secret: SecretLike | undefined | ReadError;
  readonly serviceAccounts: readonly ServiceAccountLike[] | ReadError;
  readonly pods: readonly PodLike[] | ReadError;
}

export interface Finding {
  readonly ok: boolean;
  /** What the finding is about: `secret regcred`, a server, `service account default`, `deployment/web`. */
  readonly subject: string;
  readonly text: string;
  /** What to run or change. */
  readonly fix?: string;
}

export interface NamespaceReport {
  readonly namespace: string;
  readonly findings: readonly Finding[];
}

export function isReadError(value: unknown): value is ReadError {
  return isMap(value) && typeof value.readError === "string";
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The fix that repairs what verify finds: `--refresh` reads the cluster first, so a secret or an account changed
 * by hand differs from the state and is written again. A plain `up` compares the program with the state only
 * (issue 18, item 1).
 */
export function upFix(stack: string | undefined): string {
  return stack === undefined
    ? "run `pulumi up --refresh` for this stack"
    : `run \`pulumi up --refresh --stack ${stack}\``;
}

/** The workload that re-creates a pod: a Deployment through its ReplicaSet's name, or the pod itself. */
export function owningWorkload(pod: PodLike): { readonly kind: string; readonly name: string } {
  const refs = pod.metadata?.ownerReferences ?? [];
  const owner = refs.find((r) => r.controller === true) ?? refs[0];
  if (owner === undefined) return { kind: "pod", name: pod.metadata?.name ?? "(unnamed)" };
  // A Deployment names its ReplicaSets <deployment>-<pod-template-hash> and labels their pods with the hash.
  const hash = pod.metadata?.labels?.["pod-template-hash"];
  if (owner.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: "deployment", name: owner.name.slice(0, -(hash.length + 1)) };
  }
  return { kind: owner.kind.toLowerCase(), name: owner.name };
}

function restartFix(kind: string, name: string, pods: readonly string[], namespace: string): string {
  if (kind === "deployment" || kind === "statefulset" || kind === "daemonset") {
    return `kubectl rollout restart ${kind}/${name} -n ${namespace}`;
  }
  if (kind === "pod") return `delete and re-create pod ${name}: no controller re-creates it`;
  return `kubectl delete pod ${pods.join(" ")} -n ${namespace}  (${kind}/${name} re-creates ${pods.length === 1 ? "it" : "them"})`;
}

function loginFinding(
  expected: ExpectedNamespace,
  registry: ExpectedRegistry,
  username: string,
  result: LoginResult,
  changedBy: string | undefined,
): Finding {
  const UP = upFix(expected.stack);
  const { check, repository } = result;
  const text = loginText(username, check, repository);
  if (check.ok) return { ok: true, subject: result.server, text };
  let fix: string | undefined;
  if (check.failure === "bad-credentials" && changedBy !== undefined) {
    // The live secret is not what the stack wrote: the stack's password may be right.
    fix = `secret ${expected.secretName} was changed after this stack wrote it (by ${changedBy}): ${UP} to write the stack's credentials back`;
  } else if (check.failure === "bad-credentials") {
    fix =
      registry.type === "acr"
        ? `${UP}: it sets a new password on the namespace's token when the refresh finds the old one dead, or one is due`
        : `set the current one with \`pulumi config set --secret --path 'registries.${registry.id}.password' <value>\`, then ${UP}`;
  } else if (check.failure === "no-pull-permission") {
    fix =
      `${UP}: it writes the token's scope map from the stack's repositories ` +
      "(right after an `up`, verify again shortly: a changed scope map takes a while to take effect)";
  }
  return { ok: false, subject: result.server, text, ...(fix !== undefined ? { fix } : {}) };
}

function secretFindings(
  expected: ExpectedNamespace,
  observed: ObservedNamespace,
): { findings: Finding[]; entries?: AuthEntry[]; changedBy?: string } {
  const UP = upFix(expected.stack);
  const subject = `secret ${expected.secretName}`;
  const secret = observed.secret;
  if (isReadError(secret)) {
    return { findings: [{ ok: false, subject, text: `could not be read: ${secret.readError}` }] };
  }
  if (secret === undefined) {
    const fix =
      expected.delivery === "externalSecrets"
        ? `External Secrets Operator writes it: see \`kubectl describe externalsecret -n ${expected.name}\``
        : UP;
    return { findings: [{ ok: false, subject, text: `missing from namespace ${expected.name}`, fix }] };
  }
  const findings: Finding[] = [];
  const type = secret.type ?? "(none)";
  if (type !== DOCKER_CONFIG_SECRET_TYPE) {
    findings.push({
      ok: false,
      subject,
      text: `has type ${type}, not ${DOCKER_CONFIG_SECRET_TYPE}: the kubelet does not use it for pulls`,
      fix: `a Secret's type cannot change: kubectl delete secret ${expected.secretName} -n ${expected.name}, then ${UP}`,
    });
  }
  const decoded = decodeSecretConfig(secret);
  if ("problem" in decoded) {
    findings.push({ ok: false, subject, text: decoded.problem, fix: UP });
    return { findings };
  }
  const entries = readAuthEntries(decoded.auths);
  if (findings.length === 0) {
    findings.push({
      ok: true,
      subject,
      text: `${DOCKER_CONFIG_SECRET_TYPE}, ${plural(entries.length, "registry", "registries")}`,
    });
  }
  // ESO writes the secret of an ESO namespace: only a direct one shows this stack as its writer.
  const changedBy = expected.delivery === "direct" ? foreignWriter(secret, expected.stack) : undefined;
  return { findings, entries, ...(changedBy !== undefined ? { changedBy } : {}) };
}

function registryFindings(
  expected: ExpectedNamespace,
  entries: readonly AuthEntry[],
  logins: readonly LoginResult[],
  changedBy?: string,
): Finding[] {
  const UP = upFix(expected.stack);
  const findings: Finding[] = [];
  for (const registry of expected.registries) {
    const entry = entries.find((e) => sameRegistry(e.server, registry.server));
    if (entry === undefined) {
      findings.push({
        ok: false,
        subject: registry.server,
        text: `missing from secret ${expected.secretName} (registry ${registry.id} of the stack)`,
        fix: UP,
      });
      continue;
    }
    if (entry.login === undefined) {
      findings.push({ ok: false, subject: entry.server, text: `unusable entry: ${entry.problem}`, fix: UP });
      continue;
    }
    const username = entry.login.username;
    if (username !== registry.username) {
      const what = registry.type === "acr" ? "this namespace's token" : "user";
      findings.push({
        ok: false,
        subject: entry.server,
        text: `holds user ${username}, but the stack expects ${what} ${registry.username}`,
        fix: UP,
      });
    }
    const results = logins.filter((r) => sameRegistry(r.server, entry.server));
    if (results.length === 0) {
      findings.push({ ok: false, subject: entry.server, text: "login not checked" });
    }
    for (const result of results)
      findings.push(loginFinding(expected, registry, username, result, changedBy));
  }
  for (const entry of entries) {
    if (!expected.registries.some((r) => sameRegistry(r.server, entry.server))) {
      findings.push({
        ok: false,
        subject: entry.server,
        text: `in secret ${expected.secretName} but not in the stack: a credential this namespace should not hold`,
        fix: UP,
      });
    }
  }
  return findings;
}

function serviceAccountFindings(expected: ExpectedNamespace, observed: ObservedNamespace): Finding[] {
  const UP = upFix(expected.stack);
  const accounts = observed.serviceAccounts;
  if (isReadError(accounts)) {
    return [{ ok: false, subject: "service accounts", text: `could not be listed: ${accounts.readError}` }];
  }
  // The stored secret when the namespace has registries in it; the generated one when it has workload identity.
  const required = [
    ...(expected.registries.length > 0 ? [expected.secretName] : []),
    ...(expected.generated ? [expected.generated.secretName] : []),
  ];
  return expected.serviceAccounts.map((name): Finding => {
    const subject = `service account ${name}`;
    const account = accounts.find((a) => a.metadata?.name === name);
    if (account === undefined) return { ok: false, subject, text: "missing", fix: UP };
    const listed = (account.imagePullSecrets ?? []).map((s) => s.name ?? "");
    const absent = required.filter((s) => !listed.includes(s));
    if (absent.length === 0) return { ok: true, subject, text: `lists ${required.join(", ")}` };
    return {
      ok: false,
      subject,
      text:
        `does not list ${absent.join(", ")} in imagePullSecrets ` +
        `(${listed.length ? `lists ${listed.join(", ")}` : "lists none"})`,
      fix: UP,
    };
  });
}

interface PodGroup {
  readonly kind: string;
  readonly name: string;
  readonly why: "stale" | "own-list" | "other-account";
  readonly account: string;
  readonly listed: readonly string[];
  readonly pods: string[];
}

function podFindings(expected: ExpectedNamespace, observed: ObservedNamespace): Finding[] {
  const pods = observed.pods;
  if (isReadError(pods)) {
    return [{ ok: false, subject: "pods", text: `could not be listed: ${pods.readError}` }];
  }
  const secret = expected.secretName;
  // Finished pods pull nothing more.
  const active = pods.filter((p) => p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const groups = new Map<string, PodGroup>();
  for (const pod of active) {
    const listed = (pod.spec?.imagePullSecrets ?? []).map((s) => s.name ?? "");
    if (listed.includes(secret)) continue;
    const account = pod.spec?.serviceAccountName ?? "default";
    // Admission adds the account's imagePullSecrets only to a pod that lists none of its own.
    const why =
      listed.length > 0 ? "own-list" : expected.serviceAccounts.includes(account) ? "stale" : "other-account";
    const { kind, name } = owningWorkload(pod);
    const key = `${kind}/${name}/${why}/${account}`;
    const group = groups.get(key) ?? { kind, name, why, account, listed, pods: [] };
    group.pods.push(pod.metadata?.name ?? "(unnamed)");
    groups.set(key, group);
  }
  if (groups.size === 0) {
    const text =
      active.length === 0 ? "none active" : `${plural(active.length, "active pod")}, none without ${secret}`;
    return [{ ok: true, subject: "pods", text }];
  }
  return [...groups.values()].map((g): Finding => {
    const count = plural(g.pods.length, "pod");
    const subject = `${g.kind}/${g.name}`;
    const names = g.pods.join(", ");
    switch (g.why) {
      case "stale":
        return {
          ok: false,
          subject,
          text:
            `${count} without ${secret}, admitted before service account ${g.account} listed it ` +
            `(a pod keeps the imagePullSecrets it started with): ${names}`,
          fix: restartFix(g.kind, g.name, g.pods, expected.name),
        };
      case "own-list":
        return {
          ok: false,
          subject,
          text:
            `${count} without ${secret}: they list their own imagePullSecrets (${g.listed.join(", ")}), ` +
            `so service account ${g.account}'s are not added: ${names}`,
          fix: `add { name: ${secret} } to the imagePullSecrets of ${subject}'s pod template`,
        };
      case "other-account":
        return {
          ok: false,
          subject,
          text: `${count} without ${secret}: they run as service account ${g.account}, which the stack does not configure: ${names}`,
          fix: `add ${g.account} to namespaces.${expected.name}.serviceAccounts in the stack, ${upFix(expected.stack)}, then restart them`,
        };
    }
  });
}

/** A namespace being deleted: `pulumi up` cannot write into it (issue 16, item 11). */
function namespaceFindings(expected: ExpectedNamespace, observed: ObservedNamespace): Finding[] {
  const ns = observed.namespace;
  if (ns === undefined || isReadError(ns) || ns.status?.phase !== "Terminating") return [];
  return [
    {
      ok: false,
      subject: "namespace",
      text: "is Terminating: Kubernetes is deleting it, with its pull secret, and `pulumi up` cannot write into it",
      fix:
        `wait until \`kubectl get namespace ${expected.name}\` answers NotFound, then ${upFix(expected.stack)} ` +
        `to create it again; or remove namespaces.${expected.name} from the stack`,
    },
  ];
}

/**
 * Everything verify says about one namespace: the secret (exists, type, decodes), its servers (missing,
 * unexpected, user, logins), the service accounts and the pods that lack the secret.
 */
export function checkNamespace(
  expected: ExpectedNamespace,
  observed: ObservedNamespace,
  logins: readonly LoginResult[],
): NamespaceReport {
  // A namespace whose registries all use workload identity has no stored secret to check.
  const secret =
    expected.registries.length > 0
      ? secretFindings(expected, observed)
      : { findings: [], entries: undefined };
  return {
    namespace: expected.name,
    findings: [
      ...namespaceFindings(expected, observed),
      ...secret.findings,
      ...(secret.entries ? registryFindings(expected, secret.entries, logins, secret.changedBy) : []),
      ...serviceAccountFindings(expected, observed),
      ...podFindings(expected, observed),
    ],
  };
}

export function reportOk(report: NamespaceReport): boolean {
  return report.findings.every((f) => f.ok);
}

/** The report of one namespace: a heading, then one line per finding, each fix under it. */
export function formatNamespaceReport(report: NamespaceReport): string[] {
  const problems = report.findings.filter((f) => !f.ok).length;
  const lines = [`namespace ${report.namespace}: ${problems === 0 ? "ok" : plural(problems, "problem")}`];
  for (const f of report.findings) {
    lines.push(`  ${reportLine(f.ok, f.subject, f.text)}`);
    if (f.fix !== undefined) lines.push(`        fix: ${f.fix}`);
  }
  return lines;
}

export function formatSummary(reports: readonly NamespaceReport[]): string {
  const failed = reports.filter((r) => !reportOk(r)).map((r) => r.namespace);
  const checked = `${plural(reports.length, "namespace")} checked`;
  return failed.length === 0 ? `${checked}: all ok` : `${checked}: problems in ${failed.join(", ")}`;
}
