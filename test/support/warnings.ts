import * as pulumi from "@pulumi/pulumi";

/** Run `fn`, collecting every `pulumi.log.<level>` message it causes instead of printing it. */
export async function collectLog<T>(
  level: "warn" | "info",
  fn: () => Promise<T>,
): Promise<{ result: T; messages: string[] }> {
  const messages: string[] = [];
  const original = pulumi.log[level];
  pulumi.log[level] = async (message: string) => {
    messages.push(message);
  };
  try {
    return { result: await fn(), messages };
  } finally {
    pulumi.log[level] = original;
  }
}

/** Run `fn`, collecting every `pulumi.log.warn` message it causes instead of printing it. */
export async function collectWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const { result, messages } = await collectLog("warn", fn);
  return { result, warnings: messages };
}
