import { MONITORING, patternOf } from "./configSpec";
import { NAMESPACE_RULE, OBJECT_NAME_RULE, isNamespaceName, isObjectName } from "./names";

/**
 * Prometheus alert rules for the pulls this program makes possible: a `PrometheusRule` spec
 * (monitoring.coreos.com/v1) built from plain values, so it is tested without Pulumi and checked by promtool.
 *
 * Metrics (names and labels checked against the projects' own docs and code):
 * - kube-state-metrics `kube_pod_container_status_waiting_reason` (STABLE) and
 *   `kube_pod_init_container_status_waiting_reason` (EXPERIMENTAL): labels namespace, pod, container, reason,
 *   uid; value 1 while the container waits for that reason.
 * - External Secrets Operator `externalsecret_status_condition` (gauge): labels name, namespace, condition,
 *   status; `{condition="Ready",status="False"}` is 1 while the ExternalSecret cannot sync.
 */

export interface PullAlertOptions {
  /** Namespaces this program manages. */
  readonly namespaces: readonly string[];
  /** The subset delivered through External Secrets Operator. */
  readonly externalSecretsNamespaces: readonly string[];
  /** How long a container may wait on a failed pull before the alert fires. Default "5m". */
  readonly for?: string;
  /**
   * The ExternalSecret's name in each ESO namespace. When set, the ESO alert ignores other ExternalSecrets
   * that share those namespaces. Defaults to every ExternalSecret in them.
   */
  readonly externalSecretName?: string;
  /**
   * The repository's web address at a branch (`https://github.com/org/registry-access/blob/main`). When set,
   * each alert also carries a clickable `runbook_url`, `<base>/docs/runbooks/<Alert>.md`. Defaults to none: only
   * the relative `runbook` annotation.
   */
  readonly runbookBaseUrl?: string;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export const IMAGE_PULL_ALERT = "RegistryAccessImagePullFailing";
export const INIT_IMAGE_PULL_ALERT = "RegistryAccessInitImagePullFailing";
export const EXTERNAL_SECRET_ALERT = "RegistryAccessExternalSecretNotReady";

/** Every alert this module can declare, each with its runbook file `docs/runbooks/<Alert>.md`. */
export const ALERTS = [IMAGE_PULL_ALERT, INIT_IMAGE_PULL_ALERT, EXTERNAL_SECRET_ALERT] as const;

/** What a runbook base URL must look like (declared with `monitoring.runbookBaseUrl`): http(s), no ?query or #fragment. */
export const RUNBOOK_BASE_URL = patternOf(MONITORING.properties.runbookBaseUrl);

export const DEFAULT_FOR = "5m";
export const SEVERITY = "warning";

/** The waiting reasons of a container whose image cannot be pulled; kubelet alternates between the two. */
const PULL_FAILURE_REASONS = "ErrImagePull|ImagePullBackOff";

/** Prometheus's duration syntax (units in this order, each at most once): `5m`, `1h30m`, `90s`. */
const DURATION = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;

/** Every problem in the options, one line each, with its path. */
export class PullAlertOptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in the pull alert options:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "PullAlertOptionsError";
  }
}

/** An alert's runbook, relative to the repository's root: `docs/runbooks/<AlertName>.md`. */
export function runbookPath(alert: string): string {
  return `docs/runbooks/${alert}.md`;
}

/** The absolute runbook address: the base without its trailing slashes, then `/docs/runbooks/<AlertName>.md`. */
export function runbookUrl(base: string, alert: string): string {
  return `${base.replace(/\/+$/, "")}/${runbookPath(alert)}`;
}

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * `namespace=~"a|b"`. Prometheus anchors regex matchers at both ends, so `dev` does not match `dev-old`.
 * The names are checked DNS labels (`[a-z0-9-]`): nothing in them is special in a regex or a PromQL string.
 */
function namespaceMatcher(namespaces: readonly string[]): string {
  return `namespace=~"${namespaces.join("|")}"`;
}

