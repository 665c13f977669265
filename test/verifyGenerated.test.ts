import * as assert from "assert";
import { generatedSecretFindings, jwtExpiry } from "../tools/verifyGenerated";

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

const EXPECTED = { namespace: "team-a", secretName: "regcred-acr", servers: ["a.azurecr.io"] };

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
      secret({ "a.azurecr.io": entry(token) }),
      NOW,
    );
    assert.deepStrictEqual(findings, [
      { ok: true, subject: "a.azurecr.io", text: "token valid until 2026-12-04T08:30:00.000Z (2 h 30 min)" },
    ]);
    assert.deepStrictEqual(
      entries.map((e) => e.server),
      ["a.azurecr.io"],
    );
    assert.ok(!JSON.stringify(findings).includes(token.split(".")[1]), "no part of the token is printed");
  });

  it("shows exactly an hour as 1 h 0 min, and less as minutes", () => {
    const at = (seconds: number) =>
      generatedSecretFindings(
        EXPECTED,
        secret({ "a.azurecr.io": entry(jwt({ exp: NOW.getTime() / 1000 + seconds })) }),
        NOW,
      ).findings[0].text;
    assert.strictEqual(at(3600), "token valid until 2026-12-04T07:00:00.000Z (1 h 0 min)");
    assert.strictEqual(at(3599), "token valid until 2026-12-04T06:59:59.000Z (59 min)");
  });

  it("names a password that is not a JWT and a Secret that does not decode, and offers no login for them", () => {
    const notJwt = generatedSecretFindings(EXPECTED, secret({ "a.azurecr.io": entry("plain") }), NOW);
    assert.deepStrictEqual(notJwt, {
      findings: [
        {
          ok: false,
          subject: "a.azurecr.io",
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
      secret({ "a.azurecr.io": entry(token) }),
      NOW,
    );
    assert.deepStrictEqual(findings, [
      {
        ok: false,
        subject: "a.azurecr.io",
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
    assert.deepStrictEqual(generatedSecretFindings(EXPECTED, secret({ "a.azurecr.io": {} }), NOW).findings, [
      {
        ok: false,
        subject: "a.azurecr.io",
        text: 'unusable in regcred-acr: it has neither "auth" nor "username" and "password"',
        fix: "see `kubectl describe externalsecret regcred-acr -n team-a`",
      },
    ]);
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
          subject: "a.azurecr.io",
          text: "missing from regcred-acr",
          fix: "see `kubectl describe externalsecret regcred-acr -n team-a`",
        },
      ],
    );
  });
});
