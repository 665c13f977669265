import * as assert from "assert";
import { authsKey, dockerConfigJson, DOCKER_HUB_KEY, isDockerHub } from "../components/dockerConfig";
import { CANARY } from "./support/fixtures";

describe("docker config", () => {
  it("uses Docker Hub's canonical key for each of its names, and other servers as given", () => {
    for (const alias of ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "Docker.io"]) {
      assert.strictEqual(authsKey(alias), DOCKER_HUB_KEY, alias);
    }
    assert.strictEqual(DOCKER_HUB_KEY, "https://index.docker.io/v1/");
    assert.strictEqual(authsKey("registry.example.com:5000"), "registry.example.com:5000");
    assert.strictEqual(authsKey("ghcr.io"), "ghcr.io");
  });

  it("knows each of Docker Hub's names in any case, and nothing else", () => {
    for (const alias of [
      "docker.io",
      "index.docker.io",
      "registry-1.docker.io",
      "https://index.docker.io/v1/",
      "https://index.docker.io/v1",
      "HTTPS://Index.Docker.io/V1/",
    ]) {
      assert.strictEqual(isDockerHub(alias), true, alias);
    }
    for (const other of ["", "docker.com", "ghcr.io", "index.docker.io/v1/", "https://index.docker.io/v2/"]) {
      assert.strictEqual(isDockerHub(other), false, other);
    }
  });

  it("writes one auths entry per registry with username, password and auth", () => {
    const json = dockerConfigJson([
      { server: "docker.io", username: "bot", password: "s3cret" },
      { server: "ghcr.io", username: "gh", password: "tok" },
    ]);
    assert.strictEqual(
      json,
      '{"auths":{"https://index.docker.io/v1/":{"username":"bot","password":"s3cret","auth":"Ym90OnMzY3JldA=="},' +
        '"ghcr.io":{"username":"gh","password":"tok","auth":"Z2g6dG9r"}}}',
    );
  });

  it("keeps a GCR JSON key byte for byte", () => {
    const json = dockerConfigJson([{ server: "gcr.io", username: "_json_key", password: CANARY.gcrKey }]);
    const entry = JSON.parse(json).auths["gcr.io"];
    assert.strictEqual(entry.password, CANARY.gcrKey);
    assert.strictEqual(Buffer.from(entry.auth, "base64").toString("utf8"), `_json_key:${CANARY.gcrKey}`);
  });

  it("encodes non-ASCII passwords as UTF-8, as docker login does", () => {
    const entry = JSON.parse(dockerConfigJson([{ server: "r.io", username: "u", password: "pä:ss" }])).auths[
      "r.io"
    ];
    assert.strictEqual(entry.auth, Buffer.from("u:pä:ss", "utf8").toString("base64"));
    assert.strictEqual(entry.auth, "dTpww6Q6c3M=");
  });

  it("refuses two credentials for one registry", () => {
    assert.throws(
      () =>
        dockerConfigJson([
          { server: "docker.io", username: "a", password: "b" },
          { server: "index.docker.io", username: "c", password: "d" },
        ]),
      {
        message:
          "two credentials for the registry https://index.docker.io/v1/: the kubelet would use only one",
      },
    );
  });
});
