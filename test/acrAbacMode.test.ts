import * as assert from "assert";
import { abacModeProblems } from "../components/acrAbacMode";
import { AcrRegistry } from "../components/settings";

const REGISTRY: AcrRegistry = {
  id: "acr",
  type: "acr",
  server: "mycompany.azurecr.io",
  resourceGroup: "rg",
  registryName: "mycompany",
  passwordLifetimeDays: 90,
  rotateAfterDays: 60,
  auth: "workloadIdentity",
};

describe("acrAbacMode", () => {
  it("accepts ABAC mode whatever the policies say short of disabled", () => {
    for (const policies of [
      undefined,
      {},
      { azureADAuthenticationAsArmPolicy: {} },
      { azureADAuthenticationAsArmPolicy: { status: "enabled" } },
    ]) {
      assert.deepStrictEqual(
        abacModeProblems(REGISTRY, { roleAssignmentMode: "AbacRepositoryPermissions", policies }),
        [],
      );
    }
  });

  it("says when the registry does not report its mode (an older API), and refuses it", () => {
    assert.deepStrictEqual(abacModeProblems(REGISTRY, {}), [
      "registries.acr: registry mycompany in resource group rg is in role assignment mode LegacyRegistryPermissions " +
        "(not reported), where a Repository Reader role with a repository condition is not honoured as it is in ABAC " +
        "mode. Switch it with `az acr update --name mycompany --resource-group rg --role-assignment-mode rbac-abac` " +
        "(in that mode AcrPull, AcrPush and AcrDelete grants stop working: grant repository roles to whoever relies " +
        "on them first), or use auth: token",
    ]);
  });
});
