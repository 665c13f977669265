import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { redactRpcResponse, SDK_DEBUG_LOG, sdkDebugLogSetting } from "../components/redactedDebugLog";
import { CANARY, staticSettings } from "./support/fixtures";
import { canaryFindings } from "./support/canaries";
import { runProgram, stackConfig } from "../tools/mockRuntime";

/**
 * The messages that reach the SDK's own debug function during a run of the program under mocks, and from two
 * debug calls after it, with REGISTRY_ACCESS_SDK_DEBUG_LOG set to `value`.
 */
async function reachedAfterRun(value: string | undefined): Promise<{ during: string[]; after: string[] }> {
  const log = pulumi.log as { debug: (m: string) => Promise<void> };
  const original = log.debug;
  const saved = process.env[SDK_DEBUG_LOG];
  const reached: string[] = [];
  // Stands for the SDK's own function, which sends the message to the engine.
  log.debug = async (m: string) => {
    reached.push(m);
  };
  try {
    if (value === undefined) delete process.env[SDK_DEBUG_LOG];
    else process.env[SDK_DEBUG_LOG] = value;
    await runProgram(stackConfig(staticSettings()));
    const during = reached.splice(0);
    await log.debug("Registering resource: t=kubernetes:core/v1:Secret, name=s, custom=true, remote=false");
    await log.debug(
      "RegisterResource RPC finished: resource:s[kubernetes:core/v1:Secret]; err: null, resp: SECRET",
    );
    return { during, after: reached };
  } finally {
    log.debug = original;
    if (saved === undefined) delete process.env[SDK_DEBUG_LOG];
    else process.env[SDK_DEBUG_LOG] = saved;
  }
}

// The Node.js SDK's debug messages reach the engine's event stream even without --debug; the end-to-end canary
// test found a pull secret's .dockerconfigjson, base64, in "RegisterResource RPC finished ... resp: ...".
describe("the SDK's debug log: off by default, and no RPC response in it", () => {
  it("cuts every resource RPC response, whatever follows", () => {
    for (const rpc of ["RegisterResource", "ReadResource", "Invoke", "Call", "getResource Invoke"]) {
      assert.strictEqual(
        redactRpcResponse(
          `${rpc} RPC finished: resource:x[kubernetes:core/v1:Secret]; err: null, resp: data,eyJhdXRocyI6\nmore`,
        ),
        `${rpc} RPC finished: resource:x[kubernetes:core/v1:Secret]; err: null, resp: [not logged: it holds resource outputs, secrets included]`,
      );
    }
  });

  it("leaves other debug messages as they are", () => {
    const message = "Registering resource: t=kubernetes:core/v1:Secret, name=x, custom=true, remote=false";
    assert.strictEqual(redactRpcResponse(message), message);
  });

  it("sends nothing to the engine by default, once the program runs", async () => {
    assert.deepStrictEqual(await reachedAfterRun(undefined), { during: [], after: [] });
    assert.deepStrictEqual(await reachedAfterRun("0"), { during: [], after: [] });
  });

  it("sends every message with REGISTRY_ACCESS_SDK_DEBUG_LOG=1, each RPC response cut", async () => {
    assert.strictEqual(SDK_DEBUG_LOG, "REGISTRY_ACCESS_SDK_DEBUG_LOG");
    const { during, after } = await reachedAfterRun("1");
    // The program's own run: the SDK's messages for each resource, no credential in any of them (the RPC
    // responses that carry outputs are cut).
    assert.ok(
      during.some((m) => m.startsWith("Registering resource: t=kubernetes:core/v1:Secret")),
      during.join("\n"),
    );
    assert.ok(
      during.some((m) => m.endsWith(", resp: [not logged: it holds resource outputs, secrets included]")),
    );
    for (const canary of Object.values(CANARY)) {
      assert.deepStrictEqual(canaryFindings(during.join("\n"), canary), [], canary);
    }
    assert.deepStrictEqual(after, [
      "Registering resource: t=kubernetes:core/v1:Secret, name=s, custom=true, remote=false",
      "RegisterResource RPC finished: resource:s[kubernetes:core/v1:Secret]; err: null, resp: " +
        "[not logged: it holds resource outputs, secrets included]",
    ]);
  });
});

describe("REGISTRY_ACCESS_SDK_DEBUG_LOG", () => {
  it("a value it does not know: the program warns once and sends nothing", async () => {
    const log = pulumi.log as { warn: (m: string) => Promise<void> };
    const original = log.warn;
    const warnings: string[] = [];
    log.warn = async (m: string) => {
      warnings.push(m);
    };
    try {
      assert.deepStrictEqual(await reachedAfterRun("yes"), { during: [], after: [] });
    } finally {
      log.warn = original;
    }
    assert.deepStrictEqual(
      warnings.filter((w) => w.startsWith(SDK_DEBUG_LOG)),
      [sdkDebugLogSetting({ [SDK_DEBUG_LOG]: "yes" }).warning],
    );
  });

  it("is on for 1 and true, in any case and with spaces around", () => {
    for (const value of ["1", "true", "TRUE", " True "]) {
      assert.deepStrictEqual(sdkDebugLogSetting({ [SDK_DEBUG_LOG]: value }), { send: true }, value);
    }
  });

  it("is off when unset, empty, 0 or false, without a warning", () => {
    assert.deepStrictEqual(sdkDebugLogSetting({}), { send: false });
    for (const value of ["", "0", "false", "FALSE", " 0 "]) {
      assert.deepStrictEqual(sdkDebugLogSetting({ [SDK_DEBUG_LOG]: value }), { send: false }, value);
    }
  });

  it("is off for any other value, with a warning that names the variable, the value and the fix", () => {
    assert.deepStrictEqual(sdkDebugLogSetting({ [SDK_DEBUG_LOG]: "yes" }), {
      send: false,
      warning:
        "REGISTRY_ACCESS_SDK_DEBUG_LOG=yes: expected 1, true, 0 or false; the SDK's debug messages stay off. " +
        "Set REGISTRY_ACCESS_SDK_DEBUG_LOG=1 (with `pulumi up --debug` to see them), or unset it",
    });
  });
});
