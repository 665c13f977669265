/**
 * A stand-in for the data plane of Azure Container Registry as a repository-scoped token (a token bound to a
 * scope map) meets it, on 127.0.0.1 over plain http: the `/v2/` API plus ACR's token service.
 *
 * The documented rules it models, with their sources:
 * - Token auth. `GET /v2/` without a token answers 401 `Bearer realm="<server>/oauth2/token",service="<server>"`
 *   with no scope (ACR's challenge as quoted in Azure/acr issue 207 and renovatebot/renovate issue 14708). The
 *   token endpoint takes the token name and one of its passwords as HTTP Basic, with `service` and `scope`
 *   query parameters, and answers `{"access_token": ...}` (Azure/acr issue 466: a repository-scoped token "is
 *   supposed to be consumed through basic auth"; the token-name/password script in
 *   argoproj-labs/argocd-image-updater issue 473); a wrong password gets 401.
 * - Scope maps. A token's permissions are the actions of its one scope map, written
 *   `repositories/<repository>/<content|metadata>/<read|write|delete>` (the actions table of Microsoft's "Create a
 *   token with repository-scoped permissions", and `az acr scope-map create --repository <repo> content/read
 *   metadata/read`). A repository is an exact name or a prefix ending in `/*`, the form this program writes
 *   (`team-a/*`); a prefix matches every repository below it, at any depth (an assumption: no cited source says
 *   how deep ACR's wildcard reaches).
 * - Docker's `pull` is `content_read`. The token service grants, per requested scope
 *   `repository:<repo>:<actions>`, the requested actions that the scope map allows on that repository, reading
 *   `pull` as `content_read` (`push` as `content_write`, `delete` as `content_delete`) and ACR's own names
 *   (`content_read`, `metadata_read`, ...) as themselves. A scope outside the scope map still gets a token,
 *   without that access (as the distribution token spec allows; set `refuseUngrantedScopes` for a token service
 *   that answers 403 instead).
 * - What each request needs. Reading a manifest (GET or HEAD) needs `content_read`; `GET /v2/<repo>/tags/list`
 *   needs `metadata_read` (Azure/acr issues 600, 676 and 690: `_repositories_pull` grants content_read only, "they
 *   can pull but not list"; renovatebot/renovate issue 14708 and pull request 14711). A denied request answers 401
 *   with ACR's error body `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required, visit
 *   https://aka.ms/acr/authorization for more information.","detail":[{"Type":"repository","Name":"<repo>",
 *   "Action":"<action>"}]}]}` (the shape quoted in Azure/acr issue 676).
 * - Once authorized, a repository that does not exist answers 404 `NAME_UNKNOWN`, a tag that does not exist 404
 *   `MANIFEST_UNKNOWN` (the distribution spec's error codes; which of the two ACR sends for a manifest of a
 *   repository it does not hold is not confirmed: Docker Distribution sends MANIFEST_UNKNOWN, and the handshake
 *   passes both).
 * - A scope map change (`setScopeMap(..., { afterTokenRequests })`) and a new password (`rejectFirstTokenRequests`)
 *   take effect only later, as ACR's do; "later" is counted in token requests so that tests are deterministic.
 *
 * Not modeled, so a green test does not prove it: https and ACR's real certificates; the exact WWW-Authenticate
 * of a denied request (this one names `scope="repository:<repo>:<action>"`, an assumption) and the `Action` ACR
 * names for a denied manifest read (`pull` here, from the commonly reported `docker pull` error, not from a
 * cited source); anonymous pull; disabled tokens, password expiry and the token's `status`; blobs, catalog and
 * every write; the refresh-token (`POST /oauth2/exchange`) flow of Entra identities; ACR's real propagation
 * times; the registry's answers to HTTP Basic on the `/v2/` API (answered here as if anonymous).
 */
import { randomBytes } from "crypto";
import { createServer, IncomingMessage, ServerResponse } from "http";
import type { Socket } from "net";

/** ACR's repository actions, as the token service and the 401 error detail name them. */
export type AcrAction =
  "content_read" | "content_write" | "content_delete" | "metadata_read" | "metadata_write";

