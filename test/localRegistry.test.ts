/**
 * The image of `npm run up:local` and its push and pull through the registry API (scripts/local/registry.ts),
 * against a real Docker Distribution registry on 127.0.0.1 with htpasswd (test/support/registryServer.ts). The
 * whole of up:local runs in test/e2e/local.test.ts.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkRegistryLogin } from "../components/registryHandshake";
import { pullImage, pushImage, sha256, tinyImage } from "../scripts/local/registry";
import { RunningRegistry, startRegistry } from "./support/registryServer";

const PUSHER = { username: "local-admin", password: "push-secret-1" };
const PULLER = { username: "local-bot", password: "pull-secret-2" };

describe("up:local's image and registry calls", () => {
  let registry: RunningRegistry;

  before(async () => {
    registry = await startRegistry({
      users: { [PUSHER.username]: PUSHER.password, [PULLER.username]: PULLER.password },
    });
  });
  after(async () => registry?.stop());

  it("builds the same bytes every time: a Docker v2 manifest naming its config blob and one gzipped layer", () => {
    const a = tinyImage();
    const b = tinyImage();
    assert.strictEqual(a.manifest.digest, b.manifest.digest);
    const manifest = JSON.parse(a.manifest.bytes.toString("utf8"));
    assert.deepStrictEqual(manifest, {
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        size: a.config.bytes.length,
        digest: sha256(a.config.bytes),
      },
      layers: [
        {
          mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
          size: a.layer.bytes.length,
          digest: sha256(a.layer.bytes),
        },
      ],
    });
  });

  it("makes a layer that tar reads: hello.txt, whose uncompressed digest is the config's diff_id", () => {
    const { layer, config } = tinyImage();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "up-local-layer-"));
    try {
      fs.writeFileSync(path.join(dir, "layer.tar.gz"), layer.bytes);
      assert.strictEqual(
        execFileSync("tar", ["-tzf", "layer.tar.gz"], { cwd: dir }).toString(),
        "hello.txt\n",
      );
      execFileSync("tar", ["-xzf", "layer.tar.gz"], { cwd: dir });
      assert.match(fs.readFileSync(path.join(dir, "hello.txt"), "utf8"), /^Hello from registry-access/);
      execFileSync("gzip", ["-d", "layer.tar.gz"], { cwd: dir });
      const diffId = sha256(fs.readFileSync(path.join(dir, "layer.tar")));
      assert.deepStrictEqual(JSON.parse(config.bytes.toString("utf8")).rootfs, {
        type: "layers",
        diff_ids: [diffId],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pushes through the API, and a second push finds it there", async () => {
    assert.strictEqual(
      await pushImage(registry.server, PUSHER, "local/hello", "latest"),
      "pushed (config blob pushed, layer pushed, manifest)",
    );
    assert.strictEqual(await pushImage(registry.server, PUSHER, "local/hello", "latest"), "already there");
  });

  it("pulls it back with the pull user: the manifest and both blobs, digests checked", async () => {
    const pulled = await pullImage(registry.server, PULLER, "local/hello", "latest", "test");
    const image = tinyImage();
    assert.strictEqual(pulled.digest, image.manifest.digest);
    assert.deepStrictEqual(pulled.requests, [
      "GET /v2/local/hello/manifests/latest 200",
      `GET /v2/local/hello/blobs/${image.config.digest} 200`,
      `GET /v2/local/hello/blobs/${image.layer.digest} 200`,
    ]);
    // The program's own handshake agrees: HEAD of the manifest, found.
    const check = await checkRegistryLogin(
      { server: registry.server, ...PULLER },
      { repository: "local/hello" },
    );
    assert.deepStrictEqual([check.ok, check.detail.includes("does not exist")], [true, false]);
  });

  it("refuses a wrong password with the registry's verdict, and a missing tag with its error", async () => {
    await assert.rejects(
      pullImage(registry.server, { ...PULLER, password: "old" }, "local/hello", "latest", "test"),
      {
        message: `registry ${registry.server} rejected the credentials of user local-bot (GET /v2/local/hello/manifests/latest)`,
      },
    );
    await assert.rejects(pullImage(registry.server, PULLER, "local/hello", "nope", "test"), (e: Error) =>
      /^GET \/v2\/local\/hello\/manifests\/nope: HTTP 404 .*MANIFEST_UNKNOWN/.test(e.message),
    );
  });

  it("talks to nothing but this machine", async () => {
    await assert.rejects(pullImage("registry.example.com", PULLER, "local/hello", "latest", "test"), {
      message: "https://registry.example.com/v2/: up:local only talks to registries on this machine",
    });
  });
});
