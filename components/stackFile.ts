/**
 * Reading `Pulumi.<stack>.yaml` without the Pulumi CLI: for `npm run plan` and `npm run verify`, and for the
 * program itself, which checks from the file whether a password is written in plain text (the engine's secret
 * marking cannot tell). Errors name the file and a line and column, never what the line holds: a stack file
 * may hold a credential.
 */
import * as fs from "fs";
import * as path from "path";
import { didYouMean, quoted } from "./messages";
import { isScalar, LineCounter, parse, parseDocument, visit, type Document } from "yaml";

/** The config namespace of every key this program reads: `registry-access:<key>`. */
export const CONFIG_NAMESPACE = "registry-access";

/** What stands in for a credential when a stack file is read without the stack's key (plans, tests). */
export const SECRET_PLACEHOLDER = "[secret]";

export interface StackFile {
  /** Every config key of the stack file, with its namespace (`kubernetes:context`). */
  readonly config: Record<string, unknown>;
  /** The `registry-access:` keys without their prefix: what parseSettings takes. */
  readonly settings: Record<string, unknown>;
}

export interface ReadOptions {
  /**
   * Put SECRET_PLACEHOLDER where a credential goes: in place of every `{ secure: ... }` value (nothing here can
   * decrypt it) and of every static registry password not set yet. Never used by `pulumi up`.
   */
  readonly placeholders?: boolean;
  /** How messages name the file. Defaults to its base name, `Pulumi.dev.yaml`. */
  readonly name?: string;
}

/**
 * A stack file that cannot be used, one line per problem. `unreadable`: no such file, a directory, no
 * permission. `invalid`: YAML syntax errors or a shape that is not a stack file.
 */
export class StackFileError extends Error {
  constructor(
    readonly kind: "unreadable" | "invalid",
    message: string,
  ) {
    super(message);
    this.name = "StackFileError";
  }
}

/**
 * The stack's name in `dev`, `org/dev` or `org/project/dev` (how the workflows name a stack with PULUMI_ORG):
 * the stack file is named after it. Undefined for anything else, a path say.
 */
export function stackName(given: string): string | undefined {
  const parts = given.split("/");
  const ok = (p: string) => /^[A-Za-z0-9_.-]+$/.test(p) && p !== "." && p !== "..";
  return parts.length <= 3 && parts.every(ok) ? parts[parts.length - 1] : undefined;
}

/** The path of a stack's settings file in the project directory. */
export function stackFilePath(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : `a ${typeof value}`;
}

/**
 * What each of the `yaml` package's error codes means, in our words: its own messages quote the offending text
 * (`Invalid escape sequence \q`, a code frame with the whole line), which may be a password.
 */
const YAML_ERRORS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: "an alias (*name) cannot carry an anchor or a tag",
  BAD_ALIAS: "an alias (*name) that refers to no anchor before it",
  BAD_COLLECTION_TYPE: "a collection of the wrong kind for its tag",
  BAD_DIRECTIVE: "a % directive that is not valid",
  BAD_DQ_ESCAPE: "an escape sequence that is not valid in a double-quoted string",
  BAD_INDENT: "bad indentation",
  BAD_PROP_ORDER: "an anchor or tag after the value it belongs to",
  BAD_SCALAR_START: "a plain value that starts with a reserved character: quote it",
  BLOCK_AS_IMPLICIT_KEY: "a second ': ' on one line (a mapping inside a mapping's value): quote the value",
  BLOCK_IN_FLOW: "a block collection inside [ ] or { }",
  DUPLICATE_KEY: "a key that is already defined in this map",
  IMPOSSIBLE: "text the parser cannot read",
  KEY_OVER_1024_CHARS: "a key longer than 1024 characters",
  MISSING_CHAR: "a missing closing character (a quote, ] or })",
  MULTILINE_IMPLICIT_KEY: "a key that runs over more than one line (a missing ':'?)",
  MULTIPLE_ANCHORS: "more than one anchor on a value",
  MULTIPLE_DOCS: "a second YAML document (---): a stack file is one document",
  MULTIPLE_TAGS: "more than one tag on a value",
  NON_STRING_KEY: "a key that is not a string",
  RESOURCE_EXHAUSTION: "aliases that expand too far",
  TAB_AS_INDENT: "a tab used for indentation: use spaces",
  TAG_RESOLVE_FAILED: "a tag that cannot be resolved",
  UNEXPECTED_TOKEN: "unexpected characters",
};

