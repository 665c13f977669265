import * as assert from "assert";
import { didYouMean, editDistance, nearMiss, quoted } from "../components/messages";

describe("messages", () => {
  it("quotes a name with every character outside printable ASCII escaped", () => {
    assert.deepStrictEqual(
      ["team-a", "team\u200b-a", "\u0441i", " ~", "\u007f", 'a"b\\', "tab\there", "\u{1f600}"].map(quoted),
      [
        '"team-a"',
        '"team\\u200b-a"',
        '"\\u0441i"',
        '" ~"',
        '"\\u007f"',
        '"a\\"b\\\\"',
        '"tab\\there"',
        '"\\ud83d\\ude00"',
      ],
    );
  });

  it("counts edits (insert, delete, substitute) without regard to case", () => {
    assert.deepStrictEqual(
      [
        editDistance("", ""),
        editDistance("", "abc"),
        editDistance("abc", ""),
        editDistance("resourceGroup", "resourcegroup"),
        editDistance("resourceGrup", "resourceGroup"),
        editDistance("resurceGrop", "resourceGroup"),
        editDistance("kitten", "sitting"),
        editDistance("ab", "ba"),
        editDistance("namespaces", "namespace"),
      ],
      [0, 3, 3, 0, 1, 2, 3, 2, 1],
    );
  });

  it("names a near miss: up to 2 edits, the nearest, the first on a tie; else an allowed prefix of 4 or more", () => {
    const allowed = ["type", "server", "resourceGroup", "registryName", "passwordLifetimeDays"];
    assert.deepStrictEqual(
      [
        nearMiss("resourcegroup", allowed),
        nearMiss("resurceGrop", allowed),
        nearMiss("resurcGrop", allowed), // 3 edits, and no prefix
        nearMiss("tyep", allowed),
        nearMiss("servr", allowed),
        nearMiss("password", allowed), // begins an allowed key: no misspelling of it
        nearMiss("serverName", allowed), // an allowed key begins it
        nearMiss("typeName", allowed), // one of 4 characters too
        nearMiss("anything", []),
      ],
      ["resourceGroup", "resourceGroup", undefined, "type", "server", undefined, "server", "type", undefined],
    );
    // Nearest wins over the first declared; on a tie the first declared.
    assert.strictEqual(nearMiss("abcd", ["abxy", "abcx"]), "abcx");
    assert.strictEqual(nearMiss("abcd", ["abcx", "abcy"]), "abcx");
    // The prefix rule: an allowed name of 4 characters or more; of 3, no.
    assert.strictEqual(nearMiss("configuration", ["config"]), "config");
    assert.strictEqual(nearMiss("conjuration", ["conj"]), "conj");
    assert.strictEqual(nearMiss("conjuration", ["con"]), undefined);
  });

  it("says `did you mean` only for a near miss", () => {
    assert.strictEqual(didYouMean("namespace", ["registries", "namespaces"]), "did you mean `namespaces`? ");
    assert.strictEqual(didYouMean("zzz", ["registries", "namespaces"]), "");
  });
});
