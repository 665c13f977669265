import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { STORE_NAME } from "./ExternalSecretsDelivery";
import { adoptAnnotations, MANAGED_BY_LABELS } from "./names";
import { pullAlertRules } from "./pullAlerts";
import { MonitoringSettings } from "./settings";

export interface PullFailureAlertsArgs {
  /** Where the PrometheusRule goes and which labels the Prometheus operator's ruleSelector matches. */
  readonly monitoring: MonitoringSettings;
  /** The namespaces this stack manages. */
  readonly namespaces: readonly string[];
  /** The subset delivered through External Secrets Operator. */
  readonly externalSecretsNamespaces: readonly string[];
}

/**
 * A `monitoring.coreos.com/v1` PrometheusRule with the alerts on failed pulls in the managed namespaces (and on
 * ExternalSecrets that are not Ready). Needs the Prometheus operator's CRDs and kube-state-metrics.
 */
export class PullFailureAlerts extends pulumi.ComponentResource {
  /** The PrometheusRule's name. */
  public readonly ruleName: pulumi.Output<string>;

  constructor(name: string, args: PullFailureAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("registry-access:index:PullFailureAlerts", name, {}, opts);
    const spec = pullAlertRules({
      namespaces: args.namespaces,
      externalSecretsNamespaces: args.externalSecretsNamespaces,
      externalSecretName: STORE_NAME,
      ...(args.monitoring.runbookBaseUrl !== undefined
        ? { runbookBaseUrl: args.monitoring.runbookBaseUrl }
        : {}),
    });
    const rule = new k8s.apiextensions.CustomResource(
      `${name}-rule`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: {
          name: `registry-access-${pulumi.getStack()}`,
          namespace: args.monitoring.namespace,
          labels: { ...args.monitoring.labels, ...MANAGED_BY_LABELS },
          annotations: { ...adoptAnnotations(pulumi.getStack()) },
        },
        spec,
      },
      // Removed with `monitoring`. deleteBeforeReplace: a replacement must not adopt the live rule by upsert and
      // then delete it.
      { parent: this, deleteBeforeReplace: true },
    );
    this.ruleName = rule.metadata.name;
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
