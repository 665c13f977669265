/**
 * npm run schema [-- --check]
 *
 * Writes schema/stack-config.schema.json, the JSON Schema of `Pulumi.<stack>.yaml` that editors use for
 * completion and inline errors (yaml-language-server, VS Code's YAML extension), from the declarations that
 * settings.ts validates against (components/configSpec.ts). With --check it only compares, and exits 1 when the
 * committed file is out of date.
 */
import * as path from "path";
import { runGenerator } from "./generatedFile";
import { CONFIG, keysOf, Spec, StringSpec } from "../components/configSpec";
import { CONFIG_NAMESPACE } from "../components/stackFile";

export const SCHEMA_FILE = path.resolve(__dirname, "..", "schema", "stack-config.schema.json");

type Json = { [key: string]: unknown };

/** `docker.io` as a pattern that ignores case, as isDockerHub does: `[dD][oO][cC]...`. */
function anyCase(text: string): string {
  return [...text]
    .map((c) =>
      /[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"),
    )
    .join("");
}

function stringSchema(spec: StringSpec): Json {
  const out: Json = { type: "string", description: spec.description };
  if (spec.enum !== undefined) out.enum = [...spec.enum];
  if (spec.default !== undefined) out.default = spec.default;
  if (spec.maxLength !== undefined) out.maxLength = spec.maxLength;
  if (spec.pattern !== undefined && spec.aliases !== undefined) {
    out.anyOf = [{ pattern: spec.pattern }, { pattern: `^(?:${spec.aliases.map(anyCase).join("|")})$` }];
  } else if (spec.pattern !== undefined) {
    out.pattern = spec.pattern;
  }
  return out;
}

/** One declaration as JSON Schema (draft-07, what yaml-language-server reads). */
export function toJsonSchema(spec: Spec): Json {
  switch (spec.kind) {
    case "string":
      return stringSchema(spec);
    case "secret":
      return {
        type: "object",
        description: spec.description,
        properties: {
          secure: { type: "string", description: "The value encrypted with the stack's key." },
        },
        required: ["secure"],
        additionalProperties: false,
      };
    case "integer":
      return {
        type: "integer",
        description: spec.description,
        minimum: spec.minimum,
        maximum: spec.maximum,
        ...(spec.default !== undefined ? { default: spec.default } : {}),
      };
    case "boolean":
      return {
        type: "boolean",
        description: spec.description,
        ...(spec.default !== undefined ? { default: spec.default } : {}),
      };
    case "object":
      return {
        type: "object",
        description: spec.description,
        properties: Object.fromEntries(keysOf(spec).map((k) => [k, toJsonSchema(spec.properties[k])])),
        ...(spec.required?.length ? { required: [...spec.required] } : {}),
        additionalProperties: false,
      };
    case "map": {
      const keys = spec.keys === undefined ? undefined : stringSchema(spec.keys);
      return {
        type: "object",
        description: spec.description,
        ...(keys !== undefined
          ? { propertyNames: { pattern: keys.pattern, maxLength: keys.maxLength } }
          : {}),
        ...(spec.minProperties !== undefined ? { minProperties: spec.minProperties } : {}),
        additionalProperties: toJsonSchema(spec.values),
      };
    }
    case "list":
      return {
        type: "array",
        description: spec.description,
        items: toJsonSchema(spec.items),
        ...(spec.minItems !== undefined ? { minItems: spec.minItems } : {}),
        ...(spec.unique ? { uniqueItems: true } : {}),
        ...(spec.default !== undefined ? { default: [...spec.default] } : {}),
      };
    case "tagged": {
      const tags = Object.keys(spec.variants);
      return {
        type: "object",
        description: spec.description,
        required: ["type"],
        properties: { type: { enum: tags } },
        allOf: tags.map((tag) => ({
          if: { type: "object", properties: { type: { const: tag } }, required: ["type"] },
          then: toJsonSchema(spec.variants[tag]),
        })),
      };
    }
    case "either":
      return { description: spec.description, anyOf: spec.variants.map(toJsonSchema) };
    case "null":
      return { type: "null", description: spec.description };
  }
}

/** The whole schema of a stack file: `config:` with our keys, any other namespace's keys, Pulumi's own keys. */
export function stackConfigSchema(): Json {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const config = toJsonSchema(CONFIG) as { properties: Json; required: string[] };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "Pulumi.<stack>.yaml of registry-access",
    description:
      "A stack of registry-access: its registry-access:* keys (docs/configuration.md), and any other " +
      "namespace's (kubernetes:context, say). Generated from components/configSpec.ts by npm run schema.",
    type: "object",
    properties: {
      config: {
        type: "object",
        description: "The stack's configuration: namespace:key entries.",
        properties: Object.fromEntries(
          Object.entries(config.properties).map(([k, v]) => [`${prefix}${k}`, v]),
        ),
        // Other namespaces (kubernetes:, azure-native:) are theirs to describe; any other registry-access: key
        // is a mistake, a value set without --path (registry-access:registries.hub.password) say.
        patternProperties: { [`^(?!${prefix})`]: {} },
        additionalProperties: false,
        // A namespace names its registries unless namespaceDefaults gives some (settings.ts checks the merge).
        if: {
          not: {
            type: "object",
            properties: { [`${prefix}namespaceDefaults`]: { type: "object", required: ["registries"] } },
            required: [`${prefix}namespaceDefaults`],
          },
        },
        then: {
          type: "object",
          properties: {
            [`${prefix}namespaces`]: {
              type: "object",
              additionalProperties: { type: "object", required: ["registries"] },
            },
          },
        },
      },
      environment: { description: "Pulumi ESC environments this stack imports: config may come from them." },
      secretsprovider: { type: "string", description: "How the stack's secrets are encrypted." },
      encryptedkey: {
        type: "string",
        description: "The stack's data key, encrypted by the secrets provider.",
      },
      encryptionsalt: { type: "string", description: "The passphrase secrets provider's salt." },
    },
    // Without an ESC environment, the stack file is where the required keys must be.
    if: { not: { type: "object", properties: { environment: {} }, required: ["environment"] } },
    then: {
      type: "object",
      required: ["config"],
      properties: { config: { type: "object", required: config.required.map((k) => `${prefix}${k}`) } },
    },
  };
}

/** The file's text, formatted as prettier (npm run lint) wants it. */
export async function schemaText(): Promise<string> {
  const prettier = await import("prettier");
  const options = (await prettier.resolveConfig(SCHEMA_FILE)) ?? {};
  return prettier.format(JSON.stringify(stackConfigSchema()), { ...options, parser: "json" });
}

if (require.main === module) {
  runGenerator({ file: SCHEMA_FILE, script: "schema", text: () => schemaText() });
}
