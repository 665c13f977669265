/**
 * The Kubernetes provider's client-side rate limit. The provider's own default, 50 requests a second (burst 120),
 * is what bounded `pulumi up`: per namespace it sends an apply of the namespace and of the secret and, for the
 * secret's await, a LIST and a WATCH of its events, so an up of 200 new secrets took 13.7 s, and 7.1 s at 200 a
 * second (docs/performance.md). The API server protects itself with API Priority and Fairness, which queues or
 * answers 429, and the provider's client retries a 429.
 */

/** What the program gives the provider. */
export const KUBE_CLIENT_SETTINGS = { qps: 200, burst: 400 } as const;

/** The variables through which the provider takes its own limits. */
export const KUBE_CLIENT_VARIABLES = ["PULUMI_K8S_CLIENT_QPS", "PULUMI_K8S_CLIENT_BURST"] as const;

/**
 * The provider's `kubeClientSettings`: the program's limits, or none when the environment sets either of the
 * provider's variables. The provider reads those only when its settings leave the value out, so a user's own
 * limit wins, and the provider checks it.
 */
export function kubeClientSettings(
  env: Readonly<Record<string, string | undefined>>,
): { qps: number; burst: number } | undefined {
  if (KUBE_CLIENT_VARIABLES.some((name) => (env[name] ?? "") !== "")) return undefined;
  return { ...KUBE_CLIENT_SETTINGS };
}
