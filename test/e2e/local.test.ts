/**
 * `npm run up:local` (scripts/local/up.sh) as a user runs it, on this machine's local cluster, with the real Pulumi
 * CLI and Docker Distribution registry (issue 11). It runs the script twice: a first run (cold or warm: whatever
 * this machine holds), and a second one that must reuse everything and change nothing, while a third, started
 * during the second, must refuse.
 *
 * It never runs `npm run down:local`: that stops the cluster the other e2e files use. CI runs `npm run up:local`
 * and `npm run down:local` after the whole suite (.ci/run).
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSettings } from "../../components/settings";
import { passwordsInFile, readStackFile } from "../../components/stackFile";
import { decodeSecretConfig } from "../../tools/verifyChecks";
import type { PullCheck } from "../../scripts/local/pullCheck";
import { userAgentFor } from "../../scripts/local/pullCheck";
import { pullImage } from "../../scripts/local/registry";
import { core, ROOT } from "./support/harness";

const LOCAL_DIR =
  process.env.REGISTRY_ACCESS_LOCAL_DIR || path.join(process.env.TMPDIR || "/tmp", "registry-access-local");
const STACK_FILE = path.join(ROOT, "Pulumi.local.yaml");
const NAMESPACES = parseSettings(readStackFile(STACK_FILE, { placeholders: true }).settings).namespaces.map(
  (n) => n.name,
);

interface Run {
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
}

/** bash scripts/local/up.sh, optionally under `prefix` (strace); stdout and stderr together, in order. */
function upLocal(prefix: readonly string[] = [], onOutput?: (text: string) => void): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const argv = [...prefix, "bash", path.join(ROOT, "scripts/local/up.sh")];
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const add = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      onOutput?.(output);
    };
    child.stdout.on("data", add);
    child.stderr.on("data", add);
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, output, seconds: Math.round((Date.now() - started) / 1000) }),
    );
  });
}

function tail(run: Run, lines = 60): string {
  return run.output.split("\n").slice(-lines).join("\n");
}

interface LogLine {
  readonly time: string;
  readonly msg: string;
  readonly "http.request.id"?: string;
  readonly "http.request.method"?: string;
  readonly "http.request.uri"?: string;
  readonly "http.request.useragent"?: string;
  readonly "http.response.status"?: number;
}

/**
 * The registry's own record (JSON, one line per event) since `since`. Docker Distribution 2.8 logs "authorized
 * request" once htpasswd accepted the request's credentials (a wrong password logs "error authorizing context"
 * and answers 401), then "response completed" with the status; the user's name it logs only with errors.
 */
