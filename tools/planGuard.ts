/**
 * npm run plan: tools/plan.ts in a child process with a fixed heap, so that a stack too large for it ends in a
 * message that says what to do, not in V8's "FATAL ERROR: Reached heap limit" and a native stack trace (exit 134).
 *
 * The heap is REGISTRY_ACCESS_PLAN_HEAP_MB megabytes of V8 old space (default 1024): with plan's slices of
 * namespaces that holds 2,000 ACR namespaces under 1.5 GB of resident memory (docs/performance.md). The child
 * writes stdout directly; its stderr is passed on when it ends, cut where V8's report of an exhausted heap starts.
 * Loads nothing of the program, so that only the child pays for the SDK.
 */
import { spawn } from "child_process";
import * as path from "path";

/** The environment variable that sets the heap plan runs with, in megabytes. */
export const PLAN_HEAP_ENV = "REGISTRY_ACCESS_PLAN_HEAP_MB";
export const DEFAULT_PLAN_HEAP_MB = 1024;

/** Where V8's report of an exhausted heap may start on stderr, and what it always says. */
const V8_REPORT_STARTS = ["<--- Last few GCs --->", "FATAL ERROR:"];
const V8_OUT_OF_MEMORY = "JavaScript heap out of memory";

/** The heap in MB from the environment's value; throws a message that names the variable, the value and the fix. */
export function planHeapMB(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_PLAN_HEAP_MB;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new Error(
      `${PLAN_HEAP_ENV} ${JSON.stringify(value)} is not a number of megabytes (a whole number, such as 4096); ` +
        `unset it for the default of ${DEFAULT_PLAN_HEAP_MB}`,
    );
  }
  return Number(value);
}

/** An argument as a POSIX shell reads it back. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/** What plan says when the program did not fit in the heap: both ways out, as commands. */
export function outOfMemoryMessage(heapMB: number, argv: readonly string[]): string {
  const args = argv.map(shellWord).join(" ");
  return (
    `plan: out of memory: this stack needs more than the ${heapMB} MB heap plan runs with (${PLAN_HEAP_ENV}).\n` +
    `  Raise it, if the machine has the memory: ${PLAN_HEAP_ENV}=${heapMB * 4} npm run -s plan -- ${args}\n` +
    "  Or split the namespaces over several stacks, each planned and deployed by a job of its own " +
    '(docs/performance.md, "Splitting a fleet across stacks").\n'
  );
}

export interface GuardResult {
  readonly status: number;
  /** What the guard writes to stderr: the child's, with V8's report replaced by outOfMemoryMessage. */
  readonly stderr: string;
}

/** How the child ended, as the guard reports it. */
export function guardResult(
  code: number | null,
  signal: NodeJS.Signals | null,
  childStderr: string,
  heapMB: number,
  argv: readonly string[],
): GuardResult {
  if (childStderr.includes(V8_OUT_OF_MEMORY)) {
    const cut = Math.min(...V8_REPORT_STARTS.map((m) => childStderr.indexOf(m)).filter((i) => i >= 0));
    const before = childStderr.slice(0, cut).trimEnd();
    return { status: 2, stderr: (before ? `${before}\n` : "") + outOfMemoryMessage(heapMB, argv) };
  }
  if (signal !== null) return { status: 2, stderr: `${childStderr}plan: stopped by ${signal}\n` };
  return { status: code ?? 2, stderr: childStderr };
}

/** Run plan in a child with the heap; resolves to its exit status once stderr is written. */
export function runGuarded(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let heapMB: number;
  try {
    heapMB = planHeapMB(env[PLAN_HEAP_ENV]);
  } catch (error) {
    process.stderr.write(`plan: ${(error as Error).message}\n`);
    return Promise.resolve(2);
  }
  const script = path.join(__dirname, path.extname(__filename) === ".ts" ? "plan.ts" : "plan.js");
  const loader = path.extname(__filename) === ".ts" ? ["-r", "ts-node/register/transpile-only"] : [];
  const child = spawn(process.execPath, [...loader, `--max-old-space-size=${heapMB}`, script, ...argv], {
    stdio: ["inherit", "inherit", "pipe"],
    env,
  });
  const chunks: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      const result = guardResult(code, signal, Buffer.concat(chunks).toString("utf8"), heapMB, argv);
      process.stderr.write(result.stderr, () => resolve(result.status));
    });
  });
}

if (require.main === module) {
  runGuarded(process.argv.slice(2)).then((status) => process.exit(status));
}
