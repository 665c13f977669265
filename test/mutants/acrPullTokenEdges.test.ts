/**
 * AcrPullToken under Pulumi's mock runtime, for the StrykerJS mutants that the program tests leave alive (issue
 * 12): the anchor of REGISTRY_ACCESS_ROTATION_TIME's date check, the properties each child registers (its
 * leanRegistration), and the early start of the dynamic-provider plugin before the password resource.
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { AcrPullToken, rotationTimeOf } from "../../components/AcrPullToken";
import * as plugin from "../../components/dynamicProviderPlugin";
import { ACR_REGISTRY, declaredUnderMocks } from "../support/fixtures";

const ACR = ACR_REGISTRY;

const ARGS = { namespace: "team-a", project: "registry-access", stack: "test" };

const declared = declaredUnderMocks;

describe("AcrPullToken: REGISTRY_ACCESS_ROTATION_TIME must start with a four-digit year", () => {
  it("refuses an expanded-year time, which Date.parse reads, naming the value", () => {
    const value = "+002026-12-04T05:00:00Z";
    assert.ok(Number.isFinite(Date.parse(value)));
    assert.throws(() => rotationTimeOf(value, new Date(0)), {
      message:
        'REGISTRY_ACCESS_ROTATION_TIME "+002026-12-04T05:00:00Z" is not a date and time (ISO 8601, e.g. ' +
        "2026-12-04T05:00:00Z); unset it to decide rotations at the current time",
    });
    assert.strictEqual(rotationTimeOf(value.slice(3), new Date(0)), "2026-12-04T05:00:00.000Z");
  });
});

describe("AcrPullToken: what each child registers", () => {
  it("registers the properties with a value and the outputs the program reads, nothing left undefined", async () => {
    const children: Record<string, string[]> = {};
    await declared(() => {
      new AcrPullToken(
        "team-a-acr",
        { ...ARGS, registry: ACR, repositories: ["team-a/*"] },
        {
          transformations: [
            ({ name, props, resource }) => {
              if (resource instanceof pulumi.CustomResource) children[name] = Object.keys(props).sort();
              return undefined;
            },
          ],
        },
      );
    });
    assert.deepStrictEqual(children, {
      "team-a-acr-scope-map": ["actions", "description", "registryName", "resourceGroupName", "scopeMapName"],
      "team-a-acr-token": [
        "creationDate",
        "registryName",
        "resourceGroupName",
        "scopeMapId",
        "status",
        "tokenName",
      ],
      "team-a-acr-rotation-offset": ["keepers", "max", "min", "result"],
      "team-a-acr-password": [
        "__provider",
        "activeSlot",
        "loginServer",
        "password",
        "password1Expiry",
        "password2Expiry",
        "passwordLifetimeDays",
        "registryId",
        "rotateAfterDays",
        "rotationOffsetHours",
        "rotationTime",
        "scopeMapId",
        "tokenCreationDate",
        "tokenId",
      ],
    });
  });
});

describe("AcrPullToken: the dynamic-provider plugin is asked to start before the password resource", () => {
  it("asks once for each token's AcrTokenPassword", async () => {
    const module = plugin as { startDynamicProviderPlugin: () => void };
    const original = module.startDynamicProviderPlugin;
    let calls = 0;
    module.startDynamicProviderPlugin = () => {
      calls += 1;
    };
    try {
      const recorder = await declared(() => {
        new AcrPullToken("team-a-acr", { ...ARGS, registry: ACR, repositories: ["team-a/*"] });
        new AcrPullToken("team-b-acr", {
          ...ARGS,
          namespace: "team-b",
          registry: ACR,
          repositories: ["team-b/*"],
        });
      });
      assert.deepStrictEqual(
        recorder.ofType("pulumi-nodejs:dynamic/registry-access:AcrTokenPassword").map((r) => r.name),
        ["team-a-acr-password", "team-b-acr-password"],
      );
      assert.strictEqual(calls, 2);
    } finally {
      module.startDynamicProviderPlugin = original;
    }
  });
});
