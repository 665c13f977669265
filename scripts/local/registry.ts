/**
 * The image of `npm run up:local`, and the Docker Registry HTTP API v2 calls that put it into the local registry
 * (Debian's Docker Distribution, htpasswd, on 127.0.0.1) and pull it back, as a container runtime does: the
 * manifest, then its config blob and layer, each checked against its digest.
 *
 *   ts-node scripts/local/registry.ts push --server 127.0.0.1:15000 --repository local/hello --tag latest \
 *     --username local-admin --password-file <file> --out <image.json>
 *
 * The image is built here, byte for byte the same on every run (a fixed tar header, gzip with no timestamp), so its
 * digests never change and a second push finds everything in place. It is one layer holding /hello.txt; no
 * container runtime ever runs it (the local cluster has no kubelet).
 *
 * Only HTTP Basic (htpasswd) registries on a loopback address: the one up:local starts. Passwords come from
 * files, never from the command line.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import { request } from "http";
import { gzipSync } from "zlib";
import { registryBaseUrl } from "../../components/registryHandshake";

export const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_TYPE = "application/vnd.docker.container.image.v1+json";
const LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export interface Login {
  readonly username: string;
  readonly password: string;
}

export interface Blob {
  readonly mediaType: string;
  readonly digest: string;
  readonly bytes: Buffer;
}

export interface Image {
  readonly manifest: Blob;
  readonly config: Blob;
  readonly layer: Blob;
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** One ustar entry: a regular file, mode 0644, owner 0:0, time 0. */
function tarFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, "ascii");
  const octal = (offset: number, length: number, value: number) =>
    field(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, content.length);
  octal(136, 12, 0);
  field(148, 8, "        "); // the checksum counts its own field as spaces
  field(156, 1, "0");
  field(257, 8, "ustar\u000000");
  field(265, 32, "root");
  field(297, 32, "root");
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

/** The image: a config blob, one gzipped layer with /hello.txt, and a Docker v2 schema 2 manifest. */
export function tinyImage(): Image {
  const tar = tarFile(
    "hello.txt",
    Buffer.from("Hello from registry-access: npm run up:local pulled this.\n"),
  );
  const layer = gzipSync(tar, { level: 9 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
      history: [{ created: "1970-01-01T00:00:00Z", created_by: "registry-access scripts/local/registry.ts" }],
    }),
  );
  const configBlob = { mediaType: CONFIG_TYPE, digest: sha256(config), bytes: config };
  const layerBlob = { mediaType: LAYER_TYPE, digest: sha256(layer), bytes: layer };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: CONFIG_TYPE, size: config.length, digest: configBlob.digest },
      layers: [{ mediaType: LAYER_TYPE, size: layer.length, digest: layerBlob.digest }],
    }),
  );
  return {
    manifest: { mediaType: MANIFEST_TYPE, digest: sha256(manifest), bytes: manifest },
    config: configBlob,
    layer: layerBlob,
  };
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** One request to a loopback registry, with a hard deadline. */
export function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: Buffer,
  timeoutMs = 10_000,
): Promise<Answer> {
  const host = new URL(url).hostname;
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) {
    return Promise.reject(new Error(`${url}: up:local only talks to registries on this machine`));
  }
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

