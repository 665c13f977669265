/**
 * npm run verify -- --dockerconfigjson <file> [--repository <name>] [--timeout-ms N]
 * npm run verify -- --stack <name> [--context <kube context>] [--timeout-ms N] [--project-dir <dir>]
 *
 * Does pull access work? The first form logs in to every registry of a `.dockerconfigjson` (or of a Secret
 * that holds one), one line per registry. The second reads what Pulumi.<name>.yaml expects and checks each
 * namespace in the live cluster: the pull secret, its registries and logins, the service accounts, and the
 * pods that started without the secret. The checks themselves are in tools/verifyChecks.ts.
 *
 * Exit status: 0 all ok, 1 a check failed, 2 verify could not run (options, files, stack, no kubeconfig, a kube
 * context it lacks, an API server it cannot reach).
 */
import * as fs from "fs";
import * as path from "path";
import type { CoreV1Api } from "@kubernetes/client-node";
import {
  readStackFile,
  readText,
  StackFileError,
  stackFilePath,
  stackName,
  type StackFile,
} from "../components/stackFile";
import { HelpRequested, Io, parseOptions, PROCESS_IO, UsageError } from "./cli";
import { describeApiError } from "../components/serviceAccountPullSecrets";
import { generatedLoginFinding, generatedLoginRequests, generatedSecretFindings } from "./verifyGenerated";
import {
  checkNamespace,
  ExpectedNamespace,
  expectedFromStack,
  formatNamespaceReport,
  formatSummary,
  isReadError,
  loginRequests,
  NamespaceReport,
  ObservedNamespace,
  parseDockerConfigFile,
  ReadError,
  reportOk,
  runLogins,
  secretEntries,
  verifyAuthEntries,
} from "./verifyChecks";

const USAGE = [
  "usage: npm run verify -- --dockerconfigjson <file> [--repository <name>] [--timeout-ms N]",
  "       npm run verify -- --stack <name> [--context <kube context>] [--timeout-ms N] [--project-dir <dir>]",
].join("\n");

const HELP = [
  USAGE,
  "",
  "Does pull access work? The first form logs in to every registry of a .dockerconfigjson (or of a Secret",
  "that holds one); the second checks each namespace of a stack in the live cluster.",
  "",
  "  --dockerconfigjson <file>  a .dockerconfigjson, or a Secret (YAML or JSON) that holds one",
  "  --repository <name>        also check pull access to this repository (with --dockerconfigjson)",
  "  --stack <name>             the stack (dev, org/dev): reads Pulumi.<name>.yaml",
  "  --context <kube context>   the kubeconfig context to check (default: the current one)",
  "  --timeout-ms N             per request, 1 to 9999999",
  "  --project-dir <dir>        where Pulumi.<name>.yaml is (default: this project)",
  "  -h, --help                 this help",
  "",
  "Exit status: 0 all ok; 1 a check failed; 2 verify could not run.",
].join("\n");

interface Options {
  readonly dockerconfigjson?: string;
  readonly repository?: string;
  readonly timeoutMs?: number;
  readonly stack?: string;
  readonly context?: string;
  /** Where Pulumi.<stack>.yaml is: this project unless told. */
  readonly projectDir: string;
}

const OPTIONS = {
  dockerconfigjson: { type: "string" },
  repository: { type: "string" },
  "timeout-ms": { type: "string" },
  stack: { type: "string" },
  context: { type: "string" },
  "project-dir": { type: "string" },
} as const;

function readOptions(argv: readonly string[]): Options {
  const values = parseOptions(argv, OPTIONS);
  const { dockerconfigjson, repository, context } = values;
  const stack = values.stack === undefined ? undefined : stackName(values.stack);
  if (values.stack !== undefined && stack === undefined) {
    throw new UsageError(`--stack takes a stack name (dev, or org/dev), got ${JSON.stringify(values.stack)}`);
  }
  if ((dockerconfigjson === undefined) === (stack === undefined)) {
    throw new UsageError("give either --dockerconfigjson <file> or --stack <name>");
  }
  if (dockerconfigjson !== undefined && context !== undefined) {
    throw new UsageError("--context goes with --stack");
  }
  if (stack !== undefined && repository !== undefined) {
    throw new UsageError(
      "--repository goes with --dockerconfigjson (with --stack, the stack's repositories are checked)",
    );
  }
  const timeout = values["timeout-ms"];
  if (timeout !== undefined && !/^[1-9][0-9]{0,6}$/.test(timeout)) {
    throw new UsageError(
      `--timeout-ms takes a whole number of milliseconds from 1 to 9999999, got ${JSON.stringify(timeout)}`,
    );
  }
  const projectDir = values["project-dir"];
  return {
    dockerconfigjson,
    stack,
    repository,
    context,
    timeoutMs: timeout === undefined ? undefined : Number(timeout),
    projectDir: projectDir !== undefined ? path.resolve(projectDir) : path.resolve(__dirname, ".."),
  };
}

