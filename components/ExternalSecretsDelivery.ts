import * as authorization from "@pulumi/azure-native/authorization";
import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { vaultUrlIn } from "./azureAuth";
import { READY_TIMEOUT_SECONDS } from "./configSpec";
import { externalSecretManifest, secretStoreManifest } from "./externalSecretsManifests";
import { adoptAnnotations, boundedName, MANAGED_BY_LABELS } from "./names";
import { ExternalSecretsSettings } from "./settings";
import { leanRegistration } from "./leanRegistration";

/** The built-in role "Key Vault Secrets User": read secret contents, nothing else. */
export const KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
/** The service account ESO borrows, through workload identity, to read the namespace's vault secret. */
export const STORE_SERVICE_ACCOUNT = "registry-access-store";
/** The namespace's SecretStore and ExternalSecret. */
export const STORE_NAME = "registry-access";
/** Audience of workload identity federation tokens. */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
/**
 * How long `up` waits for the ExternalSecret to be Ready unless `readyTimeoutSeconds` says otherwise. On a first
 * deploy ESO cannot read the vault until Azure has propagated the role assignment and the federated credential:
 * Azure documents up to 10 minutes for RBAC changes ("Troubleshoot Azure RBAC"), and the provider's default await
 * is 10 minutes. Each wait holds one of the engine's --parallel slots, so the waits of N new ExternalSecrets end
 * within ceil(N / parallel) times this (issue 16, item 3).
 */
export const EXTERNAL_SECRET_TIMEOUT_SECONDS: number = READY_TIMEOUT_SECONDS.default;

/** The vault secret of a namespace: Key Vault allows letters, digits and hyphens, at most 127. */
export function vaultSecretName(project: string, stack: string, namespace: string): string {
  return boundedName("ra", [stack, namespace], 127, [project, stack, namespace]);
}

/** The managed identity (and its federated credential) of a namespace: at most 120 characters. */
export function identityName(project: string, stack: string, namespace: string): string {
  return boundedName("ra", [stack, namespace], 120, [project, stack, namespace]);
}

/** `/subscriptions/<id>/...` → the subscription-scoped id of a role definition. */
export function roleDefinitionId(resourceId: string, role: string): string {
  const match = /^\/subscriptions\/([^/]+)\//i.exec(resourceId);
  if (!match) throw new Error(`not an Azure resource id: ${resourceId}`);
  return `/subscriptions/${match[1]}/providers/Microsoft.Authorization/roleDefinitions/${role}`;
}

export interface ExternalSecretsDeliveryArgs {
  /** The namespace (an output of the Namespace resource, so these objects wait for it). */
  readonly namespace: pulumi.Output<string>;
  /** The namespace's name as configured: part of the Azure names. */
  readonly namespaceName: string;
  /** The whole `.dockerconfigjson` text: a secret. */
  readonly dockerConfigJson: pulumi.Output<string>;
  /** The Kubernetes secret ESO writes. */
  readonly secretName: string;
  /** The vault, issuer, refresh interval and ESO API version, validated. */
  readonly settings: ExternalSecretsSettings;
  /** The Pulumi project: part of the hash in the vault secret's and identity's names. */
  readonly project: string;
  /** The stack: with the namespace, it makes those names unique in a shared vault. */
  readonly stack: string;
}

/**
 * Delivery through Azure Key Vault and External Secrets Operator: the pull secret's content goes to one vault
 * secret per namespace; a managed identity that only this namespace's store service account can use (workload
 * identity federation) may read that one vault secret; ESO writes the Kubernetes secret from it. No Kubernetes
 * object that this program declares holds the credential.
 */
export class ExternalSecretsDelivery extends pulumi.ComponentResource {
  /** The vault secret holding the namespace's docker config. */
  public readonly vaultSecretName: pulumi.Output<string>;
  /** The client id of the namespace's identity; undefined with a shared ClusterSecretStore. */
  public readonly identityClientId: pulumi.Output<string | undefined>;
  /** The ExternalSecret, for dependents that must wait until ESO has written the pull secret. */
  public readonly externalSecret: k8s.apiextensions.CustomResource;

