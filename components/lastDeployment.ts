import * as pulumi from "@pulumi/pulumi";

/** The engine's built-in invoke behind StackReference (pkg/resource/deploy/builtins.go, readStackOutputs). */
export const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

/**
 * The outputs of this stack's last completed deployment, read through the engine's built-in invoke rather than a
 * StackReference resource: an invoke that fails can be caught, so a backend that cannot resolve the name (a
 * legacy file backend takes only bare stack names) costs one informational line, not the preview. Nothing is
 * registered, so state has no reference to itself. A new stack has no outputs: {}.
 */
export async function readLastDeployment(
  organization: string,
  project: string,
  stack: string,
): Promise<Record<string, unknown> | undefined> {
  const name = `${organization}/${project}/${stack}`;
  try {
    const result = await pulumi.runtime.invoke(READ_STACK_OUTPUTS, { name });
    const outputs = (result as { outputs?: unknown } | undefined)?.outputs;
    return typeof outputs === "object" && outputs !== null ? (outputs as Record<string, unknown>) : {};
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    pulumi.log.info(
      `Could not read the last deployment of ${name} (${reason}); the preview skips the warning about ACR ` +
        `passwords that expire within 14 days.`,
    );
    return undefined;
  }
}