/** Verify cannot check anything (no kubeconfig, no API server): one line, exit status 2, no usage. */
class CouldNotRun extends Error {}

async function verifyFile(options: Options, file: string, io: Io): Promise<number> {
  let text: string;
  try {
    text = readText(file, "a Docker config file");
  } catch (error) {
    throw error instanceof StackFileError ? new UsageError(error.message) : error;
  }
  const entries = parseDockerConfigFile(text, file);
  const result = await verifyAuthEntries(entries, {
    repository: options.repository,
    timeoutMs: options.timeoutMs,
  });
  io.out(result.lines.map((l) => `${l}\n`).join(""));
  return result.ok ? 0 : 1;
}

/** One line for an API error: the status and the API's own message, never a response body in full. */
function readError(error: unknown): ReadError {
  return { readError: describeApiError(error) };
}

async function observe(api: CoreV1Api, expected: ExpectedNamespace): Promise<ObservedNamespace> {
  const namespace = expected.name;
  const [namespaceObject, secret, serviceAccounts, pods] = await Promise.all([
    api.readNamespace({ name: namespace }).then(
      (n) => n,
      (e: unknown) => ((e as { code?: unknown }).code === 404 ? undefined : readError(e)),
    ),
    api.readNamespacedSecret({ name: expected.secretName, namespace }).then(
      (s) => s,
      (e: unknown) => ((e as { code?: unknown }).code === 404 ? undefined : readError(e)),
    ),
    api.listNamespacedServiceAccount({ namespace }).then((l) => l.items, readError),
    api.listNamespacedPod({ namespace }).then((l) => l.items, readError),
  ]);
  return { namespace: namespaceObject, secret, serviceAccounts, pods };
}

async function verifyNamespace(
  api: CoreV1Api,
  expected: ExpectedNamespace,
  timeoutMs: number | undefined,
  now: Date,
): Promise<NamespaceReport> {
  const observed = await observe(api, expected);
  const entries = isReadError(observed.secret) ? [] : secretEntries(observed.secret);
  const logins = await runLogins(loginRequests(expected, entries), { timeoutMs });
  const report = checkNamespace(expected, observed, logins);
  if (!expected.generated) return report;
  // Workload identity: the Secret ESO generates, its tokens' expiry, and a pull with each.
  const { secretName } = expected.generated;
  const secret = await api.readNamespacedSecret({ name: secretName, namespace: expected.name }).then(
    (s) => s,
    (e: unknown) => ((e as { code?: unknown }).code === 404 ? undefined : readError(e)),
  );
  if (isReadError(secret)) {
    const text = `could not be read: ${secret.readError}`;
    return {
      ...report,
      findings: [...report.findings, { ok: false, subject: `secret ${secretName}`, text }],
    };
  }
  const generated = generatedSecretFindings(
    { namespace: expected.name, secretName, servers: expected.generated.registries.map((r) => r.server) },
    secret,
    now,
  );
  const generatedLogins = await runLogins(generatedLoginRequests(expected, generated.entries), { timeoutMs });
  return {
    ...report,
    findings: [
      ...report.findings,
      ...generated.findings,
      ...generatedLogins.map((r) => generatedLoginFinding(expected.name, secretName, r)),
    ],
  };
}

/** Where client-node's loadFromDefault looks: the files in KUBECONFIG, else ~/.kube/config. */
function kubeconfigFiles(env: NodeJS.ProcessEnv): string[] {
  const listed = (env.KUBECONFIG ?? "").split(path.delimiter).filter((f) => f !== "");
  if (listed.length > 0) return listed;
  return [env.HOME ? path.join(env.HOME, ".kube", "config") : "$HOME/.kube/config (HOME is not set)"];
}

/** In a pod, client-node falls back to the pod's service account. */
const IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * With no kubeconfig, client-node makes one up (a context `loaded-context` on localhost:8080): say instead that
 * there is none and where verify looked.
 */
function checkKubeconfigExists(env: NodeJS.ProcessEnv): void {
  const files = kubeconfigFiles(env);
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return;
  if (env.KUBECONFIG) {
    throw new CouldNotRun(
      missing.length === files.length
        ? `no kubeconfig: KUBECONFIG names ${files.join(", ")}, and no such file exists`
        : `no kubeconfig ${missing.join(", ")}: KUBECONFIG names ${missing.length === 1 ? "it" : "them"}, and no such file exists`,
    );
  }
  if (fs.existsSync(IN_CLUSTER_TOKEN)) return;
  throw new CouldNotRun(`no kubeconfig: KUBECONFIG is not set, and ${files[0]} does not exist`);
}

