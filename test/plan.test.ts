import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSettings } from "../components/settings";
import { readStackFile, stackFilePath } from "../components/stackFile";
import { runProgram } from "../scripts/mockRuntime";
import { buildPlan, formatPlan } from "../scripts/plan";

const ROOT = path.resolve(__dirname, "..");

function planCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "scripts/plan.ts", ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run plan", () => {
  it("prints what the dev stack declares, with no credential needed", async () => {
    const file = readStackFile(stackFilePath(ROOT, "dev"), { placeholders: true });
    const run = await runProgram(file.config, { stack: "dev" });
    const text = formatPlan(buildPlan("dev", parseSettings(file.settings), run.recorder));
    assert.strictEqual(
      text,
      [
        "stack dev: 2 namespaces, 18 resources in all",
        "",
        "development",
        "  delivery direct, secret regcred, 8 resources",
        "  registries:",
        "    https://index.docker.io/v1/  (dockerhub, static) user mycompany-ci, password [secret]",
        "    mycompany.azurecr.io  (mycompany, acr) token ra-dev-development-f215469e, repositories: webapp, dev/*",
        "  service accounts: default (patched)",
        "",
        "staging",
        "  delivery direct, secret regcred, 9 resources",
        "  registries:",
        "    https://index.docker.io/v1/  (dockerhub, static) user mycompany-ci, password [secret]",
        "    gcr.io  (gcr, static) user _json_key, password [secret]",
        "    mycompany.azurecr.io  (mycompany, acr) token ra-dev-staging-9eaa0d8e, repositories: webapp, app1",
        "  service accounts: default (patched), app-sa (created)",
      ].join("\n"),
    );
  });

  it("counts per namespace exactly the resources under its component", async () => {
    const file = readStackFile(stackFilePath(ROOT, "prod"), { placeholders: true });
    const run = await runProgram(file.config, { stack: "prod" });
    const plan = buildPlan("prod", parseSettings(file.settings), run.recorder);
    // component, namespace, secret, 2 service accounts, token component, scope map, token, password
    assert.strictEqual(plan.namespaces[0].resources, 9);
    assert.strictEqual(plan.resources, 10); // + the Kubernetes provider
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
    assert.strictEqual(missing.status, 2);
    assert.match(
      missing.stderr,
      /^no stack file .*Pulumi\.nosuch\.yaml\nusage: npm run plan -- --stack <name>/,
    );
    fs.rmSync(dir, { recursive: true });
  });
});
