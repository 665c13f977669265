import * as assert from "assert";
import { checkBar, fileScores } from "../../tools/mutationBar";

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
      { file: "components/a.ts", score: 100, killed: 1, survived: 0, noCoverage: 0, undetected: [] },
      {
        file: "components/b.ts",
        score: 50,
        killed: 2,
        survived: 1,
        noCoverage: 1,
        undetected: ["components/b.ts:9:3 BlockStatement", "components/b.ts:10:5 StringLiteral"],
      },
      { file: "components/empty.ts", score: 100, killed: 0, survived: 0, noCoverage: 0, undetected: [] },
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
});
