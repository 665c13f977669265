import * as resources from "@pulumi/azure-native/resources";
import * as pulumi from "@pulumi/pulumi";
import { AcrRegistry } from "./settings";

/** The ACR API version that reports `roleAssignmentMode` (azure-native's default registry version does not). */
export const ABAC_API_VERSION = "2025-11-01";

/** What the check reads of a registry: `properties` as ARM returns them at ABAC_API_VERSION. */
export interface RegistryProperties {
  readonly roleAssignmentMode?: string;
  readonly policies?: { readonly azureADAuthenticationAsArmPolicy?: { readonly status?: string } };
}

/**
 * Why a registry cannot serve workload-identity pulls, or undefined. In "RBAC Registry + ABAC Repository
 * Permissions" mode (`AbacRepositoryPermissions`) the Repository Reader role honours its repository condition; in
 * legacy mode what a conditioned role does is not documented, so it is refused (Microsoft Learn,
 * `container-registry-rbac-abac-repository-permissions`). ESO exchanges an ARM-audience Entra token at the
 * registry, which a registry with `azureADAuthenticationAsArmPolicy` disabled refuses.
 */
export function abacModeProblems(registry: AcrRegistry, properties: RegistryProperties): string[] {
  const at = `registries.${registry.id}`;
  const where = `registry ${registry.registryName} in resource group ${registry.resourceGroup}`;
  const problems: string[] = [];
  const mode = properties.roleAssignmentMode;
  if (mode !== "AbacRepositoryPermissions") {
    problems.push(
      `${at}: ${where} is in role assignment mode ${mode ?? "LegacyRegistryPermissions (not reported)"}, where ` +
        "a Repository Reader role with a repository condition is not honoured as it is in ABAC mode. Switch it with " +
        `\`az acr update --name ${registry.registryName} --resource-group ${registry.resourceGroup} ` +
        "--role-assignment-mode rbac-abac` (in that mode AcrPull, AcrPush and AcrDelete grants stop working: " +
        "grant repository roles to whoever relies on them first), or use auth: token",
    );
  }
  if (properties.policies?.azureADAuthenticationAsArmPolicy?.status === "disabled") {
    problems.push(
      `${at}: ${where} has azureADAuthenticationAsArmPolicy disabled, so it refuses the ARM-audience token ` +
        "that ESO's ACRAccessToken generator exchanges. Enable it with `az acr config authentication-as-arm " +
        `update --registry ${registry.registryName} --status enabled\`, or use auth: token`,
    );
  }
  return problems;
}

/**
 * Reads every workload-identity registry from ARM before any resource is declared (in `preview` too: a read
 * needs only Reader) and throws one RunError listing every problem. Returns each registry's resource id, the
 * scope of its role assignments.
 */
export async function checkAbacMode(registries: readonly AcrRegistry[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const problems: string[] = [];
  for (const registry of registries) {
    try {
      const resource = await resources.getResource({
        resourceGroupName: registry.resourceGroup,
        resourceProviderNamespace: "Microsoft.ContainerRegistry",
        parentResourcePath: "",
        resourceType: "registries",
        resourceName: registry.registryName,
        apiVersion: ABAC_API_VERSION,
      });
      problems.push(...abacModeProblems(registry, (resource.properties ?? {}) as RegistryProperties));
      ids.set(registry.id, resource.id);
    } catch (err) {
      problems.push(
        `registries.${registry.id}: could not read registry ${registry.registryName} in resource group ` +
          `${registry.resourceGroup} (${err instanceof Error ? err.message : String(err)}). Check the name, the ` +
          "resource group and that the identity running Pulumi may read it (Reader on the registry).",
      );
    }
  }
  if (problems.length > 0) throw new pulumi.RunError(problems.join("\n"));
  return ids;
}
