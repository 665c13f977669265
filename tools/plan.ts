/**
 * npm run -s plan -- --stack <name> [--json] [--out <file>] [--project-dir <dir>] [--allow-missing-passwords]
 *
 * What a stack declares, offline: reads Pulumi.<name>.yaml, runs the program under Pulumi's mock runtime with
 * no cloud, cluster or credentials, and prints per namespace its registries (and ACR repositories), service
 * accounts, secret name, delivery and resource count. Secure values are never needed: each static password
 * shows as missing, [secret] (encrypted) or PLAIN TEXT, read from the file itself.
 *
 * Exit status: 0 the plan; 1 a bad stack file (its validation or YAML errors), a password in plain text or one
 * not set, on which `pulumi up` would stop (the plan is still printed, and a last line sums up why it failed);
 * 2 plan could not run (options, no stack file, an unreadable one). `--allow-missing-passwords` lets a stack
 * whose passwords are set elsewhere (a Pulumi ESC environment) plan without them.
 */
import * as fs from "fs";
import * as path from "path";
import { authsKey } from "../components/dockerConfig";
import { acrTokenName } from "../components/names";
import { REPOSITORY_READER_ROLE_ID, repositoryReaderCondition } from "../components/abacCondition";
import { acrIdentityName } from "../components/AcrWorkloadIdentity";
import { parseSettings, setStackFileSource, Settings, SettingsError } from "../components/settings";
import {
  PasswordInFile,
  passwordsInFile,
  readStackFile,
  StackFileError,
  stackFileOf,
  stackFilePath,
  stackName,
} from "../components/stackFile";
import { HelpRequested, Io, parseOptions, PROCESS_IO, UsageError } from "./cli";
import { checkAcrLimits } from "../components/registryLimits";
import { installMocks, Recorder, Registered, runProgram } from "./mockRuntime";

const PROJECT = "registry-access";
const NAMESPACE_COMPONENT = "registry-access:index:NamespaceRegistryAccess";

export interface PlannedRegistry {
  readonly id: string;
  readonly type: "static" | "acr";
  /** The `auths` key in the pull secret. */
  readonly server: string;
  readonly username: string;
  /** ACR: `[generated]`. Static: as the stack file has it, `missing`, `[secret]` or `PLAIN TEXT`. */
  readonly password: string;
  readonly repositories?: readonly string[];
  /** ACR with auth workloadIdentity: the namespace's identity, its role condition and the Secret ESO writes. */
  readonly workloadIdentity?: {
    readonly identity: string;
    readonly role: string;
    readonly condition: string;
    readonly secret: string;
    readonly refreshInterval: string;
  };
}

export interface PlannedNamespace {
  readonly name: string;
  readonly delivery: string;
  readonly secretName: string;
  readonly registries: readonly PlannedRegistry[];
  readonly serviceAccounts: readonly { readonly name: string; readonly action: "patch" | "create" }[];
  /** Resources declared for the namespace, its component included. */
  readonly resources: number;
}

export interface Plan {
  readonly stack: string;
  readonly namespaces: readonly PlannedNamespace[];
  /** Everything the stack declares, providers and stack-wide resources included. */
  readonly resources: number;
  readonly alerts: boolean;
}

/** The namespace component a resource belongs to, by its chain of parents. */
function owningNamespace(r: Registered, byUrn: Map<string, Registered>): string | undefined {
  for (let at: Registered | undefined = r; at; at = at.parent ? byUrn.get(at.parent) : undefined) {
    if (at.type === NAMESPACE_COMPONENT) return at.name;
  }
  return undefined;
}

/** How the plan shows a static password, by where the stack file has it. */
export const PASSWORD_SHOWN: Readonly<Record<PasswordInFile, string>> = {
  missing: "missing",
  secret: "[secret]",
  plaintext: "PLAIN TEXT",
};

/**
 * The plan of a stack. `passwords` says where the stack file has each static password (passwordsInFile); one
 * it does not list shows as missing.
 */
