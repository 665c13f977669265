/**
 * Pure builders for the External Secrets Operator (ESO) objects that deliver a namespace's pull secret from
 * Azure Key Vault, a Go-duration parser, and validation against ESO's published CRD schemas. No Pulumi here:
 * the component declares `CustomResource`s from what these functions return.
 *
 * ESO semantics these builders rely on (ESO docs and `providers/v1/azure/keyvault/keyvault.go`):
 * - azurekv reads `remoteRef.key` as `[<type>/]<name>`, `<type>` one of `secret`, `key`, `cert`, and defaults
 *   to `secret` without a prefix. The prefix is optional; we write `secret/` so the object type is explicit.
 * - With no `remoteRef.property`, azurekv returns the secret's value as is, so the whole `.dockerconfigjson`
 *   text reaches the template unparsed.
 * - `conversionStrategy` (Default), `decodingStrategy` (None) and `metadataPolicy` (None) have CRD defaults in
 *   both v1 and v1beta1 and those defaults are what we need (raw text, no base64 decoding), so we leave them out.
 * - The template engine defaults to v2 in v1beta1 and v1 (the v1 schema only knows v2). `{{ .x | toString }}`
 *   is the form ESO's own dockerconfigjson guide uses, and it reads the same in both API versions.
 */
import * as path from "path";
import { MANAGED_BY_LABELS } from "./names";

export type EsoApiVersion = "external-secrets.io/v1" | "external-secrets.io/v1beta1";

/** The ESO API versions the builders can target: v1 (current ESO) and v1beta1 (older installs). */
export const ESO_API_VERSIONS: readonly EsoApiVersion[] = Object.freeze([
  "external-secrets.io/v1",
  "external-secrets.io/v1beta1",
] as const);

/** The kinds `validateEsoManifest` knows. */
const ESO_KINDS = ["SecretStore", "ClusterSecretStore", "ExternalSecret"] as const;
type EsoKind = (typeof ESO_KINDS)[number];

export { MANAGED_BY_LABELS };

/** The key the provider value gets inside ESO (the template input), a plain Go template identifier. */
const TEMPLATE_INPUT_KEY = "dockerconfigjson";

export interface SecretStoreInput {
  readonly apiVersion: EsoApiVersion;
  /** Store name, e.g. "registry-access". */
  readonly name: string;
  readonly namespace: string;
  /** `https://<vault>.vault.azure.net`. */
  readonly vaultUrl: string;
  /** The service account ESO borrows through workload identity; it carries the client-id annotation. */
  readonly serviceAccountName: string;
}

/** A namespaced SecretStore for Azure Key Vault that authenticates as `serviceAccountName` (workload identity). */
export function secretStoreManifest(input: SecretStoreInput): Record<string, unknown> {
  return {
    apiVersion: input.apiVersion,
    kind: "SecretStore",
    metadata: { name: input.name, namespace: input.namespace, labels: { ...MANAGED_BY_LABELS } },
    spec: {
      provider: {
        azurekv: {
          authType: "WorkloadIdentity",
          vaultUrl: input.vaultUrl,
          serviceAccountRef: { name: input.serviceAccountName },
        },
      },
    },
  };
}

export interface ExternalSecretInput {
  readonly apiVersion: EsoApiVersion;
  readonly name: string;
  readonly namespace: string;
  readonly store: { readonly kind: "SecretStore" | "ClusterSecretStore"; readonly name: string };
  /** Go duration, e.g. "1h"; "0" syncs once. */
  readonly refreshInterval: string;
  /** The pull secret ESO creates and owns, e.g. "regcred". */
  readonly targetSecretName: string;
  /** The Key Vault secret whose value is the complete `.dockerconfigjson` text. */
  readonly vaultSecretName: string;
}

/**
 * An ExternalSecret that turns the Key Vault secret into a `kubernetes.io/dockerconfigjson` Secret owned by
 * ESO (`creationPolicy: Owner`, so it goes when the ExternalSecret goes).
 */
