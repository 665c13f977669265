import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { deterministicGuid, REPOSITORY_READER_ROLE_ID, repositoryReaderCondition } from "./abacCondition";
import { EXTERNAL_SECRET_TIMEOUT_SECONDS, roleDefinitionId } from "./ExternalSecretsDelivery";
import { adoptAnnotations, boundedName, MANAGED_BY_LABELS } from "./names";
import { AcrRegistry } from "./settings";
import {
  acrAccessTokenManifest,
  GENERATOR_SERVICE_ACCOUNT,
  generatedPullSecretManifest,
  TOKEN_EXCHANGE_AUDIENCE,
} from "./workloadIdentityManifests";
import { WorkloadIdentitySettings } from "./workloadIdentitySettings";
import { leanRegistration } from "./leanRegistration";

/** The managed identity (and its federated credential) a namespace pulls from ACR as: at most 120 characters. */
export function acrIdentityName(project: string, stack: string, namespace: string): string {
  return boundedName("ra-acr", [stack, namespace], 120, [project, stack, namespace, "acr"]);
}

/** The ACRAccessToken generator of one registry in a namespace: a DNS label whatever the registry id is. */
export function generatorName(registryId: string): string {
  return boundedName("registry-access", [registryId], 63, [registryId]);
}

/** One ACR registry of the namespace in workload-identity mode, and the repositories it may pull. */
export interface WorkloadIdentityRegistry {
  readonly registry: AcrRegistry;
  readonly repositories: readonly string[];
  /** The registry's ARM resource id, as read before anything was declared: the role assignment's scope. */
  readonly resourceId: string;
}

export interface AcrWorkloadIdentityArgs {
  /** The namespace (an output of the Namespace resource, so these objects wait for it). */
  readonly namespace: pulumi.Output<string>;
  /** The namespace's name as configured: part of the Azure names. */
  readonly namespaceName: string;
  readonly registries: readonly WorkloadIdentityRegistry[];
  readonly settings: WorkloadIdentitySettings;
  /** The Secret ESO writes from the generated tokens. */
  readonly secretName: string;
  readonly project: string;
  readonly stack: string;
}

/**
 * Pulls from ACR with no long-lived password: a managed identity that only this namespace's generator service
 * account can use (workload identity federation), a Repository Reader role on each registry conditioned on the
 * namespace's repositories (ABAC mode), and ESO's ACRAccessToken generator, which exchanges the identity for an
 * ACR token of about 3 h that an ExternalSecret renders into a dockerconfigjson Secret and renews.
 */
export class AcrWorkloadIdentity extends pulumi.ComponentResource {
  /** The client id of the namespace's identity. */
  public readonly identityClientId: pulumi.Output<string>;
  /** The Secret ESO writes and renews. */
  public readonly secretName: pulumi.Output<string>;
  /** Per registry id, the condition of its role assignment. */
  public readonly roleConditions: pulumi.Output<Record<string, string>>;
  /** The ExternalSecret, for dependents that must wait until ESO has written the Secret. */
  public readonly externalSecret: k8s.apiextensions.CustomResource;