interface YamlErrorLike {
  readonly code?: string;
  readonly pos?: readonly number[];
  readonly linePos?: readonly { readonly line: number; readonly col: number }[];
}

/**
 * For a DUPLICATE_KEY error, the key (a key is a name, never a credential) and the line of its first
 * definition: `the key "x" is already defined in this map (at line 3)`. Undefined when the key is not a plain scalar.
 */
function duplicateKey(doc: Document, offset: number | undefined, lines: LineCounter): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Map(_, map) {
      const i = map.items.findIndex((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (i < 0) return undefined;
      const key = map.items[i].key as { value: unknown };
      const first = map.items.find((p) => isScalar(p.key) && p.key.value === key.value);
      const at = isScalar(first?.key) && first.key.range ? lines.linePos(first.key.range[0]).line : undefined;
      found = `the key ${quoted(String(key.value))} is already defined in this map${at !== undefined ? ` (at line ${at})` : ""}`;
      return visit.BREAK;
    },
  });
  return found;
}

/** `line 7, column 17: <what>`, from the error's position and code only (a duplicate key also by its name). */
function syntaxError(
  error: YamlErrorLike,
  duplicate?: (offset: number | undefined) => string | undefined,
): string {
  const at = error.linePos?.[0];
  const where = at ? `line ${at.line}, column ${at.col}` : "somewhere";
  const code = error.code ?? "UNKNOWN";
  const key = code === "DUPLICATE_KEY" ? duplicate?.(error.pos?.[0]) : undefined;
  if (key !== undefined) return `${where}: ${key}`;
  return `${where}: ${YAML_ERRORS[code] ?? `a YAML error (${code})`}`;
}

/** The top-level keys of `Pulumi.<stack>.yaml` that the Pulumi CLI reads (its ProjectStack); it ignores others. */
const STACK_FILE_KEYS = ["config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt"];

/**
 * YAML as the Pulumi CLI reads a stack file (Go's yaml.v3): merge keys (`<<: *defaults`) are honoured, the
 * keys written beside them winning over the merged ones.
 */
const YAML_OPTIONS = { merge: true } as const;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listed(name: string, heading: string, problems: readonly string[]): string {
  return `${name}: ${heading}:\n${problems.map((p) => `  - ${p}`).join("\n")}`;
}

/**
 * The file's text, or a StackFileError ("unreadable") that says why it cannot be read (never a stack trace).
 * `kind` names what the file should have been, for a directory: "a stack file", or verify's "a Docker config file".
 */
export function readText(file: string, kind = "a stack file"): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? `it is a directory, not ${kind}`
          : code === "EACCES"
            ? "permission denied"
            : (code ?? "read failed");
    throw new StackFileError("unreadable", `cannot read ${file}: ${why}`);
  }
}

/**
 * The `config:` map of a stack file's text, by own keys only. Throws a StackFileError naming `name` with every
 * syntax error (line and column, never the line's content), or with what is wrong with the document's shape.
 */
export function parseStackConfig(text: string, name: string): Record<string, unknown> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_OPTIONS, lineCounter });
  const seen = new Set<string>();
  const errors = doc.errors
    .map((e) => syntaxError(e, (offset) => duplicateKey(doc, offset, lineCounter)))
    .filter((e) => !seen.has(e) && seen.add(e));
  if (errors.length > 0) {
    throw new StackFileError("invalid", listed(name, plural(errors.length, "YAML syntax error"), errors));
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    throw new StackFileError("invalid", `${name}: ${syntaxError(error as YamlErrorLike)}`);
  }
  if (value === null || value === undefined) return {};
  if (!isMap(value)) {
    throw new StackFileError(
      "invalid",
      `${name}: expected a map with a config: key at the top, got ${kindOf(value)}`,
    );
  }
  const unknown = Object.keys(value).filter((key) => !STACK_FILE_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new StackFileError(
      "invalid",
      listed(
        name,
        plural(unknown.length, "unknown top-level key"),
        unknown.map(
          (key) =>
            `${quoted(key)}: not a key of a stack file, which Pulumi ignores (with it the stack has no config); ` +
            `${didYouMean(key, STACK_FILE_KEYS)}a stack file's keys: ${STACK_FILE_KEYS.join(", ")}`,
        ),
      ),
    );
  }
  const config = Object.hasOwn(value, "config") ? value.config : undefined;
  if (config === null || config === undefined) return {};
  if (!isMap(config)) {
    throw new StackFileError(
      "invalid",
      `${name}: config: expected a map of config keys (registry-access:registries: ...), got ${kindOf(config)}`,
    );
  }
  return config;
}

