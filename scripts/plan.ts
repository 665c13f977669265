/**
 * npm run plan -- --stack <name> [--json] [--project-dir <dir>]
 *
 * What a stack declares, offline: reads Pulumi.<name>.yaml, runs the program under Pulumi's mock runtime with
 * no cloud, cluster or credentials, and prints per namespace its registries (and ACR repositories), service
 * accounts, secret name, delivery and resource count. Secure values are never needed: they show as [secret].
 * A bad stack file exits 1 with the validation errors; a missing one exits 2.
 */
import * as fs from "fs";
import * as path from "path";
import { authsKey } from "../components/dockerConfig";
import { acrTokenName } from "../components/names";
import { parseSettings, Settings, SettingsError } from "../components/settings";
import { readStackFile, SECRET_PLACEHOLDER, stackFilePath } from "../components/stackFile";
import { Recorder, Registered, runProgram } from "./mockRuntime";

const PROJECT = "registry-access";
const NAMESPACE_COMPONENT = "registry-access:index:NamespaceRegistryAccess";

export interface PlannedRegistry {
  readonly id: string;
  readonly type: "static" | "acr";
  /** The `auths` key in the pull secret. */
  readonly server: string;
  readonly username: string;
  readonly password: string;
  readonly repositories?: readonly string[];
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

export function buildPlan(stack: string, settings: Settings, recorder: Recorder): Plan {
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
      registries: ns.registries.map(({ registry, repositories }) =>
        registry.type === "acr"
          ? {
              id: registry.id,
              type: "acr" as const,
              server: authsKey(registry.server),
              username: acrTokenName(PROJECT, stack, ns.name),
              password: "[generated]",
              repositories,
            }
          : {
              id: registry.id,
              type: "static" as const,
              server: authsKey(registry.server),
              username: registry.username,
              password: SECRET_PLACEHOLDER,
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
      const who = r.type === "acr" ? `token ${r.username}` : `user ${r.username}, password ${r.password}`;
      lines.push(`    ${r.server}  (${r.id}, ${r.type}) ${who}${scope}`);
    }
    const accounts = ns.serviceAccounts.map(
      (sa) => `${sa.name} (${sa.action === "create" ? "created" : "patched"})`,
    );
    lines.push(`  service accounts: ${accounts.length ? accounts.join(", ") : "none"}`);
  }
  return lines.join("\n");
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run plan -- --stack <name> [--json]\n`);
  process.exit(2);
}

async function main(argv: readonly string[]): Promise<number> {
  const i = argv.indexOf("--stack");
  const stack = i >= 0 ? argv[i + 1] : undefined;
  if (!stack) usage("--stack is required");
  const d = argv.indexOf("--project-dir");
  const projectDir = d >= 0 ? path.resolve(argv[d + 1]) : path.resolve(__dirname, "..");
  const file = stackFilePath(projectDir, stack);
  if (!fs.existsSync(file)) usage(`no stack file ${path.relative(process.cwd(), file) || file}`);
  const stackFile = readStackFile(file, { placeholders: true });
  let settings: Settings;
  try {
    settings = parseSettings(stackFile.settings);
  } catch (e) {
    if (e instanceof SettingsError) {
      process.stderr.write(`${path.basename(file)}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const run = await runProgram(stackFile.config, { stack, project: PROJECT });
  const plan = buildPlan(stack, settings, run.recorder);
  process.stdout.write(
    argv.includes("--json") ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
