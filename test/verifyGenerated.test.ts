import * as assert from "assert";
import { parseSettings } from "../components/settings";
import { checkNamespace, expectedFromStack } from "../tools/verifyChecks";
import {
  generatedLoginFinding,
  generatedLoginRequests,
  generatedSecretFindings,
  jwtExpiry,
} from "../tools/verifyGenerated";
import { staticSettings } from "./support/fixtures";

const NOW = new Date("2026-12-04T06:00:00.000Z");
const USER = "00000000-0000-0000-0000-000000000000";

function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(claims)}.c2lnbmF0dXJl`;
}

function secret(auths: Record<string, unknown>, type = "kubernetes.io/dockerconfigjson") {
  return { type, data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") } };
}

function entry(password: string) {
  return { username: USER, password, auth: Buffer.from(`${USER}:${password}`).toString("base64") };
}

const EXPECTED = { namespace: "team-a", secretName: "regcred-acr", servers: ["abcde.azurecr.io"] };

describe("verify: the generated Secret of workload identity", () => {
  it("reads a JWT's exp and nothing else", () => {
    assert.deepStrictEqual(jwtExpiry(jwt({ exp: 1_800_000_000, secret: "x" })), {
      expiresAt: new Date(1_800_000_000_000),
    });
    assert.deepStrictEqual(jwtExpiry("not-a-jwt"), {
      problem: "its password is not a JWT (an ACR token has three dot-separated parts)",
    });
    assert.deepStrictEqual(jwtExpiry("a.%%%.c"), { problem: "its token's claims are not JSON" });
    assert.deepStrictEqual(jwtExpiry(jwt({ exp: "soon" })), { problem: "its token has no exp claim" });
    const infinite = `${Buffer.from("{}").toString("base64url")}.${Buffer.from('{"exp":1e400}').toString("base64url")}.x`;
    assert.deepStrictEqual(jwtExpiry(infinite), { problem: "its token has no exp claim" });
    const nullClaims = `e30.${Buffer.from("null").toString("base64url")}.x`;
    assert.deepStrictEqual(jwtExpiry(nullClaims), { problem: "its token has no exp claim" });
  });

  it("passes a token valid for another 2 h 30 min and hands its entry to the pull check", () => {
    const token = jwt({ exp: NOW.getTime() / 1000 + 9000 });
    const { findings, entries } = generatedSecretFindings(
      EXPECTED,
      secret({ "abcde.azurecr.io": entry(token) }),
      NOW,
    );
    assert.deepStrictEqual(findings, [
      {
        ok: true,
        subject: "abcde.azurecr.io",
        text: "token valid until 2026-12-04T08:30:00.000Z (2 h 30 min)",
      },
    ]);
    assert.deepStrictEqual(
      entries.map((e) => e.server),
      ["abcde.azurecr.io"],
    );
    assert.ok(!JSON.stringify(findings).includes(token.split(".")[1]), "no part of the token is printed");
  });

  it("shows exactly an hour as 1 h 0 min, and less as minutes", () => {
    const at = (seconds: number) =>
      generatedSecretFindings(
        EXPECTED,
        secret({ "abcde.azurecr.io": entry(jwt({ exp: NOW.getTime() / 1000 + seconds })) }),
        NOW,
      ).findings[0].text;
    assert.strictEqual(at(3600), "token valid until 2026-12-04T07:00:00.000Z (1 h 0 min)");
    assert.strictEqual(at(3599), "token valid until 2026-12-04T06:59:59.000Z (59 min)");
  });

  it("names a password that is not a JWT and a Secret that does not decode, and offers no login for them", () => {
    const notJwt = generatedSecretFindings(EXPECTED, secret({ "abcde.azurecr.io": entry("plain") }), NOW);
    assert.deepStrictEqual(notJwt, {
      findings: [
        {
          ok: false,
          subject: "abcde.azurecr.io",
          text: "in regcred-acr: its password is not a JWT (an ACR token has three dot-separated parts)",
        },
      ],
      entries: [],
    });
    const broken = generatedSecretFindings(
      EXPECTED,
      { type: "kubernetes.io/dockerconfigjson", data: { ".dockerconfigjson": "%%%" } },
      NOW,
    );
    assert.strictEqual(broken.findings.length, 1);
    assert.strictEqual(broken.findings[0].ok, false);
    assert.strictEqual(broken.findings[0].subject, "secret regcred-acr");
    assert.strictEqual(broken.findings[0].fix, "see `kubectl describe externalsecret regcred-acr -n team-a`");
    assert.deepStrictEqual(broken.entries, []);
  });

  it("fails a token that expired this very second, with where to look", () => {
    const token = jwt({ exp: NOW.getTime() / 1000 });
    const { findings, entries } = generatedSecretFindings(
      EXPECTED,
      secret({ "abcde.azurecr.io": entry(token) }),
      NOW,
    );
    assert.deepStrictEqual(findings, [
      {
        ok: false,
        subject: "abcde.azurecr.io",
        text: "token expired at 2026-12-04T06:00:00.000Z: ESO has stopped renewing it",
        fix: "see `kubectl describe externalsecret regcred-acr -n team-a` and ESO's logs",
      },
    ]);
    assert.deepStrictEqual(entries, []);
  });

  it("names a missing Secret, a wrong type and a missing registry", () => {
    assert.deepStrictEqual(
      generatedSecretFindings(EXPECTED, {}, NOW).findings[0].text,
      "has type (none), not kubernetes.io/dockerconfigjson",
    );
    assert.deepStrictEqual(
      generatedSecretFindings(EXPECTED, secret({ "abcde.azurecr.io": {} }), NOW).findings,
      [
        {
          ok: false,
          subject: "abcde.azurecr.io",
          text: 'unusable in regcred-acr: it has neither "auth" nor "username" and "password"',
          fix: "see `kubectl describe externalsecret regcred-acr -n team-a`",
        },
      ],
    );
    assert.deepStrictEqual(generatedSecretFindings(EXPECTED, undefined, NOW).entries, []);
    assert.deepStrictEqual(generatedSecretFindings(EXPECTED, secret({}, "Opaque"), NOW).entries, []);
    assert.deepStrictEqual(generatedSecretFindings(EXPECTED, undefined, NOW).findings, [
      {
        ok: false,
        subject: "secret regcred-acr",
        text: "missing from namespace team-a: ESO has not generated it",
        fix: "see why in `kubectl describe externalsecret regcred-acr -n team-a` (the identity's role and federated credential can take 10 minutes to apply)",
      },
    ]);
    assert.deepStrictEqual(generatedSecretFindings(EXPECTED, secret({}, "Opaque"), NOW).findings, [
      {
        ok: false,
        subject: "secret regcred-acr",
        text: "has type Opaque, not kubernetes.io/dockerconfigjson",
        fix: "kubectl delete secret regcred-acr -n team-a; ESO writes it again",
      },
    ]);
    assert.deepStrictEqual(
      generatedSecretFindings(EXPECTED, secret({ "b.azurecr.io": entry("x") }), NOW).findings,
      [
        {
          ok: false,
          subject: "abcde.azurecr.io",
          text: "missing from regcred-acr",
          fix: "see `kubectl describe externalsecret regcred-acr -n team-a`",
        },
      ],
    );
  });
});

describe("verify: a namespace with workload-identity registries", () => {
  const ISSUER = "https://oidc.example/";
  const settings = parseSettings({
    registries: {
      hub: { type: "static", server: "docker.io", username: "bot", password: "p" },
      acr: { type: "acr", server: "abcde.azurecr.io", resourceGroup: "rg", auth: "workloadIdentity" },
    },
    namespaces: {
      mixed: { registries: { hub: {}, acr: { repositories: ["team/api", "team/*"] } } },
      only: { registries: { acr: { repositories: ["x"] } } },
    },
    workloadIdentity: { oidcIssuerUrl: ISSUER, identityResourceGroup: "g" },
  });
  const [mixed, only] = expectedFromStack(settings, "dev");

  it("expects the static registry in regcred and the ACR one in regcred-acr, as ESO's user", () => {
    assert.deepStrictEqual(
      mixed.registries.map((r) => r.id),
      ["hub"],
    );
    assert.deepStrictEqual(mixed.generated, {
      secretName: "regcred-acr",
      registries: [
        {
          id: "acr",
          type: "acr",
          server: "abcde.azurecr.io",
          username: "00000000-0000-0000-0000-000000000000",
          pullChecks: ["team/api"],
        },
      ],
    });
    assert.deepStrictEqual(only.registries, []);
    assert.strictEqual("generated" in expectedFromStack(parseSettings(staticSettings()), "dev")[0], false);
  });

  it("asks each account for every secret the namespace gets, and checks no regcred where there is none", () => {
    const account = (names: string[]) => ({
      metadata: { name: "default" },
      imagePullSecrets: names.map((name) => ({ name })),
    });
    const observed = (names: string[]) => ({
      secret: undefined,
      serviceAccounts: [account(names)],
      pods: [],
    });
    assert.deepStrictEqual(checkNamespace(only, observed(["regcred-acr"]), []).findings, [
      { ok: true, subject: "service account default", text: "lists regcred-acr" },
      { ok: true, subject: "pods", text: "none active" },
    ]);
    const mixedFindings = checkNamespace(mixed, observed(["regcred"]), []).findings;
    assert.deepStrictEqual(
      mixedFindings.find((f) => f.subject === "service account default"),
      {
        ok: false,
        subject: "service account default",
        text: "does not list regcred-acr in imagePullSecrets (lists regcred)",
        fix: "run `pulumi up --refresh --stack dev`",
      },
    );
  });

  it("logs in with the generated entries for the repositories it can name, and says where to look on a refusal", () => {
    const token = jwt({ exp: NOW.getTime() / 1000 + 600 });
    const { entries } = generatedSecretFindings(
      { namespace: "mixed", secretName: "regcred-acr", servers: ["abcde.azurecr.io"] },
      secret({ "abcde.azurecr.io": entry(token) }),
      NOW,
    );
    const requests = generatedLoginRequests(mixed, entries);
    assert.deepStrictEqual(
      requests.map((r) => [r.server, r.repository, r.login.username]),
      [["abcde.azurecr.io", "team/api", "00000000-0000-0000-0000-000000000000"]],
    );
    assert.deepStrictEqual(
      generatedLoginRequests(expectedFromStack(parseSettings(staticSettings()), "dev")[0], entries),
      [],
    );
    const refused = generatedLoginFinding("mixed", "regcred-acr", {
      server: "abcde.azurecr.io",
      repository: "team/api",
      check: { ok: false, server: "abcde.azurecr.io", failure: "no-pull-permission", detail: "denied" },
    });
    assert.strictEqual(refused.ok, false);
    assert.strictEqual(
      refused.fix,
      "the namespace's role condition must list the repository (npm run plan shows it); a changed role takes up to " +
        "10 minutes to apply. See `kubectl describe externalsecret regcred-acr -n mixed`",
    );
    const ok = generatedLoginFinding("mixed", "regcred-acr", {
      server: "abcde.azurecr.io",
      repository: "team/api",
      check: { ok: true, server: "abcde.azurecr.io", detail: "ok" },
    });
    assert.deepStrictEqual(Object.keys(ok).sort(), ["ok", "subject", "text"]);
    assert.strictEqual(ok.ok, true);
    assert.ok(!JSON.stringify([refused, ok]).includes(token.split(".")[1]));
  });
});
