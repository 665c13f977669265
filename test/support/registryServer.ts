/**
 * A real Docker Distribution registry (Debian's /usr/bin/docker-registry) on 127.0.0.1 with htpasswd
 * (HTTP Basic) auth, for tests. Each registry gets a free port, a temp dir for its storage, config and
 * htpasswd file, and is killed (and the dir removed) by stop(), or at the latest when the test process exits.
 */
import { ChildProcess, spawn } from "child_process";
import { createHash } from "crypto";
import { existsSync, promises as fs } from "fs";
import { request } from "http";
import { createServer } from "net";
import { tmpdir } from "os";
import { join } from "path";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";
const HTPASSWD_BINARY = "/usr/bin/htpasswd";

export interface RegistryOptions {
  /** username -> password, stored bcrypt-hashed in the registry's htpasswd file. */
  readonly users: Readonly<Record<string, string>>;
  /** How long to wait for the registry to answer GET /v2/. Defaults to 15_000 ms. */
  readonly readyTimeoutMs?: number;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the form a docker config key or RegistryLogin.server takes. */
  readonly server: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /**
   * Replace every htpasswd user. Distribution 2.8 re-reads the htpasswd file when its modification time
   * changes (checked on each authenticated request), so this takes effect on the next request.
   */
  setUsers(users: Readonly<Record<string, string>>): Promise<void>;
  /** Push a one-blob image (an OCI manifest whose config is `{}`, no layers) so that tags/list answers 200. */
  pushTinyImage(
    login: { username: string; password: string },
    repository: string,
    tag: string,
  ): Promise<void>;
  /** Kill the registry and remove its temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** A port the OS says is free right now (listen on 0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("the OS gave no port"))));
    });
  });
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  for (const binary of [REGISTRY_BINARY, HTPASSWD_BINARY]) {
    if (!existsSync(binary)) {
      throw new Error(
        `${binary} is missing: install the Debian packages docker-registry and apache2-utils ` +
          "(CI installs them); these tests need a real registry",
      );
    }
  }
  // Another process can take the free port between our check and the registry's bind: try a few ports.
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    try {
      return await startOnce(options, await freePort());
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error && /address already in use/.test(error.message))) {
        throw error;
      }
    }
  }
  throw lastError;
}

async function startOnce(options: RegistryOptions, port: number): Promise<RunningRegistry> {
  const dir = await fs.mkdtemp(join(tmpdir(), "registry-test-"));
  const htpasswdPath = join(dir, "htpasswd");
  const configPath = join(dir, "config.yml");
  const server = `127.0.0.1:${port}`;
  const baseUrl = `http://${server}`;
  await writeHtpasswd(htpasswdPath, options.users);
  await fs.writeFile(
    configPath,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${JSON.stringify(join(dir, "data"))}`,
      "http:",
      `  addr: ${server}`,
      "auth:",
      "  htpasswd:",
      "    realm: registry-access-test",
      `    path: ${JSON.stringify(htpasswdPath)}`,
      "",
    ].join("\n"),
  );

  const child = spawn(REGISTRY_BINARY, ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  // If a test forgets stop() (or mocha exits early), do not leave a registry behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      process.removeListener("exit", killOnExit);
      if (!exited) {
        killChild(child);
        await exit;
      }
      await fs.rm(dir, { recursive: true, force: true });
    }
  };

  try {
    await waitUntilReady(
      baseUrl,
      options.readyTimeoutMs ?? 15_000,
      () => exited,
      () => stderr,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    server,
    port,
    baseUrl,
    setUsers: (users) => writeHtpasswd(htpasswdPath, users),
    pushTinyImage: (login, repository, tag) => pushTinyImage(baseUrl, login, repository, tag),
    stop,
  };
}

function killChild(child: ChildProcess): void {
  // The registry is throwaway: no graceful shutdown needed, and SIGKILL cannot be ignored.
  child.kill("SIGKILL");
}

async function waitUntilReady(
  baseUrl: string,
  timeoutMs: number,
  hasExited: () => boolean,
  stderr: () => string,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (hasExited()) {
      throw new Error(`${REGISTRY_BINARY} exited before answering: ${stderr().trim()}`);
    }
    try {
      const answer = await send("GET", `${baseUrl}/v2/`, {});
      if (answer.status === 401 || answer.status === 200) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `${REGISTRY_BINARY} did not answer GET /v2/ within ${timeoutMs} ms: ${stderr().trim()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bcrypt each password with `htpasswd -niB` (password on stdin, not argv) and replace the file. */
async function writeHtpasswd(path: string, users: Readonly<Record<string, string>>): Promise<void> {
  const lines: string[] = [];
  for (const [username, password] of Object.entries(users)) {
    lines.push((await runHtpasswd(username, password)).trim());
  }
  const before = await fs.stat(path).catch(() => undefined);
  const temp = `${path}.${process.pid}.tmp`;
  await fs.writeFile(temp, lines.map((l) => `${l}\n`).join(""), { mode: 0o600 });
  await fs.rename(temp, path);
  // The registry reloads on a changed mtime; make sure it changes even on a coarse-grained filesystem.
  const after = await fs.stat(path);
  if (before !== undefined && after.mtimeMs <= before.mtimeMs) {
    const later = new Date(before.mtimeMs + 1000);
    await fs.utimes(path, later, later);
  }
}

function runHtpasswd(username: string, password: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(HTPASSWD_BINARY, ["-niB", username], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`htpasswd failed for user ${username}: ${err.trim()}`)),
    );
    child.stdin.end(`${password}\n`);
  });
}

interface Sent {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(method: string, url: string, headers: Record<string, string>, body?: Buffer): Promise<Sent> {
  return new Promise<Sent>((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

async function pushTinyImage(
  baseUrl: string,
  login: { username: string; password: string },
  repository: string,
  tag: string,
): Promise<void> {
  const auth = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
  const config = Buffer.from("{}");
  const digest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  const started = await send("POST", `${baseUrl}/v2/${repository}/blobs/uploads/`, { Authorization: auth });
  const location = started.headers.location;
  if (started.status !== 202 || typeof location !== "string") {
    throw new Error(`starting a blob upload answered ${started.status}: ${started.body}`);
  }
  const uploadUrl = new URL(location, baseUrl);
  uploadUrl.searchParams.set("digest", digest);
  const put = await send(
    "PUT",
    uploadUrl.toString(),
    {
      Authorization: auth,
      "Content-Type": "application/octet-stream",
      "Content-Length": String(config.length),
    },
    config,
  );
  if (put.status !== 201) {
    throw new Error(`uploading the config blob answered ${put.status}: ${put.body}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: config.length },
      layers: [],
    }),
  );
  const pushed = await send(
    "PUT",
    `${baseUrl}/v2/${repository}/manifests/${tag}`,
    {
      Authorization: auth,
      "Content-Type": "application/vnd.oci.image.manifest.v1+json",
      "Content-Length": String(manifest.length),
    },
    manifest,
  );
  if (pushed.status !== 201) {
    throw new Error(`pushing the manifest answered ${pushed.status}: ${pushed.body}`);
  }
}
