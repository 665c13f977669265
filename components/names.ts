import { createHash } from "crypto";

/** What stands on the objects this program writes, for `kubectl get -l`. */
export const MANAGED_BY_LABELS: Readonly<Record<string, string>> = Object.freeze({
  "app.kubernetes.io/managed-by": "registry-access",
});

/**
 * Field manager of every server-side-apply patch: stable, so each `up` re-owns the same fields, and one per stack,
 * so two stacks sharing a cluster never take each other's fields over without a conflict (issue 16, item 10).
 * A stack name is at most 100 characters: the manager stays under the API server's limit of 128.
 */
export function fieldManager(stack: string): string {
  return `registry-access-${stack}`;
}

/**
 * Annotations that adopt an object another manager wrote (kubectl, a Helm chart, ESO): server-side apply with
 * force takes the fields over instead of failing `up` with a conflict. Every object that can exist before the
 * program carries them, because the provider's upsertExistingObjects adopts it.
 */
export function adoptAnnotations(stack: string): Record<string, string> {
  return { "pulumi.com/patchForce": "true", "pulumi.com/patchFieldManager": fieldManager(stack) };
}

/** Kubernetes DNS-1123 label: namespace names. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kubernetes DNS-1123 subdomain: secret and service account names. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const NAMESPACE_RULE =
  "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
export const OBJECT_NAME_RULE =
  "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";

export function isNamespaceName(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

export function isObjectName(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}

/** A short, stable digest: the same input gives the same suffix in every run and on every machine. */
export function shortHash(input: string, length = 8): string {
  return createHash("sha256").update(input).digest("hex").slice(0, length);
}

/**
 * A name made of `prefix-<slug>-<hash>` that fits `maxLength` and `[a-z0-9-]`. The hash covers the exact
 * `hashParts` (by default the parts), so names that the slug folds together (`dev_a` and `dev-a`) or cuts
 * short still differ.
 */
export function boundedName(
  prefix: string,
  parts: readonly string[],
  maxLength: number,
  hashParts: readonly string[] = parts,
): string {
  const hash = shortHash(JSON.stringify(hashParts));
  const slug = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  const room = maxLength - prefix.length - hash.length - 2;
  const cut = slug.slice(0, Math.max(0, room)).replace(/-+$/, "");
  return cut ? `${prefix}-${cut}-${hash}` : `${prefix}-${hash}`;
}

/** ACR token and scope map names are registry-wide: 5 to 50 letters, digits and hyphens. */
export const ACR_TOKEN_NAME = /^[a-zA-Z0-9-]{5,50}$/;

/** The highest token generation (`namespaces.<ns>.registries.<id>.tokenGeneration`): `-g999` is the longest suffix. */
export const MAX_TOKEN_GENERATION = 999;

/**
 * The ACR token name of a namespace: readable (`ra-<stack>-<namespace>-…`), at most 50 characters, and unique
 * across projects, stacks and namespaces that share a registry, through a hash of all three. The same inputs give
 * the same name on every run, so a token is never replaced by accident. Generation 0 (the default) is the name
 * every stack had before generations existed, so an upgrade renames nothing, and it is also the scope map's name;
 * generation n > 0 appends `-g<n>` (the readable part is cut to make room), a name no other generation and no
 * generation-0 name can have (those end in the hex hash), so the next token can exist beside the old one.
 */
export function acrTokenName(project: string, stack: string, namespace: string, generation = 0): string {
  const suffix = generation === 0 ? "" : `-g${generation}`;
  return boundedName("ra", [stack, namespace], 50 - suffix.length, [project, stack, namespace]) + suffix;
}
