/**
 * The bar for `npm run mutate` (issue 12): at least 85% of the mutants killed in each mutated file. Stryker's own
 * `thresholds.break` is one score over all files, so this reads Stryker's JSON report and checks each file.
 *
 *   ts-node --transpile-only tools/mutationBar.ts [--report FILE] [--min PERCENT] [--strict]
 *
 * Prints one line per file (score, killed, survived, no coverage, and the survivors that
 * test/mutants/SURVIVORS.md does not list, as file:line:column mutator) and exits 1 when a file is below the bar
 * (with --strict also when a survivor is not listed, or an entry is stale), 2 when the report cannot be read. The score is Stryker's: (killed + timed out) / (killed + timed out + survived +
 * no coverage); mutants that do not compile or that Stryker ignored do not count.
 */
import * as fs from "fs";
import * as path from "path";

interface Mutant {
  readonly status: string;
  readonly mutatorName: string;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
}

interface Report {
  readonly files: Readonly<Record<string, { readonly mutants: readonly Mutant[] }>>;
}

export interface FileScore {
  readonly file: string;
  readonly score: number;
  readonly killed: number;
  readonly survived: number;
  readonly noCoverage: number;
  /** `file:line:column mutator` of each survivor (and uncovered mutant). */
  readonly undetected: readonly string[];
  /** The same of each mutant that timed out: detected, but a listed survivor can time out on a slow run. */
  readonly timedOut: readonly string[];
}

/** The score of each file of a Stryker JSON report, sorted by file name. */
export function fileScores(report: Report): FileScore[] {
  return Object.entries(report.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, { mutants }]) => {
      const count = (...statuses: string[]) => mutants.filter((m) => statuses.includes(m.status)).length;
      const detected = count("Killed", "Timeout");
      const survived = count("Survived");
      const noCoverage = count("NoCoverage");
      const valid = detected + survived + noCoverage;
      const keys = (...statuses: string[]) =>
        mutants
          .filter((m) => statuses.includes(m.status))
          .map((m) => `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}`)
          .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      return {
        file,
        score: valid === 0 ? 100 : (100 * detected) / valid,
        killed: detected,
        survived,
        noCoverage,
        undetected: keys("Survived", "NoCoverage"),
        timedOut: keys("Timeout"),
      };
    });
}

/**
 * The survivors SURVIVORS.md lists, as `file:line:column mutator` keys: every such key anywhere in the text, so
 * one entry may list several (a loop's three equivalent bounds, say).
 */
export function listedKeys(text: string): Set<string> {
  return new Set([...text.matchAll(/([\w./-]+\.ts):(\d+):(\d+) ([A-Za-z]+)/g)].map((m) => m[0]));
}

export interface Verdict {
  /** One line per file: ok or FAIL, the score and the counts, and its survivors that SURVIVORS.md lacks. */
  readonly lines: string[];
  /** The files below the bar. */
  readonly failing: string[];
  /** Survivors (and uncovered mutants) that SURVIVORS.md does not list: each is a missing test. */
  readonly unlisted: string[];
  /**
   * Entries of SURVIVORS.md, for a file the report has, that are no survivor there any more (killed, or moved). A
   * listed survivor that timed out is not stale: its tests talk to servers on 127.0.0.1, and on a loaded machine
   * one can outrun Stryker's timeout, which Stryker counts as detected.
   */
  readonly stale: string[];
}

/** The bar's verdict on a report's scores, given SURVIVORS.md's text. */
export function checkBar(scores: readonly FileScore[], min: number, survivorsText: string): Verdict {
  const listed = listedKeys(survivorsText);
  const lines = scores.map((s) => {
    const unlisted = s.undetected.filter((key) => !listed.has(key));
    return (
      `${s.score >= min ? "ok  " : "FAIL"} ${s.score.toFixed(2).padStart(6)}%  ${s.file}: ${s.killed} killed, ` +
      `${s.survived} survived, ${s.noCoverage} without coverage` +
      (unlisted.length ? `; not in SURVIVORS.md: ${unlisted.join(", ")}` : "")
    );
  });
  const undetected = new Set(scores.flatMap((s) => [...s.undetected, ...s.timedOut]));
  const files = new Set(scores.map((s) => s.file));
  return {
    lines,
    failing: scores.filter((s) => s.score < min).map((s) => s.file),
    unlisted: scores.flatMap((s) => s.undetected.filter((key) => !listed.has(key))),
    stale: [...listed]
      .filter((key) => files.has(key.slice(0, key.indexOf(":"))) && !undetected.has(key))
      .sort(),
  };
}

const USAGE = "usage: mutationBar.ts [--report FILE] [--min PERCENT] [--strict]";

/**
 * The command. Exit 1 when a file is below the bar or, with --strict (what `npm run mutate` and CI use), when a
 * survivor is not listed in SURVIVORS.md or an entry there is stale; 2 when it cannot run.
 */
export function main(
  argv: readonly string[],
  survivorsFile = path.join(__dirname, "..", "test", "mutants", "SURVIVORS.md"),
): number {
  let reportFile = "reports/mutation/mutation.json";
  let min = 85;
  let strict = false;
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === "--report" && value !== undefined) reportFile = argv[++i];
    else if (argv[i] === "--min" && value !== undefined && Number.isFinite(Number(value)))
      min = Number(argv[++i]);
    else if (argv[i] === "--strict") strict = true;
    else {
      console.error(`mutation bar: unknown option ${argv[i]}; ${USAGE}`);
      return 2;
    }
  }
  let report: Report;
  try {
    report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as Report;
  } catch (error) {
    console.error(`mutation bar: cannot read ${reportFile} (run \`npm run mutate\` first): ${String(error)}`);
    return 2;
  }
  const listed = fs.existsSync(survivorsFile) ? fs.readFileSync(survivorsFile, "utf8") : "";
  const { lines, failing, unlisted, stale } = checkBar(fileScores(report), min, listed);
  for (const line of lines) console.log(line);
  const problems: string[] = [];
  if (failing.length) problems.push(`${failing.join(", ")} below ${min}% of mutants killed`);
  if (strict && unlisted.length) {
    problems.push(
      `${unlisted.length} survivor(s) neither killed nor listed in SURVIVORS.md (named above): add a test that kills each, or list it with why it cannot matter`,
    );
  }
  if (strict && stale.length) {
    problems.push(
      `SURVIVORS.md lists mutants that no longer survive (killed, or the line moved): ${stale.join(", ")}`,
    );
  }
  for (const problem of problems) console.error(`mutation bar: ${problem}`);
  if (problems.length) return 1;
  console.log(`mutation bar: every file at or above ${min}%` + (strict ? ", every survivor listed" : ""));
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
