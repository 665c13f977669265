/**
 * The Docker Registry HTTP API v2 login handshake: is this username/password accepted by this registry,
 * and may it pull this repository? Covers HTTP Basic registries and distribution token auth (ACR, Docker
 * Hub, GHCR).
 *
 * "May it pull" is checked the way a pull does it, and nothing more: a token for scope
 * `repository:<repo>:pull`, then `HEAD /v2/<repo>/manifests/latest` with the manifest media types a pull
 * accepts. Listing tags would ask for more than a pull needs: ACR maps `pull` to the permission content_read,
 * and `GET /v2/<repo>/tags/list` also needs metadata_read (401 with detail Action metadata_read: Azure/acr
 * issues 600, 676 and 690; renovatebot/renovate issue 14708 and pull request 14711).
 *
 * Plain functions over Node built-ins only and no module-level mutable state: a Pulumi dynamic provider
 * captures this module by closure serialization. Named imports keep the captured values the real `http`
 * and `https` modules (an `import * as` goes through an interop wrapper object).
 */
import { request as httpRequest } from "http";
import type { IncomingHttpHeaders, IncomingMessage } from "http";
import { request as httpsRequest } from "https";
import { isIP } from "net";
import type { Socket } from "net";
import { connect as tlsConnect } from "tls";

export interface RegistryLogin {
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

/**
 * Why a login check failed. "firewall": the registry refused `GET /v2/` with 403 before any credentials were
 * sent, as ACR does for a client address its network rules do not admit (IP rules, or public access disabled
 * for a private endpoint).
 */
export type LoginFailure = "bad-credentials" | "no-pull-permission" | "unreachable" | "protocol" | "firewall";

/** The environment the proxy settings are read from: `process.env` unless a caller passes another. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface LoginCheck {
  readonly ok: boolean;
  /** The server as given (for Docker Hub the canonical key `https://index.docker.io/v1/` may be given). */
  readonly server: string;
  readonly failure?: LoginFailure;
  /** One line for a person: names the registry (and repository when checked), never the password. */
  readonly detail: string;
}

export interface CheckOptions {
  /**
   * Also check that a pull of this repository is authorized: scope repository:<repo>:pull, then its manifest
   * `latest` (found, or 404 NAME_UNKNOWN or MANIFEST_UNKNOWN once authorized, all count as authorized).
   */
  readonly repository?: string;
  /** Per-request timeout. Default 10_000 ms. */
  readonly timeoutMs?: number;
  /**
   * Where HTTPS_PROXY/https_proxy and NO_PROXY/no_proxy are read. Defaults to `process.env`, read at each
   * request.
   */
  readonly env?: ProxyEnv;
  /** Extra CA (PEM) trusted instead of the public CAs: only for a test registry with a self-signed certificate. */
  readonly ca?: string;
}

