/**
 * The bar for `npm run mutate` (issue 12): at least 85% of the mutants killed in each mutated file. Stryker's own
 * `thresholds.break` is one score over all files, so this reads Stryker's JSON report and checks each file.
 *
 *   ts-node --transpile-only tools/mutationBar.ts [--report FILE] [--min PERCENT]
 *
 * Prints one line per file (score, killed, survived, no coverage, and the survivors that
 * test/mutants/SURVIVORS.md does not list, as file:line:column mutator) and exits 1 when a file is below the bar,
 * 2 when the report cannot be read. The score is Stryker's: (killed + timed out) / (killed + timed out + survived +
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
      return {
        file,
        score: valid === 0 ? 100 : (100 * detected) / valid,
        killed: detected,
        survived,
        noCoverage,
        undetected: mutants
          .filter((m) => m.status === "Survived" || m.status === "NoCoverage")
          .map((m) => `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName}`)
          .sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
      };
    });
}

/** The bar's verdict: a line per file, and the files below `min`. */
export function checkBar(
  scores: readonly FileScore[],
  min: number,
  listed: string,
): { lines: string[]; failing: string[] } {
  const lines = scores.map((s) => {
    const unlisted = s.undetected.filter((key) => !listed.includes(key));
    return (
      `${s.score >= min ? "ok  " : "FAIL"} ${s.score.toFixed(2).padStart(6)}%  ${s.file}: ${s.killed} killed, ` +
      `${s.survived} survived, ${s.noCoverage} without coverage` +
      (unlisted.length ? `; not in SURVIVORS.md: ${unlisted.join(", ")}` : "")
    );
  });
  return { lines, failing: scores.filter((s) => s.score < min).map((s) => s.file) };
}

function main(argv: readonly string[]): number {
  let reportFile = "reports/mutation/mutation.json";
  let min = 85;
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === "--report" && value !== undefined) reportFile = argv[++i];
    else if (argv[i] === "--min" && value !== undefined && Number.isFinite(Number(value)))
      min = Number(argv[++i]);
    else {
      console.error(
        `mutation bar: unknown option ${argv[i]}; usage: mutationBar.ts [--report FILE] [--min PERCENT]`,
      );
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
  const survivorsFile = path.join(__dirname, "..", "test", "mutants", "SURVIVORS.md");
  const listed = fs.existsSync(survivorsFile) ? fs.readFileSync(survivorsFile, "utf8") : "";
  const { lines, failing } = checkBar(fileScores(report), min, listed);
  for (const line of lines) console.log(line);
  if (failing.length) {
    console.error(`mutation bar: ${failing.join(", ")} below ${min}% of mutants killed`);
    return 1;
  }
  console.log(`mutation bar: every file at or above ${min}%`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
