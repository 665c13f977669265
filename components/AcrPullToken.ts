import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AcrTokenPassword } from "./acrTokenPassword";
import { startDynamicProviderPlugin } from "./dynamicProviderPlugin";
import { leanRegistration } from "./leanRegistration";
import { acrTokenName } from "./names";
import { AcrRegistry, rotationSpreadDaysOf } from "./settings";

/** The preview warns when the active password of a token expires within this many days. */
export const EXPIRY_WARNING_DAYS = 14;

/**
 * The scope map actions that let a token pull the given repositories and do nothing else: `content/read`
 * only. A pull (HEAD/GET of manifests and blobs) needs `content_read`; `metadata/read` lists tags and
 * manifests, which a pull never does (ACR's repository-scoped permissions table; Azure/acr issues 600, 676).
 */
export function pullOnlyActions(repositories: readonly string[]): string[] {
  return repositories.map((repo) => `repositories/${repo}/content/read`);
}

/** The environment variable that fixes the instant a run decides rotations at (see rotationTimeOf). */
export const ROTATION_TIME_ENV = "REGISTRY_ACCESS_ROTATION_TIME";

/**
 * The instant this run decides which passwords are due for rotation, read once per run: REGISTRY_ACCESS_ROTATION_TIME
 * when set (a scheduled job sets it once for its `up` and the drift check after it, so a rotation that falls due
 * between the two is not reported as drift), else `now`. Throws for a value that is not a date and time.
 */
export function rotationTimeOf(value: string | undefined, now: Date): string {
  if (value === undefined || value.trim() === "") return now.toISOString();
  const time = Date.parse(value.trim());
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value.trim()) || !Number.isFinite(time)) {
    throw new Error(
      `${ROTATION_TIME_ENV} ${JSON.stringify(value)} is not a date and time (ISO 8601, e.g. 2026-12-04T05:00:00Z); ` +
        "unset it to decide rotations at the current time",
    );
  }
  return new Date(time).toISOString();
}

/** The run's instant, read at the first token: a Pulumi run is one process, so every token decides alike. */
let runRotation: { readonly env: string | undefined; readonly time: string } | undefined;

/** rotationTimeOf for this run, read once (again only if REGISTRY_ACCESS_ROTATION_TIME changes). */
export function runRotationTime(): string {
  const env = process.env[ROTATION_TIME_ENV];
  if (runRotation === undefined || runRotation.env !== env) {
    runRotation = { env, time: rotationTimeOf(env, new Date()) };
  }
  return runRotation.time;
}

/** The warning every preview and update shows for a registry whose new passwords are not checked. */
export function noVerificationWarning(registry: AcrRegistry, namespace: string, tokenName: string): string {
  return (
    `registries.${registry.id}.verification is none: new passwords of ACR token ${tokenName} (namespace ` +
    `${namespace}) on ${registry.server} reach the pull secret without a check that the registry accepts them`
  );
}

/** A repository the verification of a new password can pull-check: the first one that is not a prefix. */
export function verifiableRepository(repositories: readonly string[]): string | undefined {
  return repositories.find((repo) => !repo.endsWith("/*"));
}

/** The warning for an active password that expires soon, or undefined. */
export function expiryWarning(
  tokenName: string,
  server: string,
  expiry: string | undefined,
  now: Date,
): string | undefined {
  if (!expiry) return undefined;
  const days = (Date.parse(expiry) - now.getTime()) / 86_400_000;
  if (days >= EXPIRY_WARNING_DAYS) return undefined;
  const when =
    days <= 0 ? "has expired" : `expires in ${Math.ceil(days)} day${Math.ceil(days) === 1 ? "" : "s"}`;
  return (
    `the active password of ACR token ${tokenName} on ${server} ${when} (${expiry}); ` +
    "run `pulumi up` to rotate it (is the scheduled rotation running?)"
  );
}

/** One ACR token, as the stack output shows it: nothing secret. */
export interface AcrTokenSummary {
  readonly registry: string;
  readonly tokenName: string;
  readonly repositories: string[];
  readonly activeSlot: string;
  readonly password1Expiry?: string;
  readonly password2Expiry?: string;
}