function registryLog(since: Date): LogLine[] {
  return fs
    .readFileSync(path.join(LOCAL_DIR, "registry", "registry.log"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => new Date(l.time) >= since);
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Every IPv4 or IPv6 address that a traced process connected or sent to, from `strace -e trace=connect,...`. */
function addressesIn(trace: string): string[] {
  const found = new Set<string>();
  for (const m of trace.matchAll(/sin_addr=inet_addr\("([^"]+)"\)/g)) found.add(m[1]);
  for (const m of trace.matchAll(/inet_pton\(AF_INET6, "([^"]+)"/g)) found.add(m[1]);
  return [...found];
}

describe("npm run up:local: the program on the local cluster, and pulls checked", function () {
  this.timeout(80 * 60_000); // a cold toolchain build comes first on a fresh machine
  const committed = fs.readFileSync(STACK_FILE, "utf8");
  let first: Run;
  let firstStarted: Date;

  before(async function () {
    if (process.env.REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER) {
      // up:local is for this machine's cluster, not an external one (the e2e workflow on kind).
      this.skip();
    }
    firstStarted = new Date(Date.now() - 1000);
    first = await upLocal();
  });

  it("exits 0 and ends with the summary: created and adopted, the state, how to inspect and tear down", () => {
    assert.strictEqual(first.code, 0, tail(first));
    for (const expected of [
      /== up:local: done in \d+ s/,
      /local-legacy +(adopted|managed since an earlier run)/,
      /local-apps +(created|managed since an earlier run)/,
      /State: the Pulumi file backend /,
      /eval "\$\(npm run -s e2e:env\)"/,
      /pulumi -C \S+ stack --stack local/,
      /npm run down:local/,
    ]) {
      assert.match(first.output, expected);
    }
  });

  it("shows Pulumi's own progress of pulumi up", () => {
    assert.match(first.output, /Updating \(local\):/);
    assert.match(
      first.output,
      /Updating \(local\):\n[\s\S]*\nResources:\n( +.*\d+ (created|updated|unchanged)\n)+\nDuration: /,
    );
  });

  it("verify passed for every namespace of the local stack", () => {
    const report = fs.readFileSync(path.join(LOCAL_DIR, "verify.txt"), "utf8");
    assert.deepStrictEqual(NAMESPACES, ["local-apps", "local-legacy", "local-team"]);
    for (const ns of NAMESPACES) assert.match(report, new RegExp(`^namespace ${ns}: ok$`, "m"), report);
    assert.match(report, /^3 namespaces checked: all ok$/m, report);
    assert.doesNotMatch(report, /^ +FAIL/m, report);
    // The same report is what the run printed.
    assert.ok(first.output.includes(report.trim()), "verify's report is not in up:local's output");
  });

  it("fetched the image's manifest with each namespace's pull secret: the script's results", async () => {
    const image = JSON.parse(fs.readFileSync(path.join(LOCAL_DIR, "image.json"), "utf8")) as {
      digest: string;
    };
    const result = JSON.parse(fs.readFileSync(path.join(LOCAL_DIR, "pull-checks.json"), "utf8")) as {
      checks: PullCheck[];
    };
    assert.deepStrictEqual(
      result.checks.map((c) => [c.namespace, c.ok, c.username, c.digest]),
      NAMESPACES.map((ns) => [ns, true, "local-bot", image.digest]),
    );
    for (const check of result.checks) {
      assert.deepStrictEqual(check.requests.length, 3, check.detail); // the manifest, the config blob, the layer
      assert.match(check.requests[0], /^GET \/v2\/local\/hello\/manifests\/latest 200$/);
    }
  });

  it("fetched the image's manifest with each namespace's pull secret: the registry's own log", () => {
    const log = registryLog(firstStarted);
    for (const ns of NAMESPACES) {
      const manifest = (msg: string) =>
        log.filter(
          (l) =>
            l.msg === msg &&
            l["http.request.method"] === "GET" &&
            l["http.request.uri"] === "/v2/local/hello/manifests/latest" &&
            l["http.request.useragent"] === userAgentFor(ns),
        );
      const authorized = manifest("authorized request").map((l) => l["http.request.id"]);
      const answered = manifest("response completed").map((l) => [
        l["http.request.id"],
        l["http.response.status"],
      ]);
      assert.strictEqual(
        authorized.length,
        1,
        `${ns}: ${authorized.length} authorized manifest fetches in this run`,
      );
      assert.deepStrictEqual(
        answered,
        [[authorized[0], 200]],
        `${ns}: the authorized fetch was not answered 200`,
      );
    }
  });

  it("adopted local-legacy: its regcred holds the registry's password now, and default keeps vendor-pull", async () => {
    const password = fs.readFileSync(path.join(LOCAL_DIR, "registry", "local-bot.password"), "utf8").trim();
    const secret = await core().readNamespacedSecret({ name: "regcred", namespace: "local-legacy" });
    const decoded = decodeSecretConfig(secret);
    assert.ok("auths" in decoded);
    const entry = decoded.auths["127.0.0.1:15000"] as { password?: string };
    assert.ok(entry.password === password, "local-legacy's regcred does not hold the registry's password");
    const managers = (secret.metadata?.managedFields ?? []).map((f) => f.manager);
    assert.ok(managers.includes("registry-access-local"), `regcred's managers: ${managers.join(", ")}`);
    const sa = await core().readNamespacedServiceAccount({ name: "default", namespace: "local-legacy" });
    assert.deepStrictEqual(
      (sa.imagePullSecrets ?? []).map((s) => s.name),
      ["regcred", "vendor-pull"],
    );
    const runner = await core().readNamespacedServiceAccount({ name: "ci-runner", namespace: "local-team" });
    assert.deepStrictEqual(
      (runner.imagePullSecrets ?? []).map((s) => s.name),
      ["regcred", "vendor-pull"],
    );
  });

  it("a pull with the password the kubectl script once set is refused: the pull check can fail", async () => {
    const old = { username: "local-bot", password: "the-old-password-of-the-kubectl-script" };
    await assert.rejects(
      pullImage("127.0.0.1:15000", old, "local/hello", "latest", "registry-access-up-local (test)"),
      {
        message:
          "registry 127.0.0.1:15000 rejected the credentials of user local-bot (GET /v2/local/hello/manifests/latest)",
      },
    );
  });

  it("left the committed Pulumi.local.yaml as it was, with no password in it", () => {
    assert.strictEqual(fs.readFileSync(STACK_FILE, "utf8"), committed);
    assert.deepStrictEqual(passwordsInFile(readStackFile(STACK_FILE).config), { local: "missing" });
    // The copy it deployed from holds the password, encrypted.
    const copy = readStackFile(path.join(LOCAL_DIR, "project", "Pulumi.local.yaml")).config;
    assert.deepStrictEqual(passwordsInFile(copy), { local: "secret" });
  });

  describe("run again", function () {
    let second: Run;
    let third: Run | undefined;
    let trace: string | undefined;

    before(async function () {
      if (first?.code !== 0) this.skip();
      const strace = ["/usr/bin/strace", "/bin/strace"].find((f) => fs.existsSync(f));
      const traceFile = path.join(os.tmpdir(), `up-local-${process.pid}.strace`);
      // Every connect and send with an address, of every process the script starts (seccomp: only these stop).
      const prefix = strace
        ? [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-o", traceFile]
        : [];
      let started: Promise<Run> | undefined;
      second = await upLocal(prefix, (text) => {
        // Once the second run holds the lock (its first step has begun), start a third.
        if (started === undefined && text.includes("== 1/6")) started = upLocal();
      });
      third = await started;
      if (strace) {
        trace = fs.readFileSync(traceFile, "utf8");
        fs.rmSync(traceFile, { force: true });
      }
    });

    it("a second up:local while one runs refuses, saying why", () => {
      assert.ok(third, "the third run never started");
      assert.strictEqual(third.code, 3, tail(third));
      assert.match(
        third.output,
        /up:local: another up:local or down:local is running \(up:local, pid \d+, started /,
      );
      assert.ok(third.seconds < 10, `the refusal took ${third.seconds} s`);
    });

    it("reuses the cluster, the registry, the image and the stack, and changes nothing", () => {
      assert.strictEqual(second.code, 0, tail(second));
      for (const expected of [
        /e2e: reusing the cluster/,
        /up:local: reusing the registry \(pid \d+/,
        /image 127\.0\.0\.1:15000\/local\/hello:latest: already there/,
        /local-legacy is already in place/,
        /up:local: reusing the stack local/,
        /Resources:\n +\d+ unchanged\n\nDuration/,
        /3 namespaces checked: all ok/,
        /pull check: 3 namespaces, all pulled/,
      ]) {
        assert.match(second.output, expected);
      }
      assert.doesNotMatch(second.output, /Resources:\n +[+~-]/);
    });

    it("connects to nothing beyond 127.0.0.1", function () {
      if (trace === undefined) this.skip(); // no strace on this machine
      const addresses = addressesIn(trace);
      assert.ok(
        addresses.some((a) => a === "127.0.0.1"),
        "the trace shows no connection at all",
      );
      assert.deepStrictEqual(
        addresses.filter((a) => !LOOPBACK.test(a) && a !== "0.0.0.0" && a !== "::"),
        [],
      );
    });
  });
});
