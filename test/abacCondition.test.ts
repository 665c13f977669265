import * as assert from "assert";
import * as fc from "fast-check";
import {
  MAX_CONDITION_BYTES,
  READ_ACTIONS,
  REPOSITORY_READER_ROLE_ID,
  checkedRepositoryReaderCondition,
  deterministicGuid,
  repositoryReaderCondition,
  repositoryTerm,
} from "../components/abacCondition";
import { evaluateCondition } from "./support/abacEvaluator";

const [CONTENT_READ, METADATA_READ] = READ_ACTIONS;
const PUSH = "Microsoft.ContainerRegistry/registries/repositories/content/write";

/** Repository paths as the config allows them (lowercase segments joined by '/'). */
const segment = fc.stringMatching(/^[a-z0-9]{1,6}(-[a-z0-9]{1,3})?$/);
const repository = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"));
const pattern = fc.oneof(
  repository,
  repository.map((r) => `${r}/*`),
);

/** What the config means: an exact name, or every repository under a prefix (case-insensitive, as ACR compares). */
function allowedBySpec(patterns: readonly string[], name: string): boolean {
  const n = name.toLowerCase();
  return patterns.some((p) =>
    p.endsWith("/*") ? n.startsWith(p.slice(0, -1).toLowerCase()) : n === p.toLowerCase(),
  );
}

describe("abacCondition", () => {
  it("builds the documented template for an exact name and a prefix", () => {
    assert.strictEqual(REPOSITORY_READER_ROLE_ID, "b93aa761-3e63-49ed-ac28-beffa264f7ac");
    assert.strictEqual(
      repositoryReaderCondition(["team-a/api", "shared/*"]),
      "((!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/content/read'}) AND " +
        "!(ActionMatches{'Microsoft.ContainerRegistry/registries/repositories/metadata/read'})) OR " +
        "(@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase 'team-a/api' OR " +
        "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'shared/'))",
    );
  });

  it("keeps the prefix's trailing slash, so backend/* does not match backend-infra", () => {
    assert.strictEqual(
      repositoryTerm("backend/*"),
      "@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringStartsWithIgnoreCase 'backend/'",
    );
    const condition = repositoryReaderCondition(["backend/*"]);
    assert.strictEqual(
      evaluateCondition(condition, { action: CONTENT_READ, repository: "backend/api" }),
      true,
    );
    assert.strictEqual(
      evaluateCondition(condition, { action: CONTENT_READ, repository: "backend-infra/x" }),
      false,
    );
    assert.strictEqual(evaluateCondition(condition, { action: CONTENT_READ, repository: "backend" }), false);
  });

  it("lists names that differ only in case once, in their first spelling's place", () => {
    assert.strictEqual(
      repositoryReaderCondition(["b", "A", "a", "B", "c"]),
      repositoryReaderCondition(["b", "A", "c"]),
    );
    assert.notStrictEqual(repositoryReaderCondition(["b", "a"]), repositoryReaderCondition(["a", "b"]));
  });

  it("refuses an empty list, which would otherwise grant nothing but look like a grant", () => {
    assert.throws(() => repositoryReaderCondition([]), {
      message: "repositoryReaderCondition: list at least one repository",
    });
  });

  it("allows the two reads exactly on the listed repositories, whatever the list (property, against the evaluator)", () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 6 }),
        fc.oneof(repository, fc.constantFrom("backend", "backend-infra/x", "Team-A/Api")),
        fc.constantFrom(CONTENT_READ, METADATA_READ),
        (patterns, name, action) => {
          const condition = repositoryReaderCondition(patterns);
          return evaluateCondition(condition, { action, repository: name }) === allowedBySpec(patterns, name);
        },
      ),
    );
  });

  it("compares names without regard to case, as ACR does", () => {
    const condition = repositoryReaderCondition(["team-a/api"]);
    assert.strictEqual(
      evaluateCondition(condition, { action: METADATA_READ, repository: "Team-A/API" }),
      true,
    );
    assert.strictEqual(
      evaluateCondition(condition, { action: METADATA_READ, repository: "team-a/api2" }),
      false,
    );
  });

  it("lets actions other than the two reads pass the guard (the role itself grants no others)", () => {
    const condition = repositoryReaderCondition(["team-a/api"]);
    assert.strictEqual(evaluateCondition(condition, { action: PUSH, repository: "elsewhere" }), true);
  });

  it("accepts a condition of exactly 8192 bytes and refuses 8193, naming the path, the size and the fix", () => {
    const fixed = repositoryReaderCondition(["x"]).length - 1;
    const exact = "r".repeat(MAX_CONDITION_BYTES - fixed);
    assert.strictEqual(Buffer.byteLength(repositoryReaderCondition([exact])), MAX_CONDITION_BYTES);
    assert.deepStrictEqual(checkedRepositoryReaderCondition("p", [exact]), {
      condition: repositoryReaderCondition([exact]),
    });
    assert.deepStrictEqual(
      checkedRepositoryReaderCondition("namespaces.team-a.registries.acr.repositories", [`${exact}r`]),
      {
        problem:
          "namespaces.team-a.registries.acr.repositories: the role condition for these 1 repositories is 8193 bytes, " +
          "over Azure's limit of 8192; list a prefix (team-a/*) instead of each repository under it",
      },
    );
  });

  it("fits 65 repositories of 19 characters and refuses 70", () => {
    const names = (n: number) =>
      Array.from({ length: n }, (_, i) => `team-a/service-${String(i).padStart(4, "0")}`);
    assert.strictEqual(names(1)[0].length, 19);
    assert.ok(checkedRepositoryReaderCondition("p", names(65)).condition);
    assert.strictEqual(
      checkedRepositoryReaderCondition("p", names(70)).problem,
      "p: the role condition for these 70 repositories is 8230 bytes, over Azure's limit of 8192; " +
        "list a prefix (team-a/*) instead of each repository under it",
    );
  });

  it("derives the same version-5-shaped GUID from the same parts, and different ones otherwise", () => {
    assert.strictEqual(deterministicGuid("x"), "11f6ad8e-c52a-5984-abaa-fd7c3b516503");
    assert.strictEqual(deterministicGuid("dev", "team-a", "acr"), "24b3002c-9df9-59f5-a2cd-29d8d380c870");
    assert.notStrictEqual(deterministicGuid("dev", "team-a"), deterministicGuid("dev-team", "a"));
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 4 }), (parts) =>
        /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(
          deterministicGuid(...parts),
        ),
      ),
    );
  });
});
