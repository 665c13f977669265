/**
 * A small ACR-like registry on 127.0.0.1 speaking distribution token auth, for tests of the Bearer flow
 * (Debian's registry cannot issue tokens without a separate token service).
 *
 * `GET /v2/` without a valid token answers 401 `Bearer realm="http://127.0.0.1:PORT/oauth2/token",
 * service="<service>"`. The token endpoint checks Basic auth and grants `pull` only on repositories the
 * user may pull (like ACR, a scope that is not allowed still gets a token, with an empty access list).
 * `GET /v2/<repo>/tags/list` answers 200 for existing repositories, 404 NAME_UNKNOWN for others, and 401
 * `error="insufficient_scope"` when the token does not grant pull. Every request is recorded.
 */
import { randomBytes } from "crypto";
import { createServer, IncomingMessage, ServerResponse } from "http";
import type { Socket } from "net";

export interface FakeTokenRegistryOptions {
  /** username -> password. */
  readonly users: Readonly<Record<string, string>>;
  /** username -> repositories that user may pull. Defaults to none. */
  readonly pull?: Readonly<Record<string, readonly string[]>>;
  /** Repositories that exist (tags/list answers 200); others answer 404 NAME_UNKNOWN. Defaults to none. */
  readonly existing?: readonly string[];
  /** The token endpoint answers 401 to the first N requests even with good credentials (a new ACR password). */
  readonly rejectFirstTokenRequests?: number;
  /** The `service` of the challenge. Defaults to `127.0.0.1:PORT`. */
  readonly service?: string;
  /** Which JSON field carries the token: ACR uses access_token, the distribution spec token. Defaults to access_token. */
  readonly tokenField?: "token" | "access_token";
  /** Answer GET /v2/ with this status and no challenge (a broken registry). */
  readonly brokenStatus?: number;
}

export interface TokenRequest {
  /** Path and query exactly as received. */
  readonly url: string;
  readonly service: string | null;
  readonly scopes: readonly string[];
  /** The Basic username presented, if any. */
  readonly username: string | undefined;
  readonly status: number;
}

export interface RegistryRequest {
  readonly path: string;
  /** `none`, `basic`, `bearer` (a known token) or `bad-bearer`. */
  readonly auth: "none" | "basic" | "bearer" | "bad-bearer";
  readonly status: number;
}

export interface FakeTokenRegistry {
  readonly server: string;
  readonly port: number;
  /** The realm the challenge names. */
  readonly realm: string;
  readonly tokenRequests: readonly TokenRequest[];
  readonly registryRequests: readonly RegistryRequest[];
  /** Every token issued, to check none leaks into a message. */
  readonly issuedTokens: readonly string[];
  /** Forget the recorded requests (issued tokens stay valid, and stay listed). */
  clearRecords(): void;
  stop(): Promise<void>;
}

interface Grant {
  readonly username: string;
  readonly pull: readonly string[];
}

export async function startFakeTokenRegistry(options: FakeTokenRegistryOptions): Promise<FakeTokenRegistry> {
  const tokenRequests: TokenRequest[] = [];
  const registryRequests: RegistryRequest[] = [];
  const issuedTokens: string[] = [];
  const grants = new Map<string, Grant>();
  let tokenRequestCount = 0;
  let port = 0;
  const service = () => options.service ?? `127.0.0.1:${port}`;
  const realm = () => `http://127.0.0.1:${port}/oauth2/token`;
  const challenge = (extra = "") =>
    `Bearer realm="${realm()}",service="${service().replace(/["\\]/g, "\\$&")}"${extra}`;

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
    return status;
  };
  const unauthorized = (res: ServerResponse, extra = "") =>
    json(
      res,
      401,
      { errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }] },
      { "WWW-Authenticate": challenge(extra) },
    );

  const handleToken = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const basic = parseBasic(req.headers.authorization);
    const scopes = url.searchParams.getAll("scope");
    const record = (status: number) =>
      tokenRequests.push({
        url: req.url ?? "",
        service: url.searchParams.get("service"),
        scopes,
        username: basic?.username,
        status,
      });
    tokenRequestCount++;
    const good = basic !== undefined && options.users[basic.username] === basic.password;
    if (!good || tokenRequestCount <= (options.rejectFirstTokenRequests ?? 0)) {
      record(json(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    const allowed = options.pull?.[basic.username] ?? [];
    const pull = scopes
      .map((s) => /^repository:([^:]+):(.+)$/.exec(s))
      .filter(
        (m): m is RegExpExecArray => m !== null && m[2].split(",").includes("pull") && allowed.includes(m[1]),
      )
      .map((m) => m[1]);
    const token = randomBytes(24).toString("hex");
    issuedTokens.push(token);
    grants.set(token, { username: basic.username, pull });
    record(json(res, 200, { [options.tokenField ?? "access_token"]: token }));
  };

  const handleRegistry = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const header = req.headers.authorization ?? "";
    const bearer = /^Bearer (.+)$/.exec(header);
    const grant = bearer ? grants.get(bearer[1]) : undefined;
    const auth = grant ? "bearer" : bearer ? "bad-bearer" : /^Basic /.test(header) ? "basic" : "none";
    const record = (status: number) => registryRequests.push({ path: url.pathname, auth, status });
    if (options.brokenStatus !== undefined && url.pathname === "/v2/") {
      record(json(res, options.brokenStatus, { errors: [{ code: "UNKNOWN", message: "broken" }] }));
      return;
    }
    if (grant === undefined) {
      record(unauthorized(res));
      return;
    }
    if (url.pathname === "/v2/") {
      record(json(res, 200, {}));
      return;
    }
    const tags = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (tags === null) {
      record(json(res, 404, { errors: [{ code: "NOT_FOUND", message: "no such route" }] }));
      return;
    }
    const repository = tags[1];
    if (!grant.pull.includes(repository)) {
      record(unauthorized(res, `,scope="repository:${repository}:pull",error="insufficient_scope"`));
      return;
    }
    if (!(options.existing ?? []).includes(repository)) {
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
    record(json(res, 200, { name: repository, tags: ["v1"] }));
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
