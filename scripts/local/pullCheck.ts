/**
 * The last step of `npm run up:local`: for every namespace of the stack, pull the local image with the
 * credentials of that namespace's pull secret, read from the live cluster — what the kubelet would do for a pod
 * there.
 *
 *   ts-node scripts/local/pullCheck.ts --stack local --project-dir <dir> --image-file <image.json> --out <file>
 *
 * Per namespace: the secret's entry for the image's registry, the program's own handshake with that repository
 * (checkRegistryLogin, the check verify runs for ACR repositories: HEAD of the manifest once authorized), then a
 * pull: the manifest and every blob it names, each checked against its digest, and the manifest's digest against
 * the one pushed. The pull's User-Agent names the namespace, so the registry's log shows one pull per namespace.
 * Writes every result to --out (JSON) and prints one line per namespace; exit status 1 if any failed.
 *
 * `npm run verify -- --stack` checks the login of a static registry but takes no repository to pull; see the
 * README of the local stack.
 */
import * as k8s from "@kubernetes/client-node";
import * as fs from "fs";
import * as path from "path";
import { checkRegistryLogin } from "../../components/registryHandshake";
import { parseSettings } from "../../components/settings";
import { readStackFile, stackFilePath } from "../../components/stackFile";
import { expectedFromStack, sameRegistry, secretEntries } from "../../tools/verifyChecks";
import { pullImage } from "./registry";

export interface PullCheck {
  readonly namespace: string;
  readonly secret: string;
  readonly image: string;
  readonly ok: boolean;
  /** The user in the namespace's secret. */
  readonly username?: string;
  /** The manifest's digest, from the bytes pulled. */
  readonly digest?: string;
  readonly userAgent: string;
  readonly requests: readonly string[];
  readonly detail: string;
}

export function userAgentFor(namespace: string): string {
  return `registry-access-up-local (namespace ${namespace})`;
}

function option(argv: readonly string[], name: string): string {
  const at = argv.indexOf(`--${name}`);
  const value = at < 0 ? undefined : argv[at + 1];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

async function checkNamespace(
  api: k8s.CoreV1Api,
  namespace: string,
  secretName: string,
  image: { image: string; server: string; repository: string; tag: string; digest: string },
): Promise<PullCheck> {
  const userAgent = userAgentFor(namespace);
  const base = { namespace, secret: secretName, image: image.image, userAgent, requests: [] as string[] };
  let secret: k8s.V1Secret;
  try {
    secret = await api.readNamespacedSecret({ name: secretName, namespace });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      ...base,
      ok: false,
      detail: `secret ${secretName}: ${code === 404 ? "missing" : `not readable (${String(code)})`}`,
    };
  }
  const entry = secretEntries(secret).find((e) => sameRegistry(e.server, image.server));
  if (entry?.login === undefined) {
    return {
      ...base,
      ok: false,
      detail: `secret ${secretName} has no usable entry for ${image.server}${entry ? `: ${entry.problem}` : ""}`,
    };
  }
  const login = entry.login;
  const handshake = await checkRegistryLogin(
    { server: image.server, username: login.username, password: login.password },
    { repository: image.repository },
  );
  if (!handshake.ok) return { ...base, username: login.username, ok: false, detail: handshake.detail };
  try {
    const pulled = await pullImage(image.server, login, image.repository, image.tag, userAgent);
    if (pulled.digest !== image.digest) {
      return {
        ...base,
        username: login.username,
        ok: false,
        digest: pulled.digest,
        requests: pulled.requests,
        detail: `pulled manifest ${pulled.digest}, but ${image.digest} was pushed`,
      };
    }
    return {
      ...base,
      username: login.username,
      ok: true,
      digest: pulled.digest,
      requests: pulled.requests,
      detail: `user ${login.username} pulled ${image.image} (manifest ${pulled.digest}, ${pulled.requests.length - 1} blobs)`,
    };
  } catch (error) {
    return { ...base, username: login.username, ok: false, detail: (error as Error).message };
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const stack = option(argv, "stack");
  const projectDir = path.resolve(option(argv, "project-dir"));
  const image = JSON.parse(fs.readFileSync(option(argv, "image-file"), "utf8")) as {
    image: string;
    server: string;
    repository: string;
    tag: string;
    digest: string;
  };
  const stackFile = readStackFile(stackFilePath(projectDir, stack), { placeholders: true });
  const expected = expectedFromStack(parseSettings(stackFile.settings), stack).filter((ns) =>
    ns.registries.some((r) => sameRegistry(r.server, image.server)),
  );
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const context = stackFile.config["kubernetes:context"];
  if (typeof context === "string") kubeConfig.setCurrentContext(context);
  const api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const checks: PullCheck[] = [];
  for (const ns of expected) checks.push(await checkNamespace(api, ns.name, ns.secretName, image));
  fs.writeFileSync(option(argv, "out"), `${JSON.stringify({ stack, image, checks }, null, 2)}\n`);
  for (const c of checks) {
    process.stdout.write(
      `${c.ok ? "ok  " : "FAIL"}  namespace ${c.namespace}, secret ${c.secret}: ${c.detail}\n`,
    );
  }
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(
    `pull check: ${checks.length} namespaces, ${failed === 0 ? "all pulled" : `${failed} could not pull`} ${image.image}\n`,
  );
  return failed === 0 && checks.length > 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`pull check: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
