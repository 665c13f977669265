/**
 * Issue 20, "test it for real where it can run here": the real External Secrets Operator controller (v0.16.2,
 * built by scripts/e2e/toolchain.sh, see support/eso.ts) against the local kube-apiserver, with the manifests of
 * components/workloadIdentityManifests.ts, and a real Docker Distribution registry that must accept what ESO
 * renders for a pull.
 *
 * ESO's `Fake` generator (generators.external-secrets.io/v1alpha1) stands in for `ACRAccessToken`. NOT exercised
 * here: Azure's token exchange (ESO requesting the service account's token, Entra's federated-credential exchange,
 * ACR's /oauth2/exchange) and the ABAC condition's evaluation by ACR. Everything after the generator's output runs
 * for real: ESO's generator and ExternalSecret reconcilers, `rewrite` of several generators, the engine-v2
 * template with sprig, the Secret ESO writes, the Ready condition `pulumi up` waits for, and a pull with the
 * Secret's credentials.
 *
 * Skipped when no `external-secrets` binary is on the e2e PATH (an external cluster run without the toolchain).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as k8s from "@kubernetes/client-node";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { pullImage, pushImage, tinyImage } from "../../scripts/local/registry";
import { secretEntries } from "../../tools/verifyChecks";
import {
  GENERATOR_API_VERSION,
  generatedPullSecretManifest,
} from "../../components/workloadIdentityManifests";
import { RunningRegistry, startRegistry } from "../support/registryServer";
import { EsoController, esoBinary, installEsoCrds, startEso } from "./support/eso";
import {
  copyProgram,
  core,
  eventually,
  kubeConfig,
  kubeContext,
  kubectl,
  newStack,
  ROOT,
} from "./support/harness";

const NAMESPACE = "e2e-eso";
const REPOSITORY = "team/app";
const TAG = "v1";

/** kubectl apply of in-memory manifests (JSON is YAML). */
async function apply(...manifests: Record<string, unknown>[]): Promise<void> {
  const file = path.join(
    fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-e2e-eso-")),
    "manifests.json",
  );
  fs.writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests }));
  try {
    await kubectl("apply", "-f", file);
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

function fakeGenerator(name: string, username: string, password: string): Record<string, unknown> {
  return {
    apiVersion: GENERATOR_API_VERSION,
    kind: "Fake",
    metadata: { name, namespace: NAMESPACE },
    spec: { data: { username, password } },
  };
}

async function readyStatus(externalSecret: string): Promise<string> {
  return kubectl(
    "get",
    "externalsecret.external-secrets.io",
    externalSecret,
    "-n",
    NAMESPACE,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  );
}

/** The Secret once ESO has written it. */
async function renderedSecret(name: string): Promise<k8s.V1Secret> {
  return eventually(
    `ESO to write Secret ${NAMESPACE}/${name}`,
    async () => core().readNamespacedSecret({ name, namespace: NAMESPACE }),
    60_000,
  );
}

/** Pulls REPOSITORY:TAG from `registry` with the Secret's entry for it; resolves with the user that pulled. */
async function pullWith(secret: k8s.V1Secret, registry: RunningRegistry): Promise<string> {
  const entry = secretEntries(secret).find((e) => e.server === registry.server);
  assert.ok(entry?.login, `no usable entry for ${registry.server}: ${entry?.problem ?? "missing"}`);
  const pulled = await pullImage(registry.server, entry.login, REPOSITORY, TAG, "registry-access-e2e-eso");
  assert.strictEqual(pulled.digest, tinyImage().manifest.digest);
  return entry.login.username;
}

const binary = esoBinary();

(binary ? describe : describe.skip)(
  "ESO v0.16.2's real controller renders generated pull secrets",
  function () {
    this.timeout(20 * 60_000);
    let eso: EsoController | undefined;
    const registries: RunningRegistry[] = [];
    const users = {
      r0: { username: "eso-r0", password: `r0-${Math.random().toString(36).slice(2)}"\\:` },
      r1: { username: "eso-r1", password: `r1-${Math.random().toString(36).slice(2)}` },
      direct: { username: "direct", password: `direct-${Math.random().toString(36).slice(2)}` },
    };

    before(async function () {
      this.timeout(75 * 60_000);
      const crdStart = Date.now();
      await installEsoCrds(binary as string);
      const crdMs = Date.now() - crdStart;
      await kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=120s");
      await kubectl("create", "namespace", NAMESPACE);
      eso = await startEso(binary as string);
      console.log(`      ESO: CRDs applied in ${crdMs} ms, controller ready in ${eso.startMs} ms`);
      // r0 knows the first generator's user and the direct one; r1 only the second generator's.
      registries.push(
        await startRegistry({
          users: { [users.r0.username]: users.r0.password, [users.direct.username]: users.direct.password },
        }),
      );
      registries.push(await startRegistry({ users: { [users.r1.username]: users.r1.password } }));
      await pushImage(registries[0].server, users.r0, REPOSITORY, TAG);
      await pushImage(registries[1].server, users.r1, REPOSITORY, TAG);
    });

    after(async () => {
      // The namespace goes while ESO still runs (nothing of ESO's holds a finalizer on it, but it may still write).
      await kubectl(
        "delete",
        "namespace",
        NAMESPACE,
        "--ignore-not-found",
        "--wait=true",
        "--timeout=120s",
      ).catch((e: Error) => console.log(`      deleting namespace ${NAMESPACE}: ${e.message}`));
      await eso?.stop();
      for (const r of registries) await r.stop();
    });

    it("a. one Fake generator: ESO writes a dockerconfigjson Secret, owned by the ExternalSecret, that pulls", async () => {
      await apply(
        fakeGenerator("one", users.r0.username, users.r0.password),
        generatedPullSecretManifest({
          apiVersion: "external-secrets.io/v1",
          name: "one",
          namespace: NAMESPACE,
          targetSecretName: "one-pull",
          refreshInterval: "1h",
          generators: [{ kind: "Fake", name: "one", server: registries[0].server }],
        }),
      );
      const secret = await renderedSecret("one-pull");
      assert.strictEqual(secret.type, "kubernetes.io/dockerconfigjson");
      assert.deepStrictEqual(Object.keys(secret.data ?? {}), [".dockerconfigjson"]);
      assert.deepStrictEqual(
        secret.metadata?.ownerReferences?.map(
          (o) => `${o.kind}/${o.name} controller=${String(o.controller)}`,
        ),
        ["ExternalSecret/one controller=true"],
      );
      // The template escapes what the token holds (a quote, a backslash, a colon) and writes `auth` as docker login.
      const auths = (
        JSON.parse(Buffer.from(secret.data?.[".dockerconfigjson"] ?? "", "base64").toString("utf8")) as {
          auths: Record<string, Record<string, string>>;
        }
      ).auths;
      assert.deepStrictEqual(auths, {
        [registries[0].server]: {
          username: users.r0.username,
          password: users.r0.password,
          auth: Buffer.from(`${users.r0.username}:${users.r0.password}`).toString("base64"),
        },
      });
      assert.strictEqual(await pullWith(secret, registries[0]), users.r0.username);
      assert.strictEqual(await readyStatus("one"), "True");
    });

    it("a. a generator whose credentials the registry refuses gives a Secret that cannot pull (the check can fail)", async () => {
      await apply(
        fakeGenerator("wrong", users.r0.username, "not-the-password"),
        generatedPullSecretManifest({
          apiVersion: "external-secrets.io/v1",
          name: "wrong",
          namespace: NAMESPACE,
          targetSecretName: "wrong-pull",
          refreshInterval: "1h",
          generators: [{ kind: "Fake", name: "wrong", server: registries[0].server }],
        }),
      );
      const secret = await renderedSecret("wrong-pull");
      await assert.rejects(
        pullWith(secret, registries[0]),
        new RegExp(
          `registry ${registries[0].server} rejected the credentials of user eso-r0 \\(GET /v2/team/app/manifests/v1\\)`,
        ),
      );
    });

    it("a. two generators (rewrite r0_/r1_) feed one Secret with one entry per registry, each pulling there only", async () => {
      await apply(
        fakeGenerator("two-r0", users.r0.username, users.r0.password),
        fakeGenerator("two-r1", users.r1.username, users.r1.password),
        generatedPullSecretManifest({
          apiVersion: "external-secrets.io/v1beta1",
          name: "two",
          namespace: NAMESPACE,
          targetSecretName: "two-pull",
          refreshInterval: "1h",
          generators: [
            { kind: "Fake", name: "two-r0", server: registries[0].server },
            { kind: "Fake", name: "two-r1", server: registries[1].server },
          ],
        }),
      );
      const secret = await renderedSecret("two-pull");
      assert.deepStrictEqual(
        secretEntries(secret).map((e) => `${e.server} ${e.login?.username}`),
        [
          `${registries[0].server} ${users.r0.username}`,
          `${registries[1].server} ${users.r1.username}`,
        ].sort(),
      );
      assert.strictEqual(await pullWith(secret, registries[0]), users.r0.username);
      assert.strictEqual(await pullWith(secret, registries[1]), users.r1.username);
      // The prefixed keys exist only inside ESO: the Secret holds the rendered document alone.
      assert.deepStrictEqual(Object.keys(secret.data ?? {}), [".dockerconfigjson"]);
    });

    describe("b/c. through the real engine and Kubernetes provider (test/e2e/eso-program)", () => {
      let stack: Stack;
      let workDir: string;
      /** Every Secret and ServiceAccount event of the namespace, in the order etcd wrote them. */
      const events: { rv: number; type: string; kind: string; name: string; pullSecrets: string[] }[] = [];
      let watches: { abort(): void }[] = [];

      before(async function () {
        this.timeout(10 * 60_000);
        workDir = copyProgram(["components", "package.json", "tsconfig.json"]);
        fs.mkdirSync(path.join(workDir, "test/e2e/eso-program"), { recursive: true });
        fs.copyFileSync(
          path.join(ROOT, "test/e2e/eso-program/index.ts"),
          path.join(workDir, "test/e2e/eso-program/index.ts"),
        );
        fs.writeFileSync(
          path.join(workDir, "Pulumi.yaml"),
          "name: registry-access-eso-e2e\nmain: test/e2e/eso-program/index.ts\n" +
            "runtime:\n  name: nodejs\n  options:\n    typescript: true\n",
        );
        stack = await newStack(workDir, "e2e-eso", {
          "kubernetes:context": kubeContext(),
          "registry-access-eso-e2e:namespace": NAMESPACE,
          "registry-access-eso-e2e:server": registries[0].server,
          "registry-access-eso-e2e:regcredUsername": users.direct.username,
          "registry-access-eso-e2e:esoUsername": users.r0.username,
          "registry-access-eso-e2e:mode": "regcred",
        });
        await stack.setConfig("regcredPassword", { value: users.direct.password, secret: true });
        await stack.setConfig("esoPassword", { value: users.r0.password, secret: true });
        (stack.workspace as LocalWorkspace).envVars.PULUMI_NODEJS_TRANSPILE_ONLY = "true";

        // resourceVersion is etcd's revision (one etcd here): sorting both watches' events by it replays them in
        // the order they happened, whichever watch delivered first.
        const watch = new k8s.Watch(kubeConfig());
        for (const kind of ["secrets", "serviceaccounts"]) {
          watches.push(
            await watch.watch(
              `/api/v1/namespaces/${NAMESPACE}/${kind}`,
              {},
              (type, obj: k8s.V1Secret & k8s.V1ServiceAccount) =>
                events.push({
                  rv: Number(obj.metadata?.resourceVersion),
                  type,
                  kind,
                  name: obj.metadata?.name ?? "",
                  pullSecrets: (obj.imagePullSecrets ?? []).map((s) => s.name ?? ""),
                }),
              () => undefined,
            ),
          );
        }
      });

      after(async () => {
        for (const w of watches) w.abort();
        watches = [];
        await stack?.destroy().catch((e: Error) => console.log(`      destroy: ${e.message}`));
      });

      /** The moments, in etcd's order, at which account `app` listed a Secret that did not exist. */
      function gaps(): string[] {
        const existing = new Set<string>();
        let listed: string[] = [];
        const found: string[] = [];
        for (const e of [...events].sort((a, b) => a.rv - b.rv)) {
          if (e.kind === "secrets") {
            if (e.type === "DELETED") {
              existing.delete(e.name);
              if (listed.includes(e.name))
                found.push(`rv ${e.rv}: Secret ${e.name} deleted while app lists it`);
            } else existing.add(e.name);
          } else if (e.name === "app") {
            listed = e.type === "DELETED" ? [] : e.pullSecrets;
            for (const name of listed)
              if (!existing.has(name)) found.push(`rv ${e.rv}: app lists ${name}, which does not exist`);
          }
        }
        return found;
      }

      async function accountPull(): Promise<string> {
        const account = await core().readNamespacedServiceAccount({ name: "app", namespace: NAMESPACE });
        const names = (account.imagePullSecrets ?? []).map((s) => s.name ?? "");
        assert.strictEqual(names.length, 1, `app lists ${names.join(", ")}`);
        const secret = await core().readNamespacedSecret({ name: names[0], namespace: NAMESPACE });
        return `${names[0]}: ${await pullWith(secret, registries[0])}`;
      }

      it("b. regcred first: the account lists a plain Secret that pulls", async () => {
        await stack.up();
        assert.strictEqual(await accountPull(), `regcred: ${users.direct.username}`);
      });

      it("b. switched to ESO: `up` returns only once the ExternalSecret is Ready, so the Secret exists", async () => {
        await stack.setConfig("mode", { value: "eso" });
        const up = await stack.up();
        assert.strictEqual(up.outputs.pullSecretName.value, "regcred-eso");
        // Read right after `up`, with no waiting: the account already lists the generated Secret, and it pulls.
        assert.strictEqual(await accountPull(), `regcred-eso: ${users.r0.username}`);
        assert.strictEqual(await readyStatus("regcred-eso"), "True");
        await eventually("regcred to be deleted", async () =>
          core()
            .readNamespacedSecret({ name: "regcred", namespace: NAMESPACE })
            .then(
              () => undefined,
              (e: { code?: number }) => e.code === 404,
            ),
        );
      });

      it("c. and back to regcred; at no moment did the account list a missing Secret", async () => {
        await stack.setConfig("mode", { value: "regcred" });
        await stack.up();
        assert.strictEqual(await accountPull(), `regcred: ${users.direct.username}`);
        // The ExternalSecret is gone; its Secret follows (owner reference, garbage collector).
        await eventually(
          "regcred-eso to be deleted",
          async () =>
            core()
              .readNamespacedSecret({ name: "regcred-eso", namespace: NAMESPACE })
              .then(
                () => undefined,
                (e: { code?: number }) => e.code === 404,
              ),
          120_000,
        );
        await new Promise((r) => setTimeout(r, 500));
        const seen = events.filter((e) => e.kind === "secrets").map((e) => `${e.type} ${e.name}`);
        // The watch saw the whole sequence: both Secrets created and deleted once.
        for (const expected of [
          "ADDED regcred",
          "DELETED regcred",
          "ADDED regcred-eso",
          "DELETED regcred-eso",
        ])
          assert.ok(seen.includes(expected), `the watch missed ${expected}: ${seen.join(", ")}`);
        assert.deepStrictEqual(gaps(), []);
      });
    });
  },
);
