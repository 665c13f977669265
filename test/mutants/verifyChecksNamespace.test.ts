/**
 * The findings of `npm run verify -- --stack` for one namespace (checkNamespace) that test/verify.test.ts leaves
 * open (StrykerJS mutants that survived it, issue 12): each compared as the whole Finding list, so a fix that is
 * there, or one that is not, counts.
 *
 * The observed objects are plain JSON as the Kubernetes API returns them (core/v1 Secret, ServiceAccount, Pod;
 * https://kubernetes.io/docs/reference/kubernetes-api/). Every field the checks read is optional in the API's
 * OpenAPI schema (and in @kubernetes/client-node's V1Pod, V1ServiceAccount, V1LocalObjectReference), so the
 * minimal objects here are shapes a reader must cope with: a ServiceAccount without `imagePullSecrets` (the API
 * omits an empty list), a LocalObjectReference without `name` (optional, "" by default), a Pod without `spec`,
 * `status` or `metadata`.
 */
import * as assert from "assert";
import {
  checkNamespace,
  ExpectedNamespace,
  Finding,
  formatSummary,
  LoginResult,
  NamespaceReport,
  ObservedNamespace,
  PodLike,
  ServiceAccountLike,
} from "../../tools/verifyChecks";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const UP = "run `pulumi up --refresh` for this stack";

const NS: ExpectedNamespace = {
  name: "staging",
  delivery: "direct",
  secretName: "regcred",
  registries: [{ id: "gh", type: "static", server: "ghcr.io", username: "bot", pullChecks: [] }],
  serviceAccounts: ["default"],
};

function secretJson(auths: Record<string, unknown>, type: string | null = "kubernetes.io/dockerconfigjson") {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "regcred", namespace: "staging" },
    ...(type === null ? {} : { type }),
    data: { ".dockerconfigjson": b64(JSON.stringify({ auths })) },
  };
}

const ENTRY = { username: "bot", password: "pw-3f1e" };
const GOOD_SECRET = secretJson({ "ghcr.io": ENTRY });
const GOOD_ACCOUNTS: ServiceAccountLike[] = [
  { metadata: { name: "default" }, imagePullSecrets: [{ name: "regcred" }] },
];
const LOGIN_OK: LoginResult = {
  server: "ghcr.io",
  check: { ok: true, server: "ghcr.io", detail: 'registry ghcr.io accepted the credentials for user "bot"' },
};

const OK_SECRET: Finding = {
  ok: true,
  subject: "secret regcred",
  text: "kubernetes.io/dockerconfigjson, 1 registry",
};
const OK_LOGIN: Finding = { ok: true, subject: "ghcr.io", text: "user bot" };
const OK_ACCOUNT: Finding = { ok: true, subject: "service account default", text: "lists regcred" };
const OK_PODS: Finding = { ok: true, subject: "pods", text: "none active" };

function observed(changes: Partial<ObservedNamespace> = {}): ObservedNamespace {
  return { secret: GOOD_SECRET, serviceAccounts: GOOD_ACCOUNTS, pods: [], ...changes };
}

function findings(
  seen: ObservedNamespace,
  logins: readonly LoginResult[] = [LOGIN_OK],
  expected: ExpectedNamespace = NS,
): readonly Finding[] {
  return checkNamespace(expected, seen, logins).findings;
}

