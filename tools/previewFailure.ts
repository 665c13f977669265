/**
 * Whether a failed pull-request preview is worth a second attempt (issue 18.7). The preview jobs of
 * .github/workflows/preview.yml retry only what can pass on a retry: a lost connection, a 429, a 5xx, a stack that
 * another update holds, an Azure sign-in whose OIDC assertion expired. A problem in the program or its
 * configuration fails the same way every time, so it fails the job at once, with its reason as an annotation.
 *
 *   ts-node --transpile-only tools/previewFailure.ts --stack NAME [--log FILE]
 *
 * pulumi/actions keeps no output of a failed run (it only fails the step), so this runs `pulumi preview --diff
 * --non-interactive --stack NAME` itself, writes its output to FILE (default preview-failure.log) and to stdout,
 * and classifies it. Appends `passed=`, `retry=` and `reason=` to $GITHUB_OUTPUT when set. Exit status: 0 the preview
 * passed now or its failure is worth a retry, 1 it is not, 2 a usage error.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { HelpRequested, parseOptions, UsageError } from "./cli";

export interface Verdict {
  /** True when a second attempt can pass. */
  readonly retry: boolean;
  /** Why, in one line: what matched, or that nothing did. */
  readonly reason: string;
}

interface Rule {
  readonly pattern: RegExp;
  readonly reason: string;
}

/**
 * Failures that a retry cannot fix. Checked first: an output with one of these fails again whatever else went wrong
 * along the way (a program error after a slow, retried request, say).
 */
export const PERMANENT: readonly Rule[] = [
  {
    pattern: /problems? in the registry-access configuration/,
    reason: "the stack's configuration is invalid",
  },
  {
    pattern: /Missing required configuration variable/,
    reason: "a required configuration value is not set in the stack",
  },
  { pattern: /TSError|error TS\d+:/, reason: "the program does not type-check" },
  {
    pattern: /no stack named|stack '[^']*' not found/,
    reason: "the stack does not exist, or this token cannot see it",
  },
  {
    pattern: /failed to decrypt|incorrect passphrase|passphrase must be set/,
    reason: "the stack's secrets cannot be decrypted with this token",
  },
  { pattern: /is forbidden: User /, reason: "the Kubernetes API refused the identity (RBAC, 403)" },
  { pattern: /AuthorizationFailed/, reason: "Azure refused the identity (AuthorizationFailed, 403)" },
  {
    pattern: /Running program '[^']*' failed with an unhandled exception/,
    reason: "the program threw an error of its own",
  },
];

/** Failures that can pass a few minutes later. */
export const TRANSIENT: readonly Rule[] = [
  {
    pattern: /Another update is currently in progress|\[409\] Conflict/,
    reason: "another update holds the stack (409)",
  },
  { pattern: /\[429\]|StatusCode=429|Too Many Requests|TooManyRequests/, reason: "rate limited (429)" },
  {
    pattern:
      /\[50[0234]\]|StatusCode=50[0234]|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out|the server is currently unable to handle the request/,
    reason: "the server failed (5xx)",
  },
  {
    pattern:
      /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|connection reset by peer|i\/o timeout|TLS handshake timeout|context deadline exceeded|unexpected EOF|server sent GOAWAY/,
    reason: "the connection failed",
  },
  {
    pattern: /AADSTS700024|token is expired|Token has expired/,
    reason: "a sign-in token expired (the retry logs in again)",
  },
];

/** The verdict on the output of a failed `pulumi preview`: the first permanent rule that matches, else the first transient one. */
export function classifyPreviewFailure(output: string): Verdict {
  for (const rule of PERMANENT) {
    if (rule.pattern.test(output)) return { retry: false, reason: `not retried: ${rule.reason}` };
  }
  for (const rule of TRANSIENT) {
    if (rule.pattern.test(output)) return { retry: true, reason: `retried in 2 minutes: ${rule.reason}` };
  }
  return {
    retry: false,
    reason:
      "not retried: the failure is none that a retry is known to fix (a network error, 429, 5xx, a held stack); " +
      "its output is above. Re-run the job if it was one",
  };
}

const USAGE = "usage: ts-node --transpile-only tools/previewFailure.ts --stack NAME [--log FILE]";

/** Runs the preview, prints its output and the verdict; returns the exit status. */
export function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  pulumi = "pulumi",
): number {
  let values;
  try {
    values = parseOptions(argv, { stack: { type: "string" }, log: { type: "string" } });
    if (!values.stack) throw new UsageError("--stack is required");
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`previewFailure: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const log = values.log ?? "preview-failure.log";
  const run = spawnSync(pulumi, ["preview", "--diff", "--non-interactive", "--stack", values.stack], {
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}${run.error ? `${run.error.message}\n` : ""}`;
  fs.writeFileSync(log, output);
  process.stdout.write(output);
  const passed = run.status === 0;
  const verdict: Verdict = passed
    ? {
        retry: true,
        reason: "passed when run again: the first failure was transient; retried now for the comment",
      }
    : classifyPreviewFailure(output);
  // A workflow command: an annotation on the run, so the reason shows without opening the log.
  process.stdout.write(`::${verdict.retry ? "notice" : "error"} title=pulumi preview::${verdict.reason}\n`);
  if (env.GITHUB_OUTPUT) {
    fs.appendFileSync(
      env.GITHUB_OUTPUT,
      `passed=${passed}\nretry=${verdict.retry}\nreason=${verdict.reason}\n`,
    );
  }
  return verdict.retry ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
