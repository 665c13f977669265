import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { deployedExpiryWarnings } from "./components/AcrPullToken";
import { declareEach } from "./components/declareEach";
import { readLastDeployment } from "./components/lastDeployment";
import { NamespaceRegistryAccess } from "./components/NamespaceRegistryAccess";
import { PullFailureAlerts } from "./components/PullFailureAlerts";
import { routeSdkDebugLog, sdkDebugLogSetting } from "./components/redactedDebugLog";
import { checkAcrLimits } from "./components/registryLimits";
import { kubeClientSettings } from "./components/kubeClientSettings";
import { loadSettings } from "./components/settings";
import { checkAbacMode } from "./components/acrAbacMode";
import { checkTerminating, clusterNamespaces } from "./components/terminatingNamespaces";
import { checkVaultAuthorization } from "./components/vaultAuthorization";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

/** The program: Pulumi awaits the function and exports what it returns. */
async function main(): Promise<{ namespaces: pulumi.Output<Record<string, unknown>> }> {
  // Before any resource: the SDK's debug log costs a quarter of the run and carries every RPC response, secret
  // outputs included. Off unless REGISTRY_ACCESS_SDK_DEBUG_LOG=1, and then redacted.
  const sdkDebugLog = sdkDebugLogSetting(process.env);
  routeSdkDebugLog(sdkDebugLog.send);
  if (sdkDebugLog.warning) pulumi.log.warn(sdkDebugLog.warning);
  // Every problem in the stack's config is reported here, at once, before any resource is declared.
  const settings = loadSettings();
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  // ESO delivery needs a vault on Azure RBAC: checked before anything is declared.
  if (settings.externalSecrets && settings.namespaces.some((n) => n.delivery === "externalSecrets")) {
    await checkVaultAuthorization(settings.externalSecrets);
  }
  // ACR tier limits (tokens, scope maps, actions per scope map): checked before anything is declared.
  await checkAcrLimits(settings);

  // Workload identity needs each of its registries in ABAC mode: read from ARM before anything is declared.
  const registryResourceIds = settings.workloadIdentity
    ? await checkAbacMode(
        Object.values(settings.registries).flatMap((r) =>
          r.type === "acr" && r.auth === "workloadIdentity" ? [r] : [],
        ),
      )
    : undefined;

  const kubernetesConfig = new pulumi.Config("kubernetes");
  // An explicit provider does not read `kubernetes:` config by itself.
  // A kubeconfig may carry credentials: keep it a secret in state.
  const cluster = {
    kubeconfig: kubernetesConfig.getSecret("kubeconfig"),
    context: kubernetesConfig.get("context"),
  };
  // A namespace being deleted fails `up` on its first write: a preview says so before (issue 16, item 11).
  // Under the unit tests' mocks there is no cluster to ask.
  if (pulumi.runtime.isDryRun() && !(pulumi.runtime.getMonitor() instanceof MockMonitor)) {
    const kubeconfig = await new Promise<string | undefined>((resolve) =>
      cluster.kubeconfig ? cluster.kubeconfig.apply(resolve) : resolve(undefined),
    );
    const names = settings.namespaces.map((n) => n.name);
    const found = await checkTerminating(names, clusterNamespaces({ kubeconfig, context: cluster.context }));
    if ("skipped" in found) pulumi.log.info(found.skipped);
    else if (found.problems.length > 0) throw new pulumi.RunError(found.problems.join("\n"));
  }
  const kubernetes = new k8s.Provider("kubernetes", {
    ...cluster,
    // A stable identity: a new kubeconfig path or context name (CI vs a laptop) must not replace every object.
    clusterIdentifier: kubernetesConfig.get("clusterIdentifier") ?? `${project}-${stack}`,
    // Without it a credential change deletes and re-creates the pull secret: a window of failed pulls.
    enableSecretMutable: true,
    // Adopt namespaces and secrets that the kubectl-era script created.
    upsertExistingObjects: true,
    enableServerSideApply: true,
    // 200 requests a second, not the provider's 50, which bounded an up of 200 namespaces (issue 17). Either
    // PULUMI_K8S_CLIENT_QPS or PULUMI_K8S_CLIENT_BURST in the environment hands both back to the provider.
    kubeClientSettings: kubeClientSettings(process.env),
  });

  // One namespace at a time, with a turn of the event loop after each: half the memory of declaring all at once.
  const access = await declareEach(
    settings.namespaces,
    (namespace) =>
      new NamespaceRegistryAccess(
        namespace.name,
        {
          namespace,
          secretName: settings.secretName,
          project,
          stack,
          externalSecrets: settings.externalSecrets,
          workloadIdentity: settings.workloadIdentity,
          registryResourceIds,
          cluster,
        },
        { providers: { kubernetes } },
      ),
  );

  if (settings.monitoring) {
    new PullFailureAlerts(
      "pull-alerts",
      {
        monitoring: settings.monitoring,
        namespaces: settings.namespaces.map((n) => n.name),
        externalSecretsNamespaces: settings.namespaces
          .filter((n) => n.delivery === "externalSecrets")
          .map((n) => n.name),
      },
      { providers: { kubernetes } },
    );
  }

  // `pulumi preview` warns about ACR passwords that expire within 14 days from what the last deployment recorded:
  // a rotation that is due leaves this run's values unknown until `up` applies it. `up` warns from its own values.
  if (pulumi.runtime.isDryRun()) {
    const deployed = await readLastDeployment(pulumi.getOrganization(), project, stack);
    for (const warning of deployedExpiryWarnings(deployed?.namespaces, new Date())) pulumi.log.warn(warning);
  }

  /** Per namespace: the pull secret, the registries in it and the service accounts wired. No credential. */
  const namespaces = pulumi
    .all(
      access.map((a) =>
        pulumi
          .all([
            a.namespaceName,
            a.secretName,
            a.delivery,
            a.vaultSecretName,
            a.servers,
            a.serviceAccounts,
            a.acrTokens,
            a.generatedSecretName,
          ])
          .apply(
            ([
              name,
              secretName,
              delivery,
              vaultSecretName,
              registries,
              serviceAccounts,
              acrTokens,
              generated,
            ]) => ({
              name,
              summary: {
                ...(secretName ? { secretName } : {}),
                ...(generated ? { generatedSecretName: generated } : {}),
                delivery,
                ...(vaultSecretName ? { vaultSecretName } : {}),
                registries,
                serviceAccounts,
                ...(acrTokens.length ? { acrTokens } : {}),
              },
            }),
          ),
      ),
    )
    .apply((list) => Object.fromEntries(list.map((n) => [n.name, n.summary])));
  return { namespaces };
}

export = main;
