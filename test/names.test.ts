import * as assert from "assert";
import * as fc from "fast-check";
import {
  ACR_TOKEN_NAME,
  acrTokenName,
  adoptAnnotations,
  boundedName,
  fieldManager,
  isNamespaceName,
  isObjectName,
  MAX_TOKEN_GENERATION,
  NAMESPACE_RULE,
  OBJECT_NAME_RULE,
} from "../components/names";

/** Any valid Kubernetes namespace name (DNS-1123 label). */
const namespaceName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/).filter((s) => s.length <= 63);
/** Stack names: Pulumi allows letters, digits, '-', '_' and '.'. */
const stackName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);

describe("names", () => {
  it("gives each stack its own field manager, and adopts with it and force (issue 16, item 10)", () => {
    assert.strictEqual(fieldManager("dev"), "registry-access-dev");
    assert.notStrictEqual(fieldManager("dev"), fieldManager("prod"));
    // The longest stack name Pulumi takes (100) stays within the API server's 128 for a manager.
    assert.strictEqual(fieldManager("s".repeat(100)).length, 116);
    assert.deepStrictEqual(adoptAnnotations("prod"), {
      "pulumi.com/patchForce": "true",
      "pulumi.com/patchFieldManager": "registry-access-prod",
    });
  });

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

  it("accepts the shortest names and every label length, and refuses the first name past each limit", () => {
    assert.strictEqual(isNamespaceName("a"), true);
    assert.strictEqual(isNamespaceName("a-1"), true);
    assert.strictEqual(isNamespaceName("a-"), false);
    assert.strictEqual(isNamespaceName("a_b"), false);
    assert.strictEqual(isNamespaceName("xa-"), false);
    assert.strictEqual(isNamespaceName(""), false);
    for (const name of ["a", "a.b", "a.b-c", "a.bcde", "a.b.c", "ab.c-d.e", "a".repeat(253)]) {
      assert.strictEqual(isObjectName(name), true, name);
    }
    for (const name of ["", "a.", ".a", "a.-b", "a.b-", "a.B", "a.b_c", "-a.b", "a-.b", "a".repeat(254)]) {
      assert.strictEqual(isObjectName(name), false, name);
    }
  });

  it("states each naming rule as the messages show it", () => {
    assert.strictEqual(
      NAMESPACE_RULE,
      "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
    );
    assert.strictEqual(
      OBJECT_NAME_RULE,
      "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters",
    );
  });

  it("matches ACR's rule for token names: 5 to 50 letters, digits and '-', nothing else", () => {
    for (const name of ["ab-cd", "AbC12", "a".repeat(50)])
      assert.strictEqual(ACR_TOKEN_NAME.test(name), true, name);
    for (const name of ["abcd", "a".repeat(51), "_abcde", "abcde_", "ab.cde", "ab cde"]) {
      assert.strictEqual(ACR_TOKEN_NAME.test(name), false, name);
    }
  });

  // ACR refuses a token or scope map name over 50 characters, so the bound must hold for the longest inputs, which
  // the property tests' generators rarely reach: a 63-character namespace (the Kubernetes limit) and a
  // 100-character stack name (Pulumi's).
  const namespace63 = "n".repeat(62) + "a";
  const stack100 = "S".repeat(50) + "_stack." + "t".repeat(43);

  it("cuts the name of the longest namespace to exactly 50 characters", () => {
    assert.strictEqual(namespace63.length, 63);
    assert.strictEqual(isNamespaceName(namespace63), true);
    const name = acrTokenName("registry-access", "dev", namespace63);
    assert.strictEqual(name, "ra-dev-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-b0b73e2c");
    assert.strictEqual(name.length, 50);
  });

  it("cuts the name of the longest stack to exactly 50 characters, with or without a long namespace", () => {
    assert.strictEqual(stack100.length, 100);
    const withShort = acrTokenName("registry-access", stack100, "team-a");
    const withLong = acrTokenName("registry-access", stack100, namespace63);
    assert.strictEqual(withShort, "ra-ssssssssssssssssssssssssssssssssssssss-be8f99ba");
    assert.strictEqual(withLong, "ra-ssssssssssssssssssssssssssssssssssssss-03da2bc1");
    assert.strictEqual(withShort.length, 50);
    assert.strictEqual(withLong.length, 50);
  });

  it("keeps names apart that differ only after the cut, through the hash", () => {
    const a = acrTokenName("registry-access", "dev", "n".repeat(40) + "a");
    const b = acrTokenName("registry-access", "dev", "n".repeat(40) + "b");
    assert.strictEqual(a, "ra-dev-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-fd1f56b4");
    assert.strictEqual(b, "ra-dev-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-cb4c7749");
    // Two 100-character stacks that differ in their last character, with the longest namespace.
    const c = acrTokenName("registry-access", stack100.slice(0, 99) + "u", namespace63);
    assert.strictEqual(c.slice(0, 41), acrTokenName("registry-access", stack100, namespace63).slice(0, 41));
    assert.notStrictEqual(c, acrTokenName("registry-access", stack100, namespace63));
    assert.strictEqual(c.length, 50);
  });

  it("drops a '-' that the cut leaves at the end, and folds characters ACR refuses into one '-'", () => {
    // The slug "sss…s-x" is cut after its 38th character, the '-'.
    assert.strictEqual(
      acrTokenName("registry-access", "s".repeat(37), "x"),
      "ra-sssssssssssssssssssssssssssssssssssss-ac7ab692",
    );
    assert.strictEqual(acrTokenName("registry-access", "dev_a", "x"), "ra-dev-a-x-e16969b7");
    assert.strictEqual(acrTokenName("registry-access", "a__b", "x"), "ra-a-b-x-2c23c135");
  });

  it("derives readable ACR token names", () => {
    assert.strictEqual(acrTokenName("registry-access", "dev", "team-a"), "ra-dev-team-a-21b8bf09");
    assert.match(acrTokenName("registry-access", "prod", "production"), /^ra-prod-production-[0-9a-f]{8}$/);
  });

  // Issue 16, item 7: a new generation is a new name beside the old token; generation 0 is the name stacks had.
  it("keeps generation 0 the name every stack had, and appends -g<n> to later generations", () => {
    assert.strictEqual(acrTokenName("registry-access", "dev", "team-a", 0), "ra-dev-team-a-21b8bf09");
    assert.strictEqual(acrTokenName("registry-access", "dev", "team-a", 1), "ra-dev-team-a-21b8bf09-g1");
    assert.strictEqual(MAX_TOKEN_GENERATION, 999);
    assert.strictEqual(
      acrTokenName("registry-access", "dev", "team-a", MAX_TOKEN_GENERATION),
      "ra-dev-team-a-21b8bf09-g999",
    );
  });

  it("cuts the readable part to make room for the generation: exactly 50 characters at the longest inputs", () => {
    const longest = acrTokenName("registry-access", stack100, namespace63, MAX_TOKEN_GENERATION);
    assert.strictEqual(longest, "ra-sssssssssssssssssssssssssssssssss-03da2bc1-g999");
    assert.strictEqual(longest.length, 50);
    assert.match(longest, ACR_TOKEN_NAME);
    // One more digit in the generation takes one more character off the readable part, never past 50.
    const g9 = acrTokenName("registry-access", "dev", namespace63, 9);
    const g10 = acrTokenName("registry-access", "dev", namespace63, 10);
    assert.strictEqual(g9, "ra-dev-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-b0b73e2c-g9");
    assert.strictEqual(g10, "ra-dev-nnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-b0b73e2c-g10");
    assert.deepStrictEqual([g9.length, g10.length], [50, 50]);
  });

  it("gives every generation of any namespace a valid name, unlike any other generation's or namespace's", () => {
    fc.assert(
      fc.property(
        stackName,
        namespaceName,
        namespaceName,
        fc.integer({ min: 0, max: MAX_TOKEN_GENERATION }),
        fc.integer({ min: 0, max: MAX_TOKEN_GENERATION }),
        (stack, a, b, g, h) => {
          fc.pre(a !== b || g !== h);
          const name = acrTokenName("p", stack, a, g);
          return ACR_TOKEN_NAME.test(name) && name !== acrTokenName("p", stack, b, h);
        },
      ),
      { numRuns: 500 },
    );
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