/**
 * One request before any check (GET /version): an API server that does not answer, or refuses the credentials,
 * is one line and exit status 2, not three failures per namespace.
 */
async function probeApiServer(
  kubeConfig: import("@kubernetes/client-node").KubeConfig,
  k8s: typeof import("@kubernetes/client-node"),
  timeoutMs: number,
): Promise<void> {
  const where = `the Kubernetes API server ${kubeConfig.getCurrentCluster()?.server ?? "(none)"} (context ${kubeConfig.getCurrentContext()})`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CouldNotRun(`no answer from ${where} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([kubeConfig.makeApiClient(k8s.VersionApi).getCode(), timeout]);
  } catch (error) {
    if (error instanceof CouldNotRun) throw error;
    const e = error as { code?: unknown; message?: unknown };
    if (e.code === 401) throw new CouldNotRun(`${where} refused the kubeconfig's credentials (HTTP 401)`);
    // Any other answer comes from an API server: the checks report what it refuses.
    if (typeof e.code === "number") return;
    const message = String(e.message ?? error);
    const reason = / reason: (.*)$/.exec(message)?.[1] ?? message.split("\n")[0];
    throw new CouldNotRun(`cannot reach ${where}: ${reason}`);
  } finally {
    clearTimeout(timer);
  }
}

async function verifyStack(options: Options, stack: string, io: Io): Promise<number> {
  // Loaded here, not at the top: settings loads @pulumi/pulumi, a second that the --dockerconfigjson form does
  // not need.
  const { parseSettings, SettingsError } = await import("../components/settings");
  const file = stackFilePath(options.projectDir, stack);
  if (!fs.existsSync(file)) throw new UsageError(`no stack file ${file}`);
  let stackFile: StackFile;
  let expected: ExpectedNamespace[];
  try {
    stackFile = readStackFile(file, { placeholders: true });
    expected = expectedFromStack(parseSettings(stackFile.settings), stack);
  } catch (error) {
    if (error instanceof StackFileError) throw new UsageError(error.message);
    if (error instanceof SettingsError) throw new UsageError(`${path.basename(file)}: ${error.message}`);
    throw error;
  }

  const k8s = await import("@kubernetes/client-node");
  const kubeConfig = new k8s.KubeConfig();
  checkKubeconfigExists(process.env);
  try {
    kubeConfig.loadFromDefault();
  } catch {
    // Its message may quote the file, and a kubeconfig holds credentials.
    throw new CouldNotRun(
      `cannot read the kubeconfig (${kubeconfigFiles(process.env).join(", ")}): not a valid kubeconfig`,
    );
  }
  // As `pulumi up` would: --context, else the stack's kubernetes:context, else the kubeconfig's current one.
  const stackContext = stackFile.config["kubernetes:context"];
  const context = options.context ?? (typeof stackContext === "string" ? stackContext : undefined);
  if (context !== undefined) {
    if (kubeConfig.getContextObject(context) === null) {
      const known = kubeConfig.getContexts().map((c) => c.name);
      throw new UsageError(
        `kube context ${context} is not in the kubeconfig (${known.length ? `contexts: ${known.join(", ")}` : "it has none"})`,
      );
    }
    kubeConfig.setCurrentContext(context);
  }
  await probeApiServer(kubeConfig, k8s, options.timeoutMs ?? 10_000);
  const api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  // One clock reading for the whole run: every token's expiry is judged against the same instant.
  const now = new Date();
  const reports = await Promise.all(expected.map((ns) => verifyNamespace(api, ns, options.timeoutMs, now)));

  const lines = [
    `stack ${stack}: context ${kubeConfig.getCurrentContext()}, secret ${expected[0]?.secretName ?? "-"}`,
  ];
  for (const report of reports) lines.push("", ...formatNamespaceReport(report));
  lines.push("", formatSummary(reports));
  io.out(lines.map((l) => `${l}\n`).join(""));
  return reports.every(reportOk) ? 0 : 1;
}

/** The whole command: its exit status. Throws only for a bug (a UsageError is reported and gives 2). */
export async function main(argv: readonly string[], io: Io = PROCESS_IO): Promise<number> {
  try {
    const options = readOptions(argv);
    return options.dockerconfigjson !== undefined
      ? await verifyFile(options, options.dockerconfigjson, io)
      : await verifyStack(options, options.stack!, io);
  } catch (error) {
    if (error instanceof HelpRequested) {
      io.out(`${HELP}\n`);
      return 0;
    }
    if (error instanceof UsageError) {
      io.err(`verify: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof CouldNotRun) {
      io.err(`verify: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`verify: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