describe("verify checks: checkNamespace, the secret and its registries", () => {
  it("all good, one registry: 1 registry, and no pods is none active", () => {
    assert.deepStrictEqual(findings(observed()), [OK_SECRET, OK_LOGIN, OK_ACCOUNT, OK_PODS]);
  });

  it("a Secret without a type (a manifest's; the API defaults one to Opaque) is not a dockerconfigjson Secret", () => {
    assert.deepStrictEqual(findings(observed({ secret: secretJson({ "ghcr.io": ENTRY }, null) })), [
      {
        ok: false,
        subject: "secret regcred",
        text: "has type (none), not kubernetes.io/dockerconfigjson: the kubelet does not use it for pulls",
        fix: `a Secret's type cannot change: kubectl delete secret regcred -n staging, then ${UP}`,
      },
      OK_LOGIN,
      OK_ACCOUNT,
      OK_PODS,
    ]);
  });

  it("a static registry's entry for another user: names the user the stack expects", () => {
    const secret = secretJson({ "ghcr.io": { username: "old-bot", password: "pw-3f1e" } });
    assert.deepStrictEqual(findings(observed({ secret })), [
      OK_SECRET,
      { ok: false, subject: "ghcr.io", text: "holds user old-bot, but the stack expects user bot", fix: UP },
      { ok: true, subject: "ghcr.io", text: "user old-bot" },
      OK_ACCOUNT,
      OK_PODS,
    ]);
  });

  it("an ACR token whose password was refused: `up` sets a new one", () => {
    const acr: ExpectedNamespace = {
      ...NS,
      registries: [{ id: "acr", type: "acr", server: "r.azurecr.io", username: "tok", pullChecks: [] }],
    };
    const secret = secretJson({ "r.azurecr.io": { username: "tok", password: "pw-3f1e" } });
    const refused: LoginResult = {
      server: "r.azurecr.io",
      check: {
        ok: false,
        server: "r.azurecr.io",
        failure: "bad-credentials",
        detail:
          'registry r.azurecr.io rejected the credentials for user "tok" (wrong password, or the token or password has expired)',
      },
    };
    assert.deepStrictEqual(findings(observed({ secret }), [refused], acr)[1], {
      ok: false,
      subject: "r.azurecr.io",
      text: 'bad password, or the token/password has expired: the registry rejected user "tok"',
      fix: `${UP}: it sets a new password on the namespace's token when the refresh finds the old one dead, or one is due`,
    });
  });

  it("an unreachable registry or an unexpected answer: a problem with no fix to run", () => {
    const failed = (failure: "unreachable" | "protocol", detail: string): LoginResult => ({
      server: "ghcr.io",
      check: { ok: false, server: "ghcr.io", failure, detail },
    });
    assert.deepStrictEqual(
      findings(observed(), [
        failed("unreachable", "registry ghcr.io is unreachable: ENOTFOUND (GET https://ghcr.io/v2/)"),
        failed(
          "protocol",
          "registry ghcr.io does not speak the Docker Registry v2 API (GET /v2/ answered 404)",
        ),
      ]),
      [
        OK_SECRET,
        { ok: false, subject: "ghcr.io", text: "registry unreachable: ENOTFOUND (GET https://ghcr.io/v2/)" },
        {
          ok: false,
          subject: "ghcr.io",
          text: "unexpected answer: the registry does not speak the Docker Registry v2 API (GET /v2/ answered 404)",
        },
        OK_ACCOUNT,
        OK_PODS,
      ],
    );
  });
});

describe("verify checks: checkNamespace, the service accounts", () => {
  it("a list the API refused: one problem, no verdict per account", () => {
    assert.deepStrictEqual(
      findings(observed({ serviceAccounts: { readError: "HTTP 403 serviceaccounts is forbidden" } })),
      [
        OK_SECRET,
        OK_LOGIN,
        {
          ok: false,
          subject: "service accounts",
          text: "could not be listed: HTTP 403 serviceaccounts is forbidden",
        },
        OK_PODS,
      ],
    );
  });

  it("an account without imagePullSecrets lists none; a reference without a name lists an empty name", () => {
    const expected = { ...NS, serviceAccounts: ["default", "app-sa"] };
    const accounts: ServiceAccountLike[] = [
      {},
      { metadata: { name: "default" } },
      { metadata: { name: "app-sa" }, imagePullSecrets: [{}, { name: "legacy" }] },
    ];
    assert.deepStrictEqual(
      findings(observed({ serviceAccounts: accounts }), [LOGIN_OK], expected).slice(2, 4),
      [
        {
          ok: false,
          subject: "service account default",
          text: "does not list regcred in imagePullSecrets (lists none)",
          fix: UP,
        },
        {
          ok: false,
          subject: "service account app-sa",
          text: "does not list regcred in imagePullSecrets (lists , legacy)",
          fix: UP,
        },
      ],
    );
  });
});

