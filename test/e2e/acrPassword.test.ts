/**
 * Scenario 9 of issue 9: the ACR password provider through the real engine. The engine starts the dynamic
 * provider in its own process (pulumi-resource-pulumi-nodejs), which runs the serialized provider code. That code
 * reaches the local ARM server through the real Azure SDK and the credential azure-native would pick (with no
 * azure-native config and no ARM_* variables, the Azure CLI: components/azureAuth.ts), and the ACR-like registry of
 * the tests through the real handshake.
 *
 * AZURE_TOKEN_CREDENTIALS (which narrowed the DefaultAzureCredential used before) stays harmless, and an
 * `az` on PATH answers `az account get-access-token` with the ARM server's test token: the SDK's own credential
 * path runs, and nothing probes the network (ManagedIdentityCredential would call the instance metadata service).
 */
import * as assert from "assert";
import { ContainerRegistryManagementClient } from "@azure/arm-containerregistry";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { AcrRegistry, startAcrRegistry } from "../support/acrRegistry";
import { ArmServer, startArmServer, TEST_BEARER_TOKEN } from "../support/armServer";
import {
  canaryFindings,
  copyTestProgram,
  core,
  decodeDockerConfig,
  exportState,
  fakeAzureCli,
  kubeContext,
  kubectl,
  newStack,
  signInThroughFakeAzureCli,
  watchSecretDeletions,
} from "./support/harness";

