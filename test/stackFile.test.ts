import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig, readStackFile, StackFileError } from "../components/stackFile";

const SECRET = "s3cr3t-pw-4b1c9e";

/** The message of the StackFileError that `fn` throws; fails when it throws nothing or something else. */
function errorOf(fn: () => unknown): { kind: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof StackFileError) return { kind: e.kind, message: e.message };
    throw e;
  }
  return assert.fail("expected a StackFileError");
}

describe("stack file", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names the file and every YAML syntax error by line and column, never quoting a line", () => {
    const text = [
      "config:",
      "  kubernetes:context: dev-aks",
      "  registry-access:registries:",
      "    hub:",
      "      type: static",
      "      username: bot",
      `      password: ${SECRET}: x`,
      `  registry-access:secretName: "bad \\q ${SECRET}"`,
      "  registry-access:namespaces: {}",
      "  registry-access:namespaces: {}",
      "",
    ].join("\n");
    const error = errorOf(() => parseStackConfig(text, "Pulumi.dev.yaml"));
    assert.deepStrictEqual(error, {
      kind: "invalid",
      message:
        "Pulumi.dev.yaml: 3 YAML syntax errors:\n" +
        "  - line 7, column 17: a second ': ' on one line (a mapping inside a mapping's value): quote the value\n" +
        "  - line 8, column 36: an escape sequence that is not valid in a double-quoted string\n" +
        "  - line 10, column 3: a key that is already defined in this map",
    });
    assert.ok(!error.message.includes(SECRET));
  });

  it("reads one syntax error in a file, named as the caller names it", () => {
    const file = path.join(dir, "Pulumi.tabs.yaml");
    fs.writeFileSync(file, `config:\n\tregistry-access:secretName: ${SECRET}\n`);
    assert.deepStrictEqual(
      errorOf(() => readStackFile(file)),
      {
        kind: "invalid",
        message:
          "Pulumi.tabs.yaml: 1 YAML syntax error:\n  - line 2, column 1: a tab used for indentation: use spaces",
      },
    );
    assert.strictEqual(
      errorOf(() => readStackFile(file, { name: "stacks/Pulumi.tabs.yaml" })).message.split(":")[0],
      "stacks/Pulumi.tabs.yaml",
    );
  });

  it("says what is wrong with a document that is not a stack file, never quoting it", () => {
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig(`config: ${SECRET}\n`, "Pulumi.a.yaml")),
      {
        kind: "invalid",
        message:
          "Pulumi.a.yaml: config: expected a map of config keys (registry-access:registries: ...), got a string",
      },
    );
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig("config: [a, b]\n", "Pulumi.a.yaml")),
      {
        kind: "invalid",
        message:
          "Pulumi.a.yaml: config: expected a map of config keys (registry-access:registries: ...), got a list",
      },
    );
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig(`- ${SECRET}\n`, "Pulumi.a.yaml")),
      {
        kind: "invalid",
        message: "Pulumi.a.yaml: expected a map with a config: key at the top, got a list",
      },
    );
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig(`${SECRET}\n`, "Pulumi.a.yaml")),
      {
        kind: "invalid",
        message: "Pulumi.a.yaml: expected a map with a config: key at the top, got a string",
      },
    );
  });

  it("takes an empty file, or one without config, as no config", () => {
    assert.deepStrictEqual(parseStackConfig("", "Pulumi.a.yaml"), {});
    assert.deepStrictEqual(parseStackConfig("# nothing yet\n", "Pulumi.a.yaml"), {});
    assert.deepStrictEqual(parseStackConfig("config:\n", "Pulumi.a.yaml"), {});
    assert.deepStrictEqual(parseStackConfig("secretsprovider: passphrase\n", "Pulumi.a.yaml"), {});
  });

  it("a directory or a missing file cannot be read: says which and why", () => {
    const sub = path.join(dir, "Pulumi.dir.yaml");
    fs.mkdirSync(sub);
    assert.deepStrictEqual(
      errorOf(() => readStackFile(sub)),
      {
        kind: "unreadable",
        message: `cannot read ${sub}: it is a directory, not a stack file`,
      },
    );
    const missing = path.join(dir, "Pulumi.none.yaml");
    assert.deepStrictEqual(
      errorOf(() => readStackFile(missing)),
      {
        kind: "unreadable",
        message: `cannot read ${missing}: no such file`,
      },
    );
  });

  it("keeps keys named like Object.prototype members as ordinary keys", () => {
    const file = path.join(dir, "Pulumi.proto.yaml");
    fs.writeFileSync(
      file,
      "config:\n  registry-access:registries:\n    __proto__: { type: static }\n    toString: { type: acr }\n",
    );
    const read = readStackFile(file, { placeholders: true });
    const registries = read.settings.registries as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(registries), ["__proto__", "toString"]);
    assert.strictEqual(Object.getPrototypeOf(registries), Object.prototype);
    assert.deepStrictEqual(Object.entries(registries), [
      ["__proto__", { type: "static", password: "[secret]" }],
      ["toString", { type: "acr" }],
    ]);
  });
});
