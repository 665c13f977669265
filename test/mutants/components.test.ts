/**
 * Pure helpers of the components at the edges their program tests leave open (StrykerJS mutants that survived
 * them, issue 12): the expiry warning on its boundary days, deployment outputs of odd shapes, and the names and
 * ids External Secrets delivery derives.
 */
import * as assert from "assert";
import { deployedExpiryWarnings, expiryWarning, EXPIRY_WARNING_DAYS } from "../../components/AcrPullToken";
import { identityName, roleDefinitionId, vaultSecretName } from "../../components/ExternalSecretsDelivery";

const NOW = new Date("2026-11-28T12:00:00.000Z");
const DAY_MS = 86_400_000;
const inDays = (days: number) => new Date(NOW.getTime() + days * DAY_MS).toISOString();

describe("AcrPullToken: the expiry warning on its boundaries", () => {
  it("warns from exactly EXPIRY_WARNING_DAYS (14) days before expiry, not a millisecond earlier", () => {
    assert.strictEqual(EXPIRY_WARNING_DAYS, 14);
    assert.strictEqual(expiryWarning("tok", "r.azurecr.io", inDays(14), NOW), undefined);
    const justInside = new Date(NOW.getTime() + 14 * DAY_MS - 1).toISOString();
    assert.strictEqual(
      expiryWarning("tok", "r.azurecr.io", justInside, NOW),
      `the active password of ACR token tok on r.azurecr.io expires in 14 days (${justInside}); ` +
        "run `pulumi up` to rotate it (is the scheduled rotation running?)",
    );
  });

  it("says a password expiring this very moment has expired", () => {
    assert.strictEqual(
      expiryWarning("tok", "r.azurecr.io", NOW.toISOString(), NOW),
      "the active password of ACR token tok on r.azurecr.io has expired (2026-11-28T12:00:00.000Z); " +
        "run `pulumi up` to rotate it (is the scheduled rotation running?)",
    );
  });

  it("reads no warnings from a null output or a null namespace, and warns for the others", () => {
    assert.deepStrictEqual(deployedExpiryWarnings(null, NOW), []);
    assert.deepStrictEqual(
      deployedExpiryWarnings(
        {
          gone: null,
          app: {
            acrTokens: [
              {
                registry: "r.azurecr.io",
                tokenName: "tok",
                activeSlot: "password1",
                password1Expiry: inDays(-1),
              },
            ],
          },
        },
        NOW,
      ),
      [
        `the active password of ACR token tok on r.azurecr.io has expired (${inDays(-1)}); ` +
          "run `pulumi up` to rotate it (is the scheduled rotation running?)",
      ],
    );
  });
});

describe("ExternalSecretsDelivery: derived names and ids", () => {
  it("names the vault secret and the identity after stack and namespace, unique per project", () => {
    assert.strictEqual(vaultSecretName("registry-access", "dev", "team-a"), "ra-dev-team-a-21b8bf09");
    assert.strictEqual(identityName("registry-access", "dev", "team-a"), "ra-dev-team-a-21b8bf09");
    assert.strictEqual(identityName("p2", "dev", "team-a"), "ra-dev-team-a-8b55383a");
    assert.notStrictEqual(
      vaultSecretName("p2", "dev", "team-a"),
      vaultSecretName("registry-access", "dev", "team-a"),
    );
  });

  it("scopes a role definition to the resource's subscription, and refuses what is not a resource id", () => {
    assert.strictEqual(
      roleDefinitionId(
        "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v",
        "4633458b-17de-408a-b874-0445c86b69e6",
      ),
      "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
    );
    for (const id of ["vaults/v", "x/subscriptions/sub-1/resourceGroups/rg"]) {
      assert.throws(() => roleDefinitionId(id, "role"), { message: `not an Azure resource id: ${id}` });
    }
  });
});
