import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSettings } from "../components/settings";
import { quoted } from "../components/messages";
import { parseStackConfig, readStackFile, StackFileError } from "../components/stackFile";
import { MERGE_KEYS_SETTINGS, MERGE_KEYS_STACK } from "./support/mergeKeys";

const SECRET = "s3cr3t-pw-4b1c9e";

/**
 * The Pulumi CLI: on PATH, or the one scripts/e2e builds. Undefined where neither is (a machine that never ran
 * the e2e toolchain), and the test that compares with it is skipped, saying so.
 */
function pulumiBinary(): string | undefined {
  const onPath = (process.env.PATH ?? "").split(path.delimiter).map((d) => path.join(d, "pulumi"));
  const cache = path.join(os.homedir(), ".cache", "registry-access-e2e");
  const built = fs.existsSync(cache)
    ? fs
        .readdirSync(cache)
        .filter((d) => d.startsWith("pulumi-"))
        .sort()
        .map((d) => path.join(cache, d, "bin", "pulumi"))
    : [];
  return [...onPath, ...built].find((f) => fs.existsSync(f));
}

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
        '  - line 10, column 3: the key "registry-access:namespaces" is already defined in this map (at line 9)',
    });
    assert.ok(!error.message.includes(SECRET));
  });

  it("names a duplicate key with its first line, escaping what cannot be seen or looks alike", () => {
    const text = [
      "config:",
      "  registry-access:namespaces:",
      "    team\u200b-a: {}",
      "    team\u200b-a: {}",
      "    \u0441i: {}",
      `    \u0441i: { password: ${SECRET} }`,
      "",
    ].join("\n");
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig(text, "Pulumi.dup.yaml")),
      {
        kind: "invalid",
        message:
          "Pulumi.dup.yaml: 2 YAML syntax errors:\n" +
          '  - line 4, column 5: the key "team\\u200b-a" is already defined in this map (at line 3)\n' +
          '  - line 6, column 5: the key "\\u0441i" is already defined in this map (at line 5)',
      },
    );
    // A complex key ([x]) given twice is not one the parser compares; the plain one after it is still named.
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig("config:\n  a: 1\n  ? [x]\n  : 1\n  ? [x]\n  : 2\n  a: 2\n", "P.yaml"))
        .message,
      'P.yaml: 1 YAML syntax error:\n  - line 7, column 3: the key "a" is already defined in this map (at line 2)',
    );
  });

  it("quotes names with everything outside printable ASCII escaped", () => {
    assert.deepStrictEqual(
      ["team-a", "team\u200b-a", "\u0441", 'a"b\\', "tab\there", "\u{1f600}"].map(quoted),
      ['"team-a"', '"team\\u200b-a"', '"\\u0441"', '"a\\"b\\\\"', '"tab\\there"', '"\\ud83d\\ude00"'],
    );
  });

  it("resolves YAML merge keys as Pulumi does, the keys beside them winning", () => {
    const file = path.join(dir, "Pulumi.merge.yaml");
    fs.writeFileSync(file, MERGE_KEYS_STACK);
    assert.deepStrictEqual(readStackFile(file).settings, MERGE_KEYS_SETTINGS);
    assert.deepStrictEqual(
      parseSettings(readStackFile(file).settings).namespaces.map((n) => [n.name, n.labels.tier]),
      [
        ["qa", "app"],
        ["team-a", "app"],
        ["team-b", "batch"],
      ],
    );
  });

  it("reads a stack file with merge keys exactly as the Pulumi CLI does (pulumi config --json)", function () {
    const pulumi = pulumiBinary();
    if (pulumi === undefined) {
      console.log("      (skipped: no pulumi CLI on PATH or in ~/.cache/registry-access-e2e)");
      this.skip();
    }
    this.timeout(60_000);
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-pulumi-"));
    try {
      fs.writeFileSync(path.join(project, "Pulumi.yaml"), "name: registry-access\nruntime: nodejs\n");
      const env = {
        ...process.env,
        PULUMI_BACKEND_URL: `file://${path.join(project, ".state")}`,
        PULUMI_HOME: path.join(project, ".pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE: "merge-keys",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      };
      fs.mkdirSync(path.join(project, ".state"));
      const run = (...args: string[]) =>
        execFileSync(pulumi!, [...args, "--non-interactive"], {
          cwd: project,
          env,
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
      run("stack", "init", "merge");
      // stack init rewrites the stack file; the one with merge keys goes in after it.
      const file = path.join(project, "Pulumi.merge.yaml");
      fs.writeFileSync(file, MERGE_KEYS_STACK);
      const shown = JSON.parse(run("config", "--json", "--stack", "merge")) as Record<
        string,
        { objectValue?: unknown }
      >;
      const byPulumi = Object.fromEntries(
        Object.entries(shown).map(([key, v]) => [key.replace(/^registry-access:/, ""), v.objectValue]),
      );
      assert.deepStrictEqual(byPulumi, MERGE_KEYS_SETTINGS);
      assert.deepStrictEqual(readStackFile(file).settings, byPulumi);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
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

  it("names an unknown top-level key (Pulumi ignores it, leaving the stack without config), with a near miss", () => {
    const keys = "a stack file's keys: config, environment, secretsprovider, encryptedkey, encryptionsalt";
    assert.deepStrictEqual(
      errorOf(() =>
        parseStackConfig(
          `configuration:\n  registry-access:secretName: x\nsecretprovider: passphrase\nnotes: ${SECRET}\n`,
          "Pulumi.dev.yaml",
        ),
      ),
      {
        kind: "invalid",
        message:
          "Pulumi.dev.yaml: 3 unknown top-level keys:\n" +
          '  - "configuration": not a key of a stack file, which Pulumi ignores (with it the stack has no config); ' +
          `did you mean \`config\`? ${keys}\n` +
          '  - "secretprovider": not a key of a stack file, which Pulumi ignores (with it the stack has no config); ' +
          `did you mean \`secretsprovider\`? ${keys}\n` +
          '  - "notes": not a key of a stack file, which Pulumi ignores (with it the stack has no config); ' +
          keys,
      },
    );
    assert.deepStrictEqual(
      errorOf(() => parseStackConfig("conf\u200big: {}\n", "P.yaml")).message,
      "P.yaml: 1 unknown top-level key:\n" +
        '  - "conf\\u200big": not a key of a stack file, which Pulumi ignores (with it the stack has no config); ' +
        `did you mean \`config\`? ${keys}`,
    );
    assert.deepStrictEqual(
      parseStackConfig(
        "environment: [shared]\nsecretsprovider: passphrase\nencryptionsalt: x\nencryptedkey: y\n",
        "P",
      ),
      {},
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
