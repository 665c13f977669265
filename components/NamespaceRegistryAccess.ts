import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AcrPullToken, AcrTokenSummary } from "./AcrPullToken";
import { authsKey, dockerConfigJson, DockerCredential } from "./dockerConfig";
import { ExternalSecretsDelivery, STORE_SERVICE_ACCOUNT } from "./ExternalSecretsDelivery";
import { adoptAnnotations, fieldManager, MANAGED_BY_LABELS } from "./names";
import { ClusterAccess, ServiceAccountPullSecrets } from "./serviceAccountPullSecrets";
import { ExternalSecretsSettings, NamespaceSettings } from "./settings";

export interface NamespaceRegistryAccessArgs {
  /** The validated settings of this namespace. */
  readonly namespace: NamespaceSettings;
  /** Name of the pull secret in the namespace. */
  readonly secretName: string;
  /** The Pulumi project: part of the hash in ACR token and vault secret names. */
  readonly project: string;
  /** The stack: ACR token names must be unique across stacks that share a registry. */
  readonly stack: string;
  /** Required when the namespace's delivery is externalSecrets. */
  readonly externalSecrets?: ExternalSecretsSettings;
  /**
   * The cluster as the stack's Kubernetes provider reaches it: where accounts the program adopts get their pull
   * secrets added. Defaults to KUBECONFIG (else ~/.kube/config) and its current context.
   */
  readonly cluster?: ClusterAccess;
}

/**
 * A namespace's pull access: the namespace (created or adopted, never deleted), one
 * `kubernetes.io/dockerconfigjson` secret with every registry it may pull from, and its service accounts
 * wired to that secret. The Kubernetes provider comes from `opts.providers` (or `opts.provider`).
 */
export class NamespaceRegistryAccess extends pulumi.ComponentResource {
  /** The namespace's name. */
  public readonly namespaceName: pulumi.Output<string>;
  /** The pull secret's name. */
  public readonly secretName: pulumi.Output<string>;
  /** direct or externalSecrets. */
  public readonly delivery: pulumi.Output<string>;
  /** externalSecrets delivery: the Key Vault secret holding the docker config. */
  public readonly vaultSecretName: pulumi.Output<string | undefined>;
  /** The `auths` keys of the pull secret, in order. */
  public readonly servers: pulumi.Output<string[]>;
  /** Service accounts listing the pull secret. */
  public readonly serviceAccounts: pulumi.Output<string[]>;
  /** ACR tokens of the namespace, with their scope and password expiry dates. */
  public readonly acrTokens: pulumi.Output<AcrTokenSummary[]>;