function validate(options: PullAlertOptions): string[] {
  const problems: string[] = [];
  if (options.namespaces.length === 0) {
    problems.push("namespaces: empty; list at least one namespace this program manages");
  }
  options.namespaces.forEach((ns, i) => {
    if (!isNamespaceName(ns))
      problems.push(`namespaces[${i}]: ${JSON.stringify(ns)} is not a namespace name: ${NAMESPACE_RULE}`);
  });
  options.externalSecretsNamespaces.forEach((ns, i) => {
    if (!options.namespaces.includes(ns)) {
      problems.push(`externalSecretsNamespaces[${i}]: ${JSON.stringify(ns)} is not one of namespaces`);
    }
  });
  if (options.for !== undefined && !(DURATION.test(options.for) && /[1-9]/.test(options.for))) {
    problems.push(
      `for: ${JSON.stringify(options.for)} is not a Prometheus duration above zero, such as 5m or 1h30m`,
    );
  }
  if (options.externalSecretName !== undefined && !isObjectName(options.externalSecretName)) {
    problems.push(
      `externalSecretName: ${JSON.stringify(options.externalSecretName)} is not an object name: ${OBJECT_NAME_RULE}`,
    );
  }
  if (options.runbookBaseUrl !== undefined && !RUNBOOK_BASE_URL.test(options.runbookBaseUrl)) {
    problems.push(
      `runbookBaseUrl: ${JSON.stringify(options.runbookBaseUrl)} is not an http(s) address without a ?query or #fragment`,
    );
  }
  return problems;
}

function annotations(
  alert: string,
  summary: string,
  description: string,
  runbookBaseUrl: string | undefined,
): Record<string, string> {
  return {
    summary,
    description,
    runbook: runbookPath(alert),
    ...(runbookBaseUrl === undefined ? {} : { runbook_url: runbookUrl(runbookBaseUrl, alert) }),
  };
}

/** The `spec` of a monitoring.coreos.com/v1 PrometheusRule: `{ groups: [...] }`. */
export function pullAlertRules(options: PullAlertOptions): { groups: RuleGroup[] } {
  const problems = validate(options);
  if (problems.length > 0) throw new PullAlertOptionsError(problems);

  const wait = options.for ?? DEFAULT_FOR;
  const namespaces = sortedUnique(options.namespaces);
  const esoNamespaces = sortedUnique(options.externalSecretsNamespaces);

  // `max by` drops `reason`, so a container that alternates between ErrImagePull and ImagePullBackOff stays
  // one series and `for` keeps counting; it also drops `uid` and merges duplicate kube-state-metrics replicas.
  const waiting = (metric: string): string =>
    `max by (namespace, pod, container) (${metric}{${namespaceMatcher(namespaces)},reason=~"${PULL_FAILURE_REASONS}"}) > 0`;

  const groups: RuleGroup[] = [
    {
      name: "registry-access-image-pulls",
      rules: [
        {
          alert: IMAGE_PULL_ALERT,
          expr: waiting("kube_pod_container_status_waiting_reason"),
          for: wait,
          labels: { severity: SEVERITY },
          annotations: annotations(
            IMAGE_PULL_ALERT,
            "Image pull failing in {{ $labels.namespace }}/{{ $labels.pod }}",
            `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has waited on ErrImagePull or ImagePullBackOff for more than ${wait}.`,
            options.runbookBaseUrl,
          ),
        },
        {
          alert: INIT_IMAGE_PULL_ALERT,
          expr: waiting("kube_pod_init_container_status_waiting_reason"),
          for: wait,
          labels: { severity: SEVERITY },
          annotations: annotations(
            INIT_IMAGE_PULL_ALERT,
            "Init container image pull failing in {{ $labels.namespace }}/{{ $labels.pod }}",
            `Init container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has waited on ErrImagePull or ImagePullBackOff for more than ${wait}.`,
            options.runbookBaseUrl,
          ),
        },
      ],
    },
  ];

  if (esoNamespaces.length > 0) {
    const name = options.externalSecretName === undefined ? "" : `,name="${options.externalSecretName}"`;
    groups.push({
      name: "registry-access-external-secrets",
      rules: [
        {
          alert: EXTERNAL_SECRET_ALERT,
          expr: `max by (namespace, name) (externalsecret_status_condition{condition="Ready"${name},${namespaceMatcher(esoNamespaces)},status="False"}) == 1`,
          for: wait,
          labels: { severity: SEVERITY },
          annotations: annotations(
            EXTERNAL_SECRET_ALERT,
            "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not syncing",
            `ExternalSecret {{ $labels.name }} in namespace {{ $labels.namespace }} has been Ready=False for more than ${wait}: its pull secret is not refreshed from Key Vault, and pods in {{ $labels.namespace }} will fail to pull once the registry token it holds expires.`,
            options.runbookBaseUrl,
          ),
        },
      ],
    });
  }
  return { groups };
}
