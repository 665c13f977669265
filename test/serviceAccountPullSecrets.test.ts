import * as assert from "assert";
import * as https from "https";
import { AddressInfo } from "net";
import {
  ACCOUNT_WAIT,
  converge,
  describeApiError,
  isConflict,
  JsonPatchOperation,
  kubeClient,
  LiveServiceAccount,
  makeServiceAccountPullSecretsProvider,
  MAX_ATTEMPTS,
  pullSecretsPatch,
  ServiceAccountClient,
  ServiceAccountPullSecretsInputs,
  statusOf,
} from "../components/serviceAccountPullSecrets";
import { makeCertificate } from "./support/armServer";

const TEST_RV = (rv: string): JsonPatchOperation => ({
  op: "test",
  path: "/metadata/resourceVersion",
  value: rv,
});
const names = (...n: string[]) => n.map((name) => ({ name }));

describe("pull secrets on adopted service accounts: the JSON patch (issue 16, item 6)", () => {
  it("appends only the missing names, after a test of the resourceVersion, leaving every other entry", () => {
    const live = { resourceVersion: "41", imagePullSecrets: names("team-b-pull", "regcred") };
    assert.deepStrictEqual(pullSecretsPatch(live, ["regcred", "vendor-pull"], []), [
      TEST_RV("41"),
      { op: "add", path: "/imagePullSecrets/-", value: { name: "vendor-pull" } },
    ]);
  });

  it("creates the list when the account has none, in the stack's order, each name once", () => {
    assert.deepStrictEqual(pullSecretsPatch({ resourceVersion: "7" }, ["regcred", "vendor", "regcred"], []), [
      TEST_RV("7"),
      { op: "add", path: "/imagePullSecrets", value: names("regcred", "vendor") },
    ]);
    // An empty list is a list: append to it.
    assert.deepStrictEqual(
      pullSecretsPatch({ resourceVersion: "7", imagePullSecrets: [] }, ["regcred"], []),
      [TEST_RV("7"), { op: "add", path: "/imagePullSecrets/-", value: { name: "regcred" } }],
    );
  });

  it("is nothing to do when every name is there, or there is nothing to add to an account without a list", () => {
    const live = { resourceVersion: "3", imagePullSecrets: names("a", "regcred") };
    assert.strictEqual(pullSecretsPatch(live, ["regcred"], []), undefined);
    assert.strictEqual(pullSecretsPatch({ resourceVersion: "3" }, [], ["regcred"]), undefined);
    assert.strictEqual(pullSecretsPatch(live, [], ["gone"]), undefined);
  });

  it("removes only the names it is told to, every occurrence, from the last index down", () => {
    const live = { resourceVersion: "9", imagePullSecrets: names("old", "team-b", "old", "regcred", "x") };
    assert.deepStrictEqual(pullSecretsPatch(live, ["regcred"], ["old", "x"]), [
      TEST_RV("9"),
      { op: "remove", path: "/imagePullSecrets/4" },
      { op: "remove", path: "/imagePullSecrets/2" },
      { op: "remove", path: "/imagePullSecrets/0" },
    ]);
  });

  it("keeps a name that is both removed and added, and adds after removing", () => {
    const live = { resourceVersion: "5", imagePullSecrets: [{ name: "regcred" }, {}, { name: "old" }] };
    assert.deepStrictEqual(pullSecretsPatch(live, ["regcred", "new"], ["regcred", "old"]), [
      TEST_RV("5"),
      { op: "remove", path: "/imagePullSecrets/2" },
      { op: "add", path: "/imagePullSecrets/-", value: { name: "new" } },
    ]);
  });
});

/** An account in memory that applies JSON patches as the API server does, refusing a stale resourceVersion. */
class FakeAccounts implements ServiceAccountClient {
  readonly accounts = new Map<string, { rv: number; list?: { name?: string }[] }>();
  readonly patches: { key: string; ops: JsonPatchOperation[]; fieldManager: string }[] = [];
  reads = 0;
  /** Runs between a read and the next patch: another writer. */
  interleave?: (fake: FakeAccounts) => void;
  readError?: unknown;
  patchError?: unknown;

