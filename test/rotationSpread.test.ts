/**
 * The rotation spread (issue 17, item 6): each ACR token's stable random offset (a `random.RandomInteger` in the
 * state) brings its first age-based rotation forward by up to the spread window, and every later one comes
 * `rotateAfterDays` after the one before, so a fleet created in one day rotates over the window, not in one `up`.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as fc from "fast-check";
import {
  checkInputs,
  makeAcrTokenPasswordProvider,
  offsetAppliedAfterRotation,
  rotationDueHours,
  rotationReason,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
} from "../components/acrTokenPassword";
import { startArmServer, TEST_BEARER_TOKEN, type ArmServer } from "./support/armServer";

const HOUR_MS = 3_600_000;
const START = new Date("2025-01-01T00:00:00.000Z");
const SUB = "00000000-0000-0000-0000-000000000017";
const REGISTRY_ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/spread`;
const SCOPE_MAP_ID = `${REGISTRY_ID}/scopeMaps/pull`;

const hoursAfter = (date: Date, hours: number): Date => new Date(date.getTime() + hours * HOUR_MS);

function news(extra: Partial<AcrTokenPasswordInputs> = {}): AcrTokenPasswordInputs {
  return {
    tokenId: `${REGISTRY_ID}/tokens/ns-a`,
    scopeMapId: SCOPE_MAP_ID,
    loginServer: "spread.azurecr.io",
    passwordLifetimeDays: 90,
    rotateAfterDays: 60,
    ...extra,
  };
}

function state(extra: Partial<AcrTokenPasswordOutputs> = {}): AcrTokenPasswordOutputs {
  return {
    ...news(),
    tokenName: "ns-a",
    activeSlot: "password1",
    password: "p",
    activeCreated: START.toISOString(),
    password1Expiry: null,
    password2Expiry: null,
    ...extra,
  };
}

/** One run of the decision at `now`: the state after it, and whether it rotated (what update does to the state). */
function decide(
  olds: AcrTokenPasswordOutputs,
  inputs: AcrTokenPasswordInputs,
  now: Date,
): { state: AcrTokenPasswordOutputs; rotated: boolean } {
  if (rotationReason(olds, inputs, now) === undefined) return { state: olds, rotated: false };
  const offsetApplied = offsetAppliedAfterRotation(olds, inputs);
  const next = { ...olds, ...inputs, activeCreated: now.toISOString(), drift: null };
  delete next.offsetApplied;
  return { state: offsetApplied === undefined ? next : { ...next, offsetApplied }, rotated: true };
}

/** The hours (since START) at which each token rotates, runs every `step` hours from `phase`, up to `horizon`. */
function simulate(
  offsets: readonly (number | undefined)[],
  inputs: Partial<AcrTokenPasswordInputs>,
  run: { phase: number; step: number; horizon: number },
): number[][] {
  const states = offsets.map(() => state());
  const rotations: number[][] = offsets.map(() => []);
  for (let hour = run.phase; hour <= run.horizon; hour += run.step) {
    offsets.forEach((rotationOffsetHours, i) => {
      const decided = decide(states[i], news({ ...inputs, rotationOffsetHours }), hoursAfter(START, hour));
      states[i] = decided.state;
      if (decided.rotated) rotations[i].push(hour);
    });
  }
  return rotations;
}

