/**
 * Pulumi's own dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`), started as the engine starts it: a
 * child process that prints its gRPC port. The test then plays the engine: it sends Create and Read requests
 * whose properties carry the serialized provider under `__provider`, as the engine's state does.
 *
 * What this shows that calling the provider in-process does not: the state really crosses a protobuf `Struct`
 * both ways (no `undefined` survives, `null` does), the host hands `read` the state it was sent, and an import
 * (a Read with no state) fails in the host before any provider code runs. What it does not show: the engine
 * itself, which decides what state to send, applies `ignoreChanges`, and marks outputs secret again after a Read
 * (`annotateSecrets` in pulumi/pulumi sdk/go/common/resource/plugin/provider_plugin.go).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
// Internal modules of the SDK and its gRPC runtime: the protocol the engine speaks to the host.
/* eslint-disable @typescript-eslint/no-require-imports */
const grpc = require("@grpc/grpc-js");
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const structproto = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

export interface HostResult {
  readonly id: string;
  readonly properties: Record<string, unknown>;
}

export interface DynamicProviderHost {
  create(urn: string, properties: Record<string, unknown>): Promise<HostResult>;
  read(urn: string, id: string, properties: Record<string, unknown>): Promise<HostResult>;
  close(): Promise<void>;
}

const HOST = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js");

export async function startDynamicProviderHost(): Promise<DynamicProviderHost> {
  // The engine address argument is required but unused by this host; the serialized provider resolves its
  // modules (the Azure SDK) from the working directory, the project root, as under `pulumi up`.
  const child: ChildProcess = spawn(process.execPath, [HOST, "127.0.0.1:0"], {
    cwd: path.resolve(__dirname, "..", ".."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const port = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const line = /^(\d+)\s*$/m.exec(stdout);
      if (line) resolve(line[1]);
    });
    child.once("exit", (code) => reject(new Error(`dynamic-provider host exited (${code}): ${stderr}`)));
    child.once("error", reject);
  });
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  const call = <Req>(method: string, req: Req): Promise<HostResult> =>
    new Promise((resolve, reject) => {
      client[method](
        req,
        (err: Error | null, resp: { getId(): string; getProperties(): { toJavaScript(): unknown } }) => {
          if (err) return reject(err);
          resolve({
            id: resp.getId(),
            properties: resp.getProperties().toJavaScript() as Record<string, unknown>,
          });
        },
      );
    });

  return {
    create(urn, properties) {
      const req = new provproto.CreateRequest();
      req.setUrn(urn);
      req.setProperties(structproto.Struct.fromJavaScript(properties));
      return call("create", req);
    },
    read(urn, id, properties) {
      const req = new provproto.ReadRequest();
      req.setUrn(urn);
      req.setId(id);
      req.setProperties(structproto.Struct.fromJavaScript(properties));
      return call("read", req);
    },
    async close() {
      client.close();
      if (child.exitCode === null && child.pid !== undefined) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill();
        await exited;
      }
    },
  };
}