export interface AcrTokenSpec {
  /** The name of the scope map the token is bound to. */
  readonly scopeMap: string;
  /** The passwords the token service accepts, or a function read on every token request (passwords issued elsewhere). */
  readonly passwords: readonly string[] | (() => readonly string[]);
}

export interface AcrRegistryOptions {
  /** Scope map name -> its actions, e.g. `repositories/team-a/app/content/read`, `repositories/team-b/*\/metadata/read`. */
  readonly scopeMaps: Readonly<Record<string, readonly string[]>>;
  /** Token name (the docker username) -> the token. */
  readonly tokens: Readonly<Record<string, AcrTokenSpec>>;
  /** Repository -> the tags it holds; a repository not listed does not exist. Defaults to none. */
  readonly images?: Readonly<Record<string, readonly string[]>>;
  /** The token service answers 401 to its first N requests even with a good password (a new password propagating). */
  readonly rejectFirstTokenRequests?: number;
  /** Answer a scope the scope map does not allow with 403 instead of a token without that access. */
  readonly refuseUngrantedScopes?: boolean;
  /** The `service` of the challenge. Defaults to `127.0.0.1:PORT` (ACR: the login server). */
  readonly service?: string;
  /** The realm the challenge names. Defaults to this server's own `/oauth2/token`. */
  readonly realm?: (port: number) => string;
  /** Which JSON field carries the token: ACR uses access_token, the distribution spec token. Defaults to access_token. */
  readonly tokenField?: "token" | "access_token";
  /** Answer GET /v2/ with this status and no challenge (a broken registry, not ACR). */
  readonly brokenStatus?: number;
}

export interface AcrTokenRequest {
  /** Path and query exactly as received. */
  readonly url: string;
  readonly service: string | null;
  readonly scopes: readonly string[];
  /** The Basic username presented, if any. */
  readonly username: string | undefined;
  readonly status: number;
  /** What the issued token grants, `<repository>:<action>` sorted; empty when no token was issued. */
  readonly granted: readonly string[];
}

export interface AcrRegistryRequest {
  readonly method: string;
  readonly path: string;
  /** `none`, `basic`, `bearer` (a token this server issued) or `bad-bearer`. */
  readonly auth: "none" | "basic" | "bearer" | "bad-bearer";
  readonly status: number;
  /** The Accept header, on manifest requests. */
  readonly accept?: string;
}

export interface AcrRegistry {
  /** `127.0.0.1:PORT`: the login server. */
  readonly server: string;
  readonly port: number;
  /** The realm the challenge names. */
  readonly realm: string;
  readonly tokenRequests: readonly AcrTokenRequest[];
  readonly registryRequests: readonly AcrRegistryRequest[];
  /** Every token issued, to check none leaks into a message. */
  readonly issuedTokens: readonly string[];
  /**
   * Replace a scope map's actions. With `afterTokenRequests: n` the change is seen from the n-th token request
   * from now on (the first n - 1 still see the old actions), as an ACR change takes a while to propagate.
   * Tokens issued before keep what they were granted.
   */
  setScopeMap(
    name: string,
    actions: readonly string[],
    options?: { readonly afterTokenRequests?: number },
  ): void;
  /** Forget the recorded requests (issued tokens stay valid, and stay listed). */
  clearRecords(): void;
  stop(): Promise<void>;
}

interface ScopeMapEntry {
  /** Exact repository name, or a prefix (`team-a/` for `team-a/*`). */
  readonly repository: string;
  readonly prefix: boolean;
  readonly action: AcrAction;
}

const ACTION_OF_PERMISSION: Readonly<Record<string, AcrAction>> = {
  "content/read": "content_read",
  "content/write": "content_write",
  "content/delete": "content_delete",
  "metadata/read": "metadata_read",
  "metadata/write": "metadata_write",
};

/** Docker's scope actions and ACR's own names -> ACR's action. */
const ACTION_OF_SCOPE: Readonly<Record<string, AcrAction>> = {
  pull: "content_read",
  push: "content_write",
  delete: "content_delete",
  content_read: "content_read",
  content_write: "content_write",
  content_delete: "content_delete",
  metadata_read: "metadata_read",
  metadata_write: "metadata_write",
};

const ACR_UNAUTHORIZED_MESSAGE =
  "authentication required, visit https://aka.ms/acr/authorization for more information.";

