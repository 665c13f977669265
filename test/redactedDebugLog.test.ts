import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { redactRpcResponse } from "../components/redactedDebugLog";
import { staticSettings } from "./support/fixtures";
import { runProgram, stackConfig } from "../tools/mockRuntime";

// The Node.js SDK's debug messages reach the engine's event stream even without --debug; the end-to-end canary
// test found a pull secret's .dockerconfigjson, base64, in "RegisterResource RPC finished ... resp: ...".
describe("no RPC response in the SDK's debug log", () => {
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

  it("is in force once the program runs, for every debug message it sends to the engine", async () => {
    const log = pulumi.log as { debug: (m: string) => Promise<void> };
    const original = log.debug;
    const reached: string[] = [];
    // Stands for the SDK's own function, which sends the message to the engine.
    log.debug = async (m: string) => {
      reached.push(m);
    };
    try {
      await runProgram(stackConfig(staticSettings()));
      reached.length = 0;
      await log.debug(
        "RegisterResource RPC finished: resource:s[kubernetes:core/v1:Secret]; err: null, resp: SECRET",
      );
      assert.deepStrictEqual(reached, [
        "RegisterResource RPC finished: resource:s[kubernetes:core/v1:Secret]; err: null, resp: " +
          "[not logged: it holds resource outputs, secrets included]",
      ]);
    } finally {
      log.debug = original;
    }
  });
});