function replaceSecure(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(replaceSecure);
  if (!isMap(value)) return value;
  if (Object.keys(value).length === 1 && typeof value.secure === "string") return SECRET_PLACEHOLDER;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v)]));
}

function fillMissingPasswords(registries: unknown): unknown {
  if (!isMap(registries)) return registries;
  return Object.fromEntries(
    Object.entries(registries).map(([id, reg]) => [
      id,
      isMap(reg) && reg.type === "static" && !Object.hasOwn(reg, "password")
        ? { ...reg, password: SECRET_PLACEHOLDER }
        : reg,
    ]),
  );
}

/** Read `Pulumi.<stack>.yaml` without the Pulumi CLI. Throws a StackFileError for a file that cannot be used. */
export function readStackFile(file: string, options: ReadOptions = {}): StackFile {
  return stackFileOf(parseStackConfig(readText(file), options.name ?? path.basename(file)), options);
}

/** A stack file's `config:` map (parseStackConfig) as readStackFile gives it. */
export function stackFileOf(parsed: Record<string, unknown>, options: ReadOptions = {}): StackFile {
  let config = parsed;
  const prefix = `${CONFIG_NAMESPACE}:`;
  if (options.placeholders) {
    config = replaceSecure(config) as Record<string, unknown>;
    const key = `${prefix}registries`;
    if (Object.hasOwn(config, key)) config = { ...config, [key]: fillMissingPasswords(config[key]) };
  }
  const settings = Object.fromEntries(
    Object.entries(config)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value]),
  );
  return { config, settings };
}

/** Where the stack file has a static registry's password: not at all, encrypted (`secure:`), or in plain text. */
export type PasswordInFile = "missing" | "secret" | "plaintext";

/**
 * For each static registry of a stack file's `config:` (as parseStackConfig returns it, no placeholders), where
 * its password is. Only the file can tell plain text apart: the engine marks the whole `registries` key secret
 * as soon as any one value in it was set with `--secret`.
 */
export function passwordsInFile(config: Readonly<Record<string, unknown>>): Record<string, PasswordInFile> {
  const key = `${CONFIG_NAMESPACE}:registries`;
  const registries = Object.hasOwn(config, key) ? config[key] : undefined;
  if (!isMap(registries)) return {};
  const out: [string, PasswordInFile][] = [];
  for (const [id, reg] of Object.entries(registries)) {
    if (!isMap(reg) || reg.type !== "static") continue;
    const password = Object.hasOwn(reg, "password") ? reg.password : undefined;
    if (password === undefined || password === null) out.push([id, "missing"]);
    else if (isMap(password) && typeof password.secure === "string") out.push([id, "secret"]);
    else if (typeof password === "string") out.push([id, "plaintext"]);
  }
  return Object.fromEntries(out);
}

/**
 * The stack file of `stack` in the first of `projectDirs` that holds a Pulumi.yaml (in its `stackConfigDir`
 * when it sets one), or undefined: no project there, or a stack whose config lives elsewhere (Pulumi ESC, an
 * Automation API program with its config in code).
 */
export function locateStackFile(stack: string, projectDirs: readonly string[]): string | undefined {
  for (const dir of projectDirs) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const project = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (project === undefined) continue;
    let configDir = dir;
    try {
      const doc: unknown = parse(fs.readFileSync(project, "utf8"), YAML_OPTIONS);
      if (isMap(doc) && typeof doc.stackConfigDir === "string")
        configDir = path.resolve(dir, doc.stackConfigDir);
    } catch {
      // The CLI has read this Pulumi.yaml already; if this parser cannot, the default place stands.
    }
    const file = stackFilePath(configDir, stack);
    return fs.existsSync(file) ? file : undefined;
  }
  return undefined;
}
