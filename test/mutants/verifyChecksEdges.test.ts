/**
 * tools/verifyChecks.ts, cases StrykerJS showed no test told apart (issue 12): a Secret whose managedFields lack
 * parts, the cause shown for a registry firewall, and which registries verify expects in the Secret ESO generates
 * for workload identity. (verifyGenerated.test.ts reads the last in a describe body, where Stryker's per-test
 * coverage does not see it: here it runs inside each test.)
 */
import * as assert from "assert";
import { acrTokenName } from "../../components/names";
import { parseSettings } from "../../components/settings";
import { dockerConfigWriters, expectedFromStack, failureCause } from "../../tools/verifyChecks";

describe("verify checks: edges (mutation tests)", () => {
  it("finds no writer of a Secret without metadata, or with a managedFields entry without fieldsV1", () => {
    assert.deepStrictEqual(dockerConfigWriters({}), []);
    assert.deepStrictEqual(
      dockerConfigWriters({
        metadata: {
          managedFields: [
            { manager: "kubectl-edit" },
            { manager: "registry-access-dev", fieldsV1: { "f:data": { "f:.dockerconfigjson": {} } } },
          ],
        },
      }),
      ["registry-access-dev"],
    );
  });

  it('says "registry firewall" for a firewall failure', () => {
    assert.strictEqual(
      failureCause({ ok: false, server: "r.io", failure: "firewall", detail: "d" }, "team/app"),
      "registry firewall",
    );
  });

  it("expects only ACR registries with auth workloadIdentity in the generated Secret, as ESO's user", () => {
    const settings = parseSettings({
      registries: {
        hub: { type: "static", server: "docker.io", username: "bot", password: "p" },
        tok: { type: "acr", server: "tokenreg.azurecr.io", resourceGroup: "rg" },
        wi: { type: "acr", server: "wireg.azurecr.io", resourceGroup: "rg", auth: "workloadIdentity" },
      },
      namespaces: {
        mixed: { registries: { hub: {}, tok: { repositories: ["a/b"] }, wi: { repositories: ["c/d"] } } },
        plain: { registries: { hub: {} } },
      },
      workloadIdentity: { oidcIssuerUrl: "https://issuer.example.com/", identityResourceGroup: "g" },
    });
    const [mixed, plain] = expectedFromStack(settings, "dev");
    assert.deepStrictEqual(
      mixed.registries.map((r) => [r.id, r.username]),
      [
        ["hub", "bot"],
        ["tok", acrTokenName("registry-access", "dev", "mixed")],
      ],
    );
    assert.deepStrictEqual(mixed.generated, {
      secretName: "regcred-acr",
      registries: [
        {
          id: "wi",
          type: "acr",
          server: "wireg.azurecr.io",
          username: "00000000-0000-0000-0000-000000000000",
          pullChecks: ["c/d"],
        },
      ],
    });
    assert.deepStrictEqual(plain.name, "plain");
    assert.strictEqual("generated" in plain, false);
  });
});
