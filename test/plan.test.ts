import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSettings, setStackFileSource } from "../components/settings";
import { passwordsInFile, readStackFile, stackFilePath } from "../components/stackFile";
import { runProgram, stackConfig } from "../tools/mockRuntime";
import { buildPlan, formatPlan, main, namespaceChunks, PLAN_CHUNK_NAMESPACES } from "../tools/plan";
import { DEFAULT_PLAN_HEAP_MB, guardResult, outOfMemoryMessage, planHeapMB } from "../tools/planGuard";
import { MERGE_KEYS_SETTINGS, MERGE_KEYS_STACK } from "./support/mergeKeys";

const ROOT = path.resolve(__dirname, "..");
const PLAIN = "hunter2-plain-6d0a1f";
const USAGE =
  "usage: npm run -s plan -- --stack <name> [--json] [--out <file>] [--project-dir <dir>] [--allow-missing-passwords]\n";

/** The command in this process: its exit status and what it wrote. */
async function planInProcess(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { status, stdout, stderr };
}

function planCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "tools/plan.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run plan", () => {
  it("prints what the dev stack declares, with no credential needed", async () => {
    const file = readStackFile(stackFilePath(ROOT, "dev"), { placeholders: true });
    const run = await runProgram(file.config, { stack: "dev" });
    const passwords = passwordsInFile(readStackFile(stackFilePath(ROOT, "dev")).config);
    const text = formatPlan(buildPlan("dev", parseSettings(file.settings), run.recorder, passwords));
    assert.strictEqual(
      text,
      [
        "stack dev: 2 namespaces, 20 resources in all",
        "",
        "development",
        "  delivery direct, secret regcred, 9 resources",
        "  registries:",
        "    https://index.docker.io/v1/  (dockerhub, static) user mycompany-ci, password missing",
        "    mycompany.azurecr.io  (mycompany, acr) token ra-dev-development-f215469e, repositories: webapp, dev/*",
        "  service accounts: default (patched)",
        "",
        "staging",
        "  delivery direct, secret regcred, 10 resources",
        "  registries:",
        "    https://index.docker.io/v1/  (dockerhub, static) user mycompany-ci, password missing",
        "    gcr.io  (gcr, static) user _json_key, password missing",
        "    mycompany.azurecr.io  (mycompany, acr) token ra-dev-staging-9eaa0d8e, repositories: webapp, app1",
        "  service accounts: default (patched), app-sa (created)",
      ].join("\n"),
    );
  });

  it("counts per namespace exactly the resources under its component", async () => {
    const file = readStackFile(stackFilePath(ROOT, "prod"), { placeholders: true });
    const run = await runProgram(file.config, { stack: "prod" });
    const plan = buildPlan("prod", parseSettings(file.settings), run.recorder, {});
    // component, namespace, secret, 2 service accounts, token component, scope map, token, rotation offset, password
    assert.strictEqual(plan.namespaces[0].resources, 10);
    assert.strictEqual(plan.resources, 11); // + the Kubernetes provider
  });

  it("as a command: --json for prod on a fresh checkout, exit 0", () => {
    const r = planCli(["--stack", "prod", "--json"]);
    assert.strictEqual(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepStrictEqual(plan.namespaces[0].registries, [
      {
        id: "mycompany",
        type: "acr",
        server: "mycompany.azurecr.io",
        username: "ra-prod-production-c4655130",
        password: "[generated]",
        repositories: ["webapp", "myapp"],
      },
    ]);
  });

  it("exits 1 with every validation error for a bad stack file, and 2 for a missing one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.bad.yaml"),
      "config:\n  registry-access:registries: {}\n  registry-access:namespaces:\n    Bad_NS:\n      registries: { hub: {} }\n",
    );
    const bad = planCli(["--stack", "bad", "--project-dir", dir]);
    assert.strictEqual(bad.status, 1);
    assert.strictEqual(bad.stdout, "");
    assert.strictEqual(
      bad.stderr,
      "Pulumi.bad.yaml: 2 problems in the registry-access configuration:\n" +
        "  - namespaces.Bad_NS: \"Bad_NS\" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters\n" +
        '  - namespaces.Bad_NS.registries.hub: no registry "hub" is defined under registries\n',
    );
    const missing = planCli(["--stack", "nosuch", "--project-dir", dir]);
    assert.deepStrictEqual(missing, {
      status: 2,
      stdout: "",
      stderr: `plan: no stack file ${path.join(dir, "Pulumi.nosuch.yaml")}\n${USAGE}`,
    });
    fs.rmSync(dir, { recursive: true });
  });

  describe("passwords, read from the stack file itself", () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-pw-"));
      fs.writeFileSync(
        path.join(dir, "Pulumi.mixed.yaml"),
        [
          "config:",
          "  registry-access:registries:",
          `    hub: { type: static, server: docker.io, username: bot, password: ${PLAIN} }`,
          "    gh: { type: static, server: ghcr.io, username: bot, password: { secure: v1:AAAAencrypted } }",
          "    quay: { type: static, server: quay.io, username: bot }",
          "  registry-access:namespaces:",
          "    app: { registries: { hub: {}, gh: {}, quay: {} } }",
          "",
        ].join("\n"),
      );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("shows missing, [secret] or PLAIN TEXT, and exits 1 on plain text with the command that encrypts it", async () => {
      // One password set with --secret beside one in plain text: the engine would mark the whole key secret.
      const run = await planInProcess(["--stack", "myorg/mixed", "--project-dir", dir]);
      assert.deepStrictEqual(run, {
        status: 1,
        stdout: [
          "stack mixed: 1 namespace, 5 resources in all",
          "",
          "app",
          "  delivery direct, secret regcred, 4 resources",
          "  registries:",
          "    ghcr.io  (gh, static) user bot, password [secret]",
          "    https://index.docker.io/v1/  (hub, static) user bot, password PLAIN TEXT",
          "    quay.io  (quay, static) user bot, password missing",
          "  service accounts: default (patched)",
          "",
        ].join("\n"),
        stderr:
          "Pulumi.mixed.yaml: registries.hub.password is in plain text; encrypt it with " +
          "`pulumi config set --stack myorg/mixed --secret --path 'registries.hub.password' <value>`\n" +
          "Pulumi.mixed.yaml: registries.quay.password is not set; set it with " +
          "`pulumi config set --stack myorg/mixed --secret --path 'registries.quay.password' <value>` " +
          "(or pass --allow-missing-passwords where it is set elsewhere)\n" +
          "plan: failed: 1 password in plain text, 1 password not set; pulumi up would stop on them\n",
      });
      assert.ok(!JSON.stringify(run).includes(PLAIN), "the plain-text password is never shown");
    });

    it("exits 1 when a password is not set, with a summary line; --allow-missing-passwords plans it with 0", async () => {
      const text = (more: string) =>
        [
          "config:",
          "  registry-access:registries:",
          "    gh: { type: static, server: ghcr.io, username: bot, password: { secure: v1:AAAAencrypted } }",
          "    quay: { type: static, server: quay.io, username: bot }",
          more,
          "  registry-access:namespaces:",
          "    app: { registries: { gh: {}, quay: {} } }",
          "",
        ].join("\n");
      fs.writeFileSync(path.join(dir, "Pulumi.unset.yaml"), text(""));
      fs.writeFileSync(
        path.join(dir, "Pulumi.unset2.yaml"),
        text("    ecr: { type: static, server: ecr.example.com, username: bot }"),
      );
      const set = (stack: string, id: string) =>
        `\`pulumi config set --stack ${stack} --secret --path 'registries.${id}.password' <value>\` ` +
        "(or pass --allow-missing-passwords where it is set elsewhere)\n";
      const runs = [
        await planInProcess(["--stack", "unset", "--project-dir", dir]),
        await planInProcess(["--stack", "unset2", "--project-dir", dir]),
        await planInProcess(["--stack", "unset2", "--project-dir", dir, "--allow-missing-passwords"]),
      ];
      assert.deepStrictEqual(
        runs.map((r) => ({ status: r.status, stderr: r.stderr })),
        [
          {
            status: 1,
            stderr:
              `Pulumi.unset.yaml: registries.quay.password is not set; set it with ${set("unset", "quay")}` +
              "plan: failed: 1 password not set; pulumi up would stop on it\n",
          },
          {
            status: 1,
            stderr:
              `Pulumi.unset2.yaml: registries.ecr.password is not set; set it with ${set("unset2", "ecr")}` +
              `Pulumi.unset2.yaml: registries.quay.password is not set; set it with ${set("unset2", "quay")}` +
              "plan: failed: 2 passwords not set; pulumi up would stop on them\n",
          },
          { status: 0, stderr: "" },
        ],
      );
      assert.match(runs[0].stdout, /quay\.io {2}\(quay, static\) user bot, password missing\n/);
      assert.strictEqual(runs[2].stdout, runs[1].stdout);
    });

    it("a plain-text password alone: exit 1 and a summary naming it", async () => {
      fs.writeFileSync(
        path.join(dir, "Pulumi.plain.yaml"),
        "config:\n  registry-access:registries:\n" +
          `    hub: { type: static, server: docker.io, username: bot, password: ${PLAIN} }\n` +
          `    hub2: { type: static, server: quay.io, username: bot, password: ${PLAIN} }\n` +
          "  registry-access:namespaces:\n    app: { registries: { hub: {} } }\n",
      );
      const run = await planInProcess([
        "--stack",
        "plain",
        "--project-dir",
        dir,
        "--allow-missing-passwords",
      ]);
      assert.strictEqual(run.status, 1);
      assert.strictEqual(
        run.stderr.split("\n").slice(-2).join("\n"),
        "plan: failed: 2 passwords in plain text; pulumi up would stop on them\n",
      );
    });

    it("--json --out FILE writes the plan as JSON to the file, whatever npm prints on stdout", async () => {
      const out = path.join(dir, "plan.json");
      const run = await planInProcess(["--stack", "mixed", "--project-dir", dir, "--json", "--out", out]);
      assert.strictEqual(run.status, 1);
      assert.strictEqual(run.stdout, "");
      const plan = JSON.parse(fs.readFileSync(out, "utf8"));
      assert.deepStrictEqual(
        plan.namespaces[0].registries.map((r: { id: string; password: string }) => [r.id, r.password]),
        [
          ["gh", "[secret]"],
          ["hub", "PLAIN TEXT"],
          ["quay", "missing"],
        ],
      );
      assert.ok(!fs.readFileSync(out, "utf8").includes(PLAIN));
    });
  });

  it("plans a stack file with YAML merge keys as the program deploys it from Pulumi's config", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-merge-"));
    const file = path.join(dir, "Pulumi.merge.yaml");
    fs.writeFileSync(file, MERGE_KEYS_STACK);
    assert.deepStrictEqual(await planInProcess(["--stack", "merge", "--project-dir", dir]), {
      status: 0,
      stdout: [
        "stack merge: 3 namespaces, 31 resources in all",
        "",
        "qa",
        "  delivery direct, secret regcred, 10 resources",
        "  registries:",
        "    othercompany.azurecr.io  (other, acr) token ra-merge-qa-8caa5dcf, repositories: qa/*",
        "  service accounts: default (patched), builder (created)",
        "",
        "team-a",
        "  delivery direct, secret regcred, 10 resources",
        "  registries:",
        "    mycompany.azurecr.io  (acr, acr) token ra-merge-team-a-1e5f38ce, repositories: team-a/*",
        "  service accounts: default (patched), builder (created)",
        "",
        "team-b",
        "  delivery direct, secret regcred, 10 resources",
        "  registries:",
        "    mycompany.azurecr.io  (acr, acr) token ra-merge-team-b-f4a909ce, repositories: team-a/*",
        "  service accounts: default (patched), builder (created)",
        "",
      ].join("\n"),
      stderr: "",
    });
    // The program under `pulumi up` gets the config with the merge keys resolved by the CLI (test/stackFile.test.ts
    // compares with `pulumi config --json`), and reads the same file for its plain-text password check.
    setStackFileSource(() => ({ name: "Pulumi.merge.yaml", config: readStackFile(file).config }));
    try {
      const run = await runProgram(stackConfig(MERGE_KEYS_SETTINGS), { stack: "merge" });
      assert.strictEqual(run.recorder.resources.length, 31);
      assert.deepStrictEqual(
        run.recorder
          .ofType("kubernetes:core/v1:Namespace")
          .map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels]),
        [
          ["qa", { owner: "platform", tier: "app" }],
          ["team-a", { owner: "platform", tier: "app" }],
          ["team-b", { owner: "platform", tier: "batch" }],
        ],
      );
    } finally {
      setStackFileSource();
    }
  });

  it("answers --help and -h with its help on stdout, exit 0, even beside a bad option; --stack=--help is a name", async () => {
    const help = {
      status: 0,
      stdout:
        USAGE +
        "\n" +
        "What a stack declares, offline: no cloud, cluster or credentials needed.\n" +
        "\n" +
        "  --stack <name>        the stack (dev, org/dev): reads Pulumi.<name>.yaml\n" +
        "  --json                the plan as JSON\n" +
        "  --out <file>          write the plan there instead of stdout\n" +
        "  --project-dir <dir>   where Pulumi.<name>.yaml is (default: this project)\n" +
        "  --allow-missing-passwords\n" +
        "                        a password the stack file does not set is no failure (set elsewhere: Pulumi ESC)\n" +
        "  -h, --help            this help\n" +
        "\n" +
        "Exit status: 0 the plan; 1 a bad stack file, or a password in plain text or not set (pulumi up would\n" +
        "stop on it); 2 plan could not run (or ran out of memory: REGISTRY_ACCESS_PLAN_HEAP_MB, default 1024).\n",
      stderr: "",
    };
    assert.deepStrictEqual(
      [
        await planInProcess(["--help"]),
        await planInProcess(["-h"]),
        await planInProcess(["--stack", "dev", "--jsn", "--help"]),
        await planInProcess(["--stack=--help"]),
      ],
      [
        help,
        help,
        help,
        {
          status: 2,
          stdout: "",
          stderr: `plan: no stack file ${path.join(ROOT, "Pulumi.--help.yaml")}\n${USAGE}`,
        },
      ],
    );
  });

  it("rejects unknown options, a flag without its value, and a stack name that is a path", async () => {
    const runs = [
      await planInProcess(["--stack", "dev", "--jsn"]),
      await planInProcess(["--stack", "dev", "--project-dir"]),
      await planInProcess(["--stack"]),
      await planInProcess(["--json"]),
      await planInProcess(["--stack", "../dev"]),
      await planInProcess(["--stack", "dev", "extra"]),
    ];
    const usage = (message: string) => ({ status: 2, stdout: "", stderr: `plan: ${message}\n${USAGE}` });
    assert.deepStrictEqual(runs, [
      usage("Unknown option '--jsn'"),
      usage("Option '--project-dir <value>' argument missing"),
      usage("Option '--stack <value>' argument missing"),
      usage("--stack is required"),
      usage('--stack takes a stack name (dev, or org/dev), got "../dev"'),
      usage("Unexpected argument 'extra'"),
    ]);
  });

  it("a stack file with YAML errors exits 1 naming each; a directory, 2; config that is not a map, 1", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-bad-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yamlerr.yaml"),
      `config:\n  registry-access:registries:\n    hub:\n      password: ${PLAIN}: x\n\tbad: 1\n`,
    );
    fs.writeFileSync(path.join(dir, "Pulumi.str.yaml"), `config: ${PLAIN}\n`);
    fs.mkdirSync(path.join(dir, "Pulumi.dir.yaml"));
    const runs = [
      await planInProcess(["--stack", "yamlerr", "--project-dir", dir]),
      await planInProcess(["--stack", "dir", "--project-dir", dir]),
      await planInProcess(["--stack", "str", "--project-dir", dir]),
    ];
    assert.deepStrictEqual(runs, [
      {
        status: 1,
        stdout: "",
        stderr:
          "Pulumi.yamlerr.yaml: 2 YAML syntax errors:\n" +
          "  - line 4, column 17: a second ': ' on one line (a mapping inside a mapping's value): quote the value\n" +
          "  - line 5, column 1: a tab used for indentation: use spaces\n",
      },
      {
        status: 2,
        stdout: "",
        stderr: `plan: cannot read ${path.join(dir, "Pulumi.dir.yaml")}: it is a directory, not a stack file\n${USAGE}`,
      },
      {
        status: 1,
        stdout: "",
        stderr:
          "Pulumi.str.yaml: config: expected a map of config keys (registry-access:registries: ...), got a string\n",
      },
    ]);
    assert.ok(!JSON.stringify(runs).includes(PLAIN));
    fs.rmSync(dir, { recursive: true });
  });

  describe("a fleet, planned a slice of namespaces at a time", () => {
    let dir: string;
    const repositories = (n: number) => Array.from({ length: n }, (_, i) => `repo-${i}`);
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-chunks-"));
      const stack = (namespaces: Record<string, unknown>) =>
        JSON.stringify({
          config: {
            "registry-access:registries": {
              hub: { type: "static", server: "docker.io", username: "bot", password: { secure: "v1:AAAA" } },
              acr: { type: "acr", server: "fleet.azurecr.io", resourceGroup: "rg-fleet" },
            },
            "registry-access:monitoring": { enabled: true },
            "registry-access:namespaces": namespaces,
          },
        });
      fs.writeFileSync(
        path.join(dir, "Pulumi.fleet.yaml"),
        stack({
          "team-a": { registries: { acr: { repositories: ["a/*"] }, hub: {} } },
          "team-b": { registries: { hub: {} }, serviceAccounts: ["default", { name: "b-sa", create: true }] },
          "team-c": { registries: { acr: { repositories: ["c/api"] } } },
        }),
      );
      // Two namespaces over ACR's 500 actions per scope map: one run reports both.
      fs.writeFileSync(
        path.join(dir, "Pulumi.wide.yaml"),
        stack({
          "team-a": { registries: { acr: { repositories: repositories(501) } } },
          "team-b": { registries: { acr: { repositories: repositories(502) } } },
        }),
      );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("slices the sorted namespaces: full slices, then the rest; a slice holds at least one", () => {
      assert.deepStrictEqual(namespaceChunks(["a", "b", "c", "d", "e"], 2), [["a", "b"], ["c", "d"], ["e"]]);
      assert.deepStrictEqual(namespaceChunks(["a", "b"], 2), [["a", "b"]]);
      assert.deepStrictEqual(namespaceChunks(["a", "b", "c"], 1), [["a"], ["b"], ["c"]]);
      assert.deepStrictEqual(namespaceChunks([], 3), []);
      assert.throws(() => namespaceChunks(["a"], 0), {
        message: "a chunk holds at least one namespace, got 0",
      });
      assert.throws(() => namespaceChunks(["a"], 1.5), {
        message: "a chunk holds at least one namespace, got 1.5",
      });
      assert.strictEqual(PLAN_CHUNK_NAMESPACES, 200);
    });

    it("gives the plan of one run, the stack's own resources (providers, alerts) counted once", async () => {
      const planWith = async (chunk: number) => {
        let stdout = "";
        let stderr = "";
        const args = ["--stack", "fleet", "--project-dir", dir, "--json"];
        const status = await main(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) }, chunk);
        return { status, plan: JSON.parse(stdout), stderr };
      };
      const whole = await planWith(PLAN_CHUNK_NAMESPACES);
      const sliced = await planWith(1);
      assert.deepStrictEqual(sliced, whole);
      assert.strictEqual(whole.status, 0, whole.stderr);
      assert.strictEqual(whole.plan.alerts, true);
      assert.deepStrictEqual(
        whole.plan.namespaces.map((n: { name: string; resources: number }) => [n.name, n.resources]),
        [
          ["team-a", 9],
          ["team-b", 5],
          ["team-c", 9],
        ],
      );
    });

    it("split across two stacks, a fleet keeps each namespace's plan; only the token names (and hashes) carry the stack", async () => {
      const fleet = JSON.parse(fs.readFileSync(path.join(dir, "Pulumi.fleet.yaml"), "utf8"));
      const namespaces = fleet.config["registry-access:namespaces"];
      const slice = (names: string[]) =>
        JSON.stringify({
          config: {
            ...fleet.config,
            "registry-access:namespaces": Object.fromEntries(names.map((n) => [n, namespaces[n]])),
          },
        });
      fs.writeFileSync(path.join(dir, "Pulumi.fleet-a.yaml"), slice(["team-a", "team-b"]));
      fs.writeFileSync(path.join(dir, "Pulumi.fleet-b.yaml"), slice(["team-c"]));
      const planOf = async (stack: string) => {
        let stdout = "";
        const status = await main(["--stack", stack, "--project-dir", dir, "--json"], {
          out: (t) => (stdout += t),
          err: () => undefined,
        });
        assert.strictEqual(status, 0);
        return JSON.parse(stdout);
      };
      const [whole, a, b] = [await planOf("fleet"), await planOf("fleet-a"), await planOf("fleet-b")];
      type Registry = { id: string; username: string };
      type Namespace = { name: string; registries: Registry[] };
      const withoutStack = (ns: Namespace, stack: string) => ({
        ...ns,
        registries: ns.registries.map((r) => ({
          ...r,
          username: r.username.replace(new RegExp(`^ra-${stack}-(.*)-[0-9a-f]{8}$`), "ra-STACK-$1-HASH"),
        })),
      });
      assert.deepStrictEqual(
        [
          ...a.namespaces.map((ns: Namespace) => withoutStack(ns, "fleet-a")),
          ...b.namespaces.map((ns: Namespace) => withoutStack(ns, "fleet-b")),
        ],
        whole.namespaces.map((ns: Namespace) => withoutStack(ns, "fleet")),
      );
      // The tokens on the shared registry differ by stack: two stacks never write the same token.
      const tokens = [a, b, whole].flatMap((p) =>
        p.namespaces.flatMap((ns: Namespace) =>
          ns.registries.filter((r) => r.id === "acr").map((r) => r.username),
        ),
      );
      assert.strictEqual(new Set(tokens).size, tokens.length, tokens.join(", "));
      // Each stack declares its own provider and alerts: 21 namespace resources + 1 provider + 2 for the alerts.
      assert.strictEqual(a.resources + b.resources, whole.resources + 3);
    });

    it("checks the limits that count across namespaces on the whole stack first, as one run does", async () => {
      const errorOf = async (chunk: number) => {
        const args = ["--stack", "wide", "--project-dir", dir];
        return main(args, { out: () => undefined, err: () => undefined }, chunk).then(
          () => "no error",
          (e: Error) => e.message,
        );
      };
      const whole = await errorOf(PLAN_CHUNK_NAMESPACES);
      assert.strictEqual(await errorOf(1), whole);
      assert.match(
        whole,
        /^namespaces\.team-a\.registries\.acr\.repositories: 501 repositories .*\nnamespaces\.team-b\./,
      );
    });
  });

  describe("npm run plan's heap guard (tools/planGuard.ts)", () => {
    const guard = (env: Record<string, string>, args: string[]) => {
      const r = spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "tools/planGuard.ts", ...args],
        {
          cwd: ROOT,
          encoding: "utf8",
          env: { ...process.env, ...env },
        },
      );
      return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
    };

    it("a heap too small ends in what to do, exit 2, never in V8's trace", () => {
      assert.deepStrictEqual(guard({ REGISTRY_ACCESS_PLAN_HEAP_MB: "16" }, ["--stack", "prod", "--json"]), {
        status: 2,
        signal: null,
        stdout: "",
        stderr:
          "plan: out of memory: this stack needs more than the 16 MB heap plan runs with (REGISTRY_ACCESS_PLAN_HEAP_MB).\n" +
          "  Raise it, if the machine has the memory: REGISTRY_ACCESS_PLAN_HEAP_MB=64 npm run -s plan -- --stack prod --json\n" +
          "  Or split the namespaces over several stacks, each planned and deployed by a job of its own " +
          '(docs/performance.md, "Splitting a fleet across stacks").\n',
      });
    });

    it("with the default heap, passes the plan, its stderr and its exit status through", function () {
      // Two runs of the guard and its child: each starts ts-node twice.
      this.timeout(120_000);
      const r = guard({ REGISTRY_ACCESS_PLAN_HEAP_MB: "" }, ["--stack", "prod"]);
      assert.strictEqual(r.status, 0, r.stderr);
      assert.strictEqual(r.stderr, "");
      assert.match(r.stdout, /^stack prod: 1 namespace, 11 resources in all\n/);
      const bad = guard({}, ["--stack", "nosuch"]);
      assert.deepStrictEqual(bad, {
        status: 2,
        signal: null,
        stdout: "",
        stderr: `plan: no stack file ${path.join(ROOT, "Pulumi.nosuch.yaml")}\n${USAGE}`,
      });
    });

    it("refuses a heap size that is not a whole number of megabytes, naming the variable and the default", () => {
      assert.strictEqual(planHeapMB(undefined), DEFAULT_PLAN_HEAP_MB);
      assert.strictEqual(planHeapMB(" "), 1024);
      assert.strictEqual(planHeapMB("4096"), 4096);
      assert.strictEqual(planHeapMB("1"), 1);
      for (const bad of ["0", "4g", "-1", "1.5"]) {
        assert.throws(() => planHeapMB(bad), {
          message:
            `REGISTRY_ACCESS_PLAN_HEAP_MB ${JSON.stringify(bad)} is not a number of megabytes (a whole number, ` +
            "such as 4096); unset it for the default of 1024",
        });
      }
      assert.deepStrictEqual(guard({ REGISTRY_ACCESS_PLAN_HEAP_MB: "4g" }, ["--stack", "prod"]), {
        status: 2,
        signal: null,
        stdout: "",
        stderr:
          'plan: REGISTRY_ACCESS_PLAN_HEAP_MB "4g" is not a number of megabytes (a whole number, such as 4096); ' +
          "unset it for the default of 1024\n",
      });
    });

    it("keeps what plan wrote before V8's report, and reports a signal or passes the exit status on", () => {
      const v8Report =
        "\n<--- Last few GCs --->\n[1:0x1]  163 ms: Mark-Compact 15.2 (16.1) -> 15.0 (16.4) MB\n\n" +
        "<--- JS stacktrace --->\n\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n" +
        "----- Native stack trace -----\n\n 1: 0xb78db3 node::OOMErrorHandler\n";
      const args = ["--stack", "big fleet"];
      const message = outOfMemoryMessage(512, args);
      assert.ok(
        message.includes("REGISTRY_ACCESS_PLAN_HEAP_MB=2048 npm run -s plan -- --stack 'big fleet'\n"),
        message,
      );
      assert.deepStrictEqual(guardResult(null, "SIGABRT", `a warning\n${v8Report}`, 512, args), {
        status: 2,
        stderr: `a warning\n${message}`,
      });
      assert.deepStrictEqual(guardResult(134, null, v8Report, 512, args), { status: 2, stderr: message });
      const fatalOnly =
        "FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory\n";
      assert.deepStrictEqual(guardResult(null, "SIGABRT", fatalOnly, 512, args), {
        status: 2,
        stderr: message,
      });
      assert.deepStrictEqual(guardResult(null, "SIGKILL", "", 512, args), {
        status: 2,
        stderr: "plan: stopped by SIGKILL\n",
      });
      assert.deepStrictEqual(guardResult(1, null, "plan: failed: x\n", 512, args), {
        status: 1,
        stderr: "plan: failed: x\n",
      });
      assert.deepStrictEqual(guardResult(0, null, "", 512, args), { status: 0, stderr: "" });
      assert.deepStrictEqual(guardResult(null, null, "", 512, args), { status: 2, stderr: "" });
    });
  });
});
