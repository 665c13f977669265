/**
 * Runs index.ts under Pulumi's mock runtime (no engine, cloud, cluster or credentials) and records every
 * registration with its inputs and options. Used by the tests, `npm run plan` and `npm run bench`.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
// Internal modules of the SDK: the mock monitor hides resource options from `Mocks`, so we read them from the
// registration request itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeSettings = require("@pulumi/pulumi/runtime/settings");

export const SECRET_SIG: string = rpc.specialSecretSig;
export const SIG_KEY: string = rpc.specialSigKey;

/** What the program registered, as the engine would see it. Secret inputs stay `{ [SIG_KEY]: SECRET_SIG, value }`. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** Inputs with secret envelopes kept. */
  readonly rawInputs: Record<string, unknown>;
  /** Inputs with secret envelopes unwrapped. */
  readonly inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  urn: string;
  readonly parent: string;
  readonly provider: string;
  readonly dependsOn: readonly string[];
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly deleteBeforeReplace: boolean;
  /** Each alias as the engine receives it: the type of an alias spec, or an alias URN. */
  readonly aliases: readonly string[];
}

export interface MockCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

/** Strip secret envelopes: `{ sig: secret, value }` becomes `value`. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Every string in `value` that is not inside a secret envelope, with its path. */
export function plaintextStrings(value: unknown, at = ""): { path: string; text: string }[] {
  if (typeof value === "string") return [{ path: at, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextStrings(v, `${at}[${i}]`));
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SIG_KEY] === SECRET_SIG) return [];
    return Object.entries(obj).flatMap(([k, v]) => plaintextStrings(v, `${at}.${k}`));
  }
  return [];
}

export class Recorder {
  readonly resources: Registered[] = [];
  readonly calls: MockCall[] = [];

  /** The one resource of this type and name; fails with the names that do exist. */
  find(type: string, name: string): Registered {
    const found = this.resources.filter((r) => r.type === type && r.name === name);
    if (found.length !== 1) {
      const names = this.ofType(type).map((r) => r.name);
      throw new Error(
        `expected one ${type} named ${name}, found ${found.length}; ${type}: ${names.join(", ")}`,
      );
    }
    return found[0];
  }

  ofType(type: string): Registered[] {
    return this.resources.filter((r) => r.type === type);
  }

  byUrn(urn: string): Registered {
    const found = this.resources.find((r) => r.urn === urn);
    if (!found) throw new Error(`no resource with urn ${urn}`);
    return found;
  }

  /**
   * Everything the engine would diff, per resource, sorted: two runs that give equal snapshots show no diff in
   * `pulumi preview`.
   */
  snapshot(): {
    type: string;
    name: string;
    inputs: unknown;
    dependsOn: readonly string[];
    parent: string;
  }[] {
    return this.resources
      .map((r) => ({
        type: r.type,
        name: r.name,
        inputs: r.rawInputs,
        dependsOn: r.dependsOn,
        parent: r.parent,
      }))
      .sort((a, b) => `${a.type}/${a.name}`.localeCompare(`${b.type}/${b.name}`));
  }

  /** `type/name` of every resource, sorted: a compact picture of what the program declares. */
  summary(): string[] {
    return this.resources.map((r) => `${r.type}/${r.name}`).sort();
  }
}

/**
 * Outputs that the mocks return for a resource beyond its inputs: ids and computed fields, shaped like what
 * Azure returns. The generated password is a marker that tests trace through the program.
 */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const sub = "00000000-0000-0000-0000-000000000000";
  switch (type) {
    case "azure-native:containerregistry:ScopeMap":
    case "azure-native:containerregistry:Token": {
      const kind = type.endsWith("ScopeMap") ? "scopeMaps" : "tokens";
      const itemName = (kind === "scopeMaps" ? inputs.scopeMapName : inputs.tokenName) as string;
      return {
        id: `/subscriptions/${sub}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/${inputs.registryName}/${kind}/${itemName}`,
        name: itemName,
      };
    }
    case "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword": {
      // AcrTokenPassword: what its create returns, with a password made from the token id so tests can trace it.
      const tokenId = String(inputs.tokenId ?? "");
      return {
        tokenName: tokenId.split("/").pop(),
        activeSlot: "password1",
        password: `generated-for-${name}`,
        activeCreated: "2026-11-01T00:00:00.000Z",
        password1Expiry: "2099-12-31T00:00:00.000Z",
        password2Expiry: null,
      };
    }
    case "random:index/randomInteger:RandomInteger": {
      // A stable number in [min, max] drawn from the name, as the provider keeps one in the state.
      const [min, max] = [Number(inputs.min), Number(inputs.max)];
      let hash = 0;
      for (const c of name) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
      return { result: min + (hash % (max - min + 1)) };
    }
    case "azure-native:keyvault:Secret":
      return {
        id: `/subscriptions/${sub}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${inputs.vaultName}/secrets/${inputs.secretName}`,
        name: inputs.secretName,
      };
    case "azure-native:managedidentity:UserAssignedIdentity":
      return {
        id: `/subscriptions/${sub}/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${inputs.resourceName}`,
        name: inputs.resourceName,
        clientId: `client-id-of-${inputs.resourceName}`,
        principalId: `principal-id-of-${inputs.resourceName}`,
        tenantId: "11111111-1111-1111-1111-111111111111",
      };
    default:
      return {};
  }
}

