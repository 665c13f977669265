import * as pulumi from "@pulumi/pulumi";

/** Run `fn`, collecting every `pulumi.log.warn` message it causes instead of printing it. */
export async function collectWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = pulumi.log.warn;
  pulumi.log.warn = async (message: string) => {
    warnings.push(message);
  };
  try {
    return { result: await fn(), warnings };
  } finally {
    pulumi.log.warn = original;
  }
}