export interface WaitOptions extends CheckOptions {
  /** Give up after this long. Default 120_000 ms (ACR can take up to a minute to accept a new token password). */
  readonly deadlineMs?: number;
  /** First back-off delay, doubling up to maxDelayMs. Defaults 2_000 and 20_000. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** Failures that may be a change still propagating, or a network blip: a protocol failure will not go away. */
const RETRIED: readonly LoginFailure[] = ["bad-credentials", "no-pull-permission", "unreachable"];

/** The tag whose manifest the pull check reads. Any answer but 401/403 after authorization means "may pull". */
const PROBE_TAG = "latest";

/** What a pull accepts for a manifest: OCI and Docker, image and index (Distribution hides an OCI manifest otherwise). */
const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** The two reasons a pull is refused to credentials that were accepted; ACR changes take a while to apply. */
const PULL_REFUSED =
  "no pull permission on the repository, or the token or its scope map was created or changed moments ago " +
  "and has not taken effect yet";

/**
 * https://<host> for registries, http:// for localhost, 127.0.0.0/8 and [::1] (as Docker does); Docker Hub
 * aliases (docker.io, index.docker.io, https://index.docker.io/v1/) -> https://registry-1.docker.io
 *
 * An explicit `http://` or `https://` prefix is kept. Throws for a string that is not a registry host
 * (a caller's mistake, not a registry problem).
 */
export function registryBaseUrl(server: string): string {
  const given = server.trim();
  const explicit = /^(https?):\/\//i.exec(given);
  const rest = explicit ? given.slice(explicit[0].length) : given;
  // Docker's legacy config keys end in /v1/ (Docker Hub's `https://index.docker.io/v1/`); nothing else may
  // follow the host.
  const hostPort = rest.replace(/\/(v1|v2)?\/?$/i, "");
  const invalid = new Error(
    `registry server ${JSON.stringify(server)} is not a registry host (expected host[:port], e.g. myregistry.azurecr.io)`,
  );
  if (hostPort === "" || /[/?#@\s\\]/.test(hostPort)) {
    throw invalid;
  }
  let hostname: string;
  try {
    hostname = new URL(`https://${hostPort}`).hostname;
  } catch {
    throw invalid;
  }
  if (hostname === "docker.io" || hostname === "index.docker.io" || hostname === "registry-1.docker.io") {
    return "https://registry-1.docker.io";
  }
  const scheme = explicit ? explicit[1].toLowerCase() : isLoopbackHost(hostname) ? "http" : "https";
  // Parsed again with the real scheme so that only that scheme's default port is dropped.
  const url = new URL(`${scheme}://${hostPort}`);
  return `${url.protocol}//${url.host}`;
}

/** One attempt of the handshake. Never throws for registry/network problems: returns ok=false with a failure. */
export async function checkRegistryLogin(login: RegistryLogin, options?: CheckOptions): Promise<LoginCheck> {
  const base = registryBaseUrl(login.server);
  const repository = options?.repository;
  if (repository !== undefined) {
    checkRepositoryName(repository);
  }
  const timeoutMs = options?.timeoutMs ?? 10_000;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new Error(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  }
  const transport: Transport = { env: options?.env ?? process.env, ca: options?.ca };
  const check = await handshake(login, base, repository, timeoutMs, transport);
  // Belt and braces: a registry could echo what it was sent.
  return { ...check, detail: redact(check.detail, [login.password]) };
}

/**
 * Retry checkRegistryLogin with exponential back-off while the failure is "bad-credentials", "no-pull-permission"
 * or "unreachable" (a new ACR password, token or scope map takes time to take effect), until ok or the deadline;
 * returns the last check (detail says how long it tried).
 *
 * The deadline is checked between attempts; one attempt makes up to five requests, each bounded by
 * timeoutMs.
 */
export async function waitForRegistryLogin(login: RegistryLogin, options?: WaitOptions): Promise<LoginCheck> {
  const deadlineMs = options?.deadlineMs ?? 120_000;
  const maxDelayMs = options?.maxDelayMs ?? 20_000;
  let delayMs = Math.min(options?.initialDelayMs ?? 2_000, maxDelayMs);
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const check = await checkRegistryLogin(login, options);
    const elapsedMs = Date.now() - started;
    const took = `${attempt} attempts in ${(elapsedMs / 1000).toFixed(1)} s`;
    if (check.ok) {
      return attempt === 1 ? check : { ...check, detail: `${check.detail} (accepted after ${took})` };
    }
    if (!RETRIED.includes(check.failure ?? "protocol")) {
      return attempt === 1 ? check : { ...check, detail: `${check.detail} (after ${took})` };
    }
    const remainingMs = deadlineMs - elapsedMs;
    if (remainingMs <= 0) {
      return { ...check, detail: `${check.detail}; gave up after ${took}` };
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(delayMs, remainingMs)));
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The handshake.

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every WWW-Authenticate header value, unmerged. */
  readonly challenges: readonly string[];
  readonly body: string;
}

/** One challenge of a WWW-Authenticate header; scheme and parameter names lowercased. */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** The Authorization header to send, or the failed check that stopped us. */
type Authorized = Granted | { readonly kind: "failed"; readonly check: LoginCheck };
interface Granted {
  readonly kind: "basic" | "bearer";
  readonly header: string;
}

/** What one check knows and how it words its failures. */
interface Attempt {
  readonly login: RegistryLogin;
  readonly repository: string | undefined;
  readonly timeoutMs: number;
  readonly transport: Transport;
  /** `registry <server>` */
  readonly registry: string;
  /** `user "<name>"` */
  readonly user: string;
  fail(failure: LoginFailure, detail: string): LoginCheck;
  rejected(): LoginCheck;
}

async function handshake(
  login: RegistryLogin,
  base: string,
  repository: string | undefined,
  timeoutMs: number,
  transport: Transport,
): Promise<LoginCheck> {
  const registry = `registry ${login.server}`;
  const user = `user ${JSON.stringify(login.username)}`;
  const fail = (failure: LoginFailure, detail: string): LoginCheck => ({
    ok: false,
    server: login.server,
    failure,
    detail,
  });
  const rejected = () =>
    fail(
      "bad-credentials",
      `${registry} rejected the credentials for ${user} (wrong password, or the token or password has expired)`,
    );
  const attempt: Attempt = { login, repository, timeoutMs, transport, registry, user, fail, rejected };
  // Declared before the closures that use it (Pulumi's closure serializer needs that).
  const manifestPath = `/v2/${repository ?? ""}/manifests/${PROBE_TAG}`;
  const send = async (
    method: "GET" | "HEAD",
    url: string,
    authorization?: string,
    accept?: string,
  ): Promise<Answer | LoginCheck> => {
    try {
      return await httpSend(method, url, authorization, timeoutMs, transport, accept);
    } catch (error) {
      return networkFailure(login.server, url, error, timeoutMs, "", method);
    }
  };
  const get = (url: string, authorization?: string) => send("GET", url, authorization);
  /**
   * What a pull asks first: HEAD of the manifest. A HEAD answer has no body, so anything but 200 is asked
   * again with GET, whose error body says which 404 it is (and what ACR refused).
   */
  const manifest = async (
    authorization?: string,
  ): Promise<{ answer: Answer | LoginCheck; request: string }> => {
    const url = `${base}${manifestPath}`;
    const head = await send("HEAD", url, authorization, MANIFEST_ACCEPT);
    if (isCheck(head) || head.status === 200) {
      return { answer: head, request: `HEAD ${manifestPath}` };
    }
    return { answer: await send("GET", url, authorization, MANIFEST_ACCEPT), request: `GET ${manifestPath}` };
  };

  const root = `${base}/v2/`;
  const probe = await get(root);
  if (isCheck(probe)) {
    return probe;
  }
  let auth: Granted | undefined;
  if (probe.status === 401) {
    const authorized = await authorize(attempt, probe, "GET /v2/");
    if (authorized.kind === "failed") {
      return authorized.check;
    }
    auth = authorized;
    const again = await get(root, auth.header);
    if (isCheck(again)) {
      return again;
    }
    if (again.status === 401) {
      return rejected();
    }
    if (again.status !== 200) {
      return fail("protocol", unexpected(registry, "GET /v2/", again, "200 once authenticated"));
    }
  } else if (probe.status === 403) {
    const codes = errorCodes(probe.body);
    return fail(
      "firewall",
      `${registry} refused GET /v2/ with 403${codes.length > 0 ? ` (${codes.join(", ")})` : ""} before any ` +
        "credentials were sent: a registry firewall (IP rules, or public access disabled for a private endpoint) " +
        "does not admit the address this check runs from. The check runs from the machine that runs it, not " +
        "from the cluster's nodes: run it from a network the registry allows",
    );
  } else if (probe.status !== 200) {
    return fail(
      "protocol",
      probe.status === 404
        ? `${registry} does not speak the Docker Registry v2 API (GET /v2/ answered 404)`
        : unexpected(registry, "GET /v2/", probe, "200 or 401"),
    );
  }

  if (repository === undefined) {
    return {
      ok: true,
      server: login.server,
      detail: auth
        ? `${registry} accepted the credentials for ${user}`
        : `${registry} needs no credentials (GET /v2/ answered 200 without them), so ${user} was not checked`,
    };
  }

  const repo = `repository ${JSON.stringify(repository)}`;
  let { answer: pull, request } = await manifest(auth?.header);
  if (isCheck(pull)) {
    return pull;
  }
  if (pull.status === 401 && auth === undefined) {
    // An open /v2/ but a protected repository: authenticate against this challenge instead.
    const authorized = await authorize(attempt, pull, request);
    if (authorized.kind === "failed") {
      return authorized.check;
    }
    auth = authorized;
    ({ answer: pull, request } = await manifest(auth.header));
    if (isCheck(pull)) {
      return pull;
    }
    if (pull.status === 401 && auth.kind === "basic") {
      // Basic credentials were never accepted anywhere: they are the likelier culprit.
      return rejected();
    }
  }
  let codes = pull.status === 404 ? errorCodes(pull.body) : [];
  if (codes.includes("MANIFEST_UNKNOWN") && !codes.includes("NAME_UNKNOWN")) {
    // Docker Distribution answers MANIFEST_UNKNOWN for a repository it does not know as for a missing tag; its
    // tags list tells the two apart (404 NAME_UNKNOWN). ACR wants metadata_read for it: any other answer
    // leaves the tag note.
    const tags = await get(`${base}/v2/${repository}/tags/list`, auth?.header);
    if (!isCheck(tags) && tags.status === 404 && errorCodes(tags.body).includes("NAME_UNKNOWN")) {
      codes = ["NAME_UNKNOWN"];
    }
  }
  const yet = codes.includes("NAME_UNKNOWN")
    ? " (the repository does not exist yet)"
    : codes.includes("MANIFEST_UNKNOWN")
      ? ` (it has no tag ${JSON.stringify(PROBE_TAG)})`
      : "";
  if (pull.status === 200 || yet !== "") {
    const who = auth ? `accepted the credentials for ${user} and allows` : "needs no credentials for";
    return {
      ok: true,
      server: login.server,
      detail: auth
        ? `${registry} ${who} pulling ${repo}${yet}`
        : `${registry} ${who} pulling ${repo}, so ${user} was not checked${yet}`,
    };
  }
  if (pull.status === 401 || pull.status === 403) {
    const reason = challengeError(pull) ?? errorCodes(pull.body).join(", ");
    return fail(
      "no-pull-permission",
      `${registry} accepted the credentials for ${user} but does not allow pulling ${repo} ` +
        `(${request} answered ${pull.status}${reason ? ` ${reason}` : ""}): ${PULL_REFUSED}`,
    );
  }
  return fail(
    "protocol",
    unexpected(registry, request, pull, "200, 401, 403, or 404 NAME_UNKNOWN or MANIFEST_UNKNOWN"),
  );
}

/** Turn a 401 challenge into an Authorization header: Basic directly, Bearer via the token service. */
async function authorize(attempt: Attempt, answer: Answer, request: string): Promise<Authorized> {
  const { login, repository, timeoutMs, transport, registry, user, fail, rejected } = attempt;
  const failed = (check: LoginCheck): Authorized => ({ kind: "failed", check });
  const challenges = answer.challenges.flatMap(parseChallenges);
  const basic = `Basic ${Buffer.from(`${login.username}:${login.password}`, "utf8").toString("base64")}`;
  const bearer = challenges.find((c) => c.scheme === "bearer");
  if (bearer === undefined) {
    if (challenges.some((c) => c.scheme === "basic")) {
      return { kind: "basic", header: basic };
    }
    const offered = challenges.map((c) => c.scheme).join(", ");
    return failed(
      fail(
        "protocol",
        offered === ""
          ? `${registry} answered 401 to ${request} without a WWW-Authenticate challenge`
          : `${registry} asks for unsupported authentication (${offered}) on ${request}`,
      ),
    );
  }

  const realm = bearer.params["realm"];
  let tokenUrl: URL;
  try {
    tokenUrl = new URL(realm ?? "");
  } catch {
    return failed(fail("protocol", `${registry} sent a Bearer challenge without a valid realm URL`));
  }
  const realmShown = `${tokenUrl.origin}${tokenUrl.pathname}`;
  if (
    tokenUrl.protocol !== "https:" &&
    !(tokenUrl.protocol === "http:" && isLoopbackHost(tokenUrl.hostname))
  ) {
    return failed(
      fail(
        "protocol",
        `${registry} points to token service ${realmShown}, which is not https; refusing to send the credentials`,
      ),
    );
  }
  tokenUrl.username = "";
  tokenUrl.password = "";
  if (bearer.params["service"] !== undefined) {
    tokenUrl.searchParams.set("service", bearer.params["service"]);
  }
  const scope = repository !== undefined ? `repository:${repository}:pull` : bearer.params["scope"];
  if (scope !== undefined) {
    tokenUrl.searchParams.append("scope", scope);
  }
  let answerFromTokenService: Answer;
  try {
    answerFromTokenService = await httpSend("GET", tokenUrl.toString(), basic, timeoutMs, transport);
  } catch (error) {
    return failed(networkFailure(login.server, realmShown, error, timeoutMs, "its token service"));
  }
  const status = answerFromTokenService.status;
  if (status === 401) {
    return failed(rejected());
  }
  if (status === 403) {
    return failed(
      repository !== undefined
        ? fail(
            "no-pull-permission",
            `${registry} accepted the credentials for ${user} but its token service ${realmShown} refused ` +
              `to grant pull of repository ${JSON.stringify(repository)} (403): ${PULL_REFUSED}`,
          )
        : fail("bad-credentials", `${registry}: token service ${realmShown} refused ${user} (403)`),
    );
  }
  if (status !== 200) {
    // Not the body: a token service's answer may hold a token.
    return failed(
      fail("protocol", `${registry}: token service ${realmShown} answered ${status} (expected 200 or 401)`),
    );
  }
  let token: unknown;
  try {
    const json = JSON.parse(answerFromTokenService.body) as Record<string, unknown>;
    token = json["token"] ?? json["access_token"];
  } catch {
    token = undefined;
  }
  if (typeof token !== "string" || token === "") {
    return failed(
      fail("protocol", `${registry}: token service ${realmShown} answered 200 without a token in its JSON`),
    );
  }
  return { kind: "bearer", header: `Bearer ${token}` };
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers.

function isCheck(value: Answer | LoginCheck): value is LoginCheck {
  return "ok" in value;
}

/** Distribution's repository name grammar; also keeps the name safe to put in a URL path. */
function checkRepositoryName(repository: string): void {
  const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
  const grammar = new RegExp(`^${component}(?:/${component})*$`);
  if (repository.length > 255 || !grammar.test(repository)) {
    throw new Error(
      `repository ${JSON.stringify(repository)} is not a valid repository name ` +
        "(lowercase path components of letters, digits and single separators . _ __ -, e.g. team/app)",
    );
  }
}

/** Where Docker talks plain HTTP by default: localhost, 127.0.0.0/8 and [::1] (hostname as URL normalizes it). */
function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

function networkFailure(
  server: string,
  url: string,
  error: unknown,
  timeoutMs: number,
  what = "",
  method = "GET",
): LoginCheck {
  const fields = (typeof error === "object" && error !== null ? error : {}) as {
    code?: unknown;
    proxy?: unknown;
    status?: unknown;
  };
  const codeText = typeof fields.code === "string" ? fields.code : "";
  const target = what === "" ? `registry ${server}` : `registry ${server} (${what})`;
  const through = typeof fields.proxy === "string" ? ` through proxy ${fields.proxy}` : "";
  const where = `(${method} ${stripQuery(url)}${through})`;
  if (codeText === "REGISTRY_PROXY_REFUSED") {
    // A gateway error is the proxy failing to reach the registry, which may pass; anything else is its policy.
    const status = typeof fields.status === "number" ? fields.status : 0;
    return {
      ok: false,
      server,
      failure: [502, 503, 504].includes(status) ? "unreachable" : "protocol",
      detail: `${target} could not be reached: the proxy answered ${status} to CONNECT ${where}`,
    };
  }
  if (codeText === "REGISTRY_PROXY_INVALID") {
    return {
      ok: false,
      server,
      failure: "protocol",
      detail: `${target} was not tried: ${oneLine(String((error as Error).message))}`,
    };
  }
  if (codeText === "REGISTRY_HANDSHAKE_TIMEOUT") {
    return {
      ok: false,
      server,
      failure: "unreachable",
      detail: `${target} is unreachable: no answer within ${timeoutMs} ms ${where}`,
    };
  }
  const transient = [
    "ECONNREFUSED",
    "ECONNRESET",
    "ECONNABORTED",
    "EPIPE",
    "ENOTFOUND",
    "EAI_AGAIN",
    "EAI_FAIL",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "EHOSTDOWN",
    "ENETUNREACH",
    "ENETDOWN",
  ];
  if (transient.includes(codeText)) {
    return {
      ok: false,
      server,
      failure: "unreachable",
      detail: `${target} is unreachable: ${codeText} ${where}`,
    };
  }
  // TLS and other failures: retrying will not help.
  const message = error instanceof Error ? error.message : String(error);
  return {
    ok: false,
    server,
    failure: "protocol",
    detail: `${target} could not be talked to: ${codeText !== "" ? `${codeText} ` : ""}${oneLine(message)} ${where}`,
  };
}

function unexpected(registry: string, request: string, answer: Answer, expected: string): string {
  const codes = errorCodes(answer.body);
  const location = answer.headers.location;
  const extra =
    answer.status >= 300 && answer.status < 400 && typeof location === "string"
      ? ` (redirect to ${stripQuery(location)}, not followed)`
      : codes.length > 0
        ? ` (${codes.join(", ")})`
        : "";
  return `${registry} answered ${answer.status} to ${request}${extra}; expected ${expected}`;
}

/** The `code`s of a registry error body `{"errors":[{"code":...}]}`; never the free text. */
function errorCodes(body: string): string[] {
  try {
    const json = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(json.errors)) {
      return [];
    }
    return json.errors
      .map((e: unknown) => (typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined))
      .filter((c): c is string => typeof c === "string" && /^[A-Z_]{1,64}$/.test(c));
  } catch {
    return [];
  }
}

/** The `error="..."` of a Bearer challenge on a denied request, e.g. insufficient_scope. */
function challengeError(answer: Answer): string | undefined {
  const error = answer.challenges.flatMap(parseChallenges).find((c) => c.params["error"] !== undefined)
    ?.params["error"];
  return error !== undefined && /^[a-z_]{1,64}$/.test(error) ? error : undefined;
}

/**
 * RFC 7235 challenges: `Scheme param="quoted, with commas", other=token, Scheme2 token68`. Several
 * challenges may share one header value. Lenient: junk is skipped rather than rejected.
 */
export function parseChallenges(header: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  const tokenChars = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
  let i = 0;
  const skipSpace = () => {
    while (i < header.length && (header[i] === " " || header[i] === "\t")) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < header.length && tokenChars.test(header[i])) i++;
    return header.slice(start, i);
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < header.length) {
    skipSpace();
    if (header[i] === ",") {
      i++;
      continue;
    }
    const name = readToken();
    if (name === "") {
      i++; // junk
      continue;
    }
    skipSpace();
    if (current !== undefined && header[i] === "=" && header[i + 1] !== "=") {
      i++;
      skipSpace();
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        const start = i;
        while (i < header.length && header[i] !== "," && header[i] !== " " && header[i] !== "\t") i++;
        value = header.slice(start, i);
      }
      current.params[name.toLowerCase()] = value;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    challenges.push(current);
    // A token68 (e.g. `Negotiate abc==`) belongs to this scheme, not a new one.
    const token68 = /^[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|$)/.exec(header.slice(i));
    if (token68 !== null && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=[^=]/.test(header.slice(i))) {
      i += token68[0].length;
    }
  }
  return challenges;
}

function stripQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

function redact(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join("[redacted]") : t), text);
}

/** How requests leave this machine: the proxy settings, and a test's extra CA. */
interface Transport {
  readonly env: ProxyEnv;
  readonly ca: string | undefined;
}

/**
 * The proxy an https URL goes through, from HTTPS_PROXY (https_proxy wins when both are set, as in curl),
 * unless NO_PROXY (or no_proxy) exempts its host; undefined: connect directly. Plain http (only loopback
 * registries use it) never goes through a proxy. Throws (code REGISTRY_PROXY_INVALID) for a setting that is not
 * an http:// proxy URL; the message never shows the setting's value, which may hold a proxy password.
 */
export function proxyFor(url: URL, env: ProxyEnv): URL | undefined {
  if (url.protocol !== "https:") return undefined;
  const name = env["https_proxy"] !== undefined ? "https_proxy" : "HTTPS_PROXY";
  const raw = (env[name] ?? "").trim();
  if (raw === "" || noProxyMatches(url, env["no_proxy"] ?? env["NO_PROXY"] ?? "")) return undefined;
  const invalid = (why: string) =>
    Object.assign(new Error(`${name} is not a proxy URL such as http://proxy.example.com:3128 (${why})`), {
      code: "REGISTRY_PROXY_INVALID",
    });
  let proxy: URL;
  try {
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw invalid("it does not parse");
  }
  if (proxy.protocol !== "http:") {
    throw invalid(`scheme ${proxy.protocol.slice(0, -1)}; only http:// proxies are supported`);
  }
  return proxy;
}

