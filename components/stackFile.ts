import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_NAMESPACE } from "./settings";

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
}

/** The path of a stack's settings file in the project directory. */
export function stackFilePath(projectDir: string, stack: string): string {
  return path.join(projectDir, `Pulumi.${stack}.yaml`);
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
      isMap(reg) && reg.type === "static" && reg.password === undefined
        ? { ...reg, password: SECRET_PLACEHOLDER }
        : reg,
    ]),
  );
}

/** Read `Pulumi.<stack>.yaml` without the Pulumi CLI. */
export function readStackFile(file: string, options: ReadOptions = {}): StackFile {
  const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  let config = doc?.config ?? {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  if (options.placeholders) {
    config = replaceSecure(config) as Record<string, unknown>;
    const key = `${prefix}registries`;
    if (key in config) config = { ...config, [key]: fillMissingPasswords(config[key]) };
  }
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith(prefix)) settings[key.slice(prefix.length)] = value;
  }
  return { config, settings };
}
