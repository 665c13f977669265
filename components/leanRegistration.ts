/**
 * Registering a resource with only the outputs the program reads (issue 17, item 5).
 *
 * The SDK makes an `Output` (four promises, each with a stack trace, and a dozen closures) for every property that
 * a resource class passes to its constructor, read or not: azure-native's `Token` passes 14, of which this program
 * reads one. And every azure-native class adds an alias for each API version of its type (20 for `Token` and for
 * `ScopeMap`), which the SDK turns into pending `Output`s in the constructor. While an `up` or the mock runtime
 * registers a fleet, all of that is pending at once: it was half the peak memory of an ACR namespace
 * (docs/performance.md, "What an ACR namespace costs under the mock runtime").
 *
 * What the transformation removes changes nothing that is registered:
 * - A property left `undefined` is not sent to the engine (the SDK skips it when it serializes the inputs), and an
 *   output the engine returns for a property the resource did not declare is dropped by the SDK
 *   (`resolveProperties`), not stored: the state holds every output either way.
 * - The version aliases let a resource declared with a versioned module (`containerregistry/v20230701`) move to the
 *   default one without a replacement. This program has only ever declared the default modules, so no state holds
 *   a versioned type to match (test/leanRegistration.test.ts checks that no component imports one).
 * Any other alias stays. Reading an output that was not kept throws at once, with the fix, rather than yielding
 * `undefined`.
 */
import * as pulumi from "@pulumi/pulumi";

/** `azure-native:containerregistry/v20230701:Token`: the type of one API version of a resource. */
const VERSION_TYPE = /^azure-native:[A-Za-z0-9]+\/v\d{8}(preview)?:[A-Za-z0-9]+$/;

/** Whether an alias only names an API version of the same azure-native resource type. */
export function isVersionAlias(alias: unknown, type: string): boolean {
  if (typeof alias !== "object" || alias === null || pulumi.Output.isInstance(alias)) return false;
  const keys = Object.keys(alias);
  const aliasType = (alias as { type?: unknown }).type;
  if (keys.length !== 1 || typeof aliasType !== "string" || !VERSION_TYPE.test(aliasType)) return false;
  const [module, resource] = [aliasType.split(":")[1].split("/")[0], aliasType.split(":")[2]];
  return type === `azure-native:${module}:${resource}`;
}

/** The message of a read of a property that `leanRegistration` did not register. */
export function notRegisteredMessage(type: string, name: string, property: string): string {
  return (
    `${type} ${name}: the output ${property} is not registered; registry-access registers only the outputs it ` +
    `reads (components/leanRegistration.ts). Add "${property}" to the outputs passed to leanRegistration where the ` +
    "resource is declared"
  );
}

/**
 * A transformation for one custom resource: keep every property that has a value and the outputs named in `keep`
 * (`leanRegistration<containerregistry.Token>("creationDate")`),
 * drop the other properties, and drop the aliases that only name another API version of the resource's type.
 */
export function leanRegistration<R extends pulumi.CustomResource>(
  ...keep: (keyof R & string)[]
): pulumi.ResourceTransformation {
  return ({ resource, type, name, props, opts }) => {
    const kept: pulumi.Inputs = {};
    for (const [key, value] of Object.entries(props)) {
      if (value !== undefined || (keep as string[]).includes(key)) {
        kept[key] = value;
      } else {
        Object.defineProperty(resource, key, {
          enumerable: false,
          get: () => {
            throw new Error(notRegisteredMessage(type, name, key));
          },
        });
      }
    }
    const aliases = opts.aliases?.filter((alias) => !isVersionAlias(alias, type));
    return { props: kept, opts: { ...opts, aliases } };
  };
}
