import * as assert from "assert";
import { KUBE_CLIENT_SETTINGS, kubeClientSettings } from "../components/kubeClientSettings";
import { runProgram, stackConfig } from "../tools/mockRuntime";
import { staticSettings } from "./support/fixtures";

describe("the Kubernetes provider's client rate limit (issue 17)", () => {
  it("is 200 requests a second, burst 400, when the environment sets neither of the provider's variables", () => {
    assert.deepStrictEqual(kubeClientSettings({}), { qps: 200, burst: 400 });
    assert.deepStrictEqual(kubeClientSettings({ PULUMI_K8S_CLIENT_QPS: "" }), { qps: 200, burst: 400 });
  });

  it("is left to the provider when either variable is set, so that the user's own limit wins", () => {
    assert.strictEqual(kubeClientSettings({ PULUMI_K8S_CLIENT_QPS: "20" }), undefined);
    assert.strictEqual(kubeClientSettings({ PULUMI_K8S_CLIENT_BURST: "30" }), undefined);
  });

  it("returns a copy: a caller cannot change the program's defaults", () => {
    const settings = kubeClientSettings({})!;
    settings.qps = 1;
    assert.deepStrictEqual(KUBE_CLIENT_SETTINGS, { qps: 200, burst: 400 });
  });

  it("reaches the program's one Kubernetes provider, and is absent when PULUMI_K8S_CLIENT_QPS is set", async () => {
    const parse = (v: unknown): unknown => (typeof v === "string" ? JSON.parse(v) : v);
    const before = { qps: process.env.PULUMI_K8S_CLIENT_QPS, burst: process.env.PULUMI_K8S_CLIENT_BURST };
    try {
      delete process.env.PULUMI_K8S_CLIENT_QPS;
      delete process.env.PULUMI_K8S_CLIENT_BURST;
      const run = await runProgram(stackConfig(staticSettings()), { stack: "dev" });
      const provider = run.recorder.find("pulumi:providers:kubernetes", "kubernetes");
      assert.deepStrictEqual(parse(provider.inputs.kubeClientSettings), { qps: 200, burst: 400 });

      process.env.PULUMI_K8S_CLIENT_QPS = "20";
      const own = await runProgram(stackConfig(staticSettings()), { stack: "dev" });
      assert.strictEqual(
        own.recorder.find("pulumi:providers:kubernetes", "kubernetes").inputs.kubeClientSettings,
        undefined,
      );
    } finally {
      for (const [name, value] of [
        ["PULUMI_K8S_CLIENT_QPS", before.qps],
        ["PULUMI_K8S_CLIENT_BURST", before.burst],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
