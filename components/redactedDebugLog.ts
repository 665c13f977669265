import * as pulumi from "@pulumi/pulumi";

/**
 * The Node.js SDK logs every resource RPC's response at debug level ("RegisterResource RPC finished: ...; err:
 * null, resp: ..."), and sends debug messages to the engine whether or not `--debug` is on. The response holds
 * the resource's outputs, secret ones included, in the clear: the pull secret's `.dockerconfigjson`. The CLI hides
 * debug messages, but they are in the engine's event stream (the Automation API's `onEvent`, `--event-log`, and
 * what a backend records of an update). Found by the end-to-end canary test (test/e2e, scenario 6).
 */
export const RPC_RESPONSE =
  /^((?:\w+ )*(?:RegisterResource|ReadResource|Invoke|Call|getResource Invoke) RPC finished: [^\n]*?err: [^\n]*?, resp: )[\s\S]*$/;

/** A debug message with any RPC response cut off. */
export function redactRpcResponse(message: string): string {
  return message.replace(RPC_RESPONSE, "$1[not logged: it holds resource outputs, secrets included]");
}

/** The environment variable that sends the SDK's debug messages to the engine. */
export const SDK_DEBUG_LOG = "REGISTRY_ACCESS_SDK_DEBUG_LOG";

/**
 * Whether the SDK's debug messages go to the engine, from SDK_DEBUG_LOG: `1` or `true` sends them, unset, empty,
 * `0` or `false` does not. Any other value does not either, with a warning that names it and the fix.
 */
export function sdkDebugLogSetting(env: NodeJS.ProcessEnv): {
  readonly send: boolean;
  readonly warning?: string;
} {
  const value = env[SDK_DEBUG_LOG];
  const normalized = (value ?? "").trim().toLowerCase();
  if (normalized === "1" || normalized === "true") return { send: true };
  if (normalized === "" || normalized === "0" || normalized === "false") return { send: false };
  return {
    send: false,
    warning:
      `${SDK_DEBUG_LOG}=${value}: expected 1, true, 0 or false; the SDK's debug messages stay off. ` +
      `Set ${SDK_DEBUG_LOG}=1 (with \`pulumi up --debug\` to see them), or unset it`,
  };
}

/**
 * Routes the SDK's debug log. The SDK sends three to five debug messages per resource to the engine (registering,
 * RPC prepared, RPC finished with the whole response), each a gRPC call that the engine turns into an event, which
 * the CLI shows only with `--debug`. In a no-change preview of 200 namespaces they were a quarter of the language
 * host's CPU and of the engine's (docs/performance.md). So they are dropped, unless `send` (SDK_DEBUG_LOG=1):
 * then each goes to the engine with any RPC response cut off (redactRpcResponse). Idempotent.
 */
export function routeSdkDebugLog(send: boolean): void {
  const log = pulumi.log as { debug: typeof pulumi.log.debug & { routed?: true } };
  if (log.debug.routed) return;
  const original = log.debug;
  const routed: typeof pulumi.log.debug & { routed?: true } = send
    ? (message, resource, streamId, ephemeral) =>
        original(redactRpcResponse(message), resource, streamId, ephemeral)
    : () => Promise.resolve();
  routed.routed = true;
  log.debug = routed;
}
