import { spawnSync } from "child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import YAML from "yaml";

/** Debian's and Ubuntu's `prometheus` package install it here; `PROMTOOL` points elsewhere. */
export const PROMTOOL = process.env.PROMTOOL ?? "/usr/bin/promtool";

export interface PromtoolResult {
  /** promtool exited 0. */
  readonly ok: boolean;
  /** stdout and stderr, in that order. */
  readonly output: string;
}

/** Throws, never skips: a missing promtool must fail the run (CI installs it), not pass it silently. */
function requirePromtool(promtool: string): void {
  try {
    accessSync(promtool, constants.X_OK);
  } catch {
    throw new Error(
      `promtool not found or not executable at ${promtool}: install it (Debian/Ubuntu: apt-get install prometheus) ` +
        "or set PROMTOOL to its path; the alert rule tests need it and do not skip",
    );
  }
}

/** Writes `files` (name to document, as YAML) into a fresh temp dir and runs promtool there with `args`. */
function run(
  promtool: string,
  files: Record<string, unknown>,
  args: (dir: string) => string[],
): PromtoolResult {
  requirePromtool(promtool);
  const dir = mkdtempSync(join(tmpdir(), "promtool-"));
  try {
    for (const [name, doc] of Object.entries(files)) {
      writeFileSync(join(dir, name), YAML.stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }));
    }
    const result = spawnSync(promtool, args(dir), { cwd: dir, encoding: "utf8" });
    if (result.error) throw new Error(`could not run ${promtool}: ${result.error.message}`);
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check rules` on a rules file holding `rules` (`{ groups: [...] }`). */
export function checkRules(rules: unknown, promtool: string = PROMTOOL): PromtoolResult {
  return run(promtool, { "rules.yaml": rules }, (dir) => ["check", "rules", join(dir, "rules.yaml")]);
}

/**
 * `promtool test rules` with `rules` as the only rule file and `tests` as the unit tests (each with
 * `interval`, `input_series`, `alert_rule_test`).
 */
export function testRules(
  rules: unknown,
  tests: readonly unknown[],
  promtool: string = PROMTOOL,
): PromtoolResult {
  const unitTests = { rule_files: ["rules.yaml"], evaluation_interval: "1m", tests };
  return run(promtool, { "rules.yaml": rules, "tests.yaml": unitTests }, (dir) => [
    "test",
    "rules",
    join(dir, "tests.yaml"),
  ]);
}