const SUB = "00000000-0000-0000-0000-00000000e2e0";
const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg-e2e/providers/Microsoft.ContainerRegistry/registries/e2eacr`;
const TOKEN = "ns-e2e-acr";
const TOKEN_ID = `${REGISTRY_ID}/tokens/${TOKEN}`;
const SCOPE_MAP_ID = `${REGISTRY_ID}/scopeMaps/${TOKEN}`;
const NAMESPACE = "e2e-acr";

describe("the ACR password provider through the real engine and a dynamic-provider process", function () {
  this.timeout(20 * 60_000);
  let arm: ArmServer;
  let acr: AcrRegistry;
  let stack: Stack;
  let workDir: string;
  /** Passwords issued after this index are refused by the registry (a new password that never takes). */
  let refuseFrom = Infinity;

  const issued = () => arm.issued.filter((p) => p.tokenId === TOKEN_ID).map((p) => p.value);
  const secretPassword = async (): Promise<string> => {
    const secret = await core().readNamespacedSecret({ name: "acr-pull", namespace: NAMESPACE });
    const auths = (JSON.parse(decodeDockerConfig(secret)) as { auths: Record<string, { password: string }> })
      .auths;
    return auths[acr.server].password;
  };

  before(async function () {
    this.timeout(75 * 60_000);
    arm = await startArmServer();
    arm.createRegistry(REGISTRY_ID);
    arm.createToken(TOKEN_ID, SCOPE_MAP_ID);
    acr = await startAcrRegistry({
      scopeMaps: { [TOKEN]: ["repositories/team/app/content/read", "repositories/team/app/metadata/read"] },
      tokens: { [TOKEN]: { scopeMap: TOKEN, passwords: () => issued().filter((_, i) => i < refuseFrom) } },
      images: { "team/app": ["latest"] },
    });

    const tools = fakeAzureCli(arm);

    await kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true");
    await kubectl("create", "namespace", NAMESPACE);

    workDir = copyTestProgram("acr-program", "registry-access-acr-e2e");
    stack = await newStack(workDir, "e2e-acr", {
      "kubernetes:context": kubeContext(),
      "registry-access-acr-e2e:namespace": NAMESPACE,
      "registry-access-acr-e2e:loginServer": acr.server,
      "registry-access-acr-e2e:tokenId": TOKEN_ID,
      "registry-access-acr-e2e:scopeMapId": SCOPE_MAP_ID,
      "registry-access-acr-e2e:armEndpoint": arm.endpoint,
      "registry-access-acr-e2e:verifyRepository": "team/app",
      // Short enough that the preview after the first up warns (within 14 days).
      "registry-access-acr-e2e:passwordLifetimeDays": 10,
      "registry-access-acr-e2e:rotateAfterDays": 5,
    });
    signInThroughFakeAzureCli(stack, tools);
    (stack.workspace as LocalWorkspace).envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
  });
  after(async () => {
    await acr?.stop();
    await arm?.close();
  });

  it("9a. up generates password1 in the provider process, verified by a pull, into the pull secret", async () => {
    const up = await stack.up();
    assert.strictEqual(up.outputs.activeSlot.value, "password1");
    assert.strictEqual(issued().length, 1);
    assert.strictEqual(await secretPassword(), issued()[0]);
    // The check was a pull: scope `pull`, then the manifest, with the new password.
    assert.deepStrictEqual(acr.tokenRequests.at(-1)?.scopes, ["repository:team/app:pull"]);
    assert.strictEqual(acr.tokenRequests.at(-1)?.status, 200);
    // The password reached the state only as a secret.
    assert.strictEqual(up.outputs.activeSlot.secret, false);
    assert.deepStrictEqual(canaryFindings(await exportState(workDir, "e2e-acr"), issued()[0]), []);
  });

  it("9b. a preview warns from the last deployment, read through the engine, that the password expires soon", async () => {
    const preview = await stack.preview();
    assert.match(
      preview.stdout,
      new RegExp(
        `the active password of ACR token ${TOKEN} on ${acr.server.replace(/\./g, "\\.")} expires in 10 days`,
      ),
    );
    assert.doesNotMatch(preview.stdout, /Could not read the last deployment/);
  });

  it("9c. forceRotation moves to password2 only once the registry accepts it", async () => {
    await stack.setConfig("forceRotation", { value: "rotation-1" });
    const up = await stack.up();
    assert.strictEqual(up.outputs.activeSlot.value, "password2");
    assert.strictEqual(issued().length, 2);
    assert.strictEqual(await secretPassword(), issued()[1]);
  });

  it("9d. a registry that refuses the new password leaves the active one and the secret untouched", async () => {
    refuseFrom = issued().length; // the next password never takes
    const before = await core().readNamespacedSecret({ name: "acr-pull", namespace: NAMESPACE });
    const watch = await watchSecretDeletions();
    try {
      await stack.setConfig("forceRotation", { value: "rotation-2" });
      await assert.rejects(stack.up(), (err: Error) => {
        assert.match(err.message, /did not accept the new password1 of ACR token ns-e2e-acr/);
        for (const password of issued())
          assert.ok(!err.message.includes(password), "a password in the error");
        return true;
      });
    } finally {
      watch.stop();
      refuseFrom = Infinity;
    }
    const after = await core().readNamespacedSecret({ name: "acr-pull", namespace: NAMESPACE });
    assert.strictEqual(after.metadata?.resourceVersion, before.metadata?.resourceVersion);
    assert.strictEqual(await secretPassword(), issued()[1]);
    assert.deepStrictEqual(watch.deleted, []);
    const outputs = await stack.outputs();
    assert.strictEqual(outputs.activeSlot.value, "password2");
  });

  it("9e. refresh notices the active slot regenerated out of band, and the next up rotates away from it", async () => {
    await stack.setConfig("forceRotation", { value: "rotation-1" }); // back to the last applied value
    const client = new ContainerRegistryManagementClient(
      { getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) },
      SUB,
      { endpoint: arm.endpoint, tlsOptions: { ca: arm.caPem } } as never,
    );
    // `az acr token credential generate --password1|--password2` on the active slot, by someone else.
    const active = (await stack.outputs()).activeSlot.value as "password1" | "password2";
    await client.registries.beginGenerateCredentialsAndWait(
      "rg-e2e",
      "e2eacr",
      { tokenId: TOKEN_ID, name: active },
      {
        updateIntervalInMs: 10,
      },
    );
    arm.reset();
    const refresh = await stack.refresh();
    assert.strictEqual(refresh.summary.result, "succeeded");
    // The read ran in the provider process against ARM.
    assert.deepStrictEqual(
      arm.requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${TOKEN_ID}`],
    );
    // A refresh updates the resource's state, not the stack outputs (the program does not run): read the state.
    const state = JSON.parse(await exportState(workDir, "e2e-acr")) as {
      deployment: { resources: { type: string; outputs?: { drift?: string | null } }[] };
    };
    const resource = state.deployment.resources.find((r) => r.type.endsWith("AcrTokenPassword"));
    assert.match(
      String(resource?.outputs?.drift),
      new RegExp(`the active ${active} of ACR token ns-e2e-acr .*was regenerated outside Pulumi`),
    );
    // The password rotates, and the pull secret takes the new one: two updates.
    const preview = await stack.preview();
    assert.deepStrictEqual(preview.changeSummary, { same: 2, update: 2 });
    const up = await stack.up();
    assert.strictEqual(up.outputs.activeSlot.value, active === "password1" ? "password2" : "password1");
    assert.strictEqual(await secretPassword(), issued().at(-1));
  });
});
