import * as assert from "assert";
import * as plugin from "../components/dynamicProviderPlugin";
import { dynamicProviderStarter, START_TOKEN } from "../components/dynamicProviderPlugin";
import { acrSettings, staticSettings } from "./support/fixtures";
import { runProgram, stackConfig } from "../tools/mockRuntime";

describe("the dynamic providers' plugin, started at the first dynamic resource", () => {
  it("invokes the package once, whatever the number of calls", () => {
    const invoked: [string, unknown][] = [];
    const start = dynamicProviderStarter(
      async (token, args) => {
        invoked.push([token, args]);
      },
      () => false,
    );
    start();
    start();
    start();
    assert.deepStrictEqual(invoked, [["pulumi-nodejs:dynamic:startPlugin", {}]]);
    assert.strictEqual(START_TOKEN, "pulumi-nodejs:dynamic:startPlugin");
  });

  it("ignores the host's refusal (it implements no function): no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on("unhandledRejection", onUnhandled);
    try {
      dynamicProviderStarter(
        () => Promise.reject(new Error(`unknown function ${START_TOKEN}`)),
        () => false,
      )();
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    assert.deepStrictEqual(unhandled, []);
  });

  it("invokes nothing under the unit tests' mocks, which have no plugin", () => {
    let invoked = 0;
    const start = dynamicProviderStarter(
      async () => {
        invoked += 1;
      },
      () => true,
    );
    start();
    assert.strictEqual(invoked, 0);
  });

  for (const [what, settings, type] of [
    [
      "an adopted account's wiring",
      staticSettings,
      "pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets",
    ],
    ["an ACR token's password", acrSettings, "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword"],
  ] as const) {
    it(`is asked for before each dynamic resource is declared: ${what}`, async () => {
      const module = plugin as { startDynamicProviderPlugin: () => void };
      const original = module.startDynamicProviderPlugin;
      let calls = 0;
      module.startDynamicProviderPlugin = () => {
        calls += 1;
      };
      try {
        const { recorder } = await runProgram(stackConfig(settings()));
        assert.ok(recorder.ofType(type).length > 0, type);
        const dynamic = recorder.resources.filter((r) =>
          /:(ServiceAccountPullSecrets|AcrTokenPassword)$/.test(r.type),
        );
        assert.strictEqual(calls, dynamic.length);
      } finally {
        module.startDynamicProviderPlugin = original;
      }
    });
  }

  it("the program's own starter invokes nothing under the mocks: no call reaches the mock runtime", async () => {
    const { recorder } = await runProgram(stackConfig(staticSettings()));
    assert.ok(recorder.resources.some((r) => r.type.endsWith(":ServiceAccountPullSecrets")));
    assert.deepStrictEqual(
      recorder.calls.filter((c) => JSON.stringify(c).includes(START_TOKEN)),
      [],
    );
  });
});
