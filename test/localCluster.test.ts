/**
 * The shared local cluster (issue 18.5): `npm run e2e:down` and `npm run down:local` stop it only when no one else
 * uses it (scripts/e2e/cluster.sh's users: up:local's stack, a running test:e2e or bench), and up:local checks the
 * registry's port before it stops or starts anything. No cluster runs here: etcd, kube-apiserver and
 * kube-controller-manager are stood in for by `sleep` processes in the pid files of a temporary cluster folder, and
 * the users by more of them; what the scripts do to those processes is what they would do to the real ones.
 */
import * as assert from "assert";
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

interface Run {
  readonly status: number;
  readonly stderr: string[];
}

/** Runs bash (asynchronously, so that this process reaps the stand-ins the script kills) with `env` added. */
function bash(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      "bash",
      args,
      { cwd: ROOT, env: { ...process.env, ...env } },
      (error, _stdout, stderr) =>
        resolve({
          status: error ? Number((error as { code?: number }).code) : 0,
          stderr: stderr.split("\n").filter((l) => l !== ""),
        }),
    );
    // Not a socket on stdin: bash would take itself for a remote shell's and read ~/.bashrc.
    child.stdin?.end();
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the shared local cluster: stopped only when its last user leaves (issue 18.5)", function () {
  this.timeout(30000);
  let tmp: string;
  let e2eDir: string;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  /** A process that stands in for a server or a user: `sleep`, in its own process group. */
  function standIn(): number {
    const child = spawn("sleep", ["300"], { stdio: "ignore", detached: true });
    children.push(child);
    return child.pid as number;
  }

  /** The cluster folder with three running stand-ins as etcd, kube-apiserver and kube-controller-manager. */
  function cluster(): number[] {
    fs.mkdirSync(e2eDir, { recursive: true });
    return ["etcd", "kube-apiserver", "kube-controller-manager"].map((name) => {
      const pid = standIn();
      fs.writeFileSync(path.join(e2eDir, `${name}.pid`), `${pid}\n`);
      return pid;
    });
  }

  /** Runs a function of cluster.sh in bash. */
  const clusterSh = (script: string, extra: Record<string, string> = {}) =>
    bash(["-c", `set -euo pipefail; source scripts/e2e/cluster.sh; ${script}`], { ...env, ...extra });

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-local-cluster-"));
    e2eDir = path.join(tmp, "registry-access-e2e");
    env = { TMPDIR: tmp, REGISTRY_ACCESS_E2E_DIR: e2eDir };
  });
  afterEach(() => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const usedBy = (pid: number) => `e2e:   test:e2e, pid ${pid}: sleep 300`;
  const STAYS = [
    "e2e: It stops when the last of them leaves (npm run e2e:down then); to stop it now, breaking their runs: " +
      "npm run e2e:down -- --force",
  ];

  it("e2e:down refuses while a test:e2e runs, naming it, and leaves every process and the folder", async () => {
    const servers = cluster();
    const user = standIn();
    await clusterSh(`cluster_join test:e2e ${user}`);
    const run = await bash(["scripts/e2e/down.sh"], env);
    assert.deepStrictEqual(run, {
      status: 3,
      stderr: [`e2e: the cluster in ${e2eDir} stays up: it is in use by`, usedBy(user), ...STAYS],
    });
    assert.deepStrictEqual(servers.map(alive), [true, true, true]);
    assert.ok(fs.existsSync(path.join(e2eDir, "etcd.pid")));
  });

  it("e2e:down stops the cluster and removes its folder once that user's process is gone", async () => {
    const servers = cluster();
    const user = standIn();
    await clusterSh(`cluster_join test:e2e ${user}`);
    process.kill(user, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const run = await bash(["scripts/e2e/down.sh"], env);
    assert.deepStrictEqual(run, { status: 0, stderr: [`e2e: cluster stopped; ${e2eDir} removed`] });
    assert.deepStrictEqual(servers.map(alive), [false, false, false]);
    assert.strictEqual(fs.existsSync(e2eDir), false);
  });

  it("e2e:down -- --force stops it although it is in use, naming whom it breaks", async () => {
    const servers = cluster();
    const user = standIn();
    await clusterSh(`cluster_join test:e2e ${user}`);
    const run = await bash(["scripts/e2e/down.sh", "--force"], env);
    assert.deepStrictEqual(run, {
      status: 0,
      stderr: [
        "e2e: stopping the cluster although it is in use (--force) by",
        usedBy(user),
        `e2e: cluster stopped; ${e2eDir} removed`,
      ],
    });
    assert.deepStrictEqual(servers.map(alive), [false, false, false]);
  });

  it("does not take a new process with a user's old pid for that user (its start time differs)", async () => {
    const servers = cluster();
    const other = standIn();
    fs.mkdirSync(path.join(e2eDir, "users"));
    fs.writeFileSync(path.join(e2eDir, "users", `bench:e2e.${other}`), `bench:e2e ${other} 1\n`);
    const run = await bash(["scripts/e2e/down.sh"], env);
    assert.deepStrictEqual(run, { status: 0, stderr: [`e2e: cluster stopped; ${e2eDir} removed`] });
    assert.deepStrictEqual(servers.map(alive), [false, false, false]);
  });

  it("e2e:down refuses while up:local's stack holds it, which has no process", async () => {
    cluster();
    await clusterSh("cluster_join up:local -");
    const run = await bash(["scripts/e2e/down.sh"], env);
    assert.deepStrictEqual(run, {
      status: 3,
      stderr: [
        `e2e: the cluster in ${e2eDir} stays up: it is in use by`,
        "e2e:   up:local (no process: held until it is released; up:local's by npm run down:local)",
        ...STAYS,
      ],
    });
  });

  it("e2e:down takes no other argument, and has nothing to do without a cluster", async () => {
    assert.deepStrictEqual(await bash(["scripts/e2e/down.sh", "--forc"], env), {
      status: 2,
      stderr: ["e2e: e2e:down: unknown argument '--forc'; usage: npm run e2e:down [-- --force]"],
    });
    assert.deepStrictEqual(await bash(["scripts/e2e/down.sh"], env), {
      status: 0,
      stderr: [`e2e: no cluster in ${e2eDir}: nothing to stop`],
    });
  });

  it("cluster_up records its user under the lock, also when it reuses the cluster", async () => {
    fs.mkdirSync(e2eDir, { recursive: true });
    const user = standIn();
    // The reuse path, with the checks of a running cluster stood in for.
    const run = await clusterSh("running() { true; }; api_ready() { true; }; cluster_up", {
      REGISTRY_ACCESS_E2E_USER: "bench:e2e",
      REGISTRY_ACCESS_E2E_USER_PID: String(user),
    });
    assert.deepStrictEqual(run, { status: 0, stderr: [`e2e: reusing the cluster in ${e2eDir}`] });
    const start = fs.readFileSync(`/proc/${user}/stat`, "utf8").split(") ")[1].split(" ")[19];
    assert.strictEqual(
      fs.readFileSync(path.join(e2eDir, "users", `bench:e2e.${user}`), "utf8"),
      `bench:e2e ${user} ${start}\n`,
    );
    assert.deepStrictEqual(await clusterSh("cluster_users"), { status: 0, stderr: [] });
    const listed = await new Promise<string>((resolve) =>
      execFile(
        "bash",
        ["-c", "source scripts/e2e/cluster.sh; cluster_users"],
        { cwd: ROOT, env: { ...process.env, ...env } },
        (_e, out) => resolve(out),
      ),
    );
    assert.strictEqual(listed, `bench:e2e ${user}\n`);
  });

  describe("npm run down:local", () => {
    it("releases up:local's hold and leaves the cluster up while a test:e2e runs, saying so", async () => {
      const servers = cluster();
      const user = standIn();
      await clusterSh(`cluster_join up:local - && cluster_join test:e2e ${user}`);
      const run = await bash(["scripts/local/down.sh"], env);
      assert.deepStrictEqual(run, {
        status: 0,
        stderr: [
          "down:local: no running cluster or no stack local: nothing to destroy",
          `down:local: removed ${tmp}/registry-access-local`,
          `e2e: the cluster in ${e2eDir} stays up: it is in use by`,
          usedBy(user),
          ...STAYS,
          "down:local: the cluster stays up for them; the stack local is gone from it",
          run.stderr[run.stderr.length - 1],
        ],
      });
      assert.match(run.stderr[run.stderr.length - 1], /^down:local: done in \d+ s\. /);
      assert.deepStrictEqual(servers.map(alive), [true, true, true]);
      assert.deepStrictEqual(fs.readdirSync(path.join(e2eDir, "users")), [`test:e2e.${user}`]);
    });

    it("stops the cluster when up:local was its last user", async () => {
      const servers = cluster();
      await clusterSh("cluster_join up:local -");
      const run = await bash(["scripts/local/down.sh"], env);
      assert.strictEqual(run.status, 0);
      assert.deepStrictEqual(run.stderr.slice(2, 3), [`e2e: cluster stopped; ${e2eDir} removed`]);
      assert.deepStrictEqual(servers.map(alive), [false, false, false]);
    });
  });

  describe("npm run up:local on a taken port", () => {
    let server: net.Server;
    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("stops at once, before it starts or stops anything: up:local's registry keeps running", async () => {
      // Someone else's server on the port asked for: this process.
      server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
      const port = (server.address() as net.AddressInfo).port;
      // up:local's registry from an earlier run, on another port, as its pid file and config name it.
      const registryDir = path.join(tmp, "registry-access-local", "registry");
      fs.mkdirSync(registryDir, { recursive: true });
      const config = path.join(registryDir, "config.yml");
      fs.writeFileSync(config, `http:\n  addr: 127.0.0.1:${port + 1}\n`);
      const bin = path.join(tmp, "bin");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "docker-registry"), "#!/bin/bash\nwhile :; do sleep 1; done\n", {
        mode: 0o755,
      });
      fs.writeFileSync(path.join(bin, "htpasswd"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      // Were the check late, up:local would go on to the toolchain: there a failing `go` ends it at once.
      fs.writeFileSync(path.join(bin, "go"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
      const registry = spawn(path.join(bin, "docker-registry"), ["serve", config], {
        stdio: "ignore",
        detached: true,
      });
      children.push(registry);
      fs.writeFileSync(path.join(registryDir, "registry.pid"), `${registry.pid}\n`);
      const me = fs.readFileSync(`/proc/${process.pid}/cmdline`, "utf8").split("\0").join(" ").trim();

      const run = await bash(["scripts/local/up.sh"], {
        ...env,
        PATH: `${bin}:${process.env.PATH}`,
        REGISTRY_ACCESS_LOCAL_PORT: String(port),
        REGISTRY_ACCESS_E2E_CACHE: path.join(tmp, "cache"),
      });
      const seconds = (l: string) => l.replace(/ after \d+ s /, " after N s ");
      assert.deepStrictEqual(
        { ...run, stderr: run.stderr.map(seconds) },
        {
          status: 1,
          stderr: [
            `up:local: port ${port} is taken by pid ${process.pid}: ${me}`,
            `up:local: That is not up:local's registry (docker-registry serve ${config}). Stop it (kill ${process.pid}) ` +
              "and run npm run up:local again, or leave it and put the registry on another port: " +
              `REGISTRY_ACCESS_LOCAL_PORT=${port + 1} npm run up:local`,
            `up:local: up:local's registry (pid ${registry.pid}) keeps running where it was; nothing was changed.`,
            `up:local: FAILED at "prerequisites" after N s (exit 1)`,
          ],
        },
      );
      assert.strictEqual(alive(registry.pid as number), true);
      // Nothing started: no toolchain build, no cluster folder.
      assert.deepStrictEqual([fs.existsSync(path.join(tmp, "cache")), fs.existsSync(e2eDir)], [false, false]);
    });
  });
});
