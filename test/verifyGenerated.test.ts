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