export function buildPlan(
  stack: string,
  settings: Settings,
  recorder: Recorder,
  passwords: Readonly<Record<string, PasswordInFile>>,
): Plan {
  const byUrn = new Map(recorder.resources.map((r) => [r.urn, r]));
  const counts = new Map<string, number>();
  for (const r of recorder.resources) {
    const ns = owningNamespace(r, byUrn);
    if (ns !== undefined) counts.set(ns, (counts.get(ns) ?? 0) + 1);
  }
  return {
    stack,
    resources: recorder.resources.length,
    alerts: recorder.ofType("kubernetes:monitoring.coreos.com/v1:PrometheusRule").length > 0,
    namespaces: settings.namespaces.map((ns) => ({
      name: ns.name,
      delivery: ns.delivery,
      secretName: settings.secretName,
      registries: ns.registries.map(({ registry, repositories, tokenGeneration }) =>
        registry.type === "acr" && registry.auth === "workloadIdentity"
          ? {
              id: registry.id,
              type: "acr" as const,
              server: authsKey(registry.server),
              username: acrIdentityName(PROJECT, stack, ns.name),
              password: "[none: ESO generates a token of about 3 h]",
              repositories,
              workloadIdentity: {
                identity: acrIdentityName(PROJECT, stack, ns.name),
                role: `Container Registry Repository Reader (${REPOSITORY_READER_ROLE_ID})`,
                condition: repositoryReaderCondition(repositories),
                secret: `${settings.secretName}-acr`,
                refreshInterval: settings.workloadIdentity?.refreshInterval ?? "1h",
              },
            }
          : registry.type === "acr"
            ? {
                id: registry.id,
                type: "acr" as const,
                server: authsKey(registry.server),
                username: acrTokenName(PROJECT, stack, ns.name, tokenGeneration),
                password: "[generated]",
                repositories,
              }
            : {
                id: registry.id,
                type: "static" as const,
                server: authsKey(registry.server),
                username: registry.username,
                password:
                  PASSWORD_SHOWN[Object.hasOwn(passwords, registry.id) ? passwords[registry.id] : "missing"],
              },
      ),
      serviceAccounts: ns.serviceAccounts.map((sa) => ({
        name: sa.name,
        action: sa.create ? ("create" as const) : ("patch" as const),
      })),
      resources: counts.get(ns.name) ?? 0,
    })),
  };
}

export function formatPlan(plan: Plan): string {
  const lines = [
    `stack ${plan.stack}: ${plan.namespaces.length} namespace${plan.namespaces.length === 1 ? "" : "s"}, ` +
      `${plan.resources} resources in all${plan.alerts ? ", alerts on failed pulls" : ""}`,
  ];
  for (const ns of plan.namespaces) {
    lines.push(
      "",
      `${ns.name}`,
      `  delivery ${ns.delivery}, secret ${ns.secretName}, ${ns.resources} resources`,
      "  registries:",
    );
    for (const r of ns.registries) {
      const scope = r.repositories ? `, repositories: ${r.repositories.join(", ")}` : "";
      const who = r.workloadIdentity
        ? `workload identity ${r.workloadIdentity.identity}`
        : r.type === "acr"
          ? `token ${r.username}`
          : `user ${r.username}, password ${r.password}`;
      lines.push(`    ${r.server}  (${r.id}, ${r.type}) ${who}${scope}`);
      if (r.workloadIdentity) {
        const wi = r.workloadIdentity;
        lines.push(
          `      role ${wi.role} on the registry, condition: ${wi.condition}`,
          `      secret ${wi.secret}, written by ESO's ACRAccessToken generator, renewed every ${wi.refreshInterval}`,
        );
      }
    }
    const accounts = ns.serviceAccounts.map(
      (sa) => `${sa.name} (${sa.action === "create" ? "created" : "patched"})`,
    );
    lines.push(`  service accounts: ${accounts.length ? accounts.join(", ") : "none"}`);
  }
  return lines.join("\n");
}

const USAGE =
  "usage: npm run -s plan -- --stack <name> [--json] [--out <file>] [--project-dir <dir>] [--allow-missing-passwords]";