export function externalSecretManifest(input: ExternalSecretInput): Record<string, unknown> {
  return {
    apiVersion: input.apiVersion,
    kind: "ExternalSecret",
    metadata: { name: input.name, namespace: input.namespace, labels: { ...MANAGED_BY_LABELS } },
    spec: {
      refreshInterval: input.refreshInterval,
      secretStoreRef: { kind: input.store.kind, name: input.store.name },
      target: {
        name: input.targetSecretName,
        creationPolicy: "Owner",
        template: {
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": `{{ .${TEMPLATE_INPUT_KEY} | toString }}` },
        },
      },
      data: [{ secretKey: TEMPLATE_INPUT_KEY, remoteRef: { key: `secret/${input.vaultSecretName}` } }],
    },
  };
}

const NANOS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // µ MICRO SIGN
  "\u03bcs": 1_000n, // μ GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_DURATION_NANOS = (1n << 63n) - 1n;
const NANOS_PER_MILLI = 1_000_000n;
/** One `<number><unit>` element of a Go duration: digits, an optional fraction, then anything up to a digit. */
const DURATION_ELEMENT = /^(\d*)(?:\.(\d*))?([^\d.]*)/;

/**
 * Parse a Go duration the way `time.ParseDuration` does (what ESO and `metav1.Duration` accept): "1h", "30m",
 * "1h30m", "90s", "0.5h", "1.5s", "300ms", a bare "0", an optional leading "+". Returns milliseconds (fractions
 * for sub-millisecond units), or undefined when invalid: empty, negative (any leading "-"), a number without a
 * unit, an unknown unit ("1d", "1H"), spaces, or more than Go's maximum (about 292 years).
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text.startsWith("+") ? text.slice(1) : text;
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let nanos = 0n;
  while (rest !== "") {
    const match = DURATION_ELEMENT.exec(rest);
    if (!match) return undefined;
    const [element, whole, fraction = "", unitName] = match;
    if (whole === "" && fraction === "") return undefined;
    const unit = NANOS_PER_UNIT[unitName];
    if (unit === undefined) return undefined;
    nanos += BigInt(whole || "0") * unit;
    if (fraction !== "") nanos += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    if (nanos > MAX_DURATION_NANOS) return undefined;
    rest = rest.slice(element.length);
  }
  return Number(nanos / NANOS_PER_MILLI) + Number(nanos % NANOS_PER_MILLI) / 1e6;
}

/** An ajv error as the generated validators report it. */
interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

type EsoModelClass = new (data: Record<string, unknown>) => { validate(): void };
const modelClasses = new Map<string, EsoModelClass>();

/**
 * The model class of `@kubernetes-models/external-secrets` (validators compiled from ESO's CRD schemas).
 * The package is ESM-only and exports only an `import` condition, so a CommonJS program cannot `require` it by
 * name; we require the file itself, which needs Node's require(esm) (Node 20.19+, 22.12+). Loaded on first use
 * so that the builders work without the package.
 */
function loadModelClass(apiVersion: EsoApiVersion, kind: EsoKind): EsoModelClass {
  const cacheKey = `${apiVersion}/${kind}`;
  const cached = modelClasses.get(cacheKey);
  if (cached) return cached;
  const packageDir = path.dirname(require.resolve("@kubernetes-models/external-secrets/package.json"));
  const file = path.join(packageDir, "external-secrets.io", apiVersion.split("/")[1], `${kind}.js`);
  let loaded: Record<string, EsoModelClass>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file);
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_REQUIRE_ESM") {
      throw new Error(
        `validateEsoManifest needs a Node.js that can require ES modules (20.19+ or 22.12+), not ${process.version}`,
      );
    }
    throw err;
  }
  const modelClass = loaded[kind];
  modelClasses.set(cacheKey, modelClass);
  return modelClass;
}

function isEsoApiVersion(value: unknown): value is EsoApiVersion {
  return (ESO_API_VERSIONS as readonly unknown[]).includes(value);
}

