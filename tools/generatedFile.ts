/**
 * The `main` that every generator under tools/ shares (`npm run schema`, `npm run docs`): write a generated file,
 * or with `--check` only compare it with the committed one and exit 1, naming the command, when it is stale.
 */
import * as fs from "fs";
import * as path from "path";

export interface GeneratedFile {
  /** Absolute path of the generated file. */
  readonly file: string;
  /** The npm script that writes it, named in the stale message: `schema` for `npm run schema`. */
  readonly script: string;
  /** The file's text as the generator makes it now. */
  readonly text: () => Promise<string>;
}

export interface Output {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processOutput: Output = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Writes the file (exit code 0), or with --check compares it: 0 when current, 1 when stale or missing. */
export async function writeOrCheck(
  generated: GeneratedFile,
  argv: readonly string[],
  out: Output = processOutput,
): Promise<number> {
  const text = await generated.text();
  const shown = path.relative(process.cwd(), generated.file);
  if (argv.includes("--check")) {
    const current = fs.existsSync(generated.file) ? fs.readFileSync(generated.file, "utf8") : "";
    if (current === text) return 0;
    out.stderr(`${shown} is out of date: run npm run ${generated.script}\n`);
    return 1;
  }
  fs.writeFileSync(generated.file, text);
  out.stdout(`wrote ${shown}\n`);
  return 0;
}

/** Runs writeOrCheck as the process: its code is the exit code; an error exits 2 with `<script>: <message>`. */
export function runGenerator(generated: GeneratedFile): void {
  writeOrCheck(generated, process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(
        `${generated.script}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(2);
    },
  );
}