/** The warnings for tokens whose active password expires within EXPIRY_WARNING_DAYS. */
export function tokenExpiryWarnings(tokens: readonly AcrTokenSummary[], now: Date): string[] {
  return tokens.flatMap((t) => {
    const expiry = t.activeSlot === "password2" ? t.password2Expiry : t.password1Expiry;
    const warning = expiryWarning(t.tokenName, t.registry, expiry, now);
    return warning ? [warning] : [];
  });
}

/**
 * The same warnings read from a deployment's `namespaces` stack output (`{ <ns>: { acrTokens: [...] } }`);
 * anything of another shape gives none.
 */
export function deployedExpiryWarnings(namespaces: unknown, now: Date): string[] {
  if (typeof namespaces !== "object" || namespaces === null) return [];
  return Object.values(namespaces as Record<string, { acrTokens?: unknown }>).flatMap((ns) =>
    Array.isArray(ns?.acrTokens) ? tokenExpiryWarnings(ns.acrTokens as AcrTokenSummary[], now) : [],
  );
}

export interface AcrPullTokenArgs {
  /** The ACR registry, validated. */
  readonly registry: AcrRegistry;
  /** The Kubernetes namespace the token serves. */
  readonly namespace: string;
  /** Repositories the token may pull: names, or prefixes ending in `/*`. Non-empty. */
  readonly repositories: readonly string[];
  /** The Pulumi project: part of the token name's hash, so two projects never share a token. */
  readonly project: string;
  /** The stack: with the namespace, it makes the token name unique on the registry. */
  readonly stack: string;
  /**
   * The token's generation: a new value replaces the token by a new one beside it (create, cut over, delete).
   * Defaults to 0, the name and resource every stack had before generations existed.
   */
  readonly generation?: number;
}

/**
 * An ACR token that can pull only one namespace's repositories: a pull-only scope map, the token bound to
 * it, and its password in two slots that rotate with no downtime.
 */
export class AcrPullToken extends pulumi.ComponentResource {
  /** The token name: the docker username. */
  public readonly tokenName: pulumi.Output<string>;
  /** The active password: a secret. */
  public readonly password: pulumi.Output<string>;
  /** What the stack output shows of the token: nothing secret. */
  public readonly summary: pulumi.Output<AcrTokenSummary>;