export function basic(login: Login): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString("base64")}`;
}

/** The registry's error code and message, never more than a line. */
function why(answer: Answer): string {
  const text = answer.body.toString("utf8").trim().split("\n")[0].slice(0, 200);
  return `HTTP ${answer.status}${text ? ` ${text}` : ""}`;
}

async function pushBlob(
  base: string,
  repository: string,
  auth: string,
  blob: Blob,
): Promise<"pushed" | "present"> {
  const head = await send("HEAD", `${base}/v2/${repository}/blobs/${blob.digest}`, { Authorization: auth });
  if (head.status === 200) return "present";
  const started = await send("POST", `${base}/v2/${repository}/blobs/uploads/`, { Authorization: auth });
  const location = started.headers.location;
  if (started.status !== 202 || typeof location !== "string") {
    throw new Error(`starting the upload of ${blob.digest} to ${repository}: ${why(started)}`);
  }
  const upload = new URL(location, base);
  upload.searchParams.set("digest", blob.digest);
  const put = await send(
    "PUT",
    upload.toString(),
    {
      Authorization: auth,
      "Content-Type": "application/octet-stream",
      "Content-Length": String(blob.bytes.length),
    },
    blob.bytes,
  );
  if (put.status !== 201) throw new Error(`uploading ${blob.digest} to ${repository}: ${why(put)}`);
  return "pushed";
}

/** Put the image under repository:tag, through the registry API: both blobs, then the manifest. */
export async function pushImage(
  server: string,
  login: Login,
  repository: string,
  tag: string,
  image: Image = tinyImage(),
): Promise<string> {
  const base = registryBaseUrl(server);
  const auth = basic(login);
  const current = await send("HEAD", `${base}/v2/${repository}/manifests/${tag}`, {
    Authorization: auth,
    Accept: MANIFEST_TYPE,
  });
  if (current.status === 401) throw new Error(`registry ${server} rejected user ${login.username}`);
  if (current.status === 200 && current.headers["docker-content-digest"] === image.manifest.digest) {
    return "already there";
  }
  const config = await pushBlob(base, repository, auth, image.config);
  const layer = await pushBlob(base, repository, auth, image.layer);
  const put = await send(
    "PUT",
    `${base}/v2/${repository}/manifests/${tag}`,
    {
      Authorization: auth,
      "Content-Type": MANIFEST_TYPE,
      "Content-Length": String(image.manifest.bytes.length),
    },
    image.manifest.bytes,
  );
  if (put.status !== 201) throw new Error(`pushing the manifest of ${repository}:${tag}: ${why(put)}`);
  return `pushed (config blob ${config}, layer ${layer}, manifest)`;
}

export interface Pulled {
  /** The manifest's digest, as computed from the bytes received. */
  readonly digest: string;
  /** GET manifest, GET config blob, GET layer: each with its status. */
  readonly requests: readonly string[];
}

/**
 * Pull repository:tag as a container runtime does, with `login`: GET /v2/ for the challenge, then the manifest,
 * then every blob it names, each checked against its digest. `userAgent` shows in the registry's log, so each
 * pull can be told apart there. Throws with what failed.
 */
export async function pullImage(
  server: string,
  login: Login,
  repository: string,
  tag: string,
  userAgent: string,
): Promise<Pulled> {
  const base = registryBaseUrl(server);
  const ua = { "User-Agent": userAgent };
  const probe = await send("GET", `${base}/v2/`, ua);
  if (probe.status === 200) {
    throw new Error(`registry ${server} asks for no credentials: a pull there proves nothing about them`);
  }
  const challenge = String(probe.headers["www-authenticate"] ?? "");
  if (probe.status !== 401 || !/^basic /i.test(challenge)) {
    throw new Error(
      `registry ${server}: GET /v2/ answered ${why(probe)} (${challenge || "no challenge"}), expected a Basic challenge`,
    );
  }
  const auth = { ...ua, Authorization: basic(login) };
  const requests: string[] = [];
  const manifestPath = `/v2/${repository}/manifests/${tag}`;
  const manifest = await send("GET", `${base}${manifestPath}`, { ...auth, Accept: MANIFEST_TYPE });
  requests.push(`GET ${manifestPath} ${manifest.status}`);
  if (manifest.status === 401) {
    throw new Error(
      `registry ${server} rejected the credentials of user ${login.username} (GET ${manifestPath})`,
    );
  }
  if (manifest.status !== 200) throw new Error(`GET ${manifestPath}: ${why(manifest)}`);
  const digest = sha256(manifest.body);
  const header = manifest.headers["docker-content-digest"];
  if (header !== undefined && header !== digest) {
    throw new Error(
      `GET ${manifestPath}: Docker-Content-Digest ${String(header)}, but the body hashes to ${digest}`,
    );
  }
  const parsed = JSON.parse(manifest.body.toString("utf8")) as {
    config?: { digest?: string };
    layers?: { digest?: string }[];
  };
  const blobs = [parsed.config?.digest, ...(parsed.layers ?? []).map((l) => l.digest)];
  for (const blob of blobs) {
    if (typeof blob !== "string") throw new Error(`GET ${manifestPath}: a manifest without blob digests`);
    const path = `/v2/${repository}/blobs/${blob}`;
    const got = await send("GET", `${base}${path}`, auth);
    requests.push(`GET ${path} ${got.status}`);
    if (got.status !== 200) throw new Error(`GET ${path}: ${why(got)}`);
    if (sha256(got.body) !== blob) throw new Error(`GET ${path}: the blob does not hash to its digest`);
  }
  return { digest, requests };
}

function option(argv: readonly string[], name: string): string {
  const at = argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : argv[at + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** The first line of a file that holds a password (written by up.sh, mode 0600). */
export function readPasswordFile(file: string): string {
  const password = fs.readFileSync(file, "utf8").split("\n")[0];
  if (password === "") throw new Error(`${file} holds no password`);
  return password;
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] !== "push")
    throw new Error(
      "usage: registry.ts push --server S --repository R --tag T --username U --password-file F --out F",
    );
  const server = option(argv, "server");
  const repository = option(argv, "repository");
  const tag = option(argv, "tag");
  const login = {
    username: option(argv, "username"),
    password: readPasswordFile(option(argv, "password-file")),
  };
  const image = tinyImage();
  const what = await pushImage(server, login, repository, tag, image);
  const reference = `${server}/${repository}:${tag}`;
  fs.writeFileSync(
    option(argv, "out"),
    `${JSON.stringify({ image: reference, server, repository, tag, digest: image.manifest.digest }, null, 2)}\n`,
  );
  process.stdout.write(`image ${reference}: ${what}; manifest ${image.manifest.digest}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`up:local: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
