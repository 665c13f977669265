/**
 * Passwords for ACR repository-scoped tokens, as a Pulumi dynamic provider.
 *
 * azure-native declares `containerregistry.Token` but cannot generate its passwords (they are read-only in
 * ARM, pulumi-azure-native#3099), so this provider calls the registry's `generateCredentials` action. Two
 * slots give zero-downtime rotation: a rotation generates the slot that is not in use, checks that the
 * registry accepts it, and only then switches to it; the old password stays valid until its own expiry.
 *
 * Pulumi serializes the provider into the state with its closure serializer, so everything it uses is a plain
 * function or a plain value, and the Azure SDK is loaded inside the methods that call it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TokenCredential } from "@azure/identity";
import { waitForRegistryLogin, type LoginCheck } from "./registryHandshake";

export type PasswordSlot = "password1" | "password2";

export interface AcrTokenPasswordArgs {
  /** ARM id of the token: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<registry>/tokens/<token>. A new id (new token name or registry) replaces this resource: fresh passwords. */
  readonly tokenId: pulumi.Input<string>;
  /** ARM id of the scope map bound to the token. A new binding rotates to the other slot (update, not replace). */
  readonly scopeMapId: pulumi.Input<string>;
  /** The registry login server, `mycompany.azurecr.io`: where the new password is verified. */
  readonly loginServer: pulumi.Input<string>;
  /** How long a generated password is valid, in days. */
  readonly passwordLifetimeDays: pulumi.Input<number>;
  /** Age of the active password, in days, after which the next `pulumi up` rotates; less than the lifetime. */
  readonly rotateAfterDays: pulumi.Input<number>;
  /** Any new value forces a rotation on the next `pulumi up`. */
  readonly forceRotation?: pulumi.Input<string>;
  /** A repository to check pull access on when verifying a new password (optional). */
  readonly verifyRepository?: pulumi.Input<string>;
  /** ARM endpoint; default https://management.azure.com (sovereign clouds differ). */
  readonly armEndpoint?: pulumi.Input<string>;
}

/** The inputs as the provider receives them (resolved). */
export interface AcrTokenPasswordInputs {
  readonly tokenId: string;
  readonly scopeMapId: string;
  readonly loginServer: string;
  readonly passwordLifetimeDays: number;
  readonly rotateAfterDays: number;
  readonly forceRotation?: string;
  readonly verifyRepository?: string;
  readonly armEndpoint?: string;
}

/** The state: the inputs (so diff can compare them) plus the outputs. */
export interface AcrTokenPasswordOutputs extends AcrTokenPasswordInputs {
  readonly tokenName: string;
  readonly activeSlot: PasswordSlot;
  readonly password: string;
  readonly activeCreated: string;
  /** null until the slot is first generated: an absent output would read as unknown in every preview. */
  readonly password1Expiry: string | null;
  readonly password2Expiry: string | null;
}

export interface AcrTokenPasswordProviderOverrides {
  /** Defaults to a `DefaultAzureCredential` created when a password is generated. */
  readonly credential?: TokenCredential;
  /** Defaults to the real clock. */
  readonly now?: () => Date;
  /** Defaults to the real registry handshake. */
  readonly verify?: typeof waitForRegistryLogin;
  /** Long-running operation polling interval. Defaults to the SDK's (2 s, or ARM's Retry-After). */
  readonly pollIntervalMs?: number;
  /** Extra CA (PEM) the ARM client trusts instead of the public CAs: only for a test server with a self-signed certificate. */
  readonly tlsCa?: string;
}

export interface ParsedTokenId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly registryName: string;
  readonly tokenName: string;
  readonly registryId: string;
}