export interface RunOptions {
  readonly project?: string;
  readonly stack?: string;
  readonly preview?: boolean;
  /** Every resource registration takes this long (for the bench's sequential-script comparison). */
  readonly delayMs?: number;
  /** Secret config keys (full keys). Defaults to `registry-access:registries`, where credentials live. */
  readonly secretKeys?: readonly string[];
  /** Record into this recorder (to look at what a failing run declared). */
  readonly recorder?: Recorder;
  /** The outputs of the stack's last deployment, as its self-reference reads them. Defaults to none. */
  readonly lastDeployment?: Record<string, unknown>;
  /** Extra state a test wants a resource to come back with (an expiry date, say). */
  readonly state?: (type: string, name: string) => Record<string, unknown> | undefined;
  /**
   * Answers to invokes, by token, over the defaults (the last deployment's outputs, and a vault on Azure RBAC).
   * An answer that throws makes the invoke fail, as the engine's would.
   */
  readonly invokes?: Readonly<Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>>;
}

/** The invokes the program makes, answered as the engine and azure-native answer them. */
function defaultInvokes(
  options: RunOptions,
): Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>> {
  return {
    // pkg/resource/deploy/builtins.go: readStackOutputs returns { name, outputs, secretOutputNames }.
    "pulumi:pulumi:readStackOutputs": (inputs) => ({
      name: inputs.name,
      outputs: options.lastDeployment ?? {},
      secretOutputNames: [],
    }),
    // Microsoft.KeyVault/vaults GET: the permission model is properties.enableRbacAuthorization.
    "azure-native:keyvault:getVault": (inputs) => ({
      id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.KeyVault/vaults/${inputs.vaultName}`,
      name: inputs.vaultName,
      properties: { enableRbacAuthorization: true, tenantId: "11111111-1111-1111-1111-111111111111" },
    }),
    // A generic ARM GET; registries answer as one in ABAC mode would at api-version 2025-11-01.
    "azure-native:resources:getResource": (inputs) => ({
      id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${inputs.resourceGroupName}/providers/${inputs.resourceProviderNamespace}/${inputs.resourceType}/${inputs.resourceName}`,
      name: inputs.resourceName,
      type: `${inputs.resourceProviderNamespace}/${inputs.resourceType}`,
      azureApiVersion: inputs.apiVersion,
      properties: {
        roleAssignmentMode: "AbacRepositoryPermissions",
        policies: { azureADAuthenticationAsArmPolicy: { status: "enabled" } },
      },
    }),
    // Microsoft.ContainerRegistry/registries GET: the SKU decides how many tokens and scope maps fit.
    "azure-native:containerregistry:getRegistry": (inputs) => ({
      id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${inputs.resourceGroupName}/providers/Microsoft.ContainerRegistry/registries/${inputs.registryName}`,
      name: inputs.registryName,
      sku: { name: "Premium", tier: "Premium" },
    }),
  };
}

export interface ProgramRun {
  readonly recorder: Recorder;
  /** The stack outputs, awaited, secret envelopes kept where the value is secret. */
  readonly outputs: Record<string, unknown>;
  /** Stack outputs as Pulumi Outputs, to check secrecy with pulumi.isSecret. */
  readonly exports: Record<string, unknown>;
}

/** index.ts under ts-node, index.js when compiled (the bench runs compiled JavaScript). */
const INDEX = require.resolve(path.resolve(__dirname, "..", "index"));

/** Await an Output's value; for tests only (uses the SDK's own promise). */
export async function valueOf<T>(output: pulumi.Output<T> | T): Promise<T> {
  if (!pulumi.Output.isInstance(output)) return output;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (output as any).promise() as Promise<T>;
}

/** Wait until the mock monitor has seen no new registration for a few turns of the event loop. */
async function settle(pending: () => number, count: () => number): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 5) {
    await new Promise((r) => setTimeout(r, 2));
    const now = count();
    if (now === last && pending() === 0) stable++;
    else stable = 0;
    last = now;
  }
}

/**
 * What the recorder keeps of a registration request. Built apart from the monitor's callback: a closure shares its
 * scope with every other closure of the same call, so getters made beside `callback` would keep the SDK's
 * registration state (the request, its resolvers, their promises' stack traces) alive for every resource.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function recordedEntry(req: any): Registered {
  // Inputs are decoded when a test reads them, so that the bench measures the program, not this recorder.
  const object = req.getObject();
  let rawInputs: Record<string, unknown> | undefined;
  let inputs: Record<string, unknown> | undefined;
  return {
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    get rawInputs() {
      return (rawInputs ??= rpc.deserializeProperties(object) as Record<string, unknown>);
    },
    get inputs() {
      return (inputs ??= unwrapSecrets(this.rawInputs) as Record<string, unknown>);
    },
    urn: "",
    parent: req.getParent(),
    provider: req.getProvider(),
    dependsOn: req.getDependenciesList(),
    retainOnDelete: req.getRetainondelete() ?? false,
    ignoreChanges: req.getIgnorechangesList(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    aliases: req.getAliasesList().map((alias: any) => alias.getSpec()?.getType() ?? alias.getUrn()),
  };
}

/** Install mocks that record every registration and options into `recorder`. */
export async function installMocks(
  recorder: Recorder,
  options: RunOptions = {},
): Promise<() => Promise<void>> {
  const delay = options.delayMs ?? 0;
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        if (delay) await new Promise((r) => setTimeout(r, delay));
        const state = {
          ...args.inputs,
          ...computedState(args.type, args.name, args.inputs),
          ...options.state?.(args.type, args.name),
        };
        return { id: (state.id as string) ?? `${args.name}-id`, state };
      },
      call: (args) => {
        recorder.calls.push({ token: args.token, inputs: args.inputs });
        const answer = { ...defaultInvokes(options), ...options.invokes }[args.token];
        if (!answer) throw new Error(`unmocked call ${args.token}: the program must not look anything up`);
        try {
          return answer(args.inputs);
        } catch (err) {
          // The engine answers a failed invoke with a gRPC status whose `details` the SDK reports.
          const message = err instanceof Error ? err.message : String(err);
          throw Object.assign(new Error(message), { code: 2, details: message });
        }
      },
    },
    options.project ?? "registry-access",
    options.stack ?? "test",
    options.preview ?? false,
    "organization",
  );
  const monitor = runtimeSettings.getMonitor();
  const original = monitor.registerResource.bind(monitor);
  let inFlight = 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResource = (req: any, callback: (err: unknown, resp: any) => void) => {
    const entry = recordedEntry(req);
    recorder.resources.push(entry);
    inFlight++;
    return original(req, (err: unknown, resp: { getUrn(): string } | undefined) => {
      inFlight--;
      if (resp) entry.urn = resp.getUrn();
      callback(err, resp);
    });
  };
  return () =>
    settle(
      () => inFlight,
      () => recorder.resources.length,
    );
}

/** The config values as `pulumi config set` stores them: objects as JSON text. */
function encodeConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/**
 * Run index.ts under mocks with the given config (keys with their namespace: `registry-access:namespaces`).
 * Each call starts from a fresh module, so several runs fit in one test file.
 */
export async function runProgram(
  config: Record<string, unknown>,
  options: RunOptions = {},
): Promise<ProgramRun> {
  const recorder = options.recorder ?? new Recorder();
  const settled = await installMocks(recorder, options);
  // As `pulumi config set --secret --path` leaves it, unless a test says otherwise.
  pulumi.runtime.setAllConfig(encodeConfig(config), [
    ...(options.secretKeys ?? ["registry-access:registries"]),
  ]);
  delete require.cache[INDEX];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require(INDEX) as (() => Promise<Record<string, unknown>>) | Record<string, unknown>;
  // index.ts exports its main function, as Pulumi's run.ts calls it.
  const exports = typeof program === "function" ? await program() : program;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exports)) {
    outputs[key] = await valueOf(value as pulumi.Output<unknown>);
  }
  await settled();
  return { recorder, outputs, exports };
}

/** Prefix plain keys with `registry-access:`. */
export function stackConfig(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`registry-access:${k}`, v]));
}