describe("verify checks: checkNamespace, the pods that lack the secret", () => {
  const podFindings = (pods: readonly PodLike[]) => findings(observed({ pods })).slice(3);
  const owned = (name: string, kind: string, owner: string, extra: Partial<PodLike> = {}): PodLike => ({
    metadata: { name, ownerReferences: [{ kind, name: owner, controller: true }] },
    spec: { serviceAccountName: "default" },
    status: { phase: "Running" },
    ...extra,
  });
  const STALE =
    "without regcred, admitted before service account default listed it (a pod keeps the imagePullSecrets it started with)";

  it("a DaemonSet's stale pods: rollout restart", () => {
    assert.deepStrictEqual(podFindings([owned("agent-x1", "DaemonSet", "agent")]), [
      {
        ok: false,
        subject: "daemonset/agent",
        text: `1 pod ${STALE}: agent-x1`,
        fix: "kubectl rollout restart daemonset/agent -n staging",
      },
    ]);
  });

  it("stale pods of a bare ReplicaSet: delete them all, it re-creates them", () => {
    assert.deepStrictEqual(
      podFindings([owned("cache-a", "ReplicaSet", "cache"), owned("cache-b", "ReplicaSet", "cache")]),
      [
        {
          ok: false,
          subject: "replicaset/cache",
          text: `2 pods ${STALE}: cache-a, cache-b`,
          fix: "kubectl delete pod cache-a cache-b -n staging  (replicaset/cache re-creates them)",
        },
      ],
    );
  });

  it("a pod with no metadata, spec or status: active, unnamed, run as default (admission's default account)", () => {
    assert.deepStrictEqual(podFindings([{}]), [
      {
        ok: false,
        subject: "pod/(unnamed)",
        text: `1 pod ${STALE}: (unnamed)`,
        fix: "delete and re-create pod (unnamed): no controller re-creates it",
      },
    ]);
  });

  it("a pod spec without serviceAccountName runs as default", () => {
    assert.deepStrictEqual(podFindings([{ metadata: { name: "debug" }, spec: {} }]), [
      {
        ok: false,
        subject: "pod/debug",
        text: `1 pod ${STALE}: debug`,
        fix: "delete and re-create pod debug: no controller re-creates it",
      },
    ]);
  });

  it("pods with their own list name every secret in it, an unnamed reference as empty", () => {
    const spec = {
      serviceAccountName: "default",
      imagePullSecrets: [{ name: "legacy" }, {}, { name: "other" }],
    };
    assert.deepStrictEqual(podFindings([owned("web-1", "StatefulSet", "web", { spec })]), [
      {
        ok: false,
        subject: "statefulset/web",
        text:
          "1 pod without regcred: they list their own imagePullSecrets (legacy, , other), so service account " +
          "default's are not added: web-1",
        fix: "add { name: regcred } to the imagePullSecrets of statefulset/web's pod template",
      },
    ]);
  });
});

describe("verify checks: the summary line (formatSummary)", () => {
  const report = (namespace: string, ok: boolean): NamespaceReport => ({
    namespace,
    findings: [{ ok, subject: "pods", text: "t" }],
  });

  it("all ok, or the namespaces with problems in order", () => {
    assert.strictEqual(formatSummary([report("dev", true)]), "1 namespace checked: all ok");
    assert.strictEqual(
      formatSummary([report("dev", false), report("qa", true), report("staging", false)]),
      "3 namespaces checked: problems in dev, staging",
    );
  });
});
