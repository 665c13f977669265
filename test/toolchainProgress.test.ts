/**
 * A cold toolchain build that shows its progress (issue 18.6): scripts/e2e/progress.sh, which toolchain.sh sources,
 * on fake steps and a fake cache (never ~/.cache/registry-access-e2e: its cold build takes 20+ minutes).
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const PROGRESS = path.join(ROOT, "scripts/e2e/progress.sh");

/** Runs `script` in bash after sourcing progress.sh, with a 1-second interval. */
function bash(script: string, env: Record<string, string> = {}) {
  const run = spawnSync("bash", ["-c", `source ${JSON.stringify(PROGRESS)}\n${script}`], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", PROGRESS_INTERVAL: "1", ...env },
    // Not a socket on stdin: bash would take itself for a remote shell's and read ~/.bashrc.
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.split("\n").filter((l) => l !== "") };
}

describe("the progress of a cold toolchain build (scripts/e2e/progress.sh)", function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-progress-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("says durations in seconds below a minute, in minutes and seconds from one", () => {
    assert.deepStrictEqual(bash("for s in 0 59 60 185 1260; do duration $s; done").stdout.split("\n"), [
      "0 s",
      "59 s",
      "1 min 00 s",
      "3 min 05 s",
      "21 min 00 s",
      "",
    ]);
  });

  it("counts the modules go downloaded and the packages `go build -v` compiled, not its messages", () => {
    const log = path.join(dir, "build.log");
    fs.writeFileSync(
      log,
      [
        "go: downloading github.com/pulumi/pulumi/sdk/v3 v3.248.0",
        "go: downloading k8s.io/api v0.34.4",
        "go: added k8s.io/api v0.34.4",
        "internal/goarch",
        "github.com/pulumi/pulumi/sdk/v3/go/common/util/contract",
        "gopkg.in/yaml.v3",
        "# k8s.io/kubernetes/cmd/kube-apiserver",
        "./main.go:12:2: undefined: x",
        "",
      ].join("\n"),
    );
    assert.strictEqual(bash(`log_counts ${log}`).stdout, "2 modules downloaded, 3 packages compiled\n");
    fs.writeFileSync(log, "internal/goarch\n");
    assert.strictEqual(bash(`log_counts ${log}`).stdout, "1 packages compiled\n");
    fs.writeFileSync(log, "");
    assert.strictEqual(bash(`log_counts ${log}`).stdout, "\n");
  });

  it("prints the elapsed time against the usual total, with the counts so far, while a step runs", () => {
    const log = path.join(dir, "build.log");
    const step =
      "printf 'go: downloading example.com/a v1.0.0\\nexample.com/a\\nexample.com/a/b\\n'; sleep 3.5; exit 3";
    const run = bash(`with_progress "building fake v1" 120 ${log} bash -c "${step}"; echo "status $?"`);
    assert.strictEqual(run.stdout, "status 3\n");
    assert.ok(run.stderr.length >= 2 && run.stderr.length <= 4, run.stderr.join("\n"));
    run.stderr.forEach((line, i) =>
      assert.strictEqual(
        line.replace(/: \d s of/, ": N s of"),
        "toolchain: building fake v1: N s of usually about 2 min 00 s (1 modules downloaded, 2 packages compiled)",
        `line ${i}`,
      ),
    );
    assert.strictEqual(
      fs.readFileSync(log, "utf8"),
      "go: downloading example.com/a v1.0.0\nexample.com/a\nexample.com/a/b\n",
    );
  });

  it("prints nothing for a step shorter than the interval", () => {
    const run = bash(`with_progress "building fake v1" 120 ${dir}/log true; echo "status $?"`, {
      PROGRESS_INTERVAL: "30",
    });
    assert.deepStrictEqual([run.stdout, run.stderr], ["status 0\n", []]);
  });

  /** A process that holds `lock` for `seconds`, as a build of toolchain.sh does; resolves once it holds it. */
  async function holder(lock: string, seconds: number) {
    const child = spawn("flock", [lock, "bash", "-c", `echo held; sleep ${seconds}`], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    return child;
  }

  it("a run that waits for the lock says who holds it, building what, for how long, then takes it", async () => {
    const lock = path.join(dir, ".lock");
    const child = await holder(lock, 2.5);
    const since = Math.floor(Date.now() / 1000) - 70;
    fs.writeFileSync(
      `${lock}.holder`,
      `${child.pid} ${since} building kubernetes v1.34.4 (usually about 17 min 00 s)\n`,
    );
    const run = bash(`exec 9>>${lock}; hold_lock 9 ${lock}; echo took it`);
    child.kill();
    assert.strictEqual(run.stdout, "took it\n");
    assert.ok(run.stderr.length >= 2, run.stderr.join("\n"));
    assert.match(
      run.stderr[0],
      new RegExp(
        `^toolchain: waiting for pid ${child.pid}, which holds ${lock}: building kubernetes v1\\.34\\.4 \\(usually about 17 min 00 s\\), ` +
          // Whole seconds: under load the first message can come after a second boundary (a clean-clone .ci/run saw 1 s).
          "for 1 min 1[0-2] s so far; waited [01] s$",
      ),
    );
    assert.match(run.stderr[1], /so far; waited [1-3] s$/);
  });

  for (const holderFile of ["", "2147483646 0 building pulumi v3.248.0\n"]) {
    it(`says that another build holds the lock ${holderFile ? "when the holder file names a process that is gone" : "without a holder file"}`, async () => {
      const lock = path.join(dir, ".lock");
      const child = await holder(lock, 1.5);
      if (holderFile) fs.writeFileSync(`${lock}.holder`, holderFile);
      const run = bash(`exec 9>>${lock}; hold_lock 9 ${lock}; echo took it`);
      child.kill();
      assert.strictEqual(run.stdout, "took it\n");
      // Whole seconds: under load the first message can come after a second boundary.
      assert.match(
        run.stderr[0],
        new RegExp(`^toolchain: waiting for another build, which holds ${lock}; waited [01] s$`),
      );
    });
  }

  it("takes a free lock at once, saying nothing", () => {
    const lock = path.join(dir, ".lock");
    assert.deepStrictEqual(bash(`exec 9>>${lock}; hold_lock 9 ${lock}; echo took it`), {
      status: 0,
      stdout: "took it\n",
      stderr: [],
    });
  });

  describe("toolchain.sh on a fake cache that holds every binary", () => {
    /** A cache with each component's bin/ present, as after a full build; the versions toolchain.sh pins. */
    function fakeCache(): string {
      const cache = path.join(dir, "cache");
      const langhost = path.join(ROOT, "scripts/e2e/langhost");
      const hash = createHash("sha256")
        .update(fs.readFileSync(path.join(langhost, "main.go")))
        .update(fs.readFileSync(path.join(langhost, "go.mod")))
        .digest("hex")
        .slice(0, 12);
      const bins: [string, string][] = [
        ["pulumi-v3.248.0", "pulumi"],
        [`pulumi-language-nodejs-3.248.0-${hash}`, "pulumi-language-nodejs"],
        ["pulumi-resource-kubernetes-v4.25.0", "pulumi-resource-kubernetes"],
        ["kubernetes-v1.34.4", "kube-apiserver"],
        ["external-secrets-v0.16.2", "external-secrets"],
      ];
      for (const [folder, bin] of bins) {
        fs.mkdirSync(path.join(cache, folder, "bin"), { recursive: true });
        fs.writeFileSync(path.join(cache, folder, "bin", bin), `fake ${bin}\n`);
      }
      return cache;
    }

    it("builds nothing, says nothing, and prints the PATH; a second run waits for the first with its holder named", async () => {
      const cache = fakeCache();
      const env = { ...process.env, REGISTRY_ACCESS_E2E_CACHE: cache, PROGRESS_INTERVAL: "1" };
      const first = spawnSync("bash", [path.join(ROOT, "scripts/e2e/toolchain.sh")], {
        encoding: "utf8",
        env,
      });
      assert.strictEqual(first.stderr, "");
      assert.match(
        first.stdout,
        new RegExp(
          `^${cache}/pulumi-bundle-[0-9a-f]{12}/bin:${cache}/pulumi-resource-kubernetes-v4.25.0/bin:`,
        ),
      );

      const child = await holder(path.join(cache, ".lock"), 1.5);
      fs.writeFileSync(
        path.join(cache, ".lock.holder"),
        `${child.pid} ${Math.floor(Date.now() / 1000)} building pulumi v3.248.0\n`,
      );
      const second = spawnSync("bash", [path.join(ROOT, "scripts/e2e/toolchain.sh")], {
        encoding: "utf8",
        env,
      });
      child.kill();
      assert.strictEqual(second.stdout, first.stdout);
      assert.match(
        second.stderr.split("\n")[0],
        new RegExp(
          `^toolchain: waiting for pid ${child.pid}, which holds ${cache}/.lock: building pulumi v3.248.0, for [01] s so far; waited 0 s$`,
        ),
      );
    });
  });
});
