import * as assert from "assert";
import * as fc from "fast-check";
import {
  ACR_TOKEN_NAME,
  acrTokenName,
  boundedName,
  isNamespaceName,
  isObjectName,
} from "../components/names";

/** Any valid Kubernetes namespace name (DNS-1123 label). */
const namespaceName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/).filter((s) => s.length <= 63);
/** Stack names: Pulumi allows letters, digits, '-', '_' and '.'. */
const stackName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);

describe("names", () => {
  it("accepts DNS-1123 labels for namespaces and subdomains for objects", () => {
    assert.strictEqual(isNamespaceName("team-a"), true);
    assert.strictEqual(isNamespaceName("a".repeat(63)), true);
    assert.strictEqual(isNamespaceName("a".repeat(64)), false);
    assert.strictEqual(isNamespaceName("Team"), false);
    assert.strictEqual(isNamespaceName("-a"), false);
    assert.strictEqual(isNamespaceName("a.b"), false);
    assert.strictEqual(isObjectName("a.b-c"), true);
    assert.strictEqual(isObjectName("a..b"), false);
    assert.strictEqual(isObjectName("a".repeat(254)), false);
  });

  it("derives readable ACR token names", () => {
    assert.strictEqual(acrTokenName("registry-access", "dev", "team-a"), "ra-dev-team-a-21b8bf09");
    assert.match(acrTokenName("registry-access", "prod", "production"), /^ra-prod-production-[0-9a-f]{8}$/);
  });

  it("gives any valid namespace and stack a valid ACR token name of at most 50 characters", () => {
    fc.assert(
      fc.property(stackName, namespaceName, (stack, ns) => {
        const name = acrTokenName("registry-access", stack, ns);
        return ACR_TOKEN_NAME.test(name) && name.length >= 5 && name.length <= 50 && !name.includes("--");
      }),
      { numRuns: 500 },
    );
  });

  it("gives different namespaces, stacks or projects different token names, and the same inputs the same name", () => {
    fc.assert(
      fc.property(stackName, namespaceName, namespaceName, (stack, a, b) => {
        fc.pre(a !== b);
        return (
          acrTokenName("p", stack, a) !== acrTokenName("p", stack, b) &&
          acrTokenName("p", stack, a) === acrTokenName("p", stack, a)
        );
      }),
      { numRuns: 500 },
    );
    // The slug folds '_' and '.' into '-'; the hash keeps them apart.
    assert.notStrictEqual(acrTokenName("p", "dev_a", "x"), acrTokenName("p", "dev-a", "x"));
    assert.notStrictEqual(acrTokenName("p1", "dev", "x"), acrTokenName("p2", "dev", "x"));
    // Two 63-character namespaces that share the part the name keeps.
    const long = "n".repeat(62);
    assert.notStrictEqual(acrTokenName("p", "dev", long + "a"), acrTokenName("p", "dev", long + "b"));
  });

  it("bounds any name to the limit it is given", () => {
    assert.strictEqual(boundedName("kv", ["prod", "x".repeat(200)], 40).length, 40);
    assert.match(boundedName("kv", ["___"], 40), /^kv-[0-9a-f]{8}$/);
  });
});
