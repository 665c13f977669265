import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { setStackFileSource } from "../components/settings";
import { locateStackFile, parseStackConfig, passwordsInFile } from "../components/stackFile";
import { Recorder, runProgram, stackConfig } from "../tools/mockRuntime";
import { collectWarnings } from "./support/warnings";

const PLAIN = "hunter2-plain-0c7e5b";
const ENCRYPTED = "v1:AAAAencrypted";

const STACK_FILE = [
  "config:",
  "  registry-access:registries:",
  `    hub: { type: static, server: docker.io, username: bot, password: ${PLAIN} }`,
  `    gh: { type: static, server: ghcr.io, username: bot, password: { secure: "${ENCRYPTED}" } }`,
  "  registry-access:namespaces:",
  "    app: { registries: { hub: {}, gh: {} } }",
  "",
].join("\n");

/** The config as the engine hands it to the program: every secure value decrypted. */
function engineConfig(): Record<string, unknown> {
  return stackConfig({
    registries: {
      hub: { type: "static", server: "docker.io", username: "bot", password: PLAIN },
      gh: { type: "static", server: "ghcr.io", username: "bot", password: "decrypted-gh" },
    },
    namespaces: { app: { registries: { hub: {}, gh: {} } } },
  });
}

const REFUSAL =
  "1 problem in the registry-access configuration:\n" +
  "  - registries.hub.password: written in plain text in Pulumi.plain.yaml, where git keeps it; encrypt it with " +
  "`pulumi config set --secret --path 'registries.hub.password' <value>` " +
  "(if Pulumi.plain.yaml was committed with it, change the password at the registry too)";

const FALLBACK_WARNING =
  "the stack file holds registries.gh.password, registries.hub.password in plain text; " +
  "set each with `pulumi config set --secret --path 'registries.<id>.password' <value>` so that it is encrypted";

