/**
 * The role condition that limits ACR's Container Registry Repository Reader to one namespace's repositories, for
 * registries in "RBAC Registry + ABAC Repository Permissions" mode (Microsoft Learn,
 * `container-registry-rbac-abac-repository-permissions`). Pure: no resources, no I/O.
 */
import { createHash } from "crypto";

/** Built-in role "Container Registry Repository Reader": reads content and metadata, takes a repository condition. */
export const REPOSITORY_READER_ROLE_ID = "b93aa761-3e63-49ed-ac28-beffa264f7ac";

/** Azure refuses a role assignment whose condition is longer than this (8 KB). */
export const MAX_CONDITION_BYTES = 8192;

/** The data actions a pull needs: `content/read` is Docker's `pull`, `metadata/read` its `tags/list`. */
export const READ_ACTIONS = [
  "Microsoft.ContainerRegistry/registries/repositories/content/read",
  "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
] as const;

const NAME_ATTRIBUTE = "@Request[Microsoft.ContainerRegistry/registries/repositories:name]";

/**
 * One repository pattern as a condition term: `team-a/api` must equal the requested name (ignoring case, as ACR
 * does), and `team-a/*` must start with `team-a/`. The slash stays, or `team-a-infra/x` would match `team-a`.
 */
export function repositoryTerm(repository: string): string {
  if (repository.endsWith("/*")) {
    return `${NAME_ATTRIBUTE} StringStartsWithIgnoreCase '${repository.slice(0, -1)}'`;
  }
  return `${NAME_ATTRIBUTE} StringEqualsIgnoreCase '${repository}'`;
}

/**
 * The documented template: actions other than the two reads pass the guard untouched (the role grants no others),
 * and the reads are allowed only on the listed repositories. Names differing only in case appear once.
 */
export function repositoryReaderCondition(repositories: readonly string[]): string {
  const seen = new Set<string>();
  const unique = repositories.filter((r) => {
    const key = r.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length === 0) throw new Error("repositoryReaderCondition: list at least one repository");
  const guard = READ_ACTIONS.map((a) => `!(ActionMatches{'${a}'})`).join(" AND ");
  return `((${guard}) OR (${unique.map(repositoryTerm).join(" OR ")}))`;
}

/** The condition, or the problem that names the config path when it is over Azure's limit. */
export function checkedRepositoryReaderCondition(
  path: string,
  repositories: readonly string[],
): { condition: string; problem?: undefined } | { condition?: undefined; problem: string } {
  const condition = repositoryReaderCondition(repositories);
  const bytes = Buffer.byteLength(condition);
  if (bytes > MAX_CONDITION_BYTES) {
    return {
      problem:
        `${path}: the role condition for these ${repositories.length} repositories is ${bytes} bytes, over ` +
        `Azure's limit of ${MAX_CONDITION_BYTES}; list a prefix (team-a/*) instead of each repository under it`,
    };
  }
  return { condition };
}

/**
 * A GUID that is the same on every run for the same parts (role assignment names must be GUIDs, and a random one
 * would re-create the assignment on every run): SHA-1 of the parts, laid out as an RFC 4122 version-5 UUID.
 */
export function deterministicGuid(...parts: readonly string[]): string {
  const hash = createHash("sha1").update(parts.join("\u0000")).digest();
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
