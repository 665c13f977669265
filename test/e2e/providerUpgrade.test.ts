/**
 * Issue 16, item 9, through the real engine: a stack whose AcrTokenPassword was written with the provider by value
 * (as before registry-access-providers) keeps working once the program registers the packaged provider, and the
 * state shrinks. The engine sends each dynamic-provider call the `__provider` of one side: check, diff, create and
 * update the program's (news), read and delete the state's outputs (pulumi/pulumi sdk/nodejs/cmd/dynamic-provider).
 * An `up` with no change is a same step, which keeps the old outputs: the by-value text leaves the outputs only
 * at the resource's next update (its rotation). The figures it logs are the ones in docs/performance.md.
 */
import * as assert from "assert";
import { Stack } from "@pulumi/pulumi/automation";
import { AcrRegistry, startAcrRegistry } from "../support/acrRegistry";
import { ArmServer, startArmServer } from "../support/armServer";
import {
  copyTestProgram,
  exportState,
  fakeAzureCli,
  newStack,
  signInThroughFakeAzureCli,
} from "./support/harness";

const SUB = "00000000-0000-0000-0000-00000000e2e9";
const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.ContainerRegistry/registries/e2eupgrade`;
const TOKEN = "ns-e2e-upgrade";
const TOKEN_ID = `${REGISTRY_ID}/tokens/${TOKEN}`;
const SCOPE_MAP_ID = `${REGISTRY_ID}/scopeMaps/${TOKEN}`;
const STACK = "e2e-provider-upgrade";
const PACKAGED = 'require("registry-access-providers/acrTokenPassword.js")';

interface Sizes {
  /** `pulumi stack export`, bytes. */
  readonly state: number;
  /** The serialized provider in the resource's inputs and in its outputs, bytes. */
  readonly inputsProvider: string;
  readonly outputsProvider: string;
}

describe("a stack written with the provider by value, upgraded to the provider package (issue 16.9)", function () {
  this.timeout(20 * 60_000);
  let arm: ArmServer;
  let acr: AcrRegistry;
  let stack: Stack;
  let workDir: string;
  const issued = () => arm.issued.filter((p) => p.tokenId === TOKEN_ID).map((p) => p.value);

  const sizes = async (): Promise<Sizes> => {
    const text = await exportState(workDir, STACK);
    const state = JSON.parse(text) as {
      deployment: {
        resources: {
          type: string;
          inputs?: { __provider?: string };
          outputs?: { __provider?: string };
        }[];
      };
    };
    const resource = state.deployment.resources.find((r) => r.type.endsWith("AcrTokenPassword"));
    assert.ok(resource, "no AcrTokenPassword in the state");
    return {
      state: Buffer.byteLength(text),
      inputsProvider: resource.inputs?.__provider ?? "",
      outputsProvider: resource.outputs?.__provider ?? "",
    };
  };
  const shown = (s: Sizes) =>
    `state ${s.state} B, __provider ${Buffer.byteLength(s.inputsProvider)} B in inputs and ` +
    `${Buffer.byteLength(s.outputsProvider)} B in outputs`;

  before(async function () {
    this.timeout(75 * 60_000);
    arm = await startArmServer();
    arm.createRegistry(REGISTRY_ID);
    arm.createToken(TOKEN_ID, SCOPE_MAP_ID);
    acr = await startAcrRegistry({
      scopeMaps: { [TOKEN]: ["repositories/team/app/content/read"] },
      tokens: { [TOKEN]: { scopeMap: TOKEN, passwords: () => issued() } },
      images: { "team/app": ["latest"] },
    });
    const tools = fakeAzureCli(arm);

    workDir = copyTestProgram("upgrade-program", "registry-access-upgrade-e2e");
    stack = await newStack(workDir, STACK, {
      "registry-access-upgrade-e2e:byValue": true,
      "registry-access-upgrade-e2e:loginServer": acr.server,
      "registry-access-upgrade-e2e:tokenId": TOKEN_ID,
      "registry-access-upgrade-e2e:scopeMapId": SCOPE_MAP_ID,
      "registry-access-upgrade-e2e:armEndpoint": arm.endpoint,
      "registry-access-upgrade-e2e:verifyRepository": "team/app",
    });
    signInThroughFakeAzureCli(stack, tools);
  });
  after(async () => {
    await acr?.stop();
    await arm?.close();
  });

  let byValue: Sizes;

  it("the old program stores the provider's code by value, in inputs and outputs", async () => {
    const up = await stack.up();
    assert.strictEqual(up.outputs.activeSlot.value, "password1");
    byValue = await sizes();
    console.log(`      by value: ${shown(byValue)}`);
    assert.ok(Buffer.byteLength(byValue.inputsProvider) > 50_000, shown(byValue));
    assert.strictEqual(byValue.outputsProvider, byValue.inputsProvider);
  });

  it("the new program's up changes nothing, and stores the require in the inputs; the outputs keep the code", async () => {
    await stack.setConfig("byValue", { value: "false" });
    const preview = await stack.preview();
    assert.deepStrictEqual(preview.changeSummary, { same: 2 });
    const up = await stack.up();
    assert.strictEqual(up.outputs.activeSlot.value, "password1");
    assert.strictEqual(issued().length, 1);
    const after = await sizes();
    console.log(`      after the first up: ${shown(after)}`);
    assert.ok(after.inputsProvider.includes(PACKAGED), after.inputsProvider.slice(0, 300));
    assert.strictEqual(after.outputsProvider, byValue.outputsProvider);
  });

  it("a refresh still runs the state's by-value provider, and finds no drift", async () => {
    const seen = arm.requests.length;
    const refresh = await stack.refresh();
    assert.strictEqual(refresh.summary.result, "succeeded");
    assert.deepStrictEqual(
      arm.requests.slice(seen).map((r) => `${r.method} ${r.path}`),
      [`GET ${TOKEN_ID}`],
    );
    assert.strictEqual((await sizes()).outputsProvider, byValue.outputsProvider);
  });

  it("the next rotation runs the packaged provider and leaves only the require in the state", async () => {
    await stack.setConfig("forceRotation", { value: "rotation-1" });
    const up = await stack.up();
    assert.strictEqual(up.outputs.activeSlot.value, "password2");
    assert.strictEqual(issued().length, 2);
    const after = await sizes();
    console.log(`      after the rotation: ${shown(after)}`);
    assert.ok(after.outputsProvider.includes(PACKAGED), after.outputsProvider.slice(0, 300));
    assert.ok(Buffer.byteLength(after.outputsProvider) < 1024);
    assert.ok(after.state < byValue.state - 2 * 50_000, `${after.state} against ${byValue.state}`);
  });

  it("destroy deletes with the packaged provider", async () => {
    const destroy = await stack.destroy();
    assert.strictEqual(destroy.summary.result, "succeeded");
    assert.deepStrictEqual(destroy.summary.resourceChanges, { delete: 2 });
  });
});
