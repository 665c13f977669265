import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

/** The function the invoke asks for: the dynamic-provider host has none, so it answers "unknown function". */
export const START_TOKEN = "pulumi-nodejs:dynamic:startPlugin";

/**
 * A function that, on its first call, has the engine start the plugin of Pulumi's dynamic providers
 * (`pulumi-nodejs`), and does nothing after that.
 *
 * The engine starts a provider's plugin at its first request, and a dynamic resource's first request waits for
 * the namespace and secret it depends on: in a no-change preview of 200 namespaces the plugin started 5.3 s into
 * the run, then loaded the SDK (about 1.5 CPU seconds) before its first answer, while the program waited. An
 * invoke of the package has the engine start it, with the default provider that the dynamic resources use, while
 * the program goes on declaring. The dynamic-provider host implements no function, so the invoke fails; that is
 * expected, and ignored. Never under the unit tests' mocks, which have no plugin.
 */
export function dynamicProviderStarter(
  invoke: (token: string, args: pulumi.Inputs) => Promise<unknown>,
  mocked: () => boolean,
): () => void {
  let started = false;
  return () => {
    if (started || mocked()) return;
    started = true;
    invoke(START_TOKEN, {}).catch(() => undefined);
  };
}

/** Called by each dynamic resource's constructor: the first one declared starts the plugin. */
export const startDynamicProviderPlugin = dynamicProviderStarter(
  (token, args) => pulumi.runtime.invoke(token, args),
  () => pulumi.runtime.getMonitor() instanceof MockMonitor,
);