function isEsoKind(value: unknown): value is EsoKind {
  return (ESO_KINDS as readonly unknown[]).includes(value);
}

function quoteAll(values: readonly unknown[]): string {
  return values.map((value) => JSON.stringify(value)).join(", ");
}

/** JSON pointer segments (`/spec/data/0/remoteRef`) of an ajv instance path, unescaped. */
function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** `spec.data[0].remoteRef`, `spec.target.template.data[".dockerconfigjson"]`. */
function fieldPath(segments: readonly string[]): string {
  let result = "";
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) result += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) result += result === "" ? segment : `.${segment}`;
    else result += `[${JSON.stringify(segment)}]`;
  }
  return result === "" ? "(root)" : result;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function describeSchemaError(manifest: Record<string, unknown>, error: SchemaError): string {
  const segments = pointerSegments(error.instancePath);
  const value = valueAt(manifest, segments);
  const params = error.params;
  switch (error.keyword) {
    case "required":
      return `${fieldPath([...segments, String(params.missingProperty)])}: required field is missing`;
    case "enum":
      return `${fieldPath(segments)}: ${JSON.stringify(value)} is not one of ${quoteAll(params.allowedValues as unknown[])}`;
    case "type":
      return `${fieldPath(segments)}: must be of type ${[params.type].flat().join(" or ")}, not ${JSON.stringify(value)}`;
    case "pattern":
      return `${fieldPath(segments)}: ${JSON.stringify(value)} does not match ${String(params.pattern)}`;
    case "minLength":
      return `${fieldPath(segments)}: ${JSON.stringify(value)} is shorter than ${String(params.limit)} character(s)`;
    case "maxLength":
      return `${fieldPath(segments)}: is longer than ${String(params.limit)} characters`;
    default:
      return `${fieldPath(segments)}: ${error.message ?? `fails the schema's ${error.keyword} rule`}`;
  }
}

/**
 * Validate a SecretStore, ClusterSecretStore or ExternalSecret (v1 or v1beta1) against ESO's published CRD
 * schema for its apiVersion and kind, through `@kubernetes-models/external-secrets`. Returns one problem per
 * line, `<field path>: <what is wrong>`, empty when valid. Beyond the schema (which types `refreshInterval` as
 * a plain string) it also requires an ExternalSecret's `spec.refreshInterval` to be a Go duration, because
 * ESO's controller cannot decode the object otherwise.
 *
 * Known gap: the schemas do not forbid unknown fields, so a misspelt optional field name (`authTyp`) passes
 * here; the API server would prune it silently.
 */
export function validateEsoManifest(manifest: Record<string, unknown>): string[] {
  const { apiVersion, kind } = manifest;
  const typeProblems: string[] = [];
  if (!isEsoApiVersion(apiVersion)) {
    typeProblems.push(
      `apiVersion: ${JSON.stringify(apiVersion)} is not one of ${quoteAll(ESO_API_VERSIONS)}`,
    );
  }
  if (!isEsoKind(kind)) {
    typeProblems.push(`kind: ${JSON.stringify(kind)} is not one of ${quoteAll(ESO_KINDS)}`);
  }
  if (!isEsoApiVersion(apiVersion) || !isEsoKind(kind)) return typeProblems;

  const problems: string[] = [];
  try {
    new (loadModelClass(apiVersion, kind))(manifest).validate();
  } catch (err) {
    const errors = (err as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) throw err;
    for (const error of errors as SchemaError[]) {
      const problem = describeSchemaError(manifest, error);
      if (!problems.includes(problem)) problems.push(problem);
    }
  }

  if (kind === "ExternalSecret") {
    const interval = valueAt(manifest, ["spec", "refreshInterval"]);
    if (typeof interval === "string" && parseGoDuration(interval) === undefined) {
      problems.push(
        `spec.refreshInterval: ${JSON.stringify(interval)} is not a Go duration (such as "1h", "30m" or "1h30m")`,
      );
    }
  }
  return problems;
}