  constructor(name: string, args: AcrWorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("registry-access:index:AcrWorkloadIdentity", name, {}, opts);
    const child = { parent: this };
    const { settings: wi, namespaceName } = args;
    const tags = { "managed-by": "registry-access", namespace: namespaceName, stack: args.stack };

    // One identity per namespace for ACR, apart from the ESO vault identity: each identity holds one kind of
    // permission, so revoking one path (say, the vault) never touches the other.
    const idName = acrIdentityName(args.project, args.stack, namespaceName);
    const identity = new managedidentity.UserAssignedIdentity(
      `${name}-identity`,
      {
        resourceGroupName: wi.identityResourceGroup,
        resourceName: idName,
        ...(wi.location !== undefined ? { location: wi.location } : {}),
        tags,
      },
      {
        ...child,
        transformations: [
          leanRegistration<managedidentity.UserAssignedIdentity>(
            "name",
            "principalId",
            "clientId",
            "tenantId",
          ),
        ],
      },
    );
    const federation = new managedidentity.FederatedIdentityCredential(
      `${name}-federation`,
      {
        resourceGroupName: wi.identityResourceGroup,
        resourceName: identity.name,
        federatedIdentityCredentialResourceName: idName,
        issuer: wi.oidcIssuerUrl,
        // Only the generator's service account in this namespace can act as the identity.
        subject: `system:serviceaccount:${namespaceName}:${GENERATOR_SERVICE_ACCOUNT}`,
        audiences: [TOKEN_EXCHANGE_AUDIENCE],
      },
      { ...child, transformations: [leanRegistration<managedidentity.FederatedIdentityCredential>()] },
    );
    const conditions: Record<string, string> = {};
    const roles = args.registries.map(({ registry, repositories, resourceId }) => {
      const condition = repositoryReaderCondition(repositories);
      conditions[registry.id] = condition;
      return new authorization.RoleAssignment(
        `${name}-${registry.id}-reader`,
        {
          // A GUID that is the same on every run: a random one would re-create the assignment each time.
          roleAssignmentName: deterministicGuid(args.project, args.stack, namespaceName, resourceId),
          scope: resourceId,
          roleDefinitionId: roleDefinitionId(resourceId, REPOSITORY_READER_ROLE_ID),
          principalId: identity.principalId,
          principalType: "ServicePrincipal",
          condition,
          conditionVersion: "2.0",
          description: `registry-access: namespace ${namespaceName} pulls its repositories of ${registry.server}`,
        },
        { ...child, transformations: [leanRegistration<authorization.RoleAssignment>()] },
      );
    });
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-generator-sa`,
      {
        metadata: {
          name: GENERATOR_SERVICE_ACCOUNT,
          namespace: args.namespace,
          labels: { ...MANAGED_BY_LABELS },
          annotations: {
            ...adoptAnnotations(args.stack),
            "azure.workload.identity/client-id": identity.clientId,
            "azure.workload.identity/tenant-id": identity.tenantId,
          },
        },
      },
      child,
    );
    const generators = args.registries.map(({ registry }) => {
      const manifest = acrAccessTokenManifest({
        name: generatorName(registry.id),
        namespace: namespaceName,
        registry: registry.server,
        tenantId: identity.tenantId,
        serviceAccountName: GENERATOR_SERVICE_ACCOUNT,
      });
      return new k8s.apiextensions.CustomResource(
        `${name}-${registry.id}-generator`,
        {
          ...manifest,
          apiVersion: manifest.apiVersion as string,
          kind: manifest.kind as string,
          metadata: {
            ...(manifest.metadata as object),
            namespace: args.namespace,
            annotations: { ...adoptAnnotations(args.stack) },
          },
        },
        { ...child, dependsOn: [account] },
      );
    });
    const manifest = generatedPullSecretManifest({
      apiVersion: wi.apiVersion,
      name: args.secretName,
      namespace: namespaceName,
      targetSecretName: args.secretName,
      refreshInterval: wi.refreshInterval,
      generators: args.registries.map(({ registry }) => ({
        kind: "ACRAccessToken",
        name: generatorName(registry.id),
        server: registry.server,
      })),
    });
    this.externalSecret = new k8s.apiextensions.CustomResource(
      `${name}-external-secret`,
      {
        ...manifest,
        apiVersion: wi.apiVersion,
        kind: "ExternalSecret",
        metadata: {
          ...(manifest.metadata as object),
          namespace: args.namespace,
          annotations: {
            ...adoptAnnotations(args.stack),
            // `up` succeeds only once ESO has written the Secret, so service accounts never name a missing one.
            "pulumi.com/waitFor": "condition=Ready",
            "pulumi.com/timeoutSeconds": String(wi.readyTimeoutSeconds ?? EXTERNAL_SECRET_TIMEOUT_SECONDS),
          },
        },
      },
      // The role and the federation must exist before ESO can exchange anything (Azure may take minutes more).
      { ...child, dependsOn: [federation, ...roles, ...generators] },
    );

    this.identityClientId = identity.clientId;
    this.secretName = pulumi.output(args.secretName);
    this.roleConditions = pulumi.output(conditions);
    this.registerOutputs({
      identityClientId: this.identityClientId,
      secretName: this.secretName,
      roleConditions: this.roleConditions,
    });
  }
}
