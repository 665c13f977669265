/**
 * npm run docs [-- --check]
 *
 * Writes docs/configuration.md: the prose of tools/configuration.template.md with, at its marker line, the
 * reference of every `registry-access:` key rendered from components/configSpec.ts — the declarations settings.ts
 * validates against and tools/schema.ts turns into the editor schema — nested as the stack file nests them. With
 * --check it only compares, and exits 1 when the committed file is out of date.
 */
import * as fs from "fs";
import * as path from "path";
import { runGenerator } from "./generatedFile";
import { CONFIG, keysOf, ObjectSpec, Spec, StringSpec } from "../components/configSpec";
import { CONFIG_NAMESPACE } from "../components/stackFile";

export const CONFIGURATION_FILE = path.resolve(__dirname, "..", "docs", "configuration.md");
export const TEMPLATE_FILE = path.resolve(__dirname, "configuration.template.md");
export const MARKER = "<!-- generated reference: tools/docs.ts replaces this line (npm run docs) -->";

/** What stands for a key of the user's choosing, by the map's own key. */
const MAP_KEYS: Readonly<Record<string, string>> = {
  registries: "<registry id>",
  namespaces: "<namespace>",
  labels: "<label>",
  annotations: "<annotation>",
};

const code = (text: string): string => (text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``);

/** A description as markdown: `<org>` outside code spans would be taken for an HTML tag and vanish. */
export function prose(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, "&lt;")))
    .join("");
}

/** A default as the stack file would spell it. */
function yamlValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => yamlValue(v)).join(", ")}]`;
  return String(value);
}

function stringFacts(spec: StringSpec): string[] {
  const facts: string[] = [];
  if (spec.enum !== undefined) facts.push(`one of ${spec.enum.map(code).join(", ")}`);
  if (spec.pattern !== undefined) facts.push(`pattern ${code(spec.pattern)}`);
  if (spec.maxLength !== undefined) facts.push(`at most ${spec.maxLength} characters`);
  if (spec.aliases !== undefined)
    facts.push(`also accepted, in any case: ${spec.aliases.map(code).join(", ")}`);
  return facts;
}

/** The type and constraints of one declaration, without its children. */
export function facts(spec: Spec): string[] {
  switch (spec.kind) {
    case "string":
      return ["string", ...stringFacts(spec)];
    case "secret":
      return ["secret (`{ secure: ... }`, written by `pulumi config set --secret`)"];
    case "integer":
      return [`integer, ${spec.minimum} to ${spec.maximum}`];
    case "boolean":
      return ["boolean"];
    case "object":
      return ["object"];
    case "map": {
      const out = ["map"];
      if (spec.keys !== undefined) out.push(...stringFacts(spec.keys).map((f) => `keys: ${f}`));
      if (spec.minProperties !== undefined) out.push(`at least ${spec.minProperties} entry`);
      return out;
    }
    case "list": {
      const out = ["list"];
      if (spec.minItems !== undefined) out.push(`at least ${spec.minItems} item`);
      if (spec.unique) out.push("no duplicates");
      return out;
    }
    case "tagged":
      return [`object, by \`type\`: ${Object.keys(spec.variants).map(code).join(" or ")}`];
    case "either":
      return ["one of the shapes below"];
    case "null":
      return ["`null`"];
  }
}

function defaultOf(spec: Spec): unknown {
  return "default" in spec ? spec.default : undefined;
}

/** One key as a list item: `key` (facts; required; default x): description, then its children indented. */
function item(key: string, spec: Spec, required: boolean, depth: number): string[] {
  const parts = facts(spec);
  if (required) parts.push("required");
  const fallback = defaultOf(spec);
  if (fallback !== undefined) parts.push(`default ${code(yamlValue(fallback))}`);
  const indent = "  ".repeat(depth);
  return [
    `${indent}- ${code(key)} (${parts.join("; ")}): ${prose(spec.description)}`,
    ...children(key, spec, depth + 1),
  ];
}

function properties(spec: ObjectSpec, depth: number): string[] {
  const required = new Set(spec.required ?? []);
  return keysOf(spec).flatMap((k) => item(k, spec.properties[k], required.has(k), depth));
}

function children(key: string, spec: Spec, depth: number): string[] {
  const indent = "  ".repeat(depth);
  switch (spec.kind) {
    case "object":
      return properties(spec, depth);
    case "map":
      return item(MAP_KEYS[key] ?? "<key>", spec.values, false, depth);
    case "list":
      return item("<item>", spec.items, false, depth);
    case "tagged":
      return Object.entries(spec.variants).flatMap(([tag, variant]) => [
        `${indent}- with ${code(`type: ${tag}`)}: ${prose(variant.description)}`,
        ...properties(variant, depth + 1),
      ]);
    case "either":
      return spec.variants.flatMap((variant) => item(`<${variant.kind}>`, variant, false, depth));
    default:
      return [];
  }
}

/** The reference: one section per top-level key, as `registry-access:<key>`. */
export function reference(): string {
  const config: ObjectSpec = CONFIG;
  const required = new Set(config.required);
  return keysOf(config)
    .map((k) => {
      const spec = config.properties[k];
      return [`### ${code(`${CONFIG_NAMESPACE}:${k}`)}`, "", ...item(k, spec, required.has(k), 0)].join("\n");
    })
    .join("\n\n");
}

/** The whole file: the template with the reference at its marker, formatted as prettier (npm run lint) wants it. */
export async function configurationText(template = fs.readFileSync(TEMPLATE_FILE, "utf8")): Promise<string> {
  const lines = template.split("\n");
  const at = lines.indexOf(MARKER);
  if (at < 0 || lines.indexOf(MARKER, at + 1) >= 0) {
    throw new Error(
      `${path.relative(process.cwd(), TEMPLATE_FILE)}: needs the marker line ${MARKER} exactly once`,
    );
  }
  const generated = [
    "<!-- Generated by npm run docs from components/configSpec.ts and tools/configuration.template.md: edit those. -->",
    "",
    reference(),
  ];
  const text = [...lines.slice(0, at), ...generated, ...lines.slice(at + 1)].join("\n");
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(CONFIGURATION_FILE)) ?? {};
  return prettier.format(text, { ...options, parser: "markdown" });
}

if (require.main === module) {
  runGenerator({ file: CONFIGURATION_FILE, script: "docs", text: () => configurationText() });
}
