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

/** Route the SDK's debug log through redactRpcResponse. Idempotent. */
export function redactDebugLog(): void {
  const log = pulumi.log as { debug: typeof pulumi.log.debug & { redacted?: true } };
  if (log.debug.redacted) return;
  const original = log.debug;
  const redacted: typeof pulumi.log.debug & { redacted?: true } = (message, resource, streamId, ephemeral) =>
    original(redactRpcResponse(message), resource, streamId, ephemeral);
  redacted.redacted = true;
  log.debug = redacted;
}
