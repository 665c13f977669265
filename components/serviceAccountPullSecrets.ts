/**
 * Pull secrets on a service account the program did not create, added and removed one by one (issue 16, item 6).
 *
 * `imagePullSecrets` is an atomic list under server-side apply: an apply writes the whole list, so it drops any
 * entry another team added since the program last wrote it. This dynamic provider never writes the list: it reads
 * the account and sends a JSON patch (RFC 6902) that appends only the names the stack declares and that are
 * missing, or removes only names the stack declared and no longer does. Its first operation `test`s the
 * account's `resourceVersion` (optimistic concurrency): when another writer got in between, the API server refuses
 * the patch and the provider reads again, up to MAX_ATTEMPTS times.
 *
 * `diff` reads the account too: when a declared name is missing from the live list (removed by hand, by another
 * tool), it reports a change, so a plain `pulumi up` puts the name back (issue 18, item 1). Where the account
 * cannot be read (no access, cluster unreachable) it compares the inputs only.
 *
 * Pulumi serializes the provider into the state with its closure serializer: @kubernetes/client-node is loaded
 * inside the function that uses it, and the rest are plain functions and values.
 */
import * as pulumi from "@pulumi/pulumi";

/** One RFC 6902 operation, as the API server takes them with `application/json-patch+json`. */
export interface JsonPatchOperation {
  readonly op: "test" | "add" | "remove";
  readonly path: string;
  readonly value?: unknown;
}

/** What the provider needs of a live service account. */
export interface LiveServiceAccount {
  readonly resourceVersion: string;
  /** Absent when the account has no list at all. */
  readonly imagePullSecrets?: readonly { readonly name?: string }[];
}

/**
 * The patch that makes `live` list every name in `add` and none in `remove` (a name in both is kept), touching no
 * other entry; undefined when the list already is so. Removals go first, from the last index down, so each index
 * is still right when its operation runs; additions are appended in the order given.
 */
export function pullSecretsPatch(
  live: LiveServiceAccount,
  add: readonly string[],
  remove: readonly string[],
): JsonPatchOperation[] | undefined {
  const current = live.imagePullSecrets;
  const ops: JsonPatchOperation[] = [];
  const kept: string[] = [];
  if (current !== undefined) {
    for (let i = current.length - 1; i >= 0; i--) {
      const name = current[i].name ?? "";
      if (remove.includes(name) && !add.includes(name))
        ops.push({ op: "remove", path: `/imagePullSecrets/${i}` });
      else kept.push(name);
    }
  }
  const missing = add.filter((name, i) => !kept.includes(name) && add.indexOf(name) === i);
  if (current === undefined && missing.length > 0) {
    ops.push({ op: "add", path: "/imagePullSecrets", value: missing.map((name) => ({ name })) });
  } else {
    for (const name of missing) ops.push({ op: "add", path: "/imagePullSecrets/-", value: { name } });
  }
  if (ops.length === 0) return undefined;
  return [{ op: "test", path: "/metadata/resourceVersion", value: live.resourceVersion }, ...ops];
}

/** How to reach the cluster, as the stack's Kubernetes provider does. */
export interface ClusterAccess {
  /** `kubernetes:kubeconfig`: a kubeconfig's contents or its path. Unset: KUBECONFIG, else ~/.kube/config. */
  readonly kubeconfig?: pulumi.Input<string>;
  /** `kubernetes:context`. Unset: the kubeconfig's current context. */
  readonly context?: pulumi.Input<string>;
}

export interface ServiceAccountPullSecretsArgs extends ClusterAccess {
  readonly namespace: pulumi.Input<string>;
  readonly serviceAccount: pulumi.Input<string>;
  /** The names this stack wires, in order: the stack's pull secret, then its extraImagePullSecrets. */
  readonly secretNames: pulumi.Input<pulumi.Input<string>[]>;
  /** The field manager the API server records for the patch: `registry-access-<stack>`. */
  readonly fieldManager: pulumi.Input<string>;
}

