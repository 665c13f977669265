/**
 * Parts of the verify checks that the verify tests leave open (StrykerJS mutants that survived them, issue 12):
 * the entries of a missing or unreadable Secret, which workload re-creates a pod, and what runLogins asks the
 * handshake.
 */
import * as assert from "assert";
import { LoginCheck, RegistryLogin } from "../../components/registryHandshake";
import { owningWorkload, runLogins, secretEntries } from "../../tools/verifyChecks";

const CONFIG = JSON.stringify({ auths: { "ghcr.io": { username: "bot", password: "pw-3f1e" } } });

describe("verify checks: Secret entries (secretEntries)", () => {
  it("reads the entries of a Secret's .dockerconfigjson, and none of a missing or unreadable Secret", () => {
    assert.deepStrictEqual(secretEntries({ stringData: { ".dockerconfigjson": CONFIG } }), [
      { server: "ghcr.io", login: { server: "ghcr.io", username: "bot", password: "pw-3f1e" } },
    ]);
    assert.deepStrictEqual(secretEntries(undefined), []);
    assert.deepStrictEqual(secretEntries({ data: { other: "eA==" } }), []);
  });
});

describe("verify checks: the workload that re-creates a pod (owningWorkload)", () => {
  const rs = (name: string, controller?: boolean) => ({
    kind: "ReplicaSet",
    name,
    ...(controller === undefined ? {} : { controller }),
  });

  it("names a Deployment through its controlling ReplicaSet and the pod's template hash", () => {
    assert.deepStrictEqual(
      owningWorkload({
        metadata: {
          name: "web-5d9f-abcde",
          labels: { "pod-template-hash": "5d9f" },
          ownerReferences: [rs("other-5d9f", false), rs("web-5d9f", true)],
        },
      }),
      { kind: "deployment", name: "web" },
    );
  });

  it("falls back to the first owner, and to the ReplicaSet itself without a matching hash", () => {
    assert.deepStrictEqual(
      owningWorkload({ metadata: { name: "p", ownerReferences: [rs("web-5d9f"), rs("api-77aa")] } }),
      { kind: "replicaset", name: "web-5d9f" },
    );
    assert.deepStrictEqual(
      owningWorkload({
        metadata: {
          name: "p",
          labels: { "pod-template-hash": "0000" },
          ownerReferences: [rs("web-5d9f", true)],
        },
      }),
      { kind: "replicaset", name: "web-5d9f" },
    );
    assert.deepStrictEqual(
      owningWorkload({
        metadata: {
          name: "db-0",
          labels: { "pod-template-hash": "5d9f" },
          ownerReferences: [{ kind: "StatefulSet", name: "db-5d9f", controller: true }],
        },
      }),
      { kind: "statefulset", name: "db-5d9f" },
    );
  });

  it("names a pod no controller owns, or says it has no name", () => {
    assert.deepStrictEqual(owningWorkload({ metadata: { name: "lonely" } }), { kind: "pod", name: "lonely" });
    assert.deepStrictEqual(owningWorkload({}), { kind: "pod", name: "(unnamed)" });
  });
});

describe("verify checks: runLogins", () => {
  it("asks the handshake once per request, with the repository only when there is one", async () => {
    const login: RegistryLogin = { server: "ghcr.io", username: "bot", password: "pw-3f1e" };
    const asked: unknown[] = [];
    const check = async (l: RegistryLogin, options?: unknown): Promise<LoginCheck> => {
      asked.push([l.server, options]);
      return { ok: true, server: l.server, detail: "fine" };
    };
    const results = await runLogins(
      [
        { server: "ghcr.io", login },
        { server: "ghcr.io", login, repository: "team/app" },
      ],
      { timeoutMs: 500 },
      check,
    );
    assert.deepStrictEqual(asked, [
      ["ghcr.io", { timeoutMs: 500 }],
      ["ghcr.io", { timeoutMs: 500, repository: "team/app" }],
    ]);
    assert.deepStrictEqual(results, [
      { server: "ghcr.io", check: { ok: true, server: "ghcr.io", detail: "fine" } },
      { server: "ghcr.io", repository: "team/app", check: { ok: true, server: "ghcr.io", detail: "fine" } },
    ]);
  });
});
