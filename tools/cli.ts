/** What the commands (plan, verify) share: where they write, their usage errors, and how they read options. */
import { parseArgs, type ParseArgsConfig } from "util";

/** Where a command writes its report and its errors: the process's streams, or a test's buffers. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const PROCESS_IO: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A problem with how a command was asked to run (an option, a file): exit status 2 with the usage line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** `--help` or `-h` was given: the command prints its help on stdout and exits 0, whatever else was given. */
export class HelpRequested extends Error {
  constructor() {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/**
 * The values of the command line's options (no positionals); an unknown or malformed option is a UsageError.
 * `--help` or `-h` anywhere (not as an option's value) throws HelpRequested, before any other problem is named.
 */
export function parseOptions<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: readonly string[],
  options: T,
) {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, tokens: true });
  if (tokens.some((t) => t.kind === "option" && (t.name === "help" || t.name === "h"))) {
    throw new HelpRequested();
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // Node's messages run on with advice about `--`; the first sentence is the point.
    throw new UsageError((error as Error).message.split(". ")[0]);
  }
}