  set(key: string, list?: string[]): void {
    const cur = this.accounts.get(key);
    this.accounts.set(key, { rv: (cur?.rv ?? 0) + 1, list: list && names(...list) });
  }
  listOf(key: string): string[] | undefined {
    return this.accounts.get(key)?.list?.map((e) => e.name ?? "");
  }
  async read(namespace: string, name: string): Promise<LiveServiceAccount | undefined> {
    this.reads++;
    if (this.readError) throw this.readError;
    const a = this.accounts.get(`${namespace}/${name}`);
    return a && { resourceVersion: String(a.rv), ...(a.list ? { imagePullSecrets: [...a.list] } : {}) };
  }
  async patch(
    namespace: string,
    name: string,
    ops: JsonPatchOperation[],
    fieldManager: string,
  ): Promise<void> {
    const key = `${namespace}/${name}`;
    this.patches.push({ key, ops, fieldManager });
    this.interleave?.(this);
    if (this.patchError) throw this.patchError;
    const a = this.accounts.get(key)!;
    const list = a.list ? [...a.list] : undefined;
    let next = list;
    for (const op of ops) {
      if (op.op === "test") {
        if (op.value !== String(a.rv)) throw Object.assign(new Error("test failed"), { code: 422 });
      } else if (op.path === "/imagePullSecrets") next = op.value as { name: string }[];
      else if (op.op === "add") next!.push(op.value as { name: string });
      else next!.splice(Number(op.path.split("/").pop()), 1);
    }
    this.accounts.set(key, { rv: a.rv + 1, list: next });
  }
}

const INPUTS: ServiceAccountPullSecretsInputs = {
  namespace: "team-a",
  serviceAccount: "default",
  secretNames: ["regcred", "vendor-pull"],
  fieldManager: "registry-access-dev",
};