/**
 * NO_PROXY as curl reads it: a comma-separated list; `*` exempts every host; an entry exempts its host and
 * every subdomain (`example.com` and `.example.com` both match example.com and a.example.com); an entry with a
 * port (`host:5000`, `[::1]:5000`) exempts only that port. Case-insensitive. No CIDR ranges.
 */
export function noProxyMatches(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80";
  return noProxy
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry !== "")
    .some((entry) => {
      if (entry === "*") return true;
      const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
      const name = (withPort ? withPort[1] : entry).replace(/^\[(.*)\]$/, "$1").replace(/^\./, "");
      if (withPort && withPort[2] !== port) return false;
      return host === name || host.endsWith(`.${name}`);
    });
}

/**
 * A TLS socket to `target` through an HTTP CONNECT tunnel of `proxy`. Errors carry `proxy` (the proxy's
 * origin, never its credentials) and, for a refused CONNECT, code REGISTRY_PROXY_REFUSED and `status`.
 */
function tunnel(
  target: URL,
  proxy: URL,
  ca: string | undefined,
  started: (abort: () => void) => void,
): Promise<Socket> {
  const origin = proxy.origin;
  const authority = `${target.hostname}:${target.port !== "" ? target.port : "443"}`;
  const headers: Record<string, string> = { Host: authority };
  if (proxy.username !== "") {
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers["Proxy-Authorization"] = `Basic ${Buffer.from(user, "utf8").toString("base64")}`;
  }
  return new Promise<Socket>((resolve, reject) => {
    const fail = (error: Error) => reject(Object.assign(error, { proxy: origin }));
    const connect = httpRequest({
      host: proxy.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: proxy.port !== "" ? Number(proxy.port) : 80,
      method: "CONNECT",
      path: authority,
      headers,
      agent: false,
    });
    started(() => connect.destroy());
    connect.on("error", fail);
    connect.on("connect", (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(
          Object.assign(new Error(`proxy answered ${res.statusCode} to CONNECT ${authority}`), {
            code: "REGISTRY_PROXY_REFUSED",
            status: res.statusCode ?? 0,
          }),
        );
        return;
      }
      const servername = target.hostname.replace(/^\[(.*)\]$/, "$1");
      const secure = tlsConnect({
        socket,
        // host: what the certificate is checked against; SNI only for a name (an IP address is not allowed).
        host: servername,
        ...(isIP(servername) === 0 ? { servername } : {}),
        ...(ca !== undefined ? { ca } : {}),
      });
      secure.once("secureConnect", () => resolve(secure));
      secure.once("error", fail);
    });
    connect.end();
  });
}

