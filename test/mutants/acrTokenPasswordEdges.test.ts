/**
 * components/acrTokenPassword.ts, a case StrykerJS showed no test told apart (issue 12): the provider's check
 * accepts each verification mode the settings accept, and refuses any other.
 */
import * as assert from "assert";
import { checkInputs, type AcrTokenPasswordInputs } from "../../components/acrTokenPassword";

const REGISTRY_ID =
  "/subscriptions/00000000-0000-0000-0000-000000000012/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/edges";

function news(extra: Partial<AcrTokenPasswordInputs> = {}): AcrTokenPasswordInputs {
  return {
    tokenId: `${REGISTRY_ID}/tokens/ns-a`,
    scopeMapId: `${REGISTRY_ID}/scopeMaps/pull`,
    loginServer: "edges.azurecr.io",
    passwordLifetimeDays: 90,
    rotateAfterDays: 60,
    ...extra,
  };
}

describe("AcrTokenPassword's check: verification modes (mutation tests)", () => {
  it("accepts pull, login and none, and leaving it unset", () => {
    for (const verification of ["pull", "login", "none", undefined] as const) {
      assert.deepStrictEqual(checkInputs(news({ verification })), [], String(verification));
    }
  });

  it("refuses any other mode, the empty one too", () => {
    for (const verification of ["", "Pull", "full"]) {
      assert.deepStrictEqual(
        checkInputs(news({ verification: verification as AcrTokenPasswordInputs["verification"] })),
        [{ property: "verification", reason: "must be pull, login or none" }],
        verification,
      );
    }
  });
});