/** The inputs as the provider receives them, and its state. */
export interface ServiceAccountPullSecretsInputs {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly secretNames: string[];
  readonly fieldManager: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/** The account as the provider reads and patches it; undefined from `read` when the API answers 404. */
export interface ServiceAccountClient {
  read(namespace: string, name: string): Promise<LiveServiceAccount | undefined>;
  patch(namespace: string, name: string, ops: JsonPatchOperation[], fieldManager: string): Promise<void>;
}

/** Attempts at one change when other writers keep changing the account between the read and the patch. */
export const MAX_ATTEMPTS = 5;

/** The HTTP status of a client-node ApiException, or undefined. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/**
 * A failed `test` on resourceVersion: the API server answers 422 (the patch cannot apply) or, for a write that
 * raced it after the patch applied, 409 Conflict. Both mean "read again".
 */
export function isConflict(err: unknown): boolean {
  const status = statusOf(err);
  return status === 409 || status === 422;
}

/** The cluster's kubeconfig as the Kubernetes provider reads `kubernetes:kubeconfig` and `kubernetes:context`. */
export function loadKubeConfig(
  inputs: Pick<ServiceAccountPullSecretsInputs, "kubeconfig" | "context">,
): import("@kubernetes/client-node").KubeConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
  const kc = new k8s.KubeConfig();
  const kubeconfig = inputs.kubeconfig ?? "";
  if (kubeconfig === "") kc.loadFromDefault();
  // The Kubernetes provider takes a path or the contents: a kubeconfig's contents span lines.
  else if (kubeconfig.includes("\n")) kc.loadFromString(kubeconfig);
  else kc.loadFromFile(kubeconfig);
  if (inputs.context) kc.setCurrentContext(inputs.context);
  return kc;
}

/**
 * Has client-node make its HTTPS agent once, with keep-alive, and hand the same one to every request. client-node
 * makes a new agent per request (KubeConfig.applySecurityAuthentication), so every read and patch paid a TLS
 * handshake: 5.7-6.7 ms of CPU per read against 1.9 ms on one kept-alive connection (200 reads, local cluster).
 * The agent is still client-node's own (its CA, client certificate, proxy); credentials (tokens, exec plugins)
 * are still applied to each request.
 */
function oneKeepAliveAgent(kc: import("@kubernetes/client-node").KubeConfig): void {
  const target = kc as unknown as { createAgent?: (cluster: unknown, options: object) => unknown };
  const create = target.createAgent?.bind(kc);
  if (create === undefined) return;
  let agent: unknown;
  target.createAgent = (cluster, options) => (agent ??= create(cluster, { ...options, keepAlive: true }));
}

/** One client per cluster (kubeconfig and context) for the life of the provider's process: see oneKeepAliveAgent. */
const clients = new Map<string, ServiceAccountClient>();

/** The client on the cluster that the inputs name, through @kubernetes/client-node. */
export function kubeClient(
  inputs: Pick<ServiceAccountPullSecretsInputs, "kubeconfig" | "context">,
): ServiceAccountClient {
  const key = JSON.stringify([inputs.kubeconfig ?? "", inputs.context ?? ""]);
  let client = clients.get(key);
  if (client === undefined) {
    client = newKubeClient(inputs);
    clients.set(key, client);
  }
  return client;
}

function newKubeClient(
  inputs: Pick<ServiceAccountPullSecretsInputs, "kubeconfig" | "context">,
): ServiceAccountClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
  const kc = loadKubeConfig(inputs);
  oneKeepAliveAgent(kc);
  const api = kc.makeApiClient(k8s.CoreV1Api);
  return {
    read: async (namespace, name) => {
      try {
        const sa = await api.readNamespacedServiceAccount({ name, namespace });
        return { resourceVersion: sa.metadata?.resourceVersion ?? "", imagePullSecrets: sa.imagePullSecrets };
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    patch: async (namespace, name, ops, fieldManager) => {
      await api.patchNamespacedServiceAccount(
        { name, namespace, body: ops, fieldManager },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch),
      );
    },
  };
}

