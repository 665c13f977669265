import * as keyvault from "@pulumi/azure-native/keyvault";
import * as pulumi from "@pulumi/pulumi";
import { ExternalSecretsSettings } from "./settings";

/**
 * The problem with a vault that ESO delivery cannot read, or undefined. The program grants ESO's identity the
 * "Key Vault Secrets User" role on one vault secret; Key Vault honours that only with the Azure RBAC permission
 * model (`properties.enableRbacAuthorization`). A vault on access policies ignores role assignments for the data
 * plane, so ESO would get 403 forever ("Azure RBAC vs. access policies", Key Vault documentation).
 */
export function vaultAuthorizationProblem(
  vault: { readonly name: string; readonly resourceGroup: string },
  enableRbacAuthorization: boolean | undefined,
): string | undefined {
  if (enableRbacAuthorization === true) return undefined;
  return (
    `externalSecrets.keyVault: vault ${vault.name} in resource group ${vault.resourceGroup} uses access ` +
    `policies (enableRbacAuthorization is ${enableRbacAuthorization ?? "not set"}), so the role assignment ` +
    `that lets ESO read the pull secret would have no effect and ESO would get 403. Switch the vault to ` +
    `Azure RBAC (az keyvault update --name ${vault.name} --resource-group ${vault.resourceGroup} ` +
    `--enable-rbac-authorization true, after granting by role what its access policies grant), or use ` +
    `delivery: direct`
  );
}

/**
 * Reads the vault of External Secrets delivery from ARM and throws when ESO could not read it. Runs before
 * any resource is declared, in `preview` too (a read needs only Reader on the vault).
 */
export async function checkVaultAuthorization(eso: ExternalSecretsSettings): Promise<void> {
  const kv = eso.keyVault;
  let enabled: boolean | undefined;
  try {
    const vault = await keyvault.getVault({ resourceGroupName: kv.resourceGroup, vaultName: kv.name });
    enabled = vault.properties.enableRbacAuthorization;
  } catch (err) {
    throw new pulumi.RunError(
      `externalSecrets.keyVault: could not read vault ${kv.name} in resource group ${kv.resourceGroup} ` +
        `(${err instanceof Error ? err.message : String(err)}). Check the name, the resource group and that ` +
        `the identity running Pulumi may read it (Reader on the vault).`,
    );
  }
  const problem = vaultAuthorizationProblem(kv, enabled);
  // A RunError: Pulumi prints the message alone, without a stack trace.
  if (problem) throw new pulumi.RunError(problem);
}
