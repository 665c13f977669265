/**
 * The pure parts of the ACR password provider at the edges the provider tests leave open (StrykerJS mutants that
 * survived them, issue 12): why a password rotates, which inputs `check` refuses, how a token id is read, and what
 * a failed ARM call says.
 */
import * as assert from "assert";
import {
  AcrTokenPasswordInputs,
  AcrTokenPasswordOutputs,
  checkInputs,
  describeArmError,
  describeReadError,
  driftOf,
  makeAcrTokenPasswordProvider,
  parseTokenId,
  ParsedTokenId,
  rotationReason,
} from "../../components/acrTokenPassword";

const REGISTRY_ID =
  "/subscriptions/sub-1/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany";
const TOKEN_ID = `${REGISTRY_ID}/tokens/ra-dev-team-a`;
const SCOPE_MAP_ID = `${REGISTRY_ID}/scopeMaps/ra-dev-team-a`;
/** How the Pulumi engine marks a value that is not known yet (preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const DAY_MS = 86_400_000;
const NOW = new Date("2026-11-28T12:00:00.000Z");

const inputs: AcrTokenPasswordInputs = {
  tokenId: TOKEN_ID,
  scopeMapId: SCOPE_MAP_ID,
  loginServer: "mycompany.azurecr.io",
  passwordLifetimeDays: 90,
  rotateAfterDays: 60,
};

function outputs(
  activeCreated: string,
  extra: Partial<AcrTokenPasswordOutputs> = {},
): AcrTokenPasswordOutputs {
  return {
    ...inputs,
    tokenName: "ra-dev-team-a",
    activeSlot: "password1",
    password: "not-a-real-password",
    activeCreated,
    password1Expiry: "2027-02-26T12:00:00.000Z",
    password2Expiry: null,
    ...extra,
  } as AcrTokenPasswordOutputs;
}

const daysBefore = (days: number) => new Date(NOW.getTime() - days * DAY_MS).toISOString();

describe("acrTokenPassword: why a password rotates (rotationReason)", () => {
  it("keeps a password younger than rotateAfterDays, and rotates it on the day it reaches that age", () => {
    assert.strictEqual(rotationReason(outputs(daysBefore(59)), inputs, NOW), undefined);
    assert.strictEqual(
      rotationReason(outputs(new Date(NOW.getTime() - 60 * DAY_MS + 1).toISOString()), inputs, NOW),
      undefined,
    );
    assert.strictEqual(
      rotationReason(outputs(daysBefore(60)), inputs, NOW),
      "the active password is older than 60 days",
    );
  });

  it("gives drift found by a refresh first, then a new scope map, then forceRotation", () => {
    const drifted = outputs(daysBefore(1), { drift: "password1 was regenerated outside Pulumi" });
    assert.strictEqual(rotationReason(drifted, inputs, NOW), "password1 was regenerated outside Pulumi");
    assert.strictEqual(rotationReason(outputs(daysBefore(1), { drift: "" }), inputs, NOW), undefined);
    assert.strictEqual(
      rotationReason(
        outputs(daysBefore(1)),
        { ...inputs, scopeMapId: `${REGISTRY_ID}/scopeMaps/other` },
        NOW,
      ),
      "the scope map binding changed",
    );
    assert.strictEqual(
      rotationReason(outputs(daysBefore(1)), { ...inputs, forceRotation: "2026-11-28" }, NOW),
      "forceRotation changed",
    );
    assert.strictEqual(
      rotationReason(
        outputs(daysBefore(1), { forceRotation: "2026-11-28" }),
        { ...inputs, forceRotation: "2026-11-28" },
        NOW,
      ),
      undefined,
    );
    // Dropping forceRotation from the config is no reason to rotate.
    assert.strictEqual(
      rotationReason(outputs(daysBefore(1), { forceRotation: "2026-11-28" }), inputs, NOW),
      undefined,
    );
  });

  it("rotates a password whose creation time cannot be read", () => {
    assert.strictEqual(
      rotationReason(outputs("not a date"), inputs, NOW),
      "the active password has no valid creation time",
    );
  });
});

describe("acrTokenPassword: inputs that check refuses (checkInputs)", () => {
  const DAYS = "must be a number of days greater than 0";

  it("accepts good inputs, and values not known yet in a preview", () => {
    assert.deepStrictEqual(checkInputs(inputs), []);
    const unknown = UNKNOWN as unknown as number;
    assert.deepStrictEqual(
      checkInputs({
        tokenId: UNKNOWN,
        scopeMapId: UNKNOWN,
        loginServer: UNKNOWN,
        passwordLifetimeDays: unknown,
        rotateAfterDays: unknown,
        tokenCreationDate: UNKNOWN,
      }),
      [],
    );
    assert.deepStrictEqual(checkInputs({ ...inputs, tokenCreationDate: "2026-11-01T10:00:00Z" }), []);
  });

  it("refuses a token id that is not a token's ARM id, and empty scope map and login server", () => {
    assert.deepStrictEqual(
      checkInputs({ ...inputs, tokenId: SCOPE_MAP_ID, scopeMapId: "", loginServer: "" }),
      [
        {
          property: "tokenId",
          reason:
            "must be a token's ARM id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<registry>/tokens/<token>",
        },
        { property: "scopeMapId", reason: "must be a non-empty string" },
        { property: "loginServer", reason: "must be a non-empty string" },
      ],
    );
  });

  it("refuses a token creation date that is not a date", () => {
    const notADate = [
      { property: "tokenCreationDate", reason: "must be a date and time, as ARM reports it" },
    ];
    assert.deepStrictEqual(checkInputs({ ...inputs, tokenCreationDate: "yesterday" }), notADate);
    // Date.parse would read the number 0 as the year 2000.
    assert.deepStrictEqual(checkInputs({ ...inputs, tokenCreationDate: 0 as unknown as string }), notADate);
  });

  it("refuses ids that are not strings, even when they read as one", () => {
    assert.deepStrictEqual(
      checkInputs({
        ...inputs,
        tokenId: [TOKEN_ID] as unknown as string,
        scopeMapId: 42 as unknown as string,
      }),
      [
        {
          property: "tokenId",
          reason:
            "must be a token's ARM id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<registry>/tokens/<token>",
        },
        { property: "scopeMapId", reason: "must be a non-empty string" },
      ],
    );
  });

  for (const bad of [0, -1, Number.POSITIVE_INFINITY, Number.NaN, "90" as unknown as number]) {
    it(`refuses ${String(bad)} (${typeof bad}) as a lifetime or a rotation age`, () => {
      assert.deepStrictEqual(checkInputs({ ...inputs, passwordLifetimeDays: bad }), [
        { property: "passwordLifetimeDays", reason: DAYS },
      ]);
      assert.deepStrictEqual(checkInputs({ ...inputs, rotateAfterDays: bad }), [
        { property: "rotateAfterDays", reason: DAYS },
      ]);
    });
  }

  it("refuses a rotation age that is not less than the lifetime, and accepts one a day less", () => {
    const late = {
      property: "rotateAfterDays",
      reason: "must be less than passwordLifetimeDays (90), or the password expires before it is rotated",
    };
    assert.deepStrictEqual(checkInputs({ ...inputs, rotateAfterDays: 90 }), [late]);
    assert.deepStrictEqual(checkInputs({ ...inputs, rotateAfterDays: 91 }), [late]);
    assert.deepStrictEqual(checkInputs({ ...inputs, rotateAfterDays: 89 }), []);
  });
});

describe("acrTokenPassword: token ids and ARM errors", () => {
  // Read in each test, not while the file loads: Stryker activates most mutants only while tests run.
  let token: ParsedTokenId;
  beforeEach(() => {
    token = parseTokenId(TOKEN_ID) as ParsedTokenId;
  });

  it("reads a token's ARM id, segment names in any case, and nothing else", () => {
    assert.deepStrictEqual(parseTokenId(TOKEN_ID), {
      subscriptionId: "sub-1",
      resourceGroup: "rg-registry",
      registryName: "mycompany",
      tokenName: "ra-dev-team-a",
      registryId: REGISTRY_ID,
    });
    assert.strictEqual(parseTokenId(TOKEN_ID.toUpperCase())?.tokenName, "RA-DEV-TEAM-A");
    for (const id of [`x${TOKEN_ID}`, `${TOKEN_ID}/extra`, SCOPE_MAP_ID, `${REGISTRY_ID}/tokens/`]) {
      assert.strictEqual(parseTokenId(id), undefined, id);
    }
  });

  const restError = (statusCode: number, code = "SomeCode") =>
    Object.assign(new Error("the message"), { name: "RestError", statusCode, code });

  it("says which permission a 403 lacks, and what ARM said", () => {
    assert.strictEqual(
      describeArmError(restError(403, "AuthorizationFailed"), token, "password2"),
      "Azure refused to generate the password2 of ACR token ra-dev-team-a on registry mycompany: the deploying " +
        "identity needs the permission Microsoft.ContainerRegistry/registries/generateCredentials/action on the " +
        `registry ${REGISTRY_ID}. ARM said: AuthorizationFailed: the message`,
    );
    assert.strictEqual(
      describeReadError(restError(403, "AuthorizationFailed"), token),
      "Azure refused to read ACR token ra-dev-team-a on registry mycompany: the identity running the refresh needs " +
        "the permission Microsoft.ContainerRegistry/registries/tokens/read on the registry " +
        `${REGISTRY_ID}. ARM said: AuthorizationFailed: the message`,
    );
  });

  it("gives other failures with their HTTP status when ARM sent one, and without it otherwise", () => {
    assert.strictEqual(
      describeArmError(restError(500), token, "password1"),
      "Generating the password1 of ACR token ra-dev-team-a on registry mycompany failed (HTTP 500): SomeCode: the message",
    );
    assert.strictEqual(
      describeArmError(new Error("socket hang up"), token, "password1"),
      "Generating the password1 of ACR token ra-dev-team-a on registry mycompany failed: socket hang up",
    );
    assert.strictEqual(
      describeArmError(
        Object.assign(new Error("no status"), { statusCode: 500, code: "" }),
        token,
        "password1",
      ),
      "Generating the password1 of ACR token ra-dev-team-a on registry mycompany failed: no status",
    );
    // Only the SDK's RestError carries a status to trust.
    assert.strictEqual(
      describeArmError(Object.assign(restError(500), { statusCode: "500" }), token, "password1"),
      "Generating the password1 of ACR token ra-dev-team-a on registry mycompany failed: SomeCode: the message",
    );
    assert.strictEqual(
      describeReadError(restError(500), token),
      "Reading ACR token ra-dev-team-a on registry mycompany failed (HTTP 500): SomeCode: the message",
    );
    assert.strictEqual(
      describeReadError("plain text", token),
      "Reading ACR token ra-dev-team-a on registry mycompany failed: plain text",
    );
  });
});

describe("acrTokenPassword: the provider's answers that need no Azure", () => {
  let provider: ReturnType<typeof makeAcrTokenPasswordProvider>;
  beforeEach(() => {
    // No call reaches Azure in these tests: a provider that tried would fail on this credential.
    provider = makeAcrTokenPasswordProvider({
      credential: {
        getToken: async () => {
          throw new Error("no Azure call expected");
        },
      },
      now: () => NOW,
      verify: async () => {
        throw new Error("no registry call expected");
      },
    });
  });
  const NOT_A_TOKEN = `${REGISTRY_ID}/scopeMaps/ra-dev-team-a`;

  it("create and read refuse a token id that is not a token's ARM id, naming it", async () => {
    await assert.rejects(provider.create({ ...inputs, tokenId: NOT_A_TOKEN }), {
      message: `Not an ACR token ARM id: ${NOT_A_TOKEN}`,
    });
    await assert.rejects(provider.read!(NOT_A_TOKEN, outputs(daysBefore(1), { tokenId: NOT_A_TOKEN })), {
      message: `Not an ACR token ARM id: ${NOT_A_TOKEN}`,
    });
  });

  it("a token creation date left out of the inputs is an update, not a replacement", async () => {
    const olds = outputs(daysBefore(1), { tokenCreationDate: "2026-11-01T10:00:00.000Z" });
    assert.deepStrictEqual(await provider.diff!(TOKEN_ID, olds, inputs), { changes: true });
  });

  it("the same token creation date text is never a replacement, even one Date.parse cannot read", async () => {
    const olds = outputs(daysBefore(1), { tokenCreationDate: "sometime" });
    assert.deepStrictEqual(
      await provider.diff!(TOKEN_ID, olds, { ...inputs, tokenCreationDate: "sometime" }),
      { changes: false },
    );
  });
});

describe("acrTokenPassword: a slot's expiry that either side lacks (driftOf)", () => {
  let token: ParsedTokenId;
  beforeEach(() => {
    token = parseTokenId(TOKEN_ID) as ParsedTokenId;
  });

  it("no expiry in the state (absent) and none on ARM's slot is no drift", () => {
    const state = outputs(daysBefore(1));
    delete (state as { password1Expiry?: string | null }).password1Expiry;
    assert.strictEqual(driftOf(state, token, { passwords: [{ name: "password1" }] }), null);
  });

  it("an expiry on ARM's slot that the state never recorded is a regeneration", () => {
    const state = outputs(daysBefore(1), { password1Expiry: null });
    assert.strictEqual(
      driftOf(state, token, {
        passwords: [{ name: "password1", expiry: new Date("2027-01-01T00:00:00.0000000+00:00") }],
      }),
      "the active password1 of ACR token ra-dev-team-a on registry mycompany was regenerated outside Pulumi: ARM " +
        "has it created none, expiring 2027-01-01T00:00:00.000Z; the state has created unrecorded, expiring none",
    );
  });
});