const DAY_MS = 86_400_000;
const DEFAULT_ARM_ENDPOINT = "https://management.azure.com";
/** How the Pulumi engine marks a value that is not known yet (preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const INPUT_KEYS = [
  "tokenId",
  "scopeMapId",
  "loginServer",
  "passwordLifetimeDays",
  "rotateAfterDays",
  "forceRotation",
  "verifyRepository",
  "armEndpoint",
] as const;

/** Split a token's ARM id; segment names are matched case-insensitively, as ARM does. */
export function parseTokenId(tokenId: string): ParsedTokenId | undefined {
  const match =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)\/tokens\/([^/]+)$/i.exec(
      tokenId,
    );
  if (!match) return undefined;
  const [, subscriptionId, resourceGroup, registryName, tokenName] = match;
  const registryId = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${registryName}`;
  return { subscriptionId, resourceGroup, registryName, tokenName, registryId };
}

/** Why the next `up` must generate a new password, or undefined when it must not. Shared by diff and update. */
export function rotationReason(
  olds: AcrTokenPasswordOutputs,
  news: AcrTokenPasswordInputs,
  now: Date,
): string | undefined {
  if (news.scopeMapId !== olds.scopeMapId) return "the scope map binding changed";
  if (news.forceRotation !== undefined && news.forceRotation !== olds.forceRotation) {
    return "forceRotation changed";
  }
  const created = Date.parse(olds.activeCreated);
  if (!Number.isFinite(created)) return "the active password has no valid creation time";
  if (now.getTime() - created >= news.rotateAfterDays * DAY_MS) {
    return `the active password is older than ${news.rotateAfterDays} days`;
  }
  return undefined;
}

/** Validation of known inputs; values still unknown in a preview are skipped. */
export function checkInputs(news: AcrTokenPasswordInputs): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  const known = (value: unknown): boolean => value !== UNKNOWN;
  if (known(news.tokenId) && (typeof news.tokenId !== "string" || !parseTokenId(news.tokenId))) {
    failures.push({
      property: "tokenId",
      reason:
        "must be a token's ARM id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerRegistry/registries/<registry>/tokens/<token>",
    });
  }
  for (const key of ["scopeMapId", "loginServer"] as const) {
    if (known(news[key]) && (typeof news[key] !== "string" || news[key].length === 0)) {
      failures.push({ property: key, reason: "must be a non-empty string" });
    }
  }
  const lifetime = news.passwordLifetimeDays;
  const lifetimeOk = typeof lifetime === "number" && Number.isFinite(lifetime) && lifetime > 0;
  if (known(lifetime) && !lifetimeOk) {
    failures.push({ property: "passwordLifetimeDays", reason: "must be a number of days greater than 0" });
  }
  const rotate = news.rotateAfterDays;
  if (known(rotate)) {
    if (typeof rotate !== "number" || !Number.isFinite(rotate) || rotate <= 0) {
      failures.push({ property: "rotateAfterDays", reason: "must be a number of days greater than 0" });
    } else if (lifetimeOk && rotate >= lifetime) {
      failures.push({
        property: "rotateAfterDays",
        reason: `must be less than passwordLifetimeDays (${lifetime}), or the password expires before it is rotated`,
      });
    }
  }
  return failures;
}

/** The inputs without undefined values (the state's protobuf Struct cannot hold undefined). */
function pickInputs(inputs: AcrTokenPasswordInputs): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of INPUT_KEYS) {
    if (inputs[key] !== undefined) picked[key] = inputs[key];
  }
  return picked;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function redact(text: string, secret: string): string {
  return secret.length === 0 ? text : text.split(secret).join("***");
}

function tokenNameOf(tokenId: string): string {
  const parsed = parseTokenId(tokenId);
  if (!parsed) throw new Error(`Not an ACR token ARM id: ${tokenId}`);
  return parsed.tokenName;
}

/** A person-readable message for a failed generateCredentials call; `RestError`s get their status explained. */
export function describeArmError(err: unknown, token: ParsedTokenId, slot: PasswordSlot): string {
  const e = (typeof err === "object" && err !== null ? err : {}) as {
    name?: unknown;
    statusCode?: unknown;
    code?: unknown;
    message?: unknown;
  };
  const message = typeof e.message === "string" ? e.message : String(err);
  const said = typeof e.code === "string" && e.code.length > 0 ? `${e.code}: ${message}` : message;
  const status = e.name === "RestError" && typeof e.statusCode === "number" ? e.statusCode : undefined;
  const what = `${slot} of ACR token ${token.tokenName} on registry ${token.registryName}`;
  switch (status) {
    case 403:
      return (
        `Azure refused to generate the ${what}: the deploying identity needs the permission ` +
        `Microsoft.ContainerRegistry/registries/generateCredentials/action on the registry ${token.registryId}. ` +
        `ARM said: ${said}`
      );
    case 404:
      return (
        `Azure found no token ${token.tokenName} or no registry ${token.registryName} ` +
        `(resource group ${token.resourceGroup}, subscription ${token.subscriptionId}) to generate the ${slot} of. ` +
        `ARM said: ${said}`
      );
    case 409:
      return (
        `Azure reported a conflict generating the ${what}: the token is being updated by another operation; ` +
        `retry \`pulumi up\` once it has finished. ARM said: ${said}`
      );
    case 429:
      return (
        `Azure throttled generating the ${what}: the client waited as Retry-After asked and retried, ` +
        `and ARM still answered 429; retry later. ARM said: ${said}`
      );
    default:
      return `Generating the ${what} failed${status === undefined ? "" : ` (HTTP ${status})`}: ${said}`;
  }
}