const HELP = [
  USAGE,
  "",
  "What a stack declares, offline: no cloud, cluster or credentials needed.",
  "",
  "  --stack <name>        the stack (dev, org/dev): reads Pulumi.<name>.yaml",
  "  --json                the plan as JSON",
  "  --out <file>          write the plan there instead of stdout",
  "  --project-dir <dir>   where Pulumi.<name>.yaml is (default: this project)",
  "  --allow-missing-passwords",
  "                        a password the stack file does not set is no failure (set elsewhere: Pulumi ESC)",
  "  -h, --help            this help",
  "",
  "Exit status: 0 the plan; 1 a bad stack file, or a password in plain text or not set (pulumi up would",
  "stop on it); 2 plan could not run (or ran out of memory: REGISTRY_ACCESS_PLAN_HEAP_MB, default 1024).",
].join("\n");

const OPTIONS = {
  stack: { type: "string" },
  json: { type: "boolean" },
  out: { type: "string" },
  "project-dir": { type: "string" },
  "allow-missing-passwords": { type: "boolean" },
} as const;

interface Options {
  /** The stack's name, `dev`, also when given as `org/dev` or `org/project/dev`. */
  readonly stack: string;
  /** As given: what `pulumi config set --stack` takes. */
  readonly stackArg: string;
  readonly json: boolean;
  readonly out?: string;
  readonly projectDir: string;
  /** A static password the stack file does not set is no failure. */
  readonly allowMissingPasswords: boolean;
}

function readOptions(argv: readonly string[]): Options {
  const values = parseOptions(argv, OPTIONS);
  if (values.stack === undefined) throw new UsageError("--stack is required");
  const stack = stackName(values.stack);
  if (stack === undefined) {
    throw new UsageError(`--stack takes a stack name (dev, or org/dev), got ${JSON.stringify(values.stack)}`);
  }
  if (values.out === "") throw new UsageError("--out takes a file name");
  const projectDir = values["project-dir"];
  return {
    stack,
    stackArg: values.stack,
    json: values.json ?? false,
    ...(values.out !== undefined ? { out: values.out } : {}),
    projectDir: projectDir !== undefined ? path.resolve(projectDir) : path.resolve(__dirname, ".."),
    allowMissingPasswords: values["allow-missing-passwords"] ?? false,
  };
}

/**
 * Namespaces per run of the program. The SDK keeps every output of every resource pending until the run settles
 * (about 2 MB per ACR namespace at the peak, docs/performance.md), so a fleet is planned a slice at a time: the
 * peak then depends on this, not on the stack's size.
 */
export const PLAN_CHUNK_NAMESPACES = 200;

/** The stack's namespaces (sorted, as the settings list them) in slices of at most `size`. */
export function namespaceChunks(names: readonly string[], size: number): string[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new Error(`a chunk holds at least one namespace, got ${size}`);
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += size) chunks.push(names.slice(i, i + size));
  return chunks;
}

/**
 * The program under mocks, one slice of namespaces at a time, as one recorder: what one run would record.
 * Each namespace's resources are its own; what the stack declares once (its providers, the alerts) has the same
 * URN in every slice and is kept once. The one check that counts across namespaces (tokens per ACR registry
 * against its tier) runs first on the whole stack, as the program runs it.
 */