  constructor(name: string, args: AcrPullTokenArgs, opts?: pulumi.ComponentResourceOptions) {
    super("registry-access:index:AcrPullToken", name, {}, opts);
    const { registry, repositories } = args;
    if (repositories.length === 0) {
      throw new pulumi.ResourceError(
        `namespaces.${args.namespace}.registries.${registry.id}.repositories: list at least one repository`,
        this,
      );
    }
    const child = { parent: this };
    const generation = args.generation ?? 0;
    // The scope map keeps the generation-0 name: every generation of the token binds to the same one.
    const scopeMapName = acrTokenName(args.project, args.stack, args.namespace);
    const tokenName = acrTokenName(args.project, args.stack, args.namespace, generation);

    const scopeMap = new containerregistry.ScopeMap(
      `${name}-scope-map`,
      {
        resourceGroupName: registry.resourceGroup,
        registryName: registry.registryName,
        scopeMapName,
        description: `Pull-only access for Kubernetes namespace ${args.namespace} (stack ${args.stack}), managed by registry-access`,
        actions: pullOnlyActions(repositories),
      },
      { ...child, transformations: [leanRegistration<containerregistry.ScopeMap>()] },
    );
    const token = new containerregistry.Token(
      generation === 0 ? `${name}-token` : `${name}-token-g${generation}`,
      {
        resourceGroupName: registry.resourceGroup,
        registryName: registry.registryName,
        tokenName,
        scopeMapId: scopeMap.id,
        status: "enabled",
      },
      // No update of the Token may ever reach ARM. azure-native models `credentials.passwords` as inputs, its
      // refresh copies the live slots into the stored inputs (provider/pkg/provider/provider.go, Read), and its
      // update PUTs every input (defaultUpdate: CreateOrUpdate). With `ignoreChanges: ["credentials"]` that PUT
      // re-sends the last refresh's snapshot, and ACR keeps only the slots a token PUT lists (Azure/acr issues
      // 596 and 667): a slot generated since, maybe the active one, would be dropped. Terraform's azurerm PATCHes
      // only scopeMapId and status; azure-native cannot be told to. So every change replaces the token instead.
      // `ignoreChanges` stays: without it, the refreshed credentials would differ from the declared inputs and
      // force a replacement on every `up`. Passwords are generated by AcrTokenPassword (pulumi-azure-native#3099).
      //
      // A replacement creates first (issue 16, item 7): a new generation is a new resource with a new name, so the
      // new token, its verified password and the pull secret's cut-over all happen while the old token still
      // works, and the engine deletes the old one last. Being new, it has no state for `ignoreChanges` to copy
      // `credentials` from (Pulumi copies an ignored input from the old state only when there is one), so its PUT
      // lists no password slot. A replacement that keeps the name (status changed in the portal, `up --replace`)
      // stops at azure-native's existence check ("cannot create already existing resource", defaultCreate), with
      // the old token untouched: raise tokenGeneration. Deleting first would leave no valid token meanwhile.
      {
        ...child,
        ignoreChanges: ["credentials"],
        replaceOnChanges: ["*"],
        transformations: [leanRegistration<containerregistry.Token>("creationDate")],
      },
    );
    const verifyRepository = verifiableRepository(repositories);
    let rotationTime: string;
    try {
      rotationTime = runRotationTime();
    } catch (error) {
      throw new pulumi.ResourceError((error as Error).message, this);
    }
    if (registry.verification === "none") {
      pulumi.log.warn(noVerificationWarning(registry, args.namespace, tokenName), this);
    }
    // The token's place in the rotation spread (docs/acr.md#rotation-spread): drawn once, kept in the state, and
    // drawn again only for a new token identity or a new window. The keepers are the parts of the token's ARM id
    // the program knows, not `token.id`: that is unknown in a preview that replaces the token in place (same
    // name, same id), which would show the offset as replaced too.
    const spreadDays = rotationSpreadDaysOf(registry);
    const rotationOffset =
      spreadDays > 0
        ? new random.RandomInteger(
            `${name}-rotation-offset`,
            {
              min: 0,
              max: spreadDays * 24 - 1,
              keepers: {
                resourceGroup: registry.resourceGroup,
                registry: registry.registryName,
                token: tokenName,
              },
            },
            { ...child, transformations: [leanRegistration<random.RandomInteger>("result")] },
          )
        : undefined;
    startDynamicProviderPlugin();
    const password = new AcrTokenPassword(
      `${name}-password`,
      {
        tokenId: token.id,
        scopeMapId: scopeMap.id,
        loginServer: registry.server,
        passwordLifetimeDays: registry.passwordLifetimeDays,
        rotateAfterDays: registry.rotateAfterDays,
        ...(registry.forceRotation !== undefined ? { forceRotation: registry.forceRotation } : {}),
        ...(verifyRepository !== undefined ? { verifyRepository } : {}),
        tokenCreationDate: token.creationDate,
        ...(registry.verification !== undefined ? { verification: registry.verification } : {}),
        ...(registry.verificationTimeoutSeconds !== undefined
          ? { verificationTimeoutSeconds: registry.verificationTimeoutSeconds }
          : {}),
        registryId: registry.id,
        rotationTime,
        ...(rotationOffset !== undefined ? { rotationOffsetHours: rotationOffset.result } : {}),
      },
      {
        ...child,
        transformations: [
          leanRegistration<AcrTokenPassword>("password", "activeSlot", "password1Expiry", "password2Expiry"),
        ],
      },
    );

    this.tokenName = pulumi.output(tokenName);
    this.password = pulumi.secret(password.password);
    // On `up` the values are this run's, and it warns of a password near its expiry; a preview warns from the last
    // deployment (see index.ts), because a due rotation leaves this run's values unknown until it is applied.
    const warnOfExpiry = !pulumi.runtime.isDryRun();
    this.summary = pulumi
      .all([password.activeSlot, password.password1Expiry, password.password2Expiry])
      .apply(([activeSlot, password1Expiry, password2Expiry]): AcrTokenSummary => {
        const summary: AcrTokenSummary = {
          registry: registry.server,
          tokenName,
          repositories: [...repositories],
          activeSlot,
          ...(password1Expiry ? { password1Expiry } : {}),
          ...(password2Expiry ? { password2Expiry } : {}),
        };
        if (warnOfExpiry) {
          for (const warning of tokenExpiryWarnings([summary], new Date())) pulumi.log.warn(warning, this);
        }
        return summary;
      });
    this.registerOutputs({ tokenName: this.tokenName, password: this.password, summary: this.summary });
  }
}
