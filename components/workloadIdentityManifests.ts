/**
 * Pure builders for what a namespace gets in ACR's secretless mode: ESO's `ACRAccessToken` generator (one per
 * registry) and the ExternalSecret that turns the generated tokens into one `kubernetes.io/dockerconfigjson`
 * Secret. No Pulumi here: the component declares `CustomResource`s from what these return.
 *
 * ESO semantics relied on (external-secrets v0.16.2, `apis/generators/v1alpha1/types_acr.go`,
 * `docs/snippets/generator-acr-example.yaml`, `pkg/generator/acr/acr.go`):
 * - the generator's output keys are `username` (`00000000-0000-0000-0000-000000000000`) and `password` (the ACR
 *   refresh token, about 3 h, limited to what the identity may do; without `scope`, no repository is named);
 * - with `auth.workloadIdentity.serviceAccountRef`, ESO requests the service account's token itself and reads its
 *   `azure.workload.identity/client-id` and `azure.workload.identity/tenant-id` annotations;
 * - `dataFrom[].rewrite` applies to a generator's output, so several generators can feed one Secret under
 *   distinct keys;
 * - templates use engine v2 (Go templates with sprig's functions: `dict`, `toJson`, `b64enc`, `printf`).
 */
import { authsKey } from "./dockerConfig";
import { EsoApiVersion } from "./externalSecretsManifests";
import { MANAGED_BY_LABELS } from "./names";

export const GENERATOR_API_VERSION = "generators.external-secrets.io/v1alpha1";

/** The service account ESO borrows to exchange the namespace's identity for ACR tokens; never used by pods. */
export const GENERATOR_SERVICE_ACCOUNT = "registry-access-acr";

/** The audience a workload-identity federated credential must accept (Microsoft Entra's token exchange). */
export const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";

export interface AcrAccessTokenInput<T = string> {
  readonly name: string;
  readonly namespace: string;
  /** The login server, `mycompany.azurecr.io`. */
  readonly registry: string;
  /** The identity's tenant (a Pulumi Output where the identity is being created). */
  readonly tenantId: T;
  /** The annotated service account ESO authenticates as. */
  readonly serviceAccountName: string;
}

/** An `ACRAccessToken` generator with no `scope`: the token carries exactly the identity's (ABAC) permissions. */
export function acrAccessTokenManifest<T>(input: AcrAccessTokenInput<T>): Record<string, unknown> {
  return {
    apiVersion: GENERATOR_API_VERSION,
    kind: "ACRAccessToken",
    metadata: { name: input.name, namespace: input.namespace, labels: { ...MANAGED_BY_LABELS } },
    spec: {
      auth: { workloadIdentity: { serviceAccountRef: { name: input.serviceAccountName } } },
      registry: input.registry,
      tenantId: input.tenantId,
    },
  };
}

/** The generator output's key prefix for the i-th registry when several feed one Secret. */
export function generatorKeyPrefix(index: number, count: number): string {
  return count > 1 ? `r${index}_` : "";
}

/**
 * The `.dockerconfigjson` template: `auths[server] = {username, password, auth}` for each server, built with
 * `toJson` so that whatever a token holds is escaped as JSON, and `auth` as base64 of `username:password`, as
 * `docker login` writes it.
 */
export function dockerConfigTemplate(servers: readonly string[]): string {
  const entries = servers.map((server, i) => {
    const p = generatorKeyPrefix(i, servers.length);
    const user = `.${p}username`;
    const password = `.${p}password`;
    return (
      `${JSON.stringify(authsKey(server))} (dict "username" ${user} "password" ${password} ` +
      `"auth" (printf "%s:%s" ${user} ${password} | b64enc))`
    );
  });
  return `{{ dict "auths" (dict ${entries.join(" ")}) | toJson }}`;
}

export interface GeneratorRef {
  /** `ACRAccessToken` (or `Fake` where a test stands in for Azure's token exchange). */
  readonly kind: string;
  readonly name: string;
  /** The registry server whose `auths` entry this generator's output fills. */
  readonly server: string;
}

export interface GeneratedPullSecretInput {
  readonly apiVersion: EsoApiVersion;
  readonly name: string;
  readonly namespace: string;
  /** The Secret ESO creates and owns. */
  readonly targetSecretName: string;
  /** Go duration, at most 1h (the token lives about 3 h). */
  readonly refreshInterval: string;
  readonly generators: readonly GeneratorRef[];
}

/**
 * An ExternalSecret that renders the generators' tokens into one `kubernetes.io/dockerconfigjson` Secret owned by
 * ESO (`creationPolicy: Owner`); with several generators each one's keys are prefixed `r<i>_` by `rewrite`.
 */
export function generatedPullSecretManifest(input: GeneratedPullSecretInput): Record<string, unknown> {
  if (input.generators.length === 0)
    throw new Error("generatedPullSecretManifest: list at least one generator");
  const count = input.generators.length;
  return {
    apiVersion: input.apiVersion,
    kind: "ExternalSecret",
    metadata: { name: input.name, namespace: input.namespace, labels: { ...MANAGED_BY_LABELS } },
    spec: {
      refreshInterval: input.refreshInterval,
      target: {
        name: input.targetSecretName,
        creationPolicy: "Owner",
        template: {
          type: "kubernetes.io/dockerconfigjson",
          engineVersion: "v2",
          data: { ".dockerconfigjson": dockerConfigTemplate(input.generators.map((g) => g.server)) },
        },
      },
      dataFrom: input.generators.map((g, i) => ({
        sourceRef: { generatorRef: { apiVersion: GENERATOR_API_VERSION, kind: g.kind, name: g.name } },
        ...(count > 1
          ? { rewrite: [{ regexp: { source: "^(.*)$", target: `${generatorKeyPrefix(i, count)}$1` } }] }
          : {}),
      })),
    },
  };
}
