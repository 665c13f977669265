/**
 * A local stand-in for Azure Resource Manager (ARM) and the Microsoft.ContainerRegistry resource provider, for the
 * real `@azure/arm-containerregistry` client: HTTPS on 127.0.0.1 with a throwaway self-signed certificate (the
 * SDK's bearer-token policy refuses plain http), `Authorization: Bearer test-token` and `api-version` required.
 *
 * Rules it models, with their source:
 * - `POST .../registries/<r>/generateCredentials` is a long-running operation: 202 with `Azure-AsyncOperation`
 *   and `Location`, polled until Succeeded, then the result from `Location` (ARM's async operation contract).
 *   It (re)generates one slot of an existing token; the result lists every slot of the token, and only the
 *   generated one carries a `value` (hashicorp/terraform-provider-azurerm pull request 13782).
 * - A password value is returned only by generateCredentials, never by a token GET (`TokenPassword.value` is
 *   read-only: pulumi/pulumi-azure-native issue 2500; the password is "only known right after it is generated":
 *   terraform-provider-azurerm container_registry_token_password_resource.go).
 * - Times come back in ARM's own format, `2022-04-20T20:13:40.0277998+00:00` (seven fractional digits, an
 *   offset: Azure/acr issue 596), so a client must compare instants, not strings.
 * - `GET/PUT/DELETE .../registries/<r>/tokens/<t>`: a token PUT writes the whole token. Its
 *   `credentials.passwords` list is the set of slots to keep: a slot it does not name is removed, and a PUT
 *   without `credentials` removes every slot (Azure/acr issues 596 and 667: re-deploying a token without the
 *   credentials "would clear the credentials"; terraform-provider-azurerm removes a password by writing the list
 *   without it). A PUT does not generate a password (a token created through the SDK has none:
 *   Azure/azure-sdk-for-python issue 19958; `value` is read-only: pulumi-azure-native issue 2500).
 * - A new token starts with no password slots and a fresh `creationDate`; deleting a registry deletes its tokens.
 * - A missing token, or a token of a missing registry, is a 404 with ARM's error shape `{ error: { code, message } }`.
 *   The codes (`ResourceNotFound`, `ParentResourceNotFound`) are ARM's usual ones, not checked against ACR; the
 *   provider relies on the status only.
 *
 * - Write throttling, when `throttleWrites` turns it on: ARM's token bucket per subscription, as documented since
 *   2024 (https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/request-limits-and-throttling:
 *   subscription writes, bucket 200, refill 10 a second, per region, principal and operation type; the 2024
 *   announcement https://azure.microsoft.com/en-us/updates/azure-resource-manager-throttling/). Every write (a
 *   POST, PUT or PATCH) takes a token; with none left it is answered 429 with `Retry-After` in whole seconds,
 *   the time until the next token, and a request sent before then is refused again with a new value (same page).
 *   Every write answer carries `x-ms-ratelimit-remaining-subscription-writes`. The error code
 *   `SubscriptionRequestsThrottled` and its message follow a real answer quoted in MicrosoftDocs/azure-docs issue
 *   105248; the exact wording differs.
 *
 * Not modeled (a green test proves nothing about them): token `PATCH` (`tokens.update`); the token and registry
 * long-running states (every write succeeds at once, `provisioningState: Succeeded`); whether a PUT that names a
 * slot with another `creationTime` or `expiry` keeps it (here: kept, matched by name); whether a PUT that creates
 * a token and names slots generates them (here: no; the sources above cover a create without credentials and the
 * read-only `value`, not this case); what ARM answers generateCredentials for a token that does not exist (here:
 * 404 `ResourceNotFound`); certificates; scope map existence; registry PUT/DELETE over HTTP (tests re-create a
 * registry with `deleteRegistry`/`createRegistry`); read and delete throttling (their own buckets), the tenant,
 * global (15 times a principal's) and region scopes of the bucket, and the resource provider's own limits; RBAC (any request with
 * the test bearer token is allowed).
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** The `api-version` query parameter, if any. */
  readonly apiVersion?: string;
  /** Parsed JSON body (undefined when the request had none). */
  readonly body?: unknown;
  /** Whether the request carried `Authorization: Bearer test-token`. */
  readonly authorized: boolean;
}