async function runInChunks(
  config: Record<string, unknown>,
  settings: Settings,
  stack: string,
  size: number,
): Promise<Recorder> {
  const names = settings.namespaces.map((n) => n.name);
  if (names.length <= size) return (await runProgram(config, { stack, project: PROJECT })).recorder;
  await installMocks(new Recorder(), { stack, project: PROJECT });
  await checkAcrLimits(settings);
  const key = `${PROJECT}:namespaces`;
  const all = config[key] as Record<string, unknown>;
  const recorder = new Recorder();
  const seen = new Set<string>();
  for (const chunk of namespaceChunks(names, size)) {
    const namespaces = Object.fromEntries(chunk.map((name) => [name, all[name]]));
    const run = await runProgram({ ...config, [key]: namespaces }, { stack, project: PROJECT });
    for (const r of run.recorder.resources) {
      if (seen.has(r.urn)) continue;
      seen.add(r.urn);
      recorder.resources.push(r);
    }
  }
  return recorder;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

async function plan(options: Options, io: Io, chunkNamespaces: number): Promise<number> {
  const { stack } = options;
  const file = stackFilePath(options.projectDir, stack);
  if (!fs.existsSync(file)) throw new UsageError(`no stack file ${file}`);
  let passwords: Record<string, PasswordInFile>;
  let stackFile: ReturnType<typeof readStackFile>;
  try {
    const { config } = readStackFile(file);
    passwords = passwordsInFile(config);
    stackFile = stackFileOf(config, { placeholders: true });
  } catch (error) {
    if (!(error instanceof StackFileError)) throw error;
    if (error.kind === "unreadable") throw new UsageError(error.message);
    io.err(`${error.message}\n`);
    return 1;
  }
  const where = (state: PasswordInFile) =>
    Object.keys(passwords)
      .filter((id) => passwords[id] === state)
      .sort();
  const setCommand = (id: string) =>
    `\`pulumi config set --stack ${options.stackArg} --secret --path 'registries.${id}.password' <value>\``;
  const plainText = where("plaintext");
  const notSet = options.allowMissingPasswords ? [] : where("missing");
  const encrypt = [
    ...plainText.map(
      (id) =>
        `${path.basename(file)}: registries.${id}.password is in plain text; encrypt it with ${setCommand(id)}\n`,
    ),
    ...notSet.map(
      (id) =>
        `${path.basename(file)}: registries.${id}.password is not set; set it with ${setCommand(id)} ` +
        "(or pass --allow-missing-passwords where it is set elsewhere)\n",
    ),
  ];
  let settings: Settings;
  try {
    settings = parseSettings(stackFile.settings);
  } catch (e) {
    if (e instanceof SettingsError) {
      io.err(`${path.basename(file)}: ${e.message}\n${encrypt.join("")}`);
      return 1;
    }
    throw e;
  }
  // The plan reads the passwords from the file itself (above); the program under mocks need not read it again.
  setStackFileSource(() => undefined);
  let recorder: Recorder;
  try {
    recorder = await runInChunks(stackFile.config, settings, stack, chunkNamespaces);
  } finally {
    setStackFileSource();
  }
  const result = buildPlan(stack, settings, recorder, passwords);
  const text = options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPlan(result)}\n`;
  if (options.out !== undefined) {
    try {
      fs.writeFileSync(options.out, text);
    } catch (error) {
      throw new UsageError(
        `cannot write ${options.out}: ${(error as NodeJS.ErrnoException).code ?? "failed"}`,
      );
    }
  } else {
    io.out(text);
  }
  io.err(encrypt.join(""));
  if (plainText.length + notSet.length === 0) return 0;
  const why = [
    ...(plainText.length > 0 ? [`${count(plainText.length, "password", "passwords")} in plain text`] : []),
    ...(notSet.length > 0 ? [`${count(notSet.length, "password", "passwords")} not set`] : []),
  ];
  io.err(
    `plan: failed: ${why.join(", ")}; pulumi up would stop on ${plainText.length + notSet.length === 1 ? "it" : "them"}\n`,
  );
  return 1;
}

/**
 * The whole command: its exit status. Throws only for a bug (a usage problem is reported and gives 2).
 * `chunkNamespaces`: namespaces per run of the program (tests plan small stacks in several runs).
 */
export async function main(
  argv: readonly string[],
  io: Io = PROCESS_IO,
  chunkNamespaces = PLAN_CHUNK_NAMESPACES,
): Promise<number> {
  try {
    return await plan(readOptions(argv), io, chunkNamespaces);
  } catch (error) {
    if (error instanceof HelpRequested) {
      io.out(`${HELP}\n`);
      return 0;
    }
    if (error instanceof UsageError) {
      io.err(`plan: ${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`plan: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