describe("pull secrets on adopted service accounts: the provider (issue 16, item 6)", () => {
  it("create adds the stack's names to another team's list, under the stack's field manager", async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", ["team-b-pull"]);
    const provider = makeServiceAccountPullSecretsProvider(() => fake);
    const { id, outs } = await provider.create(INPUTS);
    assert.strictEqual(id, "team-a/default");
    assert.deepStrictEqual(outs, INPUTS);
    assert.deepStrictEqual(fake.listOf("team-a/default"), ["team-b-pull", "regcred", "vendor-pull"]);
    assert.deepStrictEqual(
      fake.patches.map((p) => p.fieldManager),
      ["registry-access-dev"],
    );
  });

  it("reads again and retries when another writer changed the account in between", async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", ["x"]);
    let raced = 0;
    fake.interleave = (f) => {
      if (raced++ < 2) f.set("team-a/default", [...f.listOf("team-a/default")!, `team-${raced}`]);
    };
    await converge(fake, INPUTS, ["regcred"], []);
    assert.deepStrictEqual(fake.listOf("team-a/default"), ["x", "team-1", "team-2", "regcred"]);
    assert.strictEqual(fake.patches.length, 3);
  });

  it(`gives up after ${MAX_ATTEMPTS} conflicts, and says where`, async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", []);
    fake.interleave = (f) => f.set("team-a/default", []);
    await assert.rejects(converge(fake, INPUTS, ["regcred"], []), {
      message:
        "Could not patch the imagePullSecrets of service account default in namespace team-a: HTTP 422",
    });
    assert.strictEqual(fake.patches.length, MAX_ATTEMPTS);
  });

  it("does not retry what is not a conflict", async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", []);
    fake.patchError = Object.assign(new Error("forbidden"), {
      code: 403,
      body: JSON.stringify({ message: 'serviceaccounts "default" is forbidden' }),
    });
    await assert.rejects(converge(fake, INPUTS, ["regcred"], []), {
      message:
        "Could not patch the imagePullSecrets of service account default in namespace team-a: " +
        'HTTP 403 serviceaccounts "default" is forbidden',
    });
    assert.strictEqual(fake.patches.length, 1);
  });

  it("waits for an account Kubernetes has not made yet, without spending an attempt", async () => {
    const fake = new FakeAccounts();
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      if (slept.length === 3) fake.set("team-a/default", []);
    };
    fake.interleave = (f) => {
      if (f.patches.length < MAX_ATTEMPTS) f.set("team-a/default", []);
    };
    await converge(fake, INPUTS, ["regcred"], [], { ms: 10_000, stepMs: 250, sleep });
    assert.deepStrictEqual(slept, [250, 250, 250]);
    assert.strictEqual(fake.patches.length, MAX_ATTEMPTS, "the waits spent no attempt");
    assert.deepStrictEqual(fake.listOf("team-a/default"), ["regcred"]);
    assert.strictEqual(ACCOUNT_WAIT.ms, 60_000);
  });

  it("names a missing account and how to get one; removing from a missing account is nothing to do", async () => {
    const fake = new FakeAccounts();
    const slept: number[] = [];
    const wait = { ms: 1000, stepMs: 500, sleep: async (ms: number) => void slept.push(ms) };
    await assert.rejects(converge(fake, { ...INPUTS, serviceAccount: "app" }, ["regcred"], [], wait), {
      message:
        'service account app in namespace team-a does not exist: create it (Kubernetes creates "default" with ' +
        "the namespace), or list it as { name: app, create: true } under namespaces.team-a.serviceAccounts",
    });
    assert.deepStrictEqual(slept, [500, 500]);
    await converge(fake, INPUTS, [], ["regcred"], wait);
    assert.deepStrictEqual(fake.patches, []);
    assert.deepStrictEqual(slept, [500, 500], "nothing to wait for when only removing");
  });

  it("says why it could not read the account", async () => {
    const fake = new FakeAccounts();
    fake.readError = new Error("connect ECONNREFUSED 127.0.0.1:6443\n    at stack");
    await assert.rejects(converge(fake, INPUTS, ["regcred"], []), {
      message:
        "Could not read service account default in namespace team-a: connect ECONNREFUSED 127.0.0.1:6443",
    });
  });

  it("update removes only the names the stack dropped, and adds the new ones", async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", ["vendor-pull", "team-b-pull", "regcred"]);
    const provider = makeServiceAccountPullSecretsProvider(() => fake);
    const news = { ...INPUTS, secretNames: ["regcred", "new-pull"] };
    const { outs } = await provider.update!("team-a/default", INPUTS, news);
    assert.deepStrictEqual(outs, news);
    assert.deepStrictEqual(fake.listOf("team-a/default"), ["team-b-pull", "regcred", "new-pull"]);
  });

  it("delete removes only the stack's names", async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", ["regcred", "team-b-pull", "vendor-pull"]);
    await makeServiceAccountPullSecretsProvider(() => fake).delete!("team-a/default", INPUTS);
    assert.deepStrictEqual(fake.listOf("team-a/default"), ["team-b-pull"]);
  });

  it("diff: a new account or namespace replaces; new names or manager update; otherwise the live list decides", async () => {
    const fake = new FakeAccounts();
    fake.set("team-a/default", ["team-b-pull", "regcred", "vendor-pull"]);
    const provider = makeServiceAccountPullSecretsProvider(() => fake);
    const diff = (news: Partial<ServiceAccountPullSecretsInputs>) =>
      provider.diff!("team-a/default", INPUTS, { ...INPUTS, ...news });
    assert.deepStrictEqual(await diff({ serviceAccount: "app" }), {
      changes: true,
      replaces: ["serviceAccount"],
      deleteBeforeReplace: false,
    });
    assert.deepStrictEqual(await diff({ namespace: "b", serviceAccount: "app" }), {
      changes: true,
      replaces: ["namespace", "serviceAccount"],
      deleteBeforeReplace: false,
    });
    assert.deepStrictEqual(await diff({ secretNames: ["vendor-pull", "regcred"] }), { changes: true });
    assert.deepStrictEqual(await diff({ secretNames: ["regcred"] }), { changes: true });
    assert.deepStrictEqual(await diff({ fieldManager: "registry-access-prod" }), { changes: true });
    assert.strictEqual(fake.reads, 0, "inputs that changed need no read");
    // A new kubeconfig or context reaches the same account: no change.
    assert.deepStrictEqual(await diff({ context: "ci" }), { changes: false });
    // regcred removed by hand: a plain `up` adds it back (issue 18, item 1).
    fake.set("team-a/default", ["team-b-pull", "vendor-pull"]);
    assert.deepStrictEqual(await diff({}), { changes: true });
    fake.accounts.delete("team-a/default");
    assert.deepStrictEqual(await diff({}), { changes: true });
    // An account that cannot be read (a preview identity without access): the inputs alone decide.
    fake.readError = Object.assign(new Error("forbidden"), { code: 403 });
    assert.deepStrictEqual(await diff({}), { changes: false });
  });

  it("reads API errors: the status, the API's message, or the first line of anything else", () => {
    assert.strictEqual(statusOf({ code: 409 }), 409);
    assert.strictEqual(statusOf({ code: "409" }), undefined);
    assert.strictEqual(statusOf(undefined), undefined);
    assert.deepStrictEqual(
      [409, 422, 400, 404, 500].map((code) => isConflict({ code })),
      [true, true, false, false, false],
    );
    assert.strictEqual(describeApiError({ code: 404, body: { message: "not found" } }), "HTTP 404 not found");
    assert.strictEqual(describeApiError({ code: 500, body: "<html>" }), "HTTP 500");
    assert.strictEqual(describeApiError({ code: 500, body: { message: 1 } }), "HTTP 500");
    assert.strictEqual(describeApiError(new Error("one\ntwo")), "one");
    assert.strictEqual(describeApiError("plain"), "plain");
  });
});