/** Call generateCredentials for one slot; returns the new password and the expiry ARM recorded. */
async function generatePassword(
  overrides: AcrTokenPasswordProviderOverrides,
  inputs: AcrTokenPasswordInputs,
  slot: PasswordSlot,
  now: Date,
): Promise<{ value: string; expiry: string }> {
  const token = parseTokenId(inputs.tokenId);
  if (!token) throw new Error(`Not an ACR token ARM id: ${inputs.tokenId}`);
  const { ContainerRegistryManagementClient } = await import("@azure/arm-containerregistry");
  const credential = overrides.credential ?? new (await import("@azure/identity")).DefaultAzureCredential();
  const client = new ContainerRegistryManagementClient(credential, token.subscriptionId, {
    endpoint: (inputs.armEndpoint ?? DEFAULT_ARM_ENDPOINT).replace(/\/+$/, ""),
    ...(overrides.tlsCa === undefined ? {} : { tlsOptions: { ca: overrides.tlsCa } }),
  });
  const expiry = new Date(now.getTime() + inputs.passwordLifetimeDays * DAY_MS);
  let result: Awaited<ReturnType<typeof client.registries.beginGenerateCredentialsAndWait>>;
  try {
    result = await client.registries.beginGenerateCredentialsAndWait(
      token.resourceGroup,
      token.registryName,
      { tokenId: inputs.tokenId, name: slot, expiry },
      { updateIntervalInMs: overrides.pollIntervalMs },
    );
  } catch (err) {
    throw new Error(describeArmError(err, token, slot));
  }
  const generated = result.passwords?.find((p) => p.name === slot);
  if (!generated?.value) {
    throw new Error(
      `Azure answered generateCredentials for the ${slot} of ACR token ${token.tokenName} on registry ${token.registryName} without a password value.`,
    );
  }
  return { value: generated.value, expiry: (generated.expiry ?? expiry).toISOString() };
}

/** Log in to the registry with the new password; throws (without the password) when it is not accepted. */
async function verifyPassword(
  overrides: AcrTokenPasswordProviderOverrides,
  inputs: AcrTokenPasswordInputs,
  tokenName: string,
  slot: PasswordSlot,
  password: string,
  consequence: string,
): Promise<void> {
  const verify = overrides.verify ?? waitForRegistryLogin;
  const options = inputs.verifyRepository === undefined ? {} : { repository: inputs.verifyRepository };
  let check: LoginCheck;
  try {
    check = await verify({ server: inputs.loginServer, username: tokenName, password }, options);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    check = { ok: false, server: inputs.loginServer, failure: "protocol", detail };
  }
  if (!check.ok) {
    throw new Error(
      redact(
        `Registry ${inputs.loginServer} did not accept the new ${slot} of ACR token ${tokenName}: ${check.detail}. ${consequence}`,
        password,
      ),
    );
  }
}

