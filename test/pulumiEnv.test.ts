/**
 * The fast path (issue 17): every Pulumi run the project controls skips the type-check on each run and the file
 * backend's state rewrite after each step. The shell side (scripts/e2e/pulumi-env.sh, which `e2e:env` prints and
 * up:local sources) and the TypeScript side (the e2e harness, which bench:e2e uses) must agree.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const VARS = [
  "PULUMI_NODEJS_TRANSPILE_ONLY",
  "PULUMI_SKIP_CHECKPOINTS",
  "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
  "PULUMI_SKIP_UPDATE_CHECK",
];
const EXPECTED = {
  PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  PULUMI_SKIP_CHECKPOINTS: "true",
  PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  PULUMI_SKIP_UPDATE_CHECK: "true",
};

/** Runs `script` in bash with only PATH (and `extra`) in the environment; returns the VARS it leaves set. */
function bashVars(script: string, extra: Record<string, string> = {}, cwd = ROOT): Record<string, string> {
  const out = execFileSync(
    "bash",
    ["-c", `${script}\nfor v in ${VARS.join(" ")}; do echo "$v=\${!v-unset}"; done`],
    {
      cwd,
      env: { PATH: process.env.PATH ?? "", ...extra },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return Object.fromEntries(
    out
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

describe("the fast path of every Pulumi run the project controls (issue 17)", () => {
  it("scripts/e2e/pulumi-env.sh exports it", () => {
    assert.deepStrictEqual(bashVars("source scripts/e2e/pulumi-env.sh"), EXPECTED);
  });

  it("a value already in the environment wins, so the slow path can still be measured", () => {
    assert.deepStrictEqual(
      bashVars("source scripts/e2e/pulumi-env.sh", {
        PULUMI_SKIP_CHECKPOINTS: "false",
        PULUMI_NODEJS_TRANSPILE_ONLY: "false",
      }),
      { ...EXPECTED, PULUMI_SKIP_CHECKPOINTS: "false", PULUMI_NODEJS_TRANSPILE_ONLY: "false" },
    );
  });

  it("up:local and down:local (scripts/local/common.sh) export it", () => {
    assert.deepStrictEqual(bashVars("source scripts/local/common.sh"), EXPECTED);
  });

  it("`npm run -s e2e:env` prints it, and nothing else of pulumi-env.sh", () => {
    // env.sh beside the real pulumi-env.sh, with a cluster and a toolchain that do nothing.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-pulumi-env-"));
    try {
      fs.copyFileSync(path.join(ROOT, "scripts/e2e/env.sh"), path.join(dir, "env.sh"));
      fs.copyFileSync(path.join(ROOT, "scripts/e2e/pulumi-env.sh"), path.join(dir, "pulumi-env.sh"));
      fs.writeFileSync(
        path.join(dir, "cluster.sh"),
        "E2E_DIR=/e2e\nE2E_PASSPHRASE=pass\nlog() { :; }\ncluster_up() { :; }\n",
      );
      fs.writeFileSync(path.join(dir, "toolchain.sh"), "echo /tools\n");
      const printed = execFileSync("bash", [path.join(dir, "env.sh")], {
        env: { PATH: process.env.PATH ?? "" },
      }).toString("utf8");
      assert.deepStrictEqual(printed.split("\n"), [
        'export PATH=/tools:"$PATH"',
        "export KUBECONFIG=/e2e/kubeconfig",
        "export PULUMI_BACKEND_URL=file:///e2e/pulumi-state",
        "export PULUMI_CONFIG_PASSPHRASE=pass",
        "export PULUMI_NODEJS_TRANSPILE_ONLY=true",
        "export PULUMI_SKIP_CHECKPOINTS=true",
        "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
        "export PULUMI_SKIP_UPDATE_CHECK=true",
        "",
      ]);
      assert.deepStrictEqual(bashVars(`eval "$(bash ${dir}/env.sh)"`), EXPECTED);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the e2e harness (test:e2e, bench:e2e) sets the same defaults on an external cluster, a set value winning", async () => {
    const { FAST_PATH, e2eEnv } = await import("./e2e/support/harness");
    assert.deepStrictEqual(FAST_PATH, {
      PULUMI_NODEJS_TRANSPILE_ONLY: "true",
      PULUMI_SKIP_CHECKPOINTS: "true",
    });
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-pulumi-env-state-"));
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER: "1",
        KUBECONFIG: "/nowhere/kubeconfig",
        PULUMI_BACKEND_URL: `file://${state}`,
        PULUMI_CONFIG_PASSPHRASE: "pass",
        PULUMI_SKIP_CHECKPOINTS: "false",
      });
      delete process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
      const env = e2eEnv();
      assert.deepStrictEqual(
        Object.fromEntries(VARS.map((v) => [v, env[v]])),
        // An external cluster's run (the e2e workflow) may fetch plugins: it keeps what its environment says.
        {
          ...EXPECTED,
          PULUMI_SKIP_CHECKPOINTS: "false",
          PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: saved.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION,
        },
      );
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
