import * as assert from "assert";
import { declareEach, eventLoopTurn } from "../components/declareEach";
import { runProgram, stackConfig } from "../tools/mockRuntime";
import { acrSettings } from "./support/fixtures";

describe("declareEach: one namespace at a time (issue 17, item 5)", () => {
  it("declares each item in order, with a turn after each, and returns what each declared", async () => {
    const events: string[] = [];
    const declared = await declareEach(
      ["a", "b", "c"],
      (item) => {
        events.push(`declare ${item}`);
        return item.toUpperCase();
      },
      async () => {
        events.push("turn");
      },
    );
    assert.deepStrictEqual(declared, ["A", "B", "C"]);
    assert.deepStrictEqual(events, ["declare a", "turn", "declare b", "turn", "declare c", "turn"]);
  });

  it("declares nothing and takes no turn for no items", async () => {
    let turns = 0;
    const declared = await declareEach(
      [],
      () => assert.fail("declared"),
      async () => void turns++,
    );
    assert.deepStrictEqual([declared, turns], [[], 0]);
  });

  it("runs the callbacks queued on the event loop in a turn, which awaiting a resolved promise does not", async () => {
    const seen: string[] = [];
    setImmediate(() => seen.push("immediate"));
    await Promise.resolve();
    assert.deepStrictEqual(seen, []);
    await eventLoopTurn();
    assert.deepStrictEqual(seen, ["immediate"]);
  });

  it("sends a namespace's registrations before it declares the next: the program's order groups by namespace", async () => {
    const settings = acrSettings();
    const namespaces = settings.namespaces as Record<string, Record<string, unknown>>;
    settings.namespaces = { ...namespaces, "team-c": namespaces["team-b"] };
    const { recorder } = await runProgram(stackConfig(settings), { stack: "dev" });
    // Each resource in the order the engine received it, by the namespace its name starts with.
    const order = recorder.resources
      .map((r) => /^team-[abc]/.exec(r.name)?.[0])
      .filter((n): n is string => n !== undefined);
    const runs = order.filter((n, i) => i === 0 || order[i - 1] !== n);
    // Declared all at once, the SDK sends every Namespace, then every Secret: a, b, c, a, b, c, ...
    assert.deepStrictEqual(runs, ["team-a", "team-b", "team-c"], order.join(" "));
    assert.ok(order.length >= 3 * 6, `${order.length} resources`);
  });
});