/** One line for an API error: its status and the API's own message. */
export function describeApiError(err: unknown): string {
  const status = statusOf(err);
  if (status === undefined) return String((err as { message?: unknown })?.message ?? err).split("\n")[0];
  let body = (err as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return `HTTP ${status}${typeof message === "string" ? ` ${message}` : ""}`;
}

/** How long to wait for an account that does not exist yet, and how to wait. */
export interface AccountWait {
  readonly ms: number;
  readonly stepMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const ACCOUNT_WAIT: AccountWait = {
  ms: 60_000,
  stepMs: 500,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Reads the account and patches it until it lists `add` and not `remove`. A missing account is waited for up to
 * `wait.ms` and then an error when there is something to add (the program does not create accounts it adopts),
 * and nothing to do when only removing.
 */
export async function converge(
  client: ServiceAccountClient,
  inputs: Pick<ServiceAccountPullSecretsInputs, "namespace" | "serviceAccount" | "fieldManager">,
  add: readonly string[],
  remove: readonly string[],
  wait: AccountWait = ACCOUNT_WAIT,
): Promise<void> {
  const where = `service account ${inputs.serviceAccount} in namespace ${inputs.namespace}`;
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    let live: LiveServiceAccount | undefined;
    try {
      live = await client.read(inputs.namespace, inputs.serviceAccount);
    } catch (err) {
      throw new Error(`Could not read ${where}: ${describeApiError(err)}`);
    }
    if (live === undefined) {
      if (add.length === 0) return;
      // Kubernetes creates "default" moments after a new namespace: wait for it, without spending an attempt.
      if (waited < wait.ms) {
        await wait.sleep(wait.stepMs);
        waited += wait.stepMs;
        attempt--;
        continue;
      }
      throw new Error(
        `${where} does not exist: create it (Kubernetes creates "default" with the namespace), or list it ` +
          `as { name: ${inputs.serviceAccount}, create: true } under namespaces.${inputs.namespace}.serviceAccounts`,
      );
    }
    const ops = pullSecretsPatch(live, add, remove);
    if (ops === undefined) return;
    try {
      await client.patch(inputs.namespace, inputs.serviceAccount, ops, inputs.fieldManager);
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= MAX_ATTEMPTS) {
        throw new Error(`Could not patch the imagePullSecrets of ${where}: ${describeApiError(err)}`);
      }
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function stateOf(inputs: ServiceAccountPullSecretsInputs): ServiceAccountPullSecretsInputs {
  return Object.fromEntries(
    Object.entries(inputs).filter(([k, v]) => v !== undefined && k !== "__provider"),
  ) as unknown as ServiceAccountPullSecretsInputs;
}

export function makeServiceAccountPullSecretsProvider(
  clientFor: (inputs: ServiceAccountPullSecretsInputs) => ServiceAccountClient = kubeClient,
): pulumi.dynamic.ResourceProvider<ServiceAccountPullSecretsInputs, ServiceAccountPullSecretsInputs> {
  return {
    diff: async (_id, olds, news) => {
      const replaces = (["namespace", "serviceAccount"] as const).filter((k) => olds[k] !== news[k]);
      if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: false };
      if (!sameList(olds.secretNames, news.secretNames) || olds.fieldManager !== news.fieldManager) {
        return { changes: true };
      }
      // The live list: a declared name removed by hand makes this an update, which adds it back.
      let live: LiveServiceAccount | undefined;
      try {
        live = await clientFor(news).read(news.namespace, news.serviceAccount);
      } catch {
        return { changes: false };
      }
      if (live === undefined) return { changes: true };
      return { changes: pullSecretsPatch(live, news.secretNames, []) !== undefined };
    },

    create: async (inputs) => {
      await converge(clientFor(inputs), inputs, inputs.secretNames, []);
      return { id: `${inputs.namespace}/${inputs.serviceAccount}`, outs: stateOf(inputs) };
    },

    update: async (_id, olds, news) => {
      // Only names this stack declared and no longer does leave the list.
      const dropped = olds.secretNames.filter((n) => !news.secretNames.includes(n));
      await converge(clientFor(news), news, news.secretNames, dropped);
      return { outs: stateOf(news) };
    },

    delete: async (_id, olds) => {
      await converge(clientFor(olds), olds, [], olds.secretNames);
    },
  };
}

export const serviceAccountPullSecretsProvider = makeServiceAccountPullSecretsProvider();

/**
 * `serviceAccountPullSecretsProvider` as the package registry-access-providers ships it (`npm run providers`):
 * serialized as a `require` of the package instead of this file's code by value (issue 16.9, docs/performance.md).
 */
function packagedProvider(): pulumi.dynamic.ResourceProvider<
  ServiceAccountPullSecretsInputs,
  ServiceAccountPullSecretsInputs
> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("registry-access-providers/serviceAccountPullSecrets");
}

/**
 * The stack's pull secrets on a service account it adopts: added to whatever the account lists, never replacing
 * the list. The state is the inputs; the kubeconfig stays a secret in it.
 */
export class ServiceAccountPullSecrets extends pulumi.dynamic.Resource {
  constructor(name: string, args: ServiceAccountPullSecretsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      packagedProvider(),
      name,
      args,
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["kubeconfig"] }),
      "registry-access",
      "ServiceAccountPullSecrets",
    );
  }
}