/** The dynamic provider. Overrides exist for tests; without them it uses Azure, the real clock and handshake. */
export function makeAcrTokenPasswordProvider(
  overrides: AcrTokenPasswordProviderOverrides = {},
): pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs> {
  const clock = (): Date => (overrides.now ? overrides.now() : new Date());
  return {
    check: async (_olds, news) => {
      const failures = checkInputs(news);
      return failures.length > 0 ? { inputs: news, failures } : { inputs: news };
    },

    diff: async (_id, olds, news) => {
      if (news.tokenId !== olds.tokenId) {
        return { changes: true, replaces: ["tokenId"], deleteBeforeReplace: false };
      }
      if (rotationReason(olds, news, clock()) !== undefined) return { changes: true };
      return { changes: INPUT_KEYS.some((key) => olds[key] !== news[key]) };
    },

    create: async (inputs) => {
      const now = clock();
      const tokenName = tokenNameOf(inputs.tokenId);
      const generated = await generatePassword(overrides, inputs, "password1", now);
      await verifyPassword(
        overrides,
        inputs,
        tokenName,
        "password1",
        generated.value,
        "No pull secret was written; the next `pulumi up` generates password1 again.",
      );
      const outs = withoutUndefined({
        ...pickInputs(inputs),
        tokenName,
        activeSlot: "password1",
        password: generated.value,
        activeCreated: now.toISOString(),
        password1Expiry: generated.expiry,
        password2Expiry: null,
      }) as unknown as AcrTokenPasswordOutputs;
      return { id: inputs.tokenId, outs };
    },

    update: async (_id, olds, news) => {
      const now = clock();
      const kept = withoutUndefined({
        ...pickInputs(news),
        tokenName: tokenNameOf(news.tokenId),
        activeSlot: olds.activeSlot,
        password: olds.password,
        activeCreated: olds.activeCreated,
        password1Expiry: olds.password1Expiry ?? null,
        password2Expiry: olds.password2Expiry ?? null,
      }) as unknown as AcrTokenPasswordOutputs;
      if (rotationReason(olds, news, now) === undefined) return { outs: kept };

      const slot: PasswordSlot = olds.activeSlot === "password1" ? "password2" : "password1";
      const oldExpiry = olds.activeSlot === "password1" ? olds.password1Expiry : olds.password2Expiry;
      const generated = await generatePassword(overrides, news, slot, now);
      await verifyPassword(
        overrides,
        news,
        kept.tokenName,
        slot,
        generated.value,
        `The pull secret was left unchanged: it keeps ${olds.activeSlot}` +
          (oldExpiry === undefined ? "." : `, valid until ${oldExpiry}.`),
      );
      return {
        outs: {
          ...kept,
          activeSlot: slot,
          password: generated.value,
          activeCreated: now.toISOString(),
          [`${slot}Expiry`]: generated.expiry,
        },
      };
    },

    // Deleting the token is azure-native's job; a password slot cannot be cleared without touching the other.
    delete: async () => {},
  };
}

/** The provider `AcrTokenPassword` uses: Azure through DefaultAzureCredential, the real clock and handshake. */
export const acrTokenPasswordProvider = makeAcrTokenPasswordProvider();

/**
 * One generated password of an ACR token, rotated between the token's two slots.
 * The output fields are `declare`d: with target ES2022 a plain `field!:` is emitted as a class field that
 * resets to undefined after `super()` has filled it in.
 */
export class AcrTokenPassword extends pulumi.dynamic.Resource {
  /** Last segment of tokenId; the docker username. */
  declare public readonly tokenName: pulumi.Output<string>;
  declare public readonly activeSlot: pulumi.Output<PasswordSlot>;
  /** Secret. */
  declare public readonly password: pulumi.Output<string>;
  /** ISO time the active password was generated. */
  declare public readonly activeCreated: pulumi.Output<string>;
  /** ISO time; null until the slot is first generated. */
  declare public readonly password1Expiry: pulumi.Output<string | null>;
  declare public readonly password2Expiry: pulumi.Output<string | null>;

  constructor(name: string, args: AcrTokenPasswordArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      acrTokenPasswordProvider,
      name,
      {
        ...args,
        tokenName: undefined,
        activeSlot: undefined,
        password: undefined,
        activeCreated: undefined,
        password1Expiry: undefined,
        password2Expiry: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["password"] }),
      "registry-access",
      "AcrTokenPassword",
    );
  }
}
