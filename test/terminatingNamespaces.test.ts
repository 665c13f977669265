import * as assert from "assert";
import {
  checkTerminating,
  clusterNamespaces,
  terminatingProblems,
} from "../components/terminatingNamespaces";

const MESSAGE = (ns: string) =>
  `namespaces.${ns}: namespace ${ns} is Terminating: Kubernetes is deleting it, and \`pulumi up\` cannot write ` +
  `into it. Wait until \`kubectl get namespace ${ns}\` answers NotFound, then run \`pulumi up\` to create it ` +
  `again; or remove namespaces.${ns} from the stack`;

describe("namespaces being deleted (issue 16, item 11)", () => {
  it("names each configured namespace that is Terminating, in the stack's order, and no other", () => {
    const phases = new Map<string, string | undefined>([
      ["team-b", "Terminating"],
      ["team-a", "Terminating"],
      ["team-c", "Active"],
      ["other", "Terminating"],
      ["team-d", undefined],
    ]);
    assert.deepStrictEqual(terminatingProblems(["team-a", "team-b", "team-c", "team-d", "new"], phases), [
      MESSAGE("team-a"),
      MESSAGE("team-b"),
    ]);
    assert.deepStrictEqual(terminatingProblems(["team-c"], phases), []);
  });

  it("goes on, and says why, when the namespaces cannot be listed", async () => {
    const forbidden = Object.assign(new Error("Forbidden"), {
      code: 403,
      body: { message: 'namespaces is forbidden: User "preview" cannot list resource "namespaces"' },
    });
    assert.deepStrictEqual(await checkTerminating(["team-a"], () => Promise.reject(forbidden)), {
      skipped:
        'Could not list namespaces to look for ones being deleted (HTTP 403 namespaces is forbidden: User "preview" ' +
        'cannot list resource "namespaces"); going on without',
    });
    assert.deepStrictEqual(
      await checkTerminating(["team-a"], async () => new Map([["team-a", "Terminating"]])),
      { problems: [MESSAGE("team-a")] },
    );
    assert.deepStrictEqual(await checkTerminating(["team-a"], async () => new Map()), { problems: [] });
  });

  it("reads the cluster the kubeconfig names: a refused connection is a reason, not a crash", async () => {
    const kubeconfig = [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c\n  cluster:\n    server: http://127.0.0.1:9\n    insecure-skip-tls-verify: true",
      "users:",
      "- name: u\n  user:\n    token: t",
      "contexts:",
      "- name: ctx\n  context:\n    cluster: c\n    user: u",
      "current-context: ctx",
      "",
    ].join("\n");
    const found = await checkTerminating(["team-a"], clusterNamespaces({ kubeconfig, context: "ctx" }));
    assert.ok("skipped" in found && /ECONNREFUSED/.test(found.skipped), JSON.stringify(found));
  });
});
