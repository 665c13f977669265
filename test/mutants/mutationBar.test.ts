import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkBar, fileScores, listedKeys, main } from "../../tools/mutationBar";

const at = (line: number, column: number) => ({ start: { line, column } });

describe("mutation bar (tools/mutationBar.ts)", () => {
  const report = {
    files: {
      "components/b.ts": {
        mutants: [
          { status: "Killed", mutatorName: "Regex", location: at(1, 1) },
          { status: "Timeout", mutatorName: "Regex", location: at(2, 1) },
          { status: "Survived", mutatorName: "StringLiteral", location: at(10, 5) },
          { status: "NoCoverage", mutatorName: "BlockStatement", location: at(9, 3) },
          { status: "CompileError", mutatorName: "ObjectLiteral", location: at(3, 1) },
          { status: "Ignored", mutatorName: "ObjectLiteral", location: at(4, 1) },
        ],
      },
      "components/a.ts": { mutants: [{ status: "Killed", mutatorName: "Regex", location: at(1, 1) }] },
      "components/empty.ts": { mutants: [] },
    },
  };

  it("scores each file as Stryker does: killed and timed out over those plus survived and uncovered", () => {
    assert.deepStrictEqual(fileScores(report), [
      {
        file: "components/a.ts",
        score: 100,
        killed: 1,
        survived: 0,
        noCoverage: 0,
        undetected: [],
        timedOut: [],
      },
      {
        file: "components/b.ts",
        score: 50,
        killed: 2,
        survived: 1,
        noCoverage: 1,
        undetected: ["components/b.ts:9:3 BlockStatement", "components/b.ts:10:5 StringLiteral"],
        timedOut: ["components/b.ts:2:1 Regex"],
      },
      {
        file: "components/empty.ts",
        score: 100,
        killed: 0,
        survived: 0,
        noCoverage: 0,
        undetected: [],
        timedOut: [],
      },
    ]);
  });

  it("fails the files below the bar and names the survivors that SURVIVORS.md does not list", () => {
    const { lines, failing } = checkBar(
      fileScores(report),
      85,
      "- components/b.ts:10:5 StringLiteral: log wording",
    );
    assert.deepStrictEqual(failing, ["components/b.ts"]);
    assert.deepStrictEqual(lines, [
      "ok   100.00%  components/a.ts: 1 killed, 0 survived, 0 without coverage",
      "FAIL  50.00%  components/b.ts: 2 killed, 1 survived, 1 without coverage; not in SURVIVORS.md: components/b.ts:9:3 BlockStatement",
      "ok   100.00%  components/empty.ts: 0 killed, 0 survived, 0 without coverage",
    ]);
    assert.deepStrictEqual(checkBar(fileScores(report), 50, "").failing, []);
  });

  it("reads every key of SURVIVORS.md, several to an entry, and matches whole keys only", () => {
    const text = [
      "- components/b.ts:10:5 StringLiteral, components/b.ts:9:3 BlockStatement — equivalent: why.",
      "- components/b.ts:1:10 Regex — a key whose prefix is another's (1:1) must not list that one.",
    ].join("\n");
    assert.deepStrictEqual(
      [...listedKeys(text)],
      [
        "components/b.ts:10:5 StringLiteral",
        "components/b.ts:9:3 BlockStatement",
        "components/b.ts:1:10 Regex",
      ],
    );
    const verdict = checkBar(fileScores(report), 50, "- components/b.ts:10:5 StringLiteralX — not this key");
    assert.deepStrictEqual(verdict.unlisted, [
      "components/b.ts:9:3 BlockStatement",
      "components/b.ts:10:5 StringLiteral",
    ]);
  });

  it("calls an entry stale when its mutant was killed or moved, not when it timed out, only for files in the report", () => {
    const verdict = checkBar(
      fileScores(report),
      50,
      [
        "- components/b.ts:10:5 StringLiteral — listed and still a survivor.",
        "- components/b.ts:9:3 BlockStatement — listed and still uncovered.",
        "- components/a.ts:1:1 Regex — killed now: stale.",
        "- components/b.ts:11:5 StringLiteral — the line moved: stale.",
        "- components/b.ts:2:1 Regex — timed out on this run (a slow machine), detected but not stale.",
        "- components/other.ts:3:3 Regex — a file this run did not mutate: not judged.",
      ].join("\n"),
    );
    assert.deepStrictEqual(verdict.unlisted, []);
    assert.deepStrictEqual(verdict.stale, [
      "components/a.ts:1:1 Regex",
      "components/b.ts:11:5 StringLiteral",
    ]);
  });

  describe("the command", () => {
    let dir: string;
    let out: string[];
    let err: string[];
    const restore: Array<() => void> = [];
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "mutation-bar-"));
      fs.writeFileSync(path.join(dir, "report.json"), JSON.stringify(report));
      out = [];
      err = [];
      const { log, error } = console;
      console.log = (text: string) => void out.push(text);
      console.error = (text: string) => void err.push(text);
      restore.push(() => Object.assign(console, { log, error }));
    });
    afterEach(() => {
      restore.splice(0).forEach((undo) => undo());
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const run = (args: string[], survivors: string) => {
      fs.writeFileSync(path.join(dir, "SURVIVORS.md"), survivors);
      return main(["--report", path.join(dir, "report.json"), ...args], path.join(dir, "SURVIVORS.md"));
    };

    it("passes at the bar, and with --strict only when every survivor is listed and no entry is stale", () => {
      assert.strictEqual(run(["--min", "50"], ""), 0);
      assert.strictEqual(out.at(-1), "mutation bar: every file at or above 50%");
      assert.deepStrictEqual(err, []);

      assert.strictEqual(
        run(
          ["--min", "50", "--strict"],
          "- components/b.ts:10:5 StringLiteral — x\n- components/a.ts:1:1 Regex — y",
        ),
        1,
      );
      assert.deepStrictEqual(err, [
        "mutation bar: 1 survivor(s) neither killed nor listed in SURVIVORS.md (named above): add a test that kills each, or list it with why it cannot matter",
        "mutation bar: SURVIVORS.md lists mutants that no longer survive (killed, or the line moved): components/a.ts:1:1 Regex",
      ]);

      err.length = 0;
      const all = "- components/b.ts:10:5 StringLiteral, components/b.ts:9:3 BlockStatement — equivalent";
      assert.strictEqual(run(["--min", "50", "--strict"], all), 0);
      assert.strictEqual(out.at(-1), "mutation bar: every file at or above 50%, every survivor listed");
      assert.deepStrictEqual(err, []);
    });

    it("fails below the bar (85 by default), exit 2 for an unknown option or a missing report", () => {
      assert.strictEqual(run([], ""), 1);
      assert.deepStrictEqual(err, ["mutation bar: components/b.ts below 85% of mutants killed"]);
      err.length = 0;
      assert.strictEqual(run(["--strikt"], ""), 2);
      assert.deepStrictEqual(err, [
        "mutation bar: unknown option --strikt; usage: mutationBar.ts [--report FILE] [--min PERCENT] [--strict]",
      ]);
      assert.strictEqual(main(["--report", path.join(dir, "none.json")]), 2);
      assert.match(
        err[1],
        /^mutation bar: cannot read .*none\.json \(run `npm run mutate` first\): Error: ENOENT/,
      );
    });
  });
});
