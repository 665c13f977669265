import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as pulumi from "@pulumi/pulumi";
import { pullOnlyActions } from "./AcrPullToken";
import type { AcrRegistry, Settings } from "./settings";

/**
 * Tokens and scope maps a registry may hold, by SKU, and the actions one scope map may list ("Azure Container
 * Registry SKU features and limits", Microsoft Learn, container-registry-skus: "Scope maps", "Tokens", "Actions
 * per scope map"). Some can be raised through Azure Support; the check uses the documented defaults.
 */
export const ACR_SKU_LIMITS: Readonly<
  Record<string, { readonly tokens: number; readonly scopeMaps: number }>
> = {
  Basic: { tokens: 100, scopeMaps: 100 },
  Standard: { tokens: 500, scopeMaps: 500 },
  Premium: { tokens: 50_000, scopeMaps: 50_000 },
};
export const ACR_MAX_SCOPE_MAP_ACTIONS = 500;

/** What this stack declares on one ACR registry: one token and one scope map per namespace that pulls from it. */
export interface AcrUsage {
  readonly registry: AcrRegistry;
  readonly namespaces: readonly string[];
}

/** The ACR registries the stack uses, each with the namespaces that get a token on it (same registry, one entry). */
export function acrUsage(settings: Pick<Settings, "namespaces">): AcrUsage[] {
  const byRegistry = new Map<string, { registry: AcrRegistry; namespaces: string[] }>();
  for (const ns of settings.namespaces) {
    for (const { registry } of ns.registries) {
      // A workload-identity registry has no token or scope map.
      if (registry.type !== "acr" || registry.auth === "workloadIdentity") continue;
      const key = `${registry.resourceGroup}/${registry.registryName}`.toLowerCase();
      const entry = byRegistry.get(key) ?? { registry, namespaces: [] };
      entry.namespaces.push(ns.name);
      byRegistry.set(key, entry);
    }
  }
  return [...byRegistry.values()];
}

/** The problem with putting this many tokens on a registry of this SKU, or undefined. */
export function skuLimitProblem(usage: AcrUsage, sku: string | undefined): string | undefined {
  const limits = sku === undefined ? undefined : ACR_SKU_LIMITS[sku];
  if (limits === undefined) return undefined;
  const count = usage.namespaces.length;
  const limit = Math.min(limits.tokens, limits.scopeMaps);
  if (count <= limit) return undefined;
  const { registry } = usage;
  return (
    `registries.${registry.id}: ACR registry ${registry.registryName} (resource group ${registry.resourceGroup}) ` +
    `is on the ${sku} tier, which allows ${limits.tokens} tokens and ${limits.scopeMaps} scope maps; this stack ` +
    `declares ${count} of each (one per namespace that pulls from it), so creation number ${limit + 1} would fail ` +
    `halfway through the rollout. Move the registry to a larger tier (az acr update --name ${registry.registryName} ` +
    `--resource-group ${registry.resourceGroup} --sku ${sku === "Basic" ? "Standard or Premium" : "Premium"}), ` +
    `or spread the namespaces over more registries or stacks.`
  );
}

/** Scope maps over ACR's limit of actions: one problem per namespace and registry, with its config path. */
export function scopeMapActionProblems(settings: Pick<Settings, "namespaces">): string[] {
  const problems: string[] = [];
  for (const ns of settings.namespaces) {
    for (const { registry, repositories } of ns.registries) {
      // A workload-identity registry has no token or scope map.
      if (registry.type !== "acr" || registry.auth === "workloadIdentity") continue;
      const actions = pullOnlyActions(repositories).length;
      if (actions <= ACR_MAX_SCOPE_MAP_ACTIONS) continue;
      problems.push(
        `namespaces.${ns.name}.registries.${registry.id}.repositories: ${repositories.length} repositories make ` +
          `a scope map of ${actions} actions, over ACR's limit of ${ACR_MAX_SCOPE_MAP_ACTIONS} per scope map; ` +
          `list at most ${ACR_MAX_SCOPE_MAP_ACTIONS / (actions / repositories.length)} repositories, for ` +
          `instance by using prefixes ending in /*.`,
      );
    }
  }
  return problems;
}

/**
 * Reads each ACR registry's SKU (azure-native getRegistry) and throws, before any resource is declared, when the
 * stack would declare more tokens or scope maps than the tier allows, or a scope map with too many actions.
 * Counts only this stack's tokens: others on the registry (other stacks, by hand) use the same limit.
 */
export async function checkAcrLimits(settings: Pick<Settings, "namespaces">): Promise<void> {
  const problems = scopeMapActionProblems(settings);
  for (const usage of acrUsage(settings)) {
    const { registry } = usage;
    let sku: string | undefined;
    try {
      const live = await containerregistry.getRegistry({
        resourceGroupName: registry.resourceGroup,
        registryName: registry.registryName,
      });
      sku = live.sku?.name;
    } catch (err) {
      problems.push(
        `registries.${registry.id}: could not read ACR registry ${registry.registryName} in resource group ` +
          `${registry.resourceGroup} (${err instanceof Error ? err.message : String(err)}). Check the name, the ` +
          `resource group and that the identity running Pulumi may read it (Reader on the registry).`,
      );
      continue;
    }
    const problem = skuLimitProblem(usage, sku);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new pulumi.RunError(problems.join("\n"));
}