/** A password the server issued (what the client should end up with). */
export interface IssuedPassword {
  readonly tokenId: string;
  readonly name: string;
  readonly value: string;
  readonly expiry?: string;
  /** The slot's creationTime, in ARM's format. */
  readonly creationTime: string;
}

/** Which requests a scripted failure answers. */
export type FailureRoute = "generateCredentials" | "getToken";

/** An ARM error answer to the next request of a route (generateCredentials unless `on` says otherwise). */
export interface ScriptedFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** Sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number;
  /** Defaults to "generateCredentials". */
  readonly on?: FailureRoute;
}

/** One password slot of a token, as a token GET shows it (no value). */
export interface SlotRecord {
  readonly name: string;
  readonly creationTime: string;
  readonly expiry?: string;
}

/** A token as the server holds it. */
export interface TokenRecord {
  readonly id: string;
  readonly creationDate: string;
  readonly scopeMapId?: string;
  readonly status: string;
  readonly passwords: readonly SlotRecord[];
}

/** ARM's write token bucket (see the file comment); ARM's own figures are 200 and 10. */
export interface WriteThrottle {
  readonly bucketSize: number;
  readonly refillPerSecond: number;
}

export interface ArmServer {
  /** https://127.0.0.1:<port> */
  readonly endpoint: string;
  /** PEM of the self-signed certificate, for the client's trusted CAs. */
  readonly caPem: string;
  readonly requests: RecordedRequest[];
  readonly issued: IssuedPassword[];
  /** Answer the next `times` requests of the failure's route with this error (queued after earlier scripts). */
  failNext(failure: ScriptedFailure, times?: number): void;
  /** Throttle writes with this token bucket (per subscription; the bucket starts full), or stop (undefined). */
  throttleWrites(throttle: WriteThrottle | undefined): void;
  /** The requests the write bucket answered 429, with the Retry-After they got (seconds). */
  readonly throttled: (RecordedRequest & { readonly retryAfterSeconds: number })[];
  /** How many status polls answer InProgress before Succeeded (default 1). */
  pollsBeforeDone: number;
  /** Forget recorded requests, issued passwords, scripted failures and the write throttle; registries and tokens stay. */
  reset(): void;
  /** Forget every registry and token. */
  resetResources(): void;
  /** Create an empty registry (its ARM id); a registry of that id must not exist. */
  createRegistry(registryId: string): void;
  /** Delete a registry and with it every token it holds. */
  deleteRegistry(registryId: string): void;
  /** Create a token with no password (as a token PUT of a new token does), in an existing registry. */
  createToken(tokenId: string, scopeMapId: string): TokenRecord;
  /** The token as the server holds it, or undefined. */
  token(tokenId: string): TokenRecord | undefined;
  close(): Promise<void>;
}

export const TEST_BEARER_TOKEN = "test-token";

const GENERATE_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/generateCredentials$/i;
const TOKEN_PATH =
  /^(\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ContainerRegistry\/registries\/[^/]+)\/tokens\/([^/]+)$/i;
const OPERATION_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/locations\/local\/(operationStatuses|operationResults)\/([^/]+)$/;

interface Operation {
  polls: number;
  readonly result: unknown;
}

interface Registry {
  readonly tokens: Map<string, TokenRecord>;
}

/** ARM's time format: seven fractional digits and an offset (Azure/acr issue 596). */
export function armTime(date: Date): string {
  return date.toISOString().replace(/Z$/, "0000+00:00");
}

/** Make a self-signed certificate for 127.0.0.1 with openssl in a fresh temp directory. */
export function makeCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arm-server-"));
  try {
    const keyFile = path.join(dir, "key.pem");
    const certFile = path.join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "pipe" },
    );
    return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function armError(status: number, code: string, message: string): { status: number; body: unknown } {
  return { status, body: { error: { code, message } } };
}

