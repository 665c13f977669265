/**
 * A local stand-in for Azure Resource Manager that speaks the ACR `generateCredentials` contract closely enough
 * for the real `@azure/arm-containerregistry` client: HTTPS on 127.0.0.1 with a throwaway self-signed
 * certificate (the SDK's bearer-token policy refuses plain http), a long-running operation answered with 202,
 * `Azure-AsyncOperation` and `Location`, polling until Succeeded, then the final result from `Location`.
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
}

/** An ARM error answer to the next generateCredentials POST. */
export interface ScriptedFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** Sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number;
}

export interface ArmServer {
  /** https://127.0.0.1:<port> */
  readonly endpoint: string;
  /** PEM of the self-signed certificate, for the client's trusted CAs. */
  readonly caPem: string;
  readonly requests: RecordedRequest[];
  readonly issued: IssuedPassword[];
  /** Answer the next `times` generateCredentials POSTs with this error (queued after earlier scripts). */
  failNext(failure: ScriptedFailure, times?: number): void;
  /** How many status polls answer InProgress before Succeeded (default 1). */
  pollsBeforeDone: number;
  /** Forget recorded requests, issued passwords and scripted failures. */
  reset(): void;
  close(): Promise<void>;
}

export const TEST_BEARER_TOKEN = "test-token";

const GENERATE_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/generateCredentials$/i;
const OPERATION_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/locations\/local\/(operationStatuses|operationResults)\/([^/]+)$/;

interface Operation {
  polls: number;
  readonly result: unknown;
}

/** Make a self-signed certificate for 127.0.0.1 with openssl in a fresh temp directory. */
function makeCertificate(): { key: string; cert: string } {
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

export async function startArmServer(): Promise<ArmServer> {
  const { key, cert } = makeCertificate();
  const requests: RecordedRequest[] = [];
  const issued: IssuedPassword[] = [];
  const failures: ScriptedFailure[] = [];
  const operations = new Map<string, Operation>();
  let endpoint = "";

  const state = {
    pollsBeforeDone: 1,
  };

  const server = https.createServer({ key, cert }, (req, res) => {
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
      requests.push({ method: req.method ?? "", path: url.pathname, apiVersion, body, authorized });

      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { "Content-Type": "application/json", ...headers });
        res.end(payload === undefined ? "" : JSON.stringify(payload));
      };
      const sendError = (e: { status: number; body: unknown }, headers?: Record<string, string>): void =>
        send(e.status, e.body, headers);

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

      const generate = GENERATE_PATH.exec(url.pathname);
      if (generate && req.method === "POST") {
        const [, sub, rg, registry] = generate;
        const failure = failures.shift();
        if (failure) {
          const headers: Record<string, string> =
            failure.retryAfterSeconds === undefined
              ? {}
              : { "Retry-After": String(failure.retryAfterSeconds) };
          return sendError(armError(failure.status, failure.code, failure.message), headers);
        }
        const params = (badJson ? undefined : body) as
          { tokenId?: unknown; name?: unknown; expiry?: unknown } | undefined;
        const registryId = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ContainerRegistry/registries/${registry}`;
        const tokenId = typeof params?.tokenId === "string" ? params.tokenId : "";
        const tokenMatch = /\/tokens\/([^/]+)$/.exec(tokenId);
        if (!tokenMatch || tokenId.toLowerCase() !== `${registryId}/tokens/${tokenMatch[1]}`.toLowerCase()) {
          return sendError(armError(400, "InvalidParameter", "tokenId must be a token of this registry."));
        }
        if (params?.name !== "password1" && params?.name !== "password2") {
          return sendError(armError(400, "InvalidParameter", "name must be password1 or password2."));
        }
        const expiry = typeof params.expiry === "string" ? params.expiry : undefined;
        const value = randomBytes(24).toString("base64");
        issued.push({ tokenId, name: params.name, value, expiry });
        const id = randomUUID();
        operations.set(id, {
          polls: 0,
          result: {
            username: tokenMatch[1],
            passwords: [{ name: params.name, value, creationTime: new Date().toISOString(), expiry }],
          },
        });
        const base = `${endpoint}/subscriptions/${sub}/providers/Microsoft.ContainerRegistry/locations/local`;
        return send(202, undefined, {
          "Azure-AsyncOperation": `${base}/operationStatuses/${id}?api-version=${apiVersion}`,
          Location: `${base}/operationResults/${id}?api-version=${apiVersion}`,
        });
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

  return {
    endpoint,
    caPem: cert,
    requests,
    issued,
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
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