  constructor(name: string, args: NamespaceRegistryAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("registry-access:index:NamespaceRegistryAccess", name, {}, opts);
    const ns = args.namespace;
    if (ns.registries.length === 0) {
      throw new pulumi.ResourceError(`namespaces.${ns.name}.registries: a namespace needs a registry`, this);
    }
    if (ns.delivery === "externalSecrets" && !args.externalSecrets) {
      throw new pulumi.ResourceError(
        `namespaces.${ns.name}.delivery: externalSecrets delivery needs the externalSecrets settings`,
        this,
      );
    }
    const store = ns.serviceAccounts.findIndex((sa) => sa.name === STORE_SERVICE_ACCOUNT);
    if (ns.delivery === "externalSecrets" && store >= 0) {
      // Two writers of one account drop each other's fields: the store's workload-identity annotations or the
      // pull-secret list (issue 16, item 10).
      throw new pulumi.ResourceError(
        `namespaces.${ns.name}.serviceAccounts[${store}]: "${STORE_SERVICE_ACCOUNT}" is the account ESO's ` +
          `SecretStore authenticates as, and this program manages it; remove it from the list`,
        this,
      );
    }
    const child = { parent: this };
    // What pods in the namespace rely on is never deleted when it leaves the config (the namespace, or the
    // program): the namespace, its pull secret and its service accounts' wiring are handed back as they are.
    // It also lets a namespace switch to ESO delivery with no moment without a pull secret.
    const retained = { ...child, retainOnDelete: true };

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: ns.name,
          labels: { ...ns.labels },
          annotations: { ...ns.annotations, ...adoptAnnotations(args.stack) },
        },
      },
      retained,
    );

    const tokens: AcrPullToken[] = [];
    const credentials: pulumi.Output<DockerCredential>[] = ns.registries.map(({ registry, repositories }) => {
      if (registry.type === "static") {
        return pulumi
          .all([registry.username, registry.password])
          .apply(([username, password]) => ({ server: registry.server, username, password }));
      }
      const token = new AcrPullToken(
        `${name}-${registry.id}`,
        { registry, namespace: ns.name, repositories, project: args.project, stack: args.stack },
        child,
      );
      tokens.push(token);
      return pulumi
        .all([token.tokenName, token.password])
        .apply(([username, password]) => ({ server: registry.server, username, password }));
    });
    const dockerConfig = pulumi.secret(pulumi.all(credentials).apply((c) => dockerConfigJson(c)));

    // The pull secret: written here, or by ESO from the vault. Service accounts name it only once it exists.
    let pullSecret: pulumi.Resource;
    let vaultSecretName: pulumi.Output<string | undefined> = pulumi.output(undefined);
    if (ns.delivery === "externalSecrets") {
      const delivery = new ExternalSecretsDelivery(
        `${name}-eso`,
        {
          namespace: namespace.metadata.name,
          namespaceName: ns.name,
          dockerConfigJson: dockerConfig,
          secretName: args.secretName,
          settings: args.externalSecrets!,
          project: args.project,
          stack: args.stack,
        },
        child,
      );
      pullSecret = delivery.externalSecret;
      vaultSecretName = delivery.vaultSecretName;
    } else {
      pullSecret = new k8s.core.v1.Secret(
        `${name}-pull-secret`,
        {
          metadata: {
            name: args.secretName,
            namespace: namespace.metadata.name,
            labels: { ...MANAGED_BY_LABELS },
            // Take `data` over from the manager of a secret made by `kubectl create secret` or by ESO.
            annotations: { ...adoptAnnotations(args.stack) },
          },
          type: "kubernetes.io/dockerconfigjson",
          data: {
            ".dockerconfigjson": dockerConfig.apply((json) => Buffer.from(json, "utf8").toString("base64")),
          },
        },
        retained,
      );
    }

    // imagePullSecrets is an atomic list under server-side apply: whoever applies it owns all of it. An account the
    // program creates gets exactly the stack's list. On an account it adopts, other teams' entries stay: the
    // stack's names are added one by one (and removed only when they leave the stack's list), never the list
    // written whole. The secret exists before any account names it.
    const secretNames = [args.secretName, ...ns.extraImagePullSecrets];
    for (const sa of ns.serviceAccounts) {
      if (sa.create) {
        new k8s.core.v1.ServiceAccount(
          `${name}-sa-${sa.name}`,
          {
            metadata: {
              name: sa.name,
              namespace: namespace.metadata.name,
              labels: { ...MANAGED_BY_LABELS },
              annotations: { ...adoptAnnotations(args.stack) },
            },
            imagePullSecrets: secretNames.map((n) => ({ name: n })),
          },
          { ...retained, dependsOn: [pullSecret] },
        );
      } else {
        // Plain names, not the namespace's output: an output unknown in a preview would read as a new account.
        new ServiceAccountPullSecrets(
          `${name}-sa-${sa.name}`,
          {
            namespace: ns.name,
            serviceAccount: sa.name,
            secretNames,
            fieldManager: fieldManager(args.stack),
            kubeconfig: args.cluster?.kubeconfig,
            context: args.cluster?.context,
          },
          { ...retained, dependsOn: [namespace, pullSecret] },
        );
      }
    }

    this.namespaceName = namespace.metadata.name;
    this.secretName = pulumi.output(args.secretName);
    this.delivery = pulumi.output(ns.delivery);
    this.vaultSecretName = vaultSecretName;
    this.servers = pulumi.output(ns.registries.map(({ registry }) => authsKey(registry.server)));
    this.serviceAccounts = pulumi.output(ns.serviceAccounts.map((sa) => sa.name));
    this.acrTokens = pulumi.all(tokens.map((t) => t.summary));
    this.registerOutputs({
      namespaceName: this.namespaceName,
      secretName: this.secretName,
      delivery: this.delivery,
      vaultSecretName: this.vaultSecretName,
      servers: this.servers,
      serviceAccounts: this.serviceAccounts,
      acrTokens: this.acrTokens,
    });
  }
}