/** Parse scope map actions; throws for one this stand-in (and this program) does not write. */
function parseScopeMap(actions: readonly string[]): ScopeMapEntry[] {
  return actions.map((text) => {
    const match = /^repositories\/(.+)\/(content\/(?:read|write|delete)|metadata\/(?:read|write))$/.exec(
      text,
    );
    const repository = match?.[1] ?? "";
    const prefix = repository.endsWith("/*");
    const name = prefix ? repository.slice(0, -1) : repository;
    if (match === null || name.includes("*") || name === "" || name === "/") {
      throw new Error(`not a scope map action this stand-in models: ${JSON.stringify(text)}`);
    }
    return { repository: name, prefix, action: ACTION_OF_PERMISSION[match[2]] };
  });
}

/** The actions a scope map allows on one repository. */
function allowedActions(entries: readonly ScopeMapEntry[], repository: string): Set<AcrAction> {
  return new Set(
    entries
      .filter((e) => (e.prefix ? repository.startsWith(e.repository) : repository === e.repository))
      .map((e) => e.action),
  );
}

export async function startAcrRegistry(options: AcrRegistryOptions): Promise<AcrRegistry> {
  const tokenRequests: AcrTokenRequest[] = [];
  const registryRequests: AcrRegistryRequest[] = [];
  const issuedTokens: string[] = [];
  /** Issued token -> repository -> granted actions. */
  const grants = new Map<string, Map<string, Set<AcrAction>>>();
  const scopeMaps = new Map<string, ScopeMapEntry[]>(
    Object.entries(options.scopeMaps).map(([name, actions]) => [name, parseScopeMap(actions)]),
  );
  const pending: { name: string; entries: ScopeMapEntry[]; at: number }[] = [];
  let tokenRequestCount = 0;
  let port = 0;
  const service = () => options.service ?? `127.0.0.1:${port}`;
  const realm = () => (options.realm ? options.realm(port) : `http://127.0.0.1:${port}/oauth2/token`);
  const challenge = (scope?: string) =>
    `Bearer realm="${realm()}",service="${service().replace(/["\\]/g, "\\$&")}"` +
    (scope !== undefined ? `,scope="${scope}"` : "");

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
    return status;
  };
  const acrUnauthorized = (res: ServerResponse, detail: unknown, scope?: string) =>
    json(
      res,
      401,
      { errors: [{ code: "UNAUTHORIZED", message: ACR_UNAUTHORIZED_MESSAGE, detail }] },
      { "WWW-Authenticate": challenge(scope) },
    );

  const handleToken = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    tokenRequestCount++;
    for (const change of pending.filter((p) => p.at <= tokenRequestCount)) {
      scopeMaps.set(change.name, change.entries);
      pending.splice(pending.indexOf(change), 1);
    }
    const basic = parseBasic(req.headers.authorization);
    const scopes = url.searchParams.getAll("scope");
    const record = (status: number, granted: string[] = []) =>
      tokenRequests.push({
        url: req.url ?? "",
        service: url.searchParams.get("service"),
        scopes,
        username: basic?.username,
        status,
        granted,
      });
    const token = basic !== undefined ? options.tokens[basic.username] : undefined;
    const passwords =
      token === undefined ? [] : typeof token.passwords === "function" ? token.passwords() : token.passwords;
    if (
      basic === undefined ||
      !passwords.includes(basic.password) ||
      tokenRequestCount <= (options.rejectFirstTokenRequests ?? 0)
    ) {
      record(json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: ACR_UNAUTHORIZED_MESSAGE }] }));
      return;
    }
    const entries = scopeMaps.get(token?.scopeMap ?? "") ?? [];
    const access = new Map<string, Set<AcrAction>>();
    for (const scope of scopes) {
      const match = /^repository:([^:]+):(.+)$/.exec(scope);
      if (match === null) continue;
      const allowed = allowedActions(entries, match[1]);
      const requested = match[2].split(",").map((a) => ACTION_OF_SCOPE[a]);
      const granted = requested.filter((a): a is AcrAction => a !== undefined && allowed.has(a));
      if (options.refuseUngrantedScopes && granted.length < requested.length) {
        record(
          json(res, 403, {
            errors: [{ code: "DENIED", message: "requested access to the resource is denied" }],
          }),
        );
        return;
      }
      const set = access.get(match[1]) ?? new Set<AcrAction>();
      granted.forEach((a) => set.add(a));
      access.set(match[1], set);
    }
    const issued = randomBytes(24).toString("hex");
    issuedTokens.push(issued);
    grants.set(issued, access);
    const granted = [...access].flatMap(([repo, actions]) => [...actions].map((a) => `${repo}:${a}`)).sort();
    record(json(res, 200, { [options.tokenField ?? "access_token"]: issued }), granted);
  };

  const handleRegistry = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const method = req.method ?? "GET";
    const header = req.headers.authorization ?? "";
    const bearer = /^Bearer (.+)$/.exec(header);
    const grant = bearer ? grants.get(bearer[1]) : undefined;
    const auth = grant ? "bearer" : bearer ? "bad-bearer" : /^Basic /.test(header) ? "basic" : "none";
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const accept = manifest !== null ? { accept: req.headers.accept ?? "" } : {};
    const record = (status: number) =>
      registryRequests.push({ method, path: url.pathname, auth, status, ...accept });
    if (options.brokenStatus !== undefined && url.pathname === "/v2/") {
      record(json(res, options.brokenStatus, { errors: [{ code: "UNKNOWN", message: "broken" }] }));
      return;
    }
    if (grant === undefined) {
      record(acrUnauthorized(res, null));
      return;
    }
    if (url.pathname === "/v2/") {
      record(json(res, 200, {}));
      return;
    }
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    const route = manifest ?? tags;
    if (route === null || (method !== "GET" && !(method === "HEAD" && manifest !== null))) {
      record(json(res, 404, { errors: [{ code: "NOT_FOUND", message: "no such route" }] }));
      return;
    }
    const repository = route[1];
    const needed: AcrAction = manifest !== null ? "content_read" : "metadata_read";
    if (!(grant.get(repository)?.has(needed) ?? false)) {
      const action = needed === "content_read" ? "pull" : needed;
      record(
        acrUnauthorized(
          res,
          [{ Type: "repository", Name: repository, Action: action }],
          `repository:${repository}:${action}`,
        ),
      );
      return;
    }
    const held = options.images?.[repository];
    if (held === undefined) {
      record(
        json(res, 404, {
          errors: [
            {
              code: "NAME_UNKNOWN",
              message: "repository name not known to registry",
              detail: { name: repository },
            },
          ],
        }),
      );
      return;
    }
    if (manifest === null) {
      record(json(res, 200, { name: repository, tags: held }));
      return;
    }
    if (!held.includes(manifest[2])) {
      record(
        json(res, 404, {
          errors: [
            {
              code: "MANIFEST_UNKNOWN",
              message: 'manifest tagged by "' + manifest[2] + '" is not found',
              detail: { Tag: manifest[2] },
            },
          ],
        }),
      );
      return;
    }
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: `sha256:${"0".repeat(64)}`,
        size: 2,
      },
      layers: [],
    });
    res.writeHead(200, {
      "Content-Type": "application/vnd.oci.image.manifest.v1+json",
      "Docker-Content-Digest": `sha256:${"1".repeat(64)}`,
      "Content-Length": String(Buffer.byteLength(body)),
    });
    res.end(body);
    record(200);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    if (req.method === "GET" && url.pathname === "/oauth2/token") {
      handleToken(req, res, url);
    } else {
      handleRegistry(req, res, url);
    }
  });
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  port = typeof address === "object" && address !== null ? address.port : 0;

  return {
    server: `127.0.0.1:${port}`,
    port,
    realm: realm(),
    tokenRequests,
    registryRequests,
    issuedTokens,
    setScopeMap: (name, actions, change) => {
      const entries = parseScopeMap(actions);
      const after = change?.afterTokenRequests ?? 1;
      if (after <= 1) {
        scopeMaps.set(name, entries);
      } else {
        pending.push({ name, entries, at: tokenRequestCount + after });
      }
    },
    clearRecords: () => {
      tokenRequests.length = 0;
      registryRequests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic (.+)$/.exec(header ?? "");
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
