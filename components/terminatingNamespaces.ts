/**
 * Namespaces that Kubernetes is deleting (phase Terminating): the API server refuses every new object in them, so
 * `pulumi up` fails there although a preview, which writes nothing, passes (issue 16, item 11). The program reads
 * the namespaces once, before anything is declared, and refuses such a stack with a message that says what to do.
 * Where the identity may not list namespaces, or the cluster does not answer, it says so and goes on.
 */
import { describeApiError, loadKubeConfig } from "./serviceAccountPullSecrets";

/** Each namespace of the cluster and its phase. */
export type NamespaceLister = () => Promise<ReadonlyMap<string, string | undefined>>;

/** One problem per configured namespace that is Terminating, in the stack's order. */
export function terminatingProblems(
  configured: readonly string[],
  phases: ReadonlyMap<string, string | undefined>,
): string[] {
  return configured
    .filter((name) => phases.get(name) === "Terminating")
    .map(
      (name) =>
        `namespaces.${name}: namespace ${name} is Terminating: Kubernetes is deleting it, and \`pulumi up\` ` +
        `cannot write into it. Wait until \`kubectl get namespace ${name}\` answers NotFound, then run ` +
        `\`pulumi up\` to create it again; or remove namespaces.${name} from the stack`,
    );
}

/** The problems, or why the namespaces could not be read. */
export async function checkTerminating(
  configured: readonly string[],
  list: NamespaceLister,
): Promise<{ readonly problems: string[] } | { readonly skipped: string }> {
  let phases: ReadonlyMap<string, string | undefined>;
  try {
    phases = await list();
  } catch (err) {
    return {
      skipped: `Could not list namespaces to look for ones being deleted (${describeApiError(err)}); going on without`,
    };
  }
  return { problems: terminatingProblems(configured, phases) };
}

/** The cluster's namespaces through @kubernetes/client-node, as the stack's Kubernetes provider reaches it. */
export function clusterNamespaces(cluster: { kubeconfig?: string; context?: string }): NamespaceLister {
  return async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const api = loadKubeConfig(cluster).makeApiClient(k8s.CoreV1Api);
    const list = await api.listNamespace();
    return new Map(list.items.map((n) => [n.metadata?.name ?? "", n.status?.phase]));
  };
}