/** ARM ids are case-insensitive. */
const key = (id: string): string => id.toLowerCase();

/** The token as a GET (or a PUT's answer) shows it. */
function tokenResource(token: TokenRecord): unknown {
  const name = token.id.split("/").pop();
  return {
    id: token.id,
    name,
    type: "Microsoft.ContainerRegistry/registries/tokens",
    properties: {
      creationDate: token.creationDate,
      provisioningState: "Succeeded",
      ...(token.scopeMapId === undefined ? {} : { scopeMapId: token.scopeMapId }),
      status: token.status,
      credentials: { certificates: [], passwords: token.passwords.map((p) => ({ ...p })) },
    },
  };
}

export async function startArmServer(): Promise<ArmServer> {
  const { key: tlsKey, cert } = makeCertificate();
  const requests: RecordedRequest[] = [];
  const issued: IssuedPassword[] = [];
  const failures: ScriptedFailure[] = [];
  const operations = new Map<string, Operation>();
  const registries = new Map<string, Registry>();
  let endpoint = "";

  const state = {
    pollsBeforeDone: 1,
  };
  const throttled: (RecordedRequest & { readonly retryAfterSeconds: number })[] = [];
  let writeThrottle: WriteThrottle | undefined;
  const buckets = new Map<string, { tokens: number; at: number }>();

  /** Take a write token of the subscription: undefined when taken, else the seconds until the next one. */
  const takeWriteToken = (subscription: string): number | undefined => {
    if (writeThrottle === undefined) return undefined;
    const { bucketSize, refillPerSecond } = writeThrottle;
    const now = Date.now();
    const bucket = buckets.get(key(subscription)) ?? { tokens: bucketSize, at: now };
    bucket.tokens = Math.min(bucketSize, bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond);
    bucket.at = now;
    buckets.set(key(subscription), bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond));
  };
  const remainingWrites = (subscription: string): Record<string, string> => {
    const bucket = buckets.get(key(subscription));
    return writeThrottle === undefined || bucket === undefined
      ? {}
      : { "x-ms-ratelimit-remaining-subscription-writes": String(Math.floor(bucket.tokens)) };
  };

  const nextFailure = (route: FailureRoute): ScriptedFailure | undefined => {
    const index = failures.findIndex((f) => (f.on ?? "generateCredentials") === route);
    return index < 0 ? undefined : failures.splice(index, 1)[0];
  };

  // Strictly increasing times: a token re-created within the same millisecond still gets a new creationDate
  // (ARM's own times have 100 ns steps).
  let lastTime = 0;
  const stamp = (): string => {
    lastTime = Math.max(Date.now(), lastTime + 1);
    return armTime(new Date(lastTime));
  };

  const newToken = (id: string, scopeMapId: string | undefined, status: string): TokenRecord => ({
    id,
    creationDate: stamp(),
    scopeMapId,
    status,
    passwords: [],
  });

  const server = https.createServer({ key: tlsKey, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", endpoint);
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      let badJson = false;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          badJson = true;
        }
      }
      const apiVersion = url.searchParams.get("api-version") ?? undefined;
      const authorized = req.headers.authorization === `Bearer ${TEST_BEARER_TOKEN}`;
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        path: url.pathname,
        apiVersion,
        body,
        authorized,
      };
      requests.push(recorded);
      const subscription = /^\/subscriptions\/([^/]+)\//i.exec(url.pathname)?.[1] ?? "";
      const write = ["POST", "PUT", "PATCH"].includes(req.method ?? "");

      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, {
          "Content-Type": "application/json",
          ...(write ? remainingWrites(subscription) : {}),
          ...headers,
        });
        res.end(payload === undefined ? "" : JSON.stringify(payload));
      };
      const sendError = (e: { status: number; body: unknown }, headers?: Record<string, string>): void =>
        send(e.status, e.body, headers);
      const sendScripted = (failure: ScriptedFailure): void =>
        sendError(
          armError(failure.status, failure.code, failure.message),
          failure.retryAfterSeconds === undefined ? {} : { "Retry-After": String(failure.retryAfterSeconds) },
        );

      if (!authorized) {
        return sendError(armError(401, "AuthenticationFailed", "Authentication failed."));
      }
      if (!apiVersion) {
        return sendError(
          armError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required.",
          ),
        );
      }

      const waitSeconds = authorized && apiVersion && write ? takeWriteToken(subscription) : undefined;
      if (waitSeconds !== undefined) {
        throttled.push({ ...recorded, retryAfterSeconds: waitSeconds });
        return sendError(
          armError(
            429,
            "SubscriptionRequestsThrottled",
            `Number of 'write' requests for subscription '${subscription}' exceeded. Please try again after '${waitSeconds}' seconds.`,
          ),
          { "Retry-After": String(waitSeconds) },
        );
      }

      const generate = GENERATE_PATH.exec(url.pathname);
      if (generate && req.method === "POST") {
        const [, sub, rg, registryName] = generate;
        const failure = nextFailure("generateCredentials");
        if (failure) return sendScripted(failure);
        const params = (badJson ? undefined : body) as
          { tokenId?: unknown; name?: unknown; expiry?: unknown } | undefined;
        const registryId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ContainerRegistry/registries/${registryName}`;
        const tokenId = typeof params?.tokenId === "string" ? params.tokenId : "";
        const tokenMatch = /\/tokens\/([^/]+)$/.exec(tokenId);
        if (!tokenMatch || key(tokenId) !== key(`${registryId}/tokens/${tokenMatch[1]}`)) {
          return sendError(armError(400, "InvalidParameter", "tokenId must be a token of this registry."));
        }
        if (params?.name !== "password1" && params?.name !== "password2") {
          return sendError(armError(400, "InvalidParameter", "name must be password1 or password2."));
        }
        const registry = registries.get(key(registryId));
        if (!registry) {
          return sendError(armError(404, "ResourceNotFound", `The registry ${registryName} was not found.`));
        }
        const token = registry.tokens.get(key(tokenId));
        if (!token) {
          return sendError(
            armError(
              404,
              "ResourceNotFound",
              `The token ${tokenMatch[1]} was not found in registry ${registryName}.`,
            ),
          );
        }
        const name = params.name;
        const expiry = typeof params.expiry === "string" ? armTime(new Date(params.expiry)) : undefined;
        const value = randomBytes(24).toString("base64");
        const slot: SlotRecord = {
          name,
          creationTime: stamp(),
          ...(expiry === undefined ? {} : { expiry }),
        };
        const passwords = [...token.passwords.filter((p) => p.name !== name), slot].sort((a, b) =>
          a.name.localeCompare(b.name),
        );
        registry.tokens.set(key(tokenId), { ...token, passwords });
        issued.push({
          tokenId,
          name,
          value,
          creationTime: slot.creationTime,
          ...(typeof params.expiry === "string" ? { expiry: params.expiry } : {}),
        });
        const id = randomUUID();
        operations.set(id, {
          polls: 0,
          result: {
            username: tokenMatch[1],
            // Every slot, and the value only for the one just generated (terraform-provider-azurerm PR 13782).
            passwords: passwords.map((p) => (p.name === name ? { ...p, value } : { ...p })),
          },
        });
        const base = `${endpoint}/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/locations/local`;
        return send(202, undefined, {
          "Azure-AsyncOperation": `${base}/operationStatuses/${id}?api-version=${apiVersion}`,
          Location: `${base}/operationResults/${id}?api-version=${apiVersion}`,
        });
      }

      const tokenPath = TOKEN_PATH.exec(url.pathname);
      if (tokenPath) {
        const [, registryId, tokenName] = tokenPath;
        const tokenId = url.pathname;
        const registry = registries.get(key(registryId));
        if (req.method === "GET") {
          const failure = nextFailure("getToken");
          if (failure) return sendScripted(failure);
        }
        if (!registry && req.method !== "DELETE") {
          return sendError(
            armError(
              404,
              "ParentResourceNotFound",
              `Can not perform requested operation on nested resource. Parent resource '${registryId.split("/").pop()}' not found.`,
            ),
          );
        }
        const token = registry?.tokens.get(key(tokenId));
        switch (req.method) {
          case "GET":
            return token
              ? send(200, tokenResource(token))
              : sendError(
                  armError(
                    404,
                    "ResourceNotFound",
                    `The Resource 'Microsoft.ContainerRegistry/registries/${registryId.split("/").pop()}/tokens/${tokenName}' was not found.`,
                  ),
                );
          case "PUT": {
            const properties = ((badJson ? undefined : body) as { properties?: Record<string, unknown> })
              ?.properties;
            const scopeMapId = typeof properties?.scopeMapId === "string" ? properties.scopeMapId : undefined;
            const status = typeof properties?.status === "string" ? properties.status : "enabled";
            const listed = (properties?.credentials as { passwords?: { name?: unknown }[] } | undefined)
              ?.passwords;
            const keep = new Set((listed ?? []).map((p) => p.name));
            const base = token ?? newToken(tokenId, scopeMapId, status);
            // The list names the slots to keep; a slot it leaves out is removed, and no list removes all.
            const written: TokenRecord = {
              ...base,
              scopeMapId,
              status,
              passwords: base.passwords.filter((p) => keep.has(p.name)),
            };
            registry!.tokens.set(key(tokenId), written);
            return send(token ? 200 : 201, tokenResource(written));
          }
          case "DELETE":
            if (!token) return send(204, undefined);
            registry!.tokens.delete(key(tokenId));
            return send(200, undefined);
        }
      }

      const operation = OPERATION_PATH.exec(url.pathname);
      if (operation && req.method === "GET") {
        const [, , kind, id] = operation;
        const op = operations.get(id);
        if (!op) {
          return sendError(armError(404, "OperationNotFound", `Operation ${id} not found.`));
        }
        if (kind === "operationStatuses") {
          op.polls += 1;
          const done = op.polls > state.pollsBeforeDone;
          return send(200, { id, status: done ? "Succeeded" : "InProgress" });
        }
        if (op.polls <= state.pollsBeforeDone) {
          return send(202, undefined);
        }
        return send(200, op.result);
      }

      return sendError(armError(404, "NotFound", `No route for ${req.method} ${url.pathname}.`));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const registryOf = (tokenId: string): Registry => {
    const match = TOKEN_PATH.exec(tokenId);
    const registry = match ? registries.get(key(match[1])) : undefined;
    if (!registry) throw new Error(`no registry for token ${tokenId}`);
    return registry;
  };

  return {
    endpoint,
    caPem: cert,
    requests,
    issued,
    throttled,
    throttleWrites(throttle: WriteThrottle | undefined): void {
      writeThrottle = throttle;
      buckets.clear();
    },
    failNext(failure: ScriptedFailure, times = 1): void {
      for (let i = 0; i < times; i++) failures.push(failure);
    },
    get pollsBeforeDone(): number {
      return state.pollsBeforeDone;
    },
    set pollsBeforeDone(n: number) {
      state.pollsBeforeDone = n;
    },
    reset(): void {
      requests.length = 0;
      issued.length = 0;
      failures.length = 0;
      operations.clear();
      throttled.length = 0;
      writeThrottle = undefined;
      buckets.clear();
    },
    resetResources(): void {
      registries.clear();
    },
    createRegistry(registryId: string): void {
      if (registries.has(key(registryId))) throw new Error(`registry ${registryId} exists`);
      registries.set(key(registryId), { tokens: new Map() });
    },
    deleteRegistry(registryId: string): void {
      registries.delete(key(registryId));
    },
    createToken(tokenId: string, scopeMapId: string): TokenRecord {
      const token = newToken(tokenId, scopeMapId, "enabled");
      registryOf(tokenId).tokens.set(key(tokenId), token);
      return token;
    },
    token(tokenId: string): TokenRecord | undefined {
      const match = TOKEN_PATH.exec(tokenId);
      return match ? registries.get(key(match[1]))?.tokens.get(key(tokenId)) : undefined;
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