describe("pull secrets on adopted service accounts: the client on the cluster (issue 17)", () => {
  // A Kubernetes API on 127.0.0.1 over TLS that answers reads of service accounts and counts TLS handshakes.
  let server: https.Server;
  let handshakes = 0;
  const requests: { path: string; authorization: string }[] = [];
  let kubeconfig: string;
  before(async () => {
    const { key, cert } = makeCertificate();
    server = https.createServer({ key, cert }, (req, res) => {
      requests.push({ path: req.url ?? "", authorization: req.headers.authorization ?? "" });
      const m = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/?]+)/.exec(req.url ?? "");
      res.writeHead(m ? 200 : 404, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          m
            ? {
                apiVersion: "v1",
                kind: "ServiceAccount",
                metadata: { name: m[2], namespace: m[1], resourceVersion: "7" },
                imagePullSecrets: [{ name: "regcred" }],
              }
            : { kind: "Status", code: 404 },
        ),
      );
    });
    server.on("secureConnection", () => handshakes++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `- name: local\n  cluster:\n    server: https://127.0.0.1:${port}\n    certificate-authority-data: ${Buffer.from(cert).toString("base64")}`,
      "users:",
      "- name: me\n  user:\n    token: t0ken",
      "contexts:",
      "- name: one\n  context:\n    cluster: local\n    user: me",
      "- name: two\n  context:\n    cluster: local\n    user: me",
      "current-context: one",
      "",
    ].join("\n");
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("one client per cluster, whose reads share one TLS connection and each carry the credentials", async () => {
    handshakes = 0;
    requests.length = 0;
    const client = kubeClient({ kubeconfig, context: "one" });
    assert.strictEqual(
      kubeClient({ kubeconfig, context: "one" }),
      client,
      "a second client for the same cluster",
    );
    assert.notStrictEqual(
      kubeClient({ kubeconfig, context: "two" }),
      client,
      "another context shared the client",
    );
    for (let i = 0; i < 20; i++) {
      const live = await kubeClient({ kubeconfig, context: "one" }).read(`team-${i}`, "default");
      assert.deepStrictEqual(JSON.parse(JSON.stringify(live)), {
        resourceVersion: "7",
        imagePullSecrets: [{ name: "regcred" }],
      });
    }
    assert.strictEqual(requests.length, 20);
    assert.ok(
      requests.every((r) => r.authorization === "Bearer t0ken"),
      JSON.stringify(requests.map((r) => r.authorization)),
    );
    assert.strictEqual(handshakes, 1, "each read made its own TLS connection");
  });
});