describe("rotation spread: the decision (pure, with a clock)", () => {
  it("an offset not yet applied brings the rotation forward by exactly that many hours", () => {
    const inputs = news({ rotationOffsetHours: 37 });
    assert.equal(rotationDueHours(state(), inputs), 60 * 24 - 37);
    assert.equal(rotationReason(state(), inputs, new Date(hoursAfter(START, 1403).getTime() - 1)), undefined);
    assert.equal(
      rotationReason(state(), inputs, hoursAfter(START, 1403)),
      "the active password is older than 60 days less this token's spread offset of 37 hours",
    );
  });

  it("once applied, the offset no longer counts: rotateAfterDays after the last rotation", () => {
    const inputs = news({ rotationOffsetHours: 37 });
    const applied = state({ offsetApplied: 37 });
    assert.equal(rotationDueHours(applied, inputs), 1440);
    assert.equal(rotationReason(applied, inputs, hoursAfter(START, 1403)), undefined);
    assert.equal(rotationReason(applied, inputs, new Date(hoursAfter(START, 1440).getTime() - 1)), undefined);
    assert.equal(
      rotationReason(applied, inputs, hoursAfter(START, 1440)),
      "the active password is older than 60 days",
    );
  });

  it("a new offset (a new window, a new token identity) is applied once more; none or 0 is no spread", () => {
    assert.equal(rotationDueHours(state({ offsetApplied: 10 }), news({ rotationOffsetHours: 37 })), 1403);
    assert.equal(rotationDueHours(state({ offsetApplied: 10 }), news()), 1440);
    assert.equal(rotationDueHours(state(), news()), 1440);
    assert.equal(rotationDueHours(state(), news({ rotationOffsetHours: 0 })), 1440);
    // A preview with the RandomInteger not created yet: its result is unknown, decided as no spread.
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as unknown as number;
    assert.equal(rotationDueHours(state(), news({ rotationOffsetHours: unknown })), 1440);
    assert.equal(
      rotationReason(state(), news({ rotationOffsetHours: 0 }), hoursAfter(START, 1440)),
      "the active password is older than 60 days",
    );
  });

  it("only an age-based rotation records the offset as applied; any other reason clears it", () => {
    const inputs = news({ rotationOffsetHours: 37 });
    assert.equal(offsetAppliedAfterRotation(state(), inputs), 37);
    assert.equal(offsetAppliedAfterRotation(state(), news()), undefined);
    assert.equal(offsetAppliedAfterRotation(state(), { ...inputs, forceRotation: "x" }), undefined);
    assert.equal(
      offsetAppliedAfterRotation(state({ forceRotation: "x" }), { ...inputs, forceRotation: "x" }),
      37,
    );
    assert.equal(
      offsetAppliedAfterRotation(state(), { ...inputs, scopeMapId: `${SCOPE_MAP_ID}2` }),
      undefined,
    );
    assert.equal(offsetAppliedAfterRotation(state({ drift: "gone" }), inputs), undefined);
    assert.equal(offsetAppliedAfterRotation(state({ activeCreated: "never" }), inputs), undefined);
  });

  it("check refuses an offset that is not a whole number of hours below rotateAfterDays, and skips unknowns", () => {
    const failure = {
      property: "rotationOffsetHours",
      reason: "must be a whole number of hours from 0 to less than rotateAfterDays in hours (1440)",
    };
    for (const bad of [-1, 1.5, 1440, "3"]) {
      assert.deepEqual(checkInputs(news({ rotationOffsetHours: bad as number })), [failure], String(bad));
    }
    for (const good of [0, 1439, undefined, "04da6b54-80e4-46f7-96ec-b56ff0331ba9"]) {
      assert.deepEqual(checkInputs(news({ rotationOffsetHours: good as number })), [], String(good));
    }
    assert.deepEqual(checkInputs(news({ rotateAfterDays: 0, rotationOffsetHours: -1 })).at(-1), {
      property: "rotationOffsetHours",
      reason: "must be a whole number of hours from 0 to less than rotateAfterDays in hours",
    });
  });

  it("property: rotations follow the offsets, come before the lifetime, and never twice in one window", () => {
    fc.assert(
      fc.property(
        fc
          .record({ rotate: fc.integer({ min: 2, max: 45 }), step: fc.integer({ min: 1, max: 24 }) })
          .chain(({ rotate, step }) =>
            fc.record({
              rotate: fc.constant(rotate),
              step: fc.constant(step),
              phase: fc.integer({ min: 0, max: step - 1 }),
              lifetime: fc.integer({ min: rotate + 1, max: rotate + 30 }),
              window: fc.integer({ min: 1, max: Math.floor(rotate / 2) }),
            }),
          )
          .chain((c) =>
            fc.record({
              c: fc.constant(c),
              offsets: fc.array(fc.integer({ min: 0, max: c.window * 24 - 1 }), {
                minLength: 1,
                maxLength: 8,
              }),
            }),
          ),
        ({ c, offsets }) => {
          const rotateHours = c.rotate * 24;
          const rotations = simulate(
            offsets,
            { rotateAfterDays: c.rotate, passwordLifetimeDays: c.lifetime },
            { phase: c.phase, step: c.step, horizon: 3 * rotateHours },
          );
          offsets.forEach((offset, i) => {
            const [first, ...later] = rotations[i];
            // The first comes at the first run once the password is rotateAfterDays less the offset old.
            assert.ok(
              first >= rotateHours - offset && first < rotateHours - offset + c.step,
              `first ${first}`,
            );
            [first, ...later].forEach((at, k, all) => {
              const age = k === 0 ? at : at - all[k - 1];
              assert.ok(age < c.lifetime * 24, `rotated at age ${age} h, lifetime ${c.lifetime} days`);
              assert.ok(age > c.window * 24, `rotated twice within ${c.window} days`);
              if (k > 0) assert.ok(age >= rotateHours && age < rotateHours + c.step, `period ${age}`);
            });
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("1,000 tokens created in one day: one run rotates all without a spread, at most 143 with 7 days", () => {
    const horizon = 4 * 60 * 24;
    const daily = { phase: 0, step: 24, horizon };
    const perRun = (rotations: number[][]): Map<number, number> => {
      const counts = new Map<number, number>();
      for (const at of rotations.flat()) counts.set(at, (counts.get(at) ?? 0) + 1);
      return counts;
    };
    const lockstep = perRun(
      simulate(
        Array.from({ length: 1000 }, () => undefined),
        {},
        daily,
      ),
    );
    assert.deepEqual([...lockstep.values()], [1000, 1000, 1000, 1000]);
    // Offsets as a RandomInteger in [0, 168) draws them: here evenly, 5 or 6 tokens on each hour.
    const offsets = Array.from({ length: 1000 }, (_, i) => (i * 37) % 168);
    const spread = perRun(simulate(offsets, {}, daily));
    // Every cycle of 60 days rotates each token once, over 7 daily runs, in all four cycles alike.
    assert.equal(
      [...spread.values()].reduce((a, b) => a + b),
      4000,
    );
    assert.equal(spread.size, 28);
    // Below ARM's write bucket of 200 (one generateCredentials POST per rotation): no throttling at all.
    assert.equal(Math.max(...spread.values()), 143);
  });
});

describe("rotation spread against the local ARM server, with a clock", () => {
  let server: ArmServer;
  let clock: Date;

  before(async () => {
    server = await startArmServer();
  });
  after(async () => {
    await server.close();
  });

  function providerAt(): Required<
    pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs>
  > {
    return makeAcrTokenPasswordProvider({
      credential: {
        getToken: async () => ({ token: TEST_BEARER_TOKEN, expiresOnTimestamp: Date.now() + HOUR_MS }),
      },
      now: () => clock,
      verify: async (login) => ({ ok: true, server: login.server, detail: "ok" }),
      pollIntervalMs: 1,
      tlsCa: server.caPem,
    }) as Required<pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs>>;
  }

  it("the provider records the applied offset on an age-based rotation and keeps it through an update that rotates nothing", async () => {
    server.reset();
    server.resetResources();
    server.createRegistry(REGISTRY_ID);
    const provider = providerAt();
    const input: AcrTokenPasswordInputs = {
      ...news({ armEndpoint: server.endpoint, rotationOffsetHours: 30 }),
      verification: "none",
    };
    server.createToken(input.tokenId, SCOPE_MAP_ID);
    clock = START;
    const created = (await provider.create(input)).outs as AcrTokenPasswordOutputs;
    assert.equal(created.offsetApplied, undefined);
    assert.equal(created.rotationOffsetHours, 30);
    clock = hoursAfter(START, 1440 - 30);
    const rotated = (await provider.update(input.tokenId, created, input)).outs as AcrTokenPasswordOutputs;
    assert.equal(rotated.activeSlot, "password2");
    assert.equal(rotated.offsetApplied, 30);
    const changed = { ...input, verificationTimeoutSeconds: 60 };
    const kept = (await provider.update(input.tokenId, rotated, changed)).outs as AcrTokenPasswordOutputs;
    assert.deepEqual(kept, { ...rotated, verificationTimeoutSeconds: 60 });
    const forced = { ...input, forceRotation: "now" };
    const again = (await provider.update(input.tokenId, kept, forced)).outs as AcrTokenPasswordOutputs;
    assert.equal(again.activeSlot, "password1");
    assert.equal("offsetApplied" in again, false);
    assert.equal(server.issued.length, 3);
  });

  /** 12 tokens created at START, then `up` at 00:00 every day for 40 days; the days each token rotated. */
  async function dailyRuns(offsets: readonly (number | undefined)[]): Promise<number[][]> {
    server.reset();
    server.resetResources();
    server.createRegistry(REGISTRY_ID);
    const provider = providerAt();
    const inputs = offsets.map((rotationOffsetHours, i): AcrTokenPasswordInputs => ({
      ...news({ tokenId: `${REGISTRY_ID}/tokens/ns-${i}`, armEndpoint: server.endpoint }),
      passwordLifetimeDays: 14,
      rotateAfterDays: 10,
      verification: "none",
      ...(rotationOffsetHours === undefined ? {} : { rotationOffsetHours }),
    }));
    clock = START;
    const states: AcrTokenPasswordOutputs[] = [];
    for (const input of inputs) {
      server.createToken(input.tokenId, SCOPE_MAP_ID);
      states.push((await provider.create(input)).outs as AcrTokenPasswordOutputs);
    }
    const rotated: number[][] = inputs.map(() => []);
    for (let day = 1; day <= 40; day++) {
      clock = hoursAfter(START, day * 24);
      for (const [i, input] of inputs.entries()) {
        // The password the pull secret holds must still be valid whenever an `up` runs.
        const slot = server.token(input.tokenId)?.passwords.find((p) => p.name === states[i].activeSlot);
        assert.ok(Date.parse(slot?.expiry ?? "") > clock.getTime(), `token ${i} expired by day ${day}`);
        if (!(await provider.diff(input.tokenId, states[i], input)).changes) continue;
        const before = server.issued.length;
        states[i] = (await provider.update(input.tokenId, states[i], input)).outs as AcrTokenPasswordOutputs;
        if (server.issued.length > before) rotated[i].push(day);
      }
    }
    return rotated;
  }

  it("without a spread all 12 rotate in the same up; with offsets over 4 days, 3 a day, each every 10 days", async () => {
    const lockstep = await dailyRuns(Array.from({ length: 12 }, () => undefined));
    assert.deepEqual(
      lockstep,
      Array.from({ length: 12 }, () => [10, 20, 30, 40]),
    );

    // Offsets 0, 8, ..., 88 hours in a 4-day window (96 hours): three tokens per daily run.
    const spread = await dailyRuns(Array.from({ length: 12 }, (_, i) => i * 8));
    assert.deepEqual(
      spread.map((days) => days[0]),
      [10, 10, 10, 9, 9, 9, 8, 8, 8, 7, 7, 7],
    );
    for (const days of spread) {
      assert.deepEqual(
        days,
        days.map((_, k) => days[0] + 10 * k),
      );
    }
    const perDay = new Map<number, number>();
    for (const day of spread.flat()) perDay.set(day, (perDay.get(day) ?? 0) + 1);
    assert.ok(Math.max(...perDay.values()) <= 3, JSON.stringify([...perDay]));
    assert.equal(server.throttled.length, 0);
  });
});