/**
 * One GET or HEAD with a hard deadline over the whole exchange (proxy tunnel, connect, headers and body), a
 * fresh connection (no pooled sockets outlive the call) and a bounded body. An https URL goes through the proxy
 * that HTTPS_PROXY/NO_PROXY name for it (see proxyFor).
 */
function httpSend(
  method: "GET" | "HEAD",
  url: string,
  authorization: string | undefined,
  timeoutMs: number,
  transport: Transport,
  accept = "application/json",
): Promise<Answer> {
  // Everything an inner closure uses is declared before that closure: Pulumi's closure serializer cannot
  // resolve a `const` used (in a nested function) above its declaration.
  return new Promise<Answer>((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = {
      Accept: accept,
      "User-Agent": "registry-access-handshake",
    };
    if (authorization !== undefined) {
      headers["Authorization"] = authorization;
    }
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    let response: IncomingMessage | undefined = undefined;
    let abort: () => void = () => {};
    let settled = false;
    const finish = (error: Error | undefined, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) {
        response?.destroy();
        abort();
        reject(error);
      } else {
        resolve(answer as Answer);
      }
    };
    timer = setTimeout(() => {
      finish(
        Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "REGISTRY_HANDSHAKE_TIMEOUT" }),
      );
    }, timeoutMs);
    const onResponse = (res: IncomingMessage) => {
      response = res;
      const limit = 256 * 1024;
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const challenges: string[] = [];
        for (let k = 0; k + 1 < res.rawHeaders.length; k += 2) {
          if (res.rawHeaders[k].toLowerCase() === "www-authenticate") challenges.push(res.rawHeaders[k + 1]);
        }
        const body = Buffer.concat(chunks).toString("utf8");
        finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, challenges, body });
        res.destroy();
      };
      res.on("data", (chunk: Buffer) => {
        if (size < limit) {
          chunks.push(chunk);
          size += chunk.length;
          if (size >= limit) done(); // enough to classify; drop the rest
        }
      });
      res.on("end", done);
      res.on("error", (error) => finish(error));
    };
    const send = (socket: Socket | undefined, proxy: string | undefined) => {
      const tls = transport.ca !== undefined ? { ca: transport.ca } : {};
      const request =
        socket !== undefined
          ? httpsRequest(target, { method, headers, createConnection: () => socket })
          : target.protocol === "https:"
            ? httpsRequest(target, { method, headers, agent: false, ...tls })
            : httpRequest(target, { method, headers, agent: false });
      abort = () => {
        request.destroy();
        socket?.destroy();
      };
      request.on("error", (error) => finish(proxy === undefined ? error : Object.assign(error, { proxy })));
      request.on("response", onResponse);
      request.end();
    };
    let proxy: URL | undefined;
    try {
      proxy = proxyFor(target, transport.env);
    } catch (error) {
      finish(error as Error);
      return;
    }
    if (proxy === undefined) {
      send(undefined, undefined);
      return;
    }
    const origin = proxy.origin;
    tunnel(target, proxy, transport.ca, (stop) => {
      abort = stop;
    }).then(
      (socket) => {
        if (settled) socket.destroy();
        else send(socket, origin);
      },
      (error: Error) => finish(error),
    );
  });
}