  constructor(name: string, args: ExternalSecretsDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("registry-access:index:ExternalSecretsDelivery", name, {}, opts);
    const child = { parent: this };
    const { settings: eso, namespaceName } = args;
    const kv = eso.keyVault;
    const readyTimeout = eso.readyTimeoutSeconds ?? EXTERNAL_SECRET_TIMEOUT_SECONDS;
    const secretName = vaultSecretName(args.project, args.stack, namespaceName);

    const vaultSecret = new keyvault.Secret(
      `${name}-vault-secret`,
      {
        resourceGroupName: kv.resourceGroup,
        vaultName: kv.name,
        secretName,
        properties: { value: pulumi.secret(args.dockerConfigJson), contentType: "application/json" },
        tags: { "managed-by": "registry-access", namespace: namespaceName, stack: args.stack },
      },
      // ARM has no delete for vault secrets (the data plane has): Pulumi forgets it, docs/operations.md says how to
      // delete it.
      { ...child, retainOnDelete: true, transformations: [leanRegistration<keyvault.Secret>("name")] },
    );

    let storeRef: { kind: "SecretStore" | "ClusterSecretStore"; name: string };
    const storeDependencies: pulumi.Resource[] = [];
    let clientId: pulumi.Output<string | undefined> = pulumi.output(undefined);
    if (eso.clusterSecretStore !== undefined) {
      // One shared store: whoever runs it can read every namespace's vault secret (documented as less isolated).
      storeRef = { kind: "ClusterSecretStore", name: eso.clusterSecretStore };
    } else {
      const idName = identityName(args.project, args.stack, namespaceName);
      const identity = new managedidentity.UserAssignedIdentity(
        `${name}-identity`,
        {
          resourceGroupName: eso.identityResourceGroup,
          resourceName: idName,
          ...(eso.location !== undefined ? { location: eso.location } : {}),
          tags: { "managed-by": "registry-access", namespace: namespaceName, stack: args.stack },
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
          resourceGroupName: eso.identityResourceGroup,
          resourceName: identity.name,
          federatedIdentityCredentialResourceName: idName,
          issuer: eso.oidcIssuerUrl,
          // Only the store's service account in this namespace can act as the identity.
          subject: `system:serviceaccount:${namespaceName}:${STORE_SERVICE_ACCOUNT}`,
          audiences: [TOKEN_EXCHANGE_AUDIENCE],
        },
        { ...child, transformations: [leanRegistration<managedidentity.FederatedIdentityCredential>()] },
      );
      const reader = new authorization.RoleAssignment(
        `${name}-secret-reader`,
        {
          // This one vault secret, nothing wider.
          scope: vaultSecret.id,
          roleDefinitionId: vaultSecret.id.apply((id) => roleDefinitionId(id, KEY_VAULT_SECRETS_USER)),
          principalId: identity.principalId,
          principalType: "ServicePrincipal",
          description: `registry-access: ESO in namespace ${namespaceName} reads its pull secret`,
        },
        { ...child, transformations: [leanRegistration<authorization.RoleAssignment>()] },
      );
      const storeAccount = new k8s.core.v1.ServiceAccount(
        `${name}-store-sa`,
        {
          metadata: {
            name: STORE_SERVICE_ACCOUNT,
            namespace: args.namespace,
            labels: { ...MANAGED_BY_LABELS },
            annotations: {
              ...adoptAnnotations(args.stack),
              "azure.workload.identity/client-id": identity.clientId,
              "azure.workload.identity/tenant-id": identity.tenantId,
            },
          },
        },
        // It may exist before the program (adopted by upsert); left in place when the namespace leaves ESO.
        { ...child, retainOnDelete: true },
      );
      const storeManifest = secretStoreManifest({
        apiVersion: eso.apiVersion,
        name: STORE_NAME,
        namespace: namespaceName,
        vaultUrl: vaultUrlIn(kv.name, new pulumi.Config("azure-native").get("environment"), process.env),
        serviceAccountName: STORE_SERVICE_ACCOUNT,
      });
      const store = new k8s.apiextensions.CustomResource(
        `${name}-secret-store`,
        {
          ...storeManifest,
          apiVersion: eso.apiVersion,
          kind: "SecretStore",
          metadata: {
            ...(storeManifest.metadata as object),
            namespace: args.namespace,
            annotations: { ...adoptAnnotations(args.stack) },
          },
        },
        // The store can authenticate only once the federation and the role exist. Retained like its account:
        // without the ExternalSecret it does nothing.
        { ...child, dependsOn: [storeAccount, federation, reader], retainOnDelete: true },
      );
      storeRef = { kind: "SecretStore", name: STORE_NAME };
      storeDependencies.push(store);
      clientId = identity.clientId;
    }

    const manifest = externalSecretManifest({
      apiVersion: eso.apiVersion,
      name: STORE_NAME,
      namespace: namespaceName,
      store: storeRef,
      refreshInterval: eso.refreshInterval,
      targetSecretName: args.secretName,
      vaultSecretName: secretName,
    });
    const metadata = manifest.metadata as { labels: Record<string, string> };
    this.externalSecret = new k8s.apiextensions.CustomResource(
      `${name}-external-secret`,
      {
        ...manifest,
        apiVersion: eso.apiVersion,
        kind: "ExternalSecret",
        metadata: {
          ...metadata,
          namespace: args.namespace,
          annotations: {
            ...adoptAnnotations(args.stack),
            // `up` succeeds only once ESO has written the pull secret from the vault.
            "pulumi.com/waitFor": "condition=Ready",
            "pulumi.com/timeoutSeconds": String(readyTimeout),
            // Deleting the ExternalSecret (switching back to direct delivery) must not garbage-collect the pull
            // secret it owns: the direct secret takes it over in place.
            "pulumi.com/deletionPropagationPolicy": "orphan",
          },
        },
      },
      // Not retained: switching back to direct delivery must remove it, or ESO would keep writing the vault's
      // last value over the direct secret. deleteBeforeReplace: a replacement (a new clusterIdentifier) deletes
      // the old object first, orphaning the pull secret, then creates it again; the default create-then-delete
      // would adopt the live object by upsert and then delete it.
      { ...child, dependsOn: [vaultSecret, ...storeDependencies], deleteBeforeReplace: true },
    );
    if (!pulumi.runtime.isDryRun()) {
      pulumi.log.info(
        `ExternalSecret ${STORE_NAME} in ${namespaceName}: \`up\` waits up to ${readyTimeout / 60} ` +
          `minutes for ESO to report it Ready. On a first deploy Azure may take 10 minutes to let the ` +
          `namespace's identity read its vault secret.`,
        this.externalSecret,
      );
    }

    this.vaultSecretName = vaultSecret.name;
    this.identityClientId = clientId;
    this.registerOutputs({ vaultSecretName: this.vaultSecretName, identityClientId: this.identityClientId });
  }
}
