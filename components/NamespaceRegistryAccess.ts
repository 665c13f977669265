import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AcrPullToken, AcrTokenSummary } from "./AcrPullToken";
import { authsKey, dockerConfigJson, DockerCredential } from "./dockerConfig";
import { AcrWorkloadIdentity } from "./AcrWorkloadIdentity";
import { startDynamicProviderPlugin } from "./dynamicProviderPlugin";
import { leanRegistration } from "./leanRegistration";
import { ExternalSecretsDelivery, STORE_SERVICE_ACCOUNT } from "./ExternalSecretsDelivery";
import { adoptAnnotations, fieldManager, MANAGED_BY_LABELS } from "./names";
import { ClusterAccess, ServiceAccountPullSecrets } from "./serviceAccountPullSecrets";
import { ExternalSecretsSettings, NamespaceSettings } from "./settings";
import { WorkloadIdentitySettings } from "./workloadIdentitySettings";

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
  /** Required when the namespace pulls from an ACR registry with auth workloadIdentity. */
  readonly workloadIdentity?: WorkloadIdentitySettings;
  /** ARM resource ids of the workload-identity registries, by registry id, read before anything is declared. */
  readonly registryResourceIds?: ReadonlyMap<string, string>;
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
  /** The pull secret's name; undefined when every registry of the namespace uses workload identity. */
  public readonly secretName: pulumi.Output<string | undefined>;
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
  /** The Secret ESO generates for workload-identity registries; undefined when the namespace has none. */
  public readonly generatedSecretName: pulumi.Output<string | undefined>;

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
      { ...retained, transformations: [leanRegistration<k8s.core.v1.Namespace>("metadata")] },
    );
    // One Output for every use: each read of `.name` through the metadata Output makes another.
    const namespaceName = namespace.metadata.name;

    // Workload-identity registries get no credential here: ESO generates their tokens into a Secret of their own.
    const generated = ns.registries.flatMap(({ registry, repositories }) =>
      registry.type === "acr" && registry.auth === "workloadIdentity" ? [{ registry, repositories }] : [],
    );
    const stored = ns.registries.filter(({ registry }) => !generated.some((g) => g.registry === registry));
    let workloadIdentity: AcrWorkloadIdentity | undefined;
    if (generated.length > 0) {
      const resourceIds = args.registryResourceIds;
      const missing = generated.filter((g) => !resourceIds?.has(g.registry.id)).map((g) => g.registry.id);
      if (!args.workloadIdentity || missing.length > 0) {
        throw new pulumi.ResourceError(
          `namespaces.${ns.name}: auth workloadIdentity needs the workloadIdentity settings and the resource id ` +
            `of registries ${generated.map((g) => g.registry.id).join(", ")}`,
          this,
        );
      }
      workloadIdentity = new AcrWorkloadIdentity(
        `${name}-wi`,
        {
          namespace: namespaceName,
          namespaceName: ns.name,
          registries: generated.map((g) => ({ ...g, resourceId: resourceIds!.get(g.registry.id)! })),
          settings: args.workloadIdentity,
          secretName: `${args.secretName}-acr`,
          project: args.project,
          stack: args.stack,
        },
        child,
      );
    }

    // The accounts are declared below; the stored secret may wait for them (a Promise is an Input to dependsOn).
    let accountsDeclared: (accounts: pulumi.Resource[]) => void = () => undefined;
    const serviceAccounts = new Promise<pulumi.Resource[]>((resolve) => (accountsDeclared = resolve));

    const tokens: AcrPullToken[] = [];
    const credentials: pulumi.Output<DockerCredential>[] = stored.map((entry) => {
      const { registry, repositories, tokenGeneration: generation } = entry;
      if (registry.type === "static") {
        return pulumi
          .all([registry.username, registry.password])
          .apply(([username, password]) => ({ server: registry.server, username, password }));
      }
      const token = new AcrPullToken(
        `${name}-${registry.id}`,
        { registry, namespace: ns.name, repositories, project: args.project, stack: args.stack, generation },
        child,
      );
      tokens.push(token);
      return pulumi
        .all([token.tokenName, token.password])
        .apply(([username, password]) => ({ server: registry.server, username, password }));
    });
    const dockerConfig = pulumi.secret(pulumi.all(credentials).apply((c) => dockerConfigJson(c)));

    // The pull secret: written here, or by ESO from the vault. Service accounts name it only once it exists.
    // With workload identity only, there is none: the generated Secret is the namespace's whole pull access.
    let pullSecret: pulumi.Resource | undefined;
    let vaultSecretName: pulumi.Output<string | undefined> = pulumi.output(undefined);
    if (stored.length === 0) {
      pullSecret = undefined;
    } else if (ns.delivery === "externalSecrets") {
      const delivery = new ExternalSecretsDelivery(
        `${name}-eso`,
        {
          namespace: namespaceName,
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
            namespace: namespaceName,
            labels: { ...MANAGED_BY_LABELS },
            // Take `data` over from the manager of a secret made by `kubectl create secret` or by ESO.
            annotations: { ...adoptAnnotations(args.stack) },
          },
          type: "kubernetes.io/dockerconfigjson",
          data: {
            ".dockerconfigjson": dockerConfig.apply((json) => Buffer.from(json, "utf8").toString("base64")),
          },
        },
        // A namespace moving a registry to workload identity: the secret drops that registry only after every
        // service account lists the generated Secret (which is Ready by then), so no pod is admitted without it.
        {
          ...retained,
          ...(workloadIdentity ? { dependsOn: serviceAccounts } : {}),
          transformations: [leanRegistration<k8s.core.v1.Secret>()],
        },
      );
    }

    // imagePullSecrets is an atomic list under server-side apply: whoever applies it owns all of it. An account the
    // program creates gets exactly the stack's list. On an account it adopts, other teams' entries stay: the
    // stack's names are added one by one (and removed only when they leave the stack's list), never the list
    // written whole. The secret exists before any account names it.
    const secretNames = [
      ...(stored.length > 0 ? [args.secretName] : []),
      ...(workloadIdentity ? [`${args.secretName}-acr`] : []),
      ...ns.extraImagePullSecrets,
    ];
    // With workload identity, accounts wait for the generated Secret instead, and the stored secret waits for them.
    const secretsFirst = workloadIdentity
      ? [workloadIdentity.externalSecret]
      : pullSecret
        ? [pullSecret]
        : [];
    const accounts: pulumi.Resource[] = [];
    for (const sa of ns.serviceAccounts) {
      if (sa.create) {
        accounts.push(
          new k8s.core.v1.ServiceAccount(
            `${name}-sa-${sa.name}`,
            {
              metadata: {
                name: sa.name,
                namespace: namespaceName,
                labels: { ...MANAGED_BY_LABELS },
                annotations: { ...adoptAnnotations(args.stack) },
              },
              imagePullSecrets: secretNames.map((n) => ({ name: n })),
            },
            {
              ...retained,
              dependsOn: secretsFirst,
              transformations: [leanRegistration<k8s.core.v1.ServiceAccount>()],
            },
          ),
        );
      } else {
        startDynamicProviderPlugin();
        // Plain names, not the namespace's output: an output unknown in a preview would read as a new account.
        accounts.push(
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
            {
              ...retained,
              dependsOn: [namespace, ...secretsFirst],
              transformations: [leanRegistration<ServiceAccountPullSecrets>()],
            },
          ),
        );
      }
    }
    accountsDeclared(accounts);

    this.namespaceName = namespaceName;
    this.secretName = pulumi.output(stored.length > 0 ? args.secretName : undefined);
    this.generatedSecretName = pulumi.output(workloadIdentity ? `${args.secretName}-acr` : undefined);
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
      generatedSecretName: this.generatedSecretName,
    });
  }
}