describe("plain-text passwords, read from the stack file", () => {
  afterEach(() => setStackFileSource());

  it("preview and up refuse one beside a password set with --secret, before declaring anything", async () => {
    setStackFileSource(() => ({ name: "Pulumi.plain.yaml", config: parseStackConfig(STACK_FILE, "x") }));
    const recorder = new Recorder();
    // The engine marks the whole registries key secret, since gh's password was set with --secret.
    await assert.rejects(
      runProgram(engineConfig(), { recorder, secretKeys: ["registry-access:registries"] }),
      (e: Error) => e.message === REFUSAL && !e.message.includes(PLAIN),
    );
    assert.deepStrictEqual(recorder.summary(), []);
  });

  it("a stack file whose passwords are all encrypted or not set passes, with no warning", async () => {
    const file = STACK_FILE.replace(`password: ${PLAIN}`, `password: { secure: "${ENCRYPTED}" }`);
    setStackFileSource(() => ({ name: "Pulumi.plain.yaml", config: parseStackConfig(file, "x") }));
    const run = await collectWarnings(() => runProgram(engineConfig(), { secretKeys: [] }));
    assert.deepStrictEqual(run.warnings, []);
    assert.deepStrictEqual(Object.keys(run.result.outputs.namespaces as object), ["app"]);
  });

  it("without a stack file (Pulumi ESC, an inline program), warns from the engine's marking as before", async () => {
    setStackFileSource(() => undefined);
    const plain = await collectWarnings(() => runProgram(engineConfig(), { secretKeys: [] }));
    assert.deepStrictEqual(plain.warnings, [FALLBACK_WARNING]);
    const marked = await collectWarnings(() =>
      runProgram(engineConfig(), { secretKeys: ["registry-access:registries"] }),
    );
    assert.deepStrictEqual(marked.warnings, []);
  });

  it("a stack file this parser cannot read: says so and falls back to the engine's marking", async () => {
    setStackFileSource(() => ({
      name: "Pulumi.plain.yaml",
      config: parseStackConfig("config:\n\tx: 1\n", "Pulumi.plain.yaml"),
    }));
    const run = await collectWarnings(() => runProgram(engineConfig(), { secretKeys: [] }));
    assert.deepStrictEqual(run.warnings, [
      "plain-text passwords are checked from the engine's secret marking only: Pulumi.plain.yaml: 1 YAML syntax error:\n" +
        "  - line 2, column 1: a tab used for indentation: use spaces",
      FALLBACK_WARNING,
    ]);
  });

  it("a stack file that gave the program no config at all (configuration: for config:) is the error itself", async () => {
    setStackFileSource(() => ({
      name: "Pulumi.dev.yaml",
      config: parseStackConfig("configuration:\n  registry-access:secretName: x\n", "Pulumi.dev.yaml"),
    }));
    await assert.rejects(
      runProgram({}, { secretKeys: [] }),
      (error: Error) =>
        error.name === "SettingsError" &&
        error.message ===
          "1 problem in the registry-access configuration:\n" +
            "  - Pulumi.dev.yaml: 1 unknown top-level key:\n" +
            '  - "configuration": not a key of a stack file, which Pulumi ignores (with it the stack has no config); ' +
            "did you mean `config`? a stack file's keys: config, environment, secretsprovider, encryptedkey, encryptionsalt",
    );
  });

  describe("finding Pulumi.<stack>.yaml as `pulumi up` runs the program", () => {
    let dir: string;
    let cwd: string;
    before(() => {
      cwd = process.cwd();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plain-project-"));
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: registry-access\nruntime: nodejs\n");
      fs.writeFileSync(path.join(dir, "Pulumi.plain.yaml"), STACK_FILE);
    });
    after(() => {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("in the project directory, the working directory under `pulumi up`", async () => {
      process.chdir(dir);
      try {
        await assert.rejects(
          runProgram(engineConfig(), { stack: "plain" }),
          (e: Error) => e.message === REFUSAL,
        );
      } finally {
        process.chdir(cwd);
      }
    });

    it("in the root directory first, then the working directory; in stackConfigDir when Pulumi.yaml sets it", () => {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), "plain-other-"));
      try {
        assert.strictEqual(
          locateStackFile("plain", ["rootDirectory", dir]),
          path.join(dir, "Pulumi.plain.yaml"),
        );
        assert.strictEqual(locateStackFile("plain", [dir, other]), path.join(dir, "Pulumi.plain.yaml"));
        assert.strictEqual(locateStackFile("plain", [other]), undefined, "no Pulumi.yaml: no project");
        assert.strictEqual(locateStackFile("nosuch", [dir]), undefined, "a stack without a file");
        fs.writeFileSync(
          path.join(other, "Pulumi.yaml"),
          "name: x\nruntime: nodejs\nstackConfigDir: stacks\n",
        );
        fs.mkdirSync(path.join(other, "stacks"));
        fs.writeFileSync(path.join(other, "stacks", "Pulumi.plain.yaml"), STACK_FILE);
        assert.strictEqual(
          locateStackFile("plain", [other, dir]),
          path.join(other, "stacks", "Pulumi.plain.yaml"),
        );
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });
  });

  it("tells missing, encrypted and plain-text passwords apart, for static registries only", () => {
    const config = parseStackConfig(
      [
        "config:",
        "  registry-access:registries:",
        "    a: { type: static, server: a.io, username: u }",
        "    b: { type: static, server: b.io, username: u, password: { secure: v1:B } }",
        "    c: { type: static, server: c.io, username: u, password: plain }",
        "    d: { type: acr, server: d.azurecr.io, resourceGroup: rg }",
        "    e: { type: static, server: e.io, username: u, password: 42 }",
        "    toString: { type: static, server: f.io, username: u, password: plain }",
        "",
      ].join("\n"),
      "x",
    );
    assert.deepStrictEqual(passwordsInFile(config), {
      a: "missing",
      b: "secret",
      c: "plaintext",
      toString: "plaintext",
    });
    assert.deepStrictEqual(passwordsInFile({ "registry-access:registries": "a string" }), {});
  });
});
