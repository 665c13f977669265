import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import YAML from "yaml";

const DIR = join(__dirname, "..", ".github", "workflows");

type Map = Record<string, unknown>;

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly "continue-on-error"?: boolean;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

interface Job {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly environment?: string | { readonly name: string; readonly url?: string };
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean; queue?: string };
  readonly strategy?: { matrix?: { include?: Record<string, string>[] } };
  readonly env?: Record<string, string>;
  readonly steps: Step[];
}

interface Workflow {
  readonly name: string;
  readonly on: Map;
  readonly permissions: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const STACK_NAME = "${{ vars.PULUMI_ORG && format('{0}/{1}', vars.PULUMI_ORG, env.STACK) || env.STACK }}";
const PULUMI_TOKEN = "${{ secrets.PULUMI_ACCESS_TOKEN }}";

/** Parses strictly: duplicate keys, YAML errors and warnings fail the load instead of being ignored. */
function load(file: string): Workflow {
  const doc = YAML.parseDocument(readFileSync(join(DIR, file), "utf8"), { uniqueKeys: true, strict: true });
  assert.deepEqual([...doc.errors, ...doc.warnings].map(String), [], `${file} does not parse cleanly`);
  return doc.toJS() as Workflow;
}

const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const workflows: Record<string, Workflow> = Object.fromEntries(files.map((f) => [f, load(f)]));
const preview = workflows["preview.yml"];
const deploy = workflows["deploy.yml"];
const scheduled = workflows["scheduled.yml"];
const e2e = workflows["e2e.yml"];
const mutation = workflows["mutation.yml"];

/** The workflows that log in to Azure and run Pulumi on the stacks. */
const STACK_WORKFLOWS = ["deploy.yml", "preview.yml", "scheduled.yml"];

function action(step: Step): string | undefined {
  return step.uses?.split("@")[0];
}

/** The steps that run a Pulumi command on a stack (without `command`, the action only installs the CLI). */
function pulumiSteps(job: Job): Step[] {
  return job.steps.filter((s) => action(s) === "pulumi/actions" && s.with?.command !== undefined);
}

/** The stacks a job runs Pulumi on: its matrix's, or its own `env.STACK`. */
function stacksOf(job: Job): string[] {
  if (job.env?.STACK === "${{ matrix.stack }}")
    return (job.strategy?.matrix?.include ?? []).map((e) => e.stack);
  return job.env?.STACK === undefined ? [] : [job.env.STACK];
}

function stacksOfWorkflow(workflow: Workflow): string[] {
  const jobs = Object.values(workflow.jobs).filter((j) => pulumiSteps(j).length > 0);
  return [...new Set(jobs.flatMap(stacksOf))].sort();
}

function allJobs(): [string, string, Job][] {
  return Object.entries(workflows).flatMap(([file, w]) =>
    Object.entries(w.jobs).map(([id, job]): [string, string, Job] => [file, id, job]),
  );
}

/** Every (path, value) pair under `value`, for checks that must hold wherever a key turns up. */
function walk(value: unknown, path = ""): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => walk(v, `${path}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => [
      [`${path}.${k}`, v] as [string, unknown],
      ...walk(v, `${path}.${k}`),
    ]);
  }
  return [];
}

// The checks that apply to every file return their problems, so each is also shown failing on a broken copy.

/** `uses:` pinned to a major version tag at least (`@v4`, `@v4.1.2`) or to a full commit. */
function unpinnedUses(workflow: Workflow): string[] {
  return walk(workflow)
    .filter(([path, v]) => path.endsWith(".uses") && typeof v === "string")
    .filter(
      ([, v]) => !/^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@(?:v\d+(?:\.\d+){0,2}|[0-9a-f]{40})$/.test(v as string),
    )
    .map(([path, v]) => `${path}: ${String(v)}`);
}

/** Anything that would log in with a stored secret instead of OIDC. */
function clientSecrets(workflow: Workflow): string[] {
  return walk(workflow)
    .filter(
      ([path, v]) =>
        /\.(creds|client-secret|clientSecret|AZURE_CLIENT_SECRET|ARM_CLIENT_SECRET)$/.test(path) ||
        (typeof v === "string" && /AZURE_CLIENT_SECRET|ARM_CLIENT_SECRET|clientSecret|client-secret/.test(v)),
    )
    .map(([path]) => path)
    .filter((path, i, all) => all.indexOf(path) === i);
}

/** Every `PULUMI_ACCESS_TOKEN` anywhere comes from the secrets, and every Pulumi step has one. */
function pulumiTokenProblems(workflow: Workflow): string[] {
  const fromElsewhere = walk(workflow)
    .filter(([path, v]) => path.endsWith(".PULUMI_ACCESS_TOKEN") && v !== PULUMI_TOKEN)
    .map(([path, v]) => `${path}: ${String(v)}`);
  const missing = Object.entries(workflow.jobs).flatMap(([id, job]) =>
    pulumiSteps(job)
      .filter((s) => s.env?.PULUMI_ACCESS_TOKEN !== PULUMI_TOKEN)
      .map((s) => `${id}: step ${s.name ?? s.uses} has no PULUMI_ACCESS_TOKEN from secrets`),
  );
  return [...fromElsewhere, ...missing];
}

/** In a job that runs both: the `up` comes before the drift check, and the drift check really checks. */
function driftProblems(job: Job): string[] {
  const steps = pulumiSteps(job);
  const up = steps.findIndex((s) => s.with?.command === "up");
  const drift = steps.findIndex((s) => s.with?.command === "preview");
  const problems: string[] = [];
  if (up < 0) problems.push("no up step");
  if (drift < 0) problems.push("no drift check");
  if (up >= 0 && drift >= 0 && drift < up) problems.push("drift check runs before the up");
  if (drift >= 0 && steps[drift].with?.refresh !== true) problems.push("drift check without refresh: true");
  if (drift >= 0 && steps[drift].with?.["expect-no-changes"] !== true) {
    problems.push("drift check without expect-no-changes: true");
  }
  // The report: a refresh before the up that finds what drifted, lets the up repair it, and fails the run after.
  const report = steps.findIndex((s) => s.with?.command === "refresh");
  if (report < 0) problems.push("no drift report");
  if (report >= 0 && up >= 0 && report > up) problems.push("drift report runs after the up");
  if (report >= 0 && steps[report].with?.["expect-no-changes"] !== true) {
    problems.push("drift report without expect-no-changes: true");
  }
  if (report >= 0 && (steps[report].id !== "drift" || steps[report]["continue-on-error"] !== true)) {
    problems.push("drift report is not id drift with continue-on-error: the up would not repair");
  }
  const fail = job.steps.findIndex(
    (s) => s.if === "steps.drift.outcome == 'failure'" && /\nexit 1\n$/.test(s.run ?? ""),
  );
  if (up >= 0 && fail < job.steps.indexOf(steps[up]))
    problems.push("repaired drift does not fail the run after the up");
  return problems;
}

const DEPLOY_CLIENT_ID = "${{ vars.AZURE_CLIENT_ID }}";
const PREVIEW_CLIENT_ID = "${{ vars.AZURE_PREVIEW_CLIENT_ID }}";
const PROD_PREVIEW_CLIENT_ID = "${{ vars.AZURE_PROD_PREVIEW_CLIENT_ID }}";

function environmentOf(job: Job): string | undefined {
  return typeof job.environment === "object" ? job.environment.name : job.environment;
}

/**
 * The environments that hold prod's credentials (PULUMI_ACCESS_TOKEN as an environment secret, an identity
 * federated for `environment:<name>`) behind protection rules; docs (ci-cd) say which rules each must have.
 */
const PROD_ENVIRONMENTS = ["production", "production-preview", "production-rotation"];

/** The stacks a job's own `pulumi ... --stack X` commands or literal `stack-name`s name. */
function namedStacks(job: Job): string[] {
  const fromRuns = job.steps.flatMap((s) =>
    [...(s.run ?? "").matchAll(/\bpulumi\b[^\n]*?\s(?:--stack|-s)[\s=]+([\w./-]+)/g)].map((m) => m[1]),
  );
  const fromActions = pulumiSteps(job)
    .map((s) => String(s.with?.["stack-name"] ?? ""))
    .filter((name) => !name.includes("env.STACK"));
  return [...fromRuns, ...fromActions].map((name) => name.split("/").pop() as string);
}

/**
 * Issue 16.1: code nobody has reviewed never runs with a credential that can decrypt prod. Whoever can push a
 * branch can edit the workflow that a pull request runs, so a job a pull request starts is judged by what it could
 * reach: unless production-preview (required reviewers) holds it back, it runs Pulumi on dev only, names no prod
 * variable or identity, uses none of main's prod environments, and reads a secret only from its own environment
 * (a repository secret is readable by every branch's copy of the file). pull_request_target is refused outright:
 * it hands the base repository's secrets to a run that a fork starts.
 */
function pullRequestProblems(all: Record<string, Workflow>): string[] {
  return Object.entries(all).flatMap(([file, w]) => {
    const triggers = Object.keys(w.on);
    const problems = triggers.includes("pull_request_target")
      ? [`${file}: pull_request_target runs with the repository's secrets for any fork`]
      : [];
    if (!triggers.some((t) => t.startsWith("pull_request"))) return problems;
    for (const [id, job] of Object.entries(w.jobs)) {
      const where = `${file}:${id}`;
      const env = environmentOf(job);
      if (env === "production-preview") continue;
      if (env !== undefined && PROD_ENVIRONMENTS.includes(env)) {
        problems.push(`${where}: uses ${env}, an environment of main, from a pull request`);
        continue;
      }
      const text = JSON.stringify(job);
      for (const stack of new Set([...stacksOf(job), ...namedStacks(job)].filter((s) => s !== "dev"))) {
        problems.push(`${where}: runs Pulumi on ${stack} without production-preview's review`);
      }
      for (const name of new Set(text.match(/vars\.\w*PROD\w*|vars\.AZURE_CLIENT_ID\b/g) ?? [])) {
        problems.push(`${where}: names ${name} without production-preview's review`);
      }
      const secrets = new Set(
        (text.match(/secrets\.\w+/g) ?? []).filter((x) => x !== "secrets.GITHUB_TOKEN"),
      );
      if (env === undefined) {
        for (const secret of secrets) problems.push(`${where}: reads the repository secret ${secret}`);
      }
    }
    return problems;
  });
}

/** Any job that runs Pulumi on prod, from any trigger, runs in one of prod's environments. */
function prodOutsideEnvironments(all: Record<string, Workflow>): string[] {
  return Object.entries(all).flatMap(([file, w]) =>
    Object.entries(w.jobs)
      .filter(([, job]) => pulumiSteps(job).length > 0)
      .filter(([, job]) => [...stacksOf(job), ...namedStacks(job)].includes("prod"))
      .filter(([, job]) => !PROD_ENVIRONMENTS.includes(environmentOf(job) ?? ""))
      .map(([id, job]) => `${file}:${id}: runs Pulumi on prod in ${String(environmentOf(job))}`),
  );
}

/**
 * Pull requests log in as the read-only preview identity and never name the deploy identity; everything else
 * logs in as the deploy identity.
 */
function identityProblems(file: string, workflow: Workflow): string[] {
  // `.jobs.<id>.steps[n]`: the prod preview has its own read-only identity, federated for production-preview.
  const wantOf = (step: string): string => {
    if (file !== "preview.yml") return DEPLOY_CLIENT_ID;
    const job = workflow.jobs[step.split(".")[2]];
    return environmentOf(job) === "production-preview" ? PROD_PREVIEW_CLIENT_ID : PREVIEW_CLIENT_ID;
  };
  const logins = walk(workflow)
    .filter(([path, v]) => path.endsWith(".uses") && typeof v === "string" && v.startsWith("azure/login@"))
    .map(([path]) => path.slice(0, -".uses".length));
  const clientIds = new Map(walk(workflow));
  const wrongLogins = logins
    .filter((step) => clientIds.get(`${step}.with.client-id`) !== wantOf(step))
    .map(
      (step) => `${step}: logs in as ${String(clientIds.get(`${step}.with.client-id`))}, not ${wantOf(step)}`,
    );
  const deployNamed =
    file === "preview.yml"
      ? walk(workflow)
          .filter(([, v]) => typeof v === "string" && v.includes("vars.AZURE_CLIENT_ID"))
          .map(([path]) => `${path}: names the deploy identity`)
      : [];
  return [...wrongLogins, ...deployNamed];
}

/** Every `up` group waits in line (queue: max) and never cancels: no pending deploy is replaced by a later run. */
function upQueueProblems(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => job.concurrency?.group.startsWith("pulumi-up-"))
    .flatMap(([id, job]) => {
      const c = job.concurrency as NonNullable<Job["concurrency"]>;
      return [
        ...(c["cancel-in-progress"] === false ? [] : [`${id}: cancel-in-progress is not false`]),
        ...(c.queue === "max" ? [] : [`${id}: queue is ${String(c.queue)}, not max`]),
      ];
    });
}

/**
 * Every job that runs Pulumi only transpiles (the test job type-checks once), and skips intermediate checkpoints
 * only where it names a self-managed backend: Pulumi Cloud journals each step, so there it gains nothing.
 */
function runtimeEnvProblems(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => pulumiSteps(job).length > 0)
    .flatMap(([id, job]) => {
      const env = job.env ?? {};
      const selfManaged = /^(file|azblob):\/\//.test(env.PULUMI_BACKEND_URL ?? "");
      return [
        ...(env.PULUMI_NODEJS_TRANSPILE_ONLY === "true"
          ? []
          : [`${id}: PULUMI_NODEJS_TRANSPILE_ONLY is not "true"`]),
        ...(env.PULUMI_SKIP_CHECKPOINTS === undefined || selfManaged
          ? []
          : [`${id}: PULUMI_SKIP_CHECKPOINTS without a self-managed PULUMI_BACKEND_URL`]),
        ...(selfManaged && env.PULUMI_SKIP_CHECKPOINTS !== "true"
          ? [`${id}: a self-managed backend without PULUMI_SKIP_CHECKPOINTS: "true"`]
          : []),
      ];
    });
}

/** The part of a job's env that says which stack and cluster it works on. */
function aksEnv(job: Job): Record<string, string | undefined> {
  const { STACK, AKS_RESOURCE_GROUP, AKS_CLUSTER_NAME } = job.env ?? {};
  return { STACK, AKS_RESOURCE_GROUP, AKS_CLUSTER_NAME };
}

/**
 * Every job that runs Pulumi hands azure-native the identity it logged in as, with ARM_USE_OIDC, so the provider
 * fetches fresh OIDC assertions itself; and it may ask GitHub for them (id-token: write, at job or workflow level).
 */
function armOidcProblems(workflow: Workflow): string[] {
  return Object.entries(workflow.jobs)
    .filter(([, job]) => pulumiSteps(job).length > 0)
    .flatMap(([id, job]) => {
      const env = job.env ?? {};
      const logins = job.steps.filter((s) => action(s) === "azure/login");
      const loggedInAs = [...new Set(logins.map((s) => s.with?.["client-id"]))];
      const want = {
        ARM_USE_OIDC: "true",
        ARM_CLIENT_ID:
          loggedInAs.length === 1 ? loggedInAs[0] : `one login identity, not ${loggedInAs.length}`,
        ARM_TENANT_ID: "${{ vars.AZURE_TENANT_ID }}",
        ARM_SUBSCRIPTION_ID: "${{ vars.AZURE_SUBSCRIPTION_ID }}",
      };
      const idToken = (job.permissions ?? workflow.permissions)["id-token"];
      return [
        ...Object.entries(want)
          .filter(([k, v]) => env[k] !== v)
          .map(([k, v]) => `${id}: ${k} is ${String(env[k])}, not ${String(v)}`),
        ...(idToken === "write" ? [] : [`${id}: id-token is ${String(idToken)}, not write`]),
      ];
    });
}

/** The jobs that run `npm test` on a pull request, as `file:job`. */
function pullRequestTestJobs(all: Record<string, Workflow>): string[] {
  return Object.entries(all)
    .filter(([, w]) => "pull_request" in w.on)
    .flatMap(([file, w]) =>
      Object.entries(w.jobs)
        .filter(([, job]) => job.steps.some((s) => s.run === "npm test"))
        .map(([id]) => `${file}:${id}`),
    );
}

/** Stops a run whose commit main has moved past (a late queued run, a re-run) before it logs in. */
const HEAD_GUARD: Step = {
  name: "Deploy only the head of main",
  run: [
    "head=$(git ls-remote origin refs/heads/main | cut -f1)",
    'if [ "$head" != "$GITHUB_SHA" ]; then',
    '  echo "::error::main is at $head now, not at $GITHUB_SHA: the run for $head deploys it, this commit included. Nothing was deployed."',
    "  exit 1",
    "fi",
    "",
  ].join("\n"),
};

function broken<T>(value: T, change: (copy: T) => void): T {
  const copy = structuredClone(value);
  change(copy);
  return copy;
}

/** Renames az's context (named after the cluster) to the stack file's kubernetes:context. */
const KUBE_CONTEXT_SCRIPT = [
  `want=$(node -e 'const c = require("yaml").parse(require("fs").readFileSync(\`Pulumi.\${process.env.STACK}.yaml\`, "utf8")).config ?? {}; process.stdout.write(c["kubernetes:context"] ?? "")')`,
  "have=$(kubectl config current-context)",
  'if [ -n "$want" ] && [ "$want" != "$have" ]; then kubectl config rename-context "$have" "$want"; fi',
  "",
].join("\n");

describe("GitHub Actions workflows", () => {
  describe("every file", () => {
    it("are the five user workflows, all parsed strictly", () => {
      assert.deepEqual(files.sort(), [
        "deploy.yml",
        "e2e.yml",
        "mutation.yml",
        "preview.yml",
        "scheduled.yml",
      ]);
    });

    it("grant GitHub's OIDC token at the top level where they log in to Azure, and only there", () => {
      for (const file of STACK_WORKFLOWS) {
        assert.equal(workflows[file].permissions["id-token"], "write", file);
        assert.equal(workflows[file].permissions.contents, "read", file);
      }
      assert.deepEqual(e2e.permissions, { contents: "read" });
      assert.deepEqual(mutation.permissions, { contents: "read" });
    });

    it("pin every action to a major version tag at least, and use these versions", () => {
      for (const [file, w] of Object.entries(workflows)) assert.deepEqual(unpinnedUses(w), [], file);
      const uses = new Set(
        allJobs().flatMap(([, , job]) => job.steps.flatMap((s) => (s.uses ? [s.uses] : []))),
      );
      assert.deepEqual([...uses].sort(), [
        "actions/checkout@v4",
        "actions/setup-node@v4",
        "actions/upload-artifact@v4",
        "azure/aks-set-context@v4",
        "azure/login@v2",
        "azure/use-kubelogin@v1",
        "helm/kind-action@v1",
        "pulumi/actions@v6",
      ]);
    });

    it("catch an unpinned action", () => {
      const copy = broken(deploy, (w) => {
        (w.jobs.dev.steps[0] as { uses: string }).uses = "actions/checkout@main";
      });
      assert.deepEqual(unpinnedUses(copy), [".jobs.dev.steps[0].uses: actions/checkout@main"]);
    });

    it("never log in with a client secret", () => {
      for (const [file, w] of Object.entries(workflows)) assert.deepEqual(clientSecrets(w), [], file);
      for (const file of files) {
        assert.doesNotMatch(
          readFileSync(join(DIR, file), "utf8"),
          /creds:|client-secret|CLIENT_SECRET/,
          file,
        );
      }
    });

    it("catch a login through creds or AZURE_CLIENT_SECRET", () => {
      const copy = broken(deploy, (w) => {
        const login = w.jobs.prod.steps.find((s) => action(s) === "azure/login") as { with: Map };
        login.with.creds = "${{ secrets.AZURE_CREDENTIALS }}";
        (w.jobs.dev as { env: Map }).env.AZURE_CLIENT_SECRET = "${{ secrets.AZURE_CLIENT_SECRET }}";
      });
      assert.deepEqual(clientSecrets(copy), [
        ".jobs.dev.env.AZURE_CLIENT_SECRET",
        ".jobs.prod.steps[4].with.creds",
      ]);
    });

    it("take PULUMI_ACCESS_TOKEN from the secrets, on every Pulumi step", () => {
      for (const [file, w] of Object.entries(workflows)) assert.deepEqual(pulumiTokenProblems(w), [], file);
      const copy = broken(scheduled, (w) => {
        const drift = pulumiSteps(w.jobs.prod)[2] as { env: Map };
        drift.env.PULUMI_ACCESS_TOKEN = "${{ vars.PULUMI_ACCESS_TOKEN }}";
      });
      assert.deepEqual(pulumiTokenProblems(copy), [
        ".jobs.prod.steps[13].env.PULUMI_ACCESS_TOKEN: ${{ vars.PULUMI_ACCESS_TOKEN }}",
        "prod: step Drift check (pulumi preview --refresh --expect-no-changes) has no PULUMI_ACCESS_TOKEN from secrets",
      ]);
    });

    it("cover both dev and prod where they run Pulumi on the stacks", () => {
      for (const file of STACK_WORKFLOWS)
        assert.deepEqual(stacksOfWorkflow(workflows[file]), ["dev", "prod"], file);
      assert.deepEqual(stacksOfWorkflow(e2e), []);
    });

    it("log in the same way in every job: OIDC, kubelogin, the stack's AKS cluster, its context name", () => {
      const expected = (clientId: string): Step[] => [
        {
          name: "Azure login (OIDC)",
          uses: "azure/login@v2",
          with: {
            "client-id": clientId,
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
          },
        },
        {
          name: "Install kubelogin",
          uses: "azure/use-kubelogin@v1",
          with: { "kubelogin-version": "v0.2.7" },
        },
        {
          name: "AKS credentials",
          uses: "azure/aks-set-context@v4",
          with: {
            "resource-group": "${{ env.AKS_RESOURCE_GROUP }}",
            "cluster-name": "${{ env.AKS_CLUSTER_NAME }}",
            "use-kubelogin": "true",
          },
        },
        {
          name: "Kube context as the stack file names it",
          run: KUBE_CONTEXT_SCRIPT,
        },
      ];
      const loggingIn = allJobs().filter(([, , job]) => pulumiSteps(job).length > 0);
      assert.deepEqual(
        loggingIn.map(([file, id]) => `${file}:${id}`),
        [
          "deploy.yml:dev",
          "deploy.yml:prod",
          "preview.yml:preview-dev",
          "preview.yml:preview-prod",
          "scheduled.yml:dev",
          "scheduled.yml:prod",
        ],
      );
      for (const [file, id, job] of loggingIn) {
        const start = job.steps.findIndex((s) => action(s) === "azure/login");
        const clientId =
          file !== "preview.yml"
            ? DEPLOY_CLIENT_ID
            : id === "preview-prod"
              ? PROD_PREVIEW_CLIENT_ID
              : PREVIEW_CLIENT_ID;
        assert.deepEqual(job.steps.slice(start, start + 4), expected(clientId), `${file}:${id}`);
        // Right before Pulumi: az needs the short-lived GitHub token again for each new access token.
        const firstPulumi = job.steps.findIndex((s) => action(s) === "pulumi/actions");
        assert.equal(firstPulumi, start + 4, `${file}:${id}`);
      }
    });

    it("log pull requests in as the read-only preview identity, and everything else as the deploy identity", () => {
      for (const [file, w] of Object.entries(workflows))
        assert.deepEqual(identityProblems(file, w), [], file);
      assert.doesNotMatch(readFileSync(join(DIR, "preview.yml"), "utf8"), /AZURE_CLIENT_ID/);
    });

    it("catch a preview that logs in as, or names, the deploy identity, and a deploy that logs in as the preview", () => {
      const previewAsDeploy = broken(preview, (w) => {
        const login = w.jobs["preview-dev"].steps.find((s) => action(s) === "azure/login") as { with: Map };
        login.with["client-id"] = DEPLOY_CLIENT_ID;
        (w.jobs["preview-dev"] as { env: Map }).env.ARM_CLIENT_ID = DEPLOY_CLIENT_ID;
        const prodLogin = w.jobs["preview-prod"].steps.find((s) => action(s) === "azure/login") as {
          with: Map;
        };
        prodLogin.with["client-id"] = PREVIEW_CLIENT_ID;
      });
      assert.deepEqual(identityProblems("preview.yml", previewAsDeploy), [
        `.jobs.preview-dev.steps[3]: logs in as ${DEPLOY_CLIENT_ID}, not ${PREVIEW_CLIENT_ID}`,
        `.jobs.preview-prod.steps[3]: logs in as ${PREVIEW_CLIENT_ID}, not ${PROD_PREVIEW_CLIENT_ID}`,
        ".jobs.preview-dev.env.ARM_CLIENT_ID: names the deploy identity",
        ".jobs.preview-dev.steps[3].with.client-id: names the deploy identity",
      ]);
      const deployAsPreview = broken(deploy, (w) => {
        const login = w.jobs.prod.steps.find((s) => action(s) === "azure/login") as { with: Map };
        login.with["client-id"] = PREVIEW_CLIENT_ID;
      });
      assert.deepEqual(identityProblems("deploy.yml", deployAsPreview), [
        `.jobs.prod.steps[4]: logs in as ${PREVIEW_CLIENT_ID}, not ${DEPLOY_CLIENT_ID}`,
      ]);
    });

    it("point each stack at its own AKS cluster variables", () => {
      const vars = (stack: string) => ({
        rg: `\${{ vars.AKS_RESOURCE_GROUP_${stack.toUpperCase()} }}`,
        name: `\${{ vars.AKS_CLUSTER_NAME_${stack.toUpperCase()} }}`,
      });
      for (const [file, id, job] of allJobs().filter(([, , j]) => pulumiSteps(j).length > 0)) {
        if (job.env?.STACK === "${{ matrix.stack }}") {
          assert.deepEqual(
            aksEnv(job),
            {
              STACK: "${{ matrix.stack }}",
              AKS_RESOURCE_GROUP: "${{ matrix.aks-resource-group }}",
              AKS_CLUSTER_NAME: "${{ matrix.aks-cluster-name }}",
            },
            `${file}:${id}`,
          );
          for (const entry of job.strategy?.matrix?.include ?? []) {
            const v = vars(entry.stack);
            assert.deepEqual(
              entry,
              { stack: entry.stack, "aks-resource-group": v.rg, "aks-cluster-name": v.name },
              `${file}:${id}`,
            );
          }
        } else {
          const stack = job.env?.STACK ?? "";
          const v = vars(stack);
          assert.deepEqual(
            aksEnv(job),
            { STACK: stack, AKS_RESOURCE_GROUP: v.rg, AKS_CLUSTER_NAME: v.name },
            `${file}:${id}`,
          );
        }
      }
    });

    it("name the stack the same way in every Pulumi step", () => {
      const names = allJobs().flatMap(([, , job]) => pulumiSteps(job).map((s) => s.with?.["stack-name"]));
      assert.equal(names.length, 12);
      assert.deepEqual(new Set(names), new Set([STACK_NAME]));
    });

    it("set up the Node of .nvmrc with the npm cache and install with npm ci", () => {
      for (const [file, id, job] of allJobs()) {
        assert.deepEqual(
          job.steps.slice(0, 3),
          [
            { uses: "actions/checkout@v4" },
            { uses: "actions/setup-node@v4", with: { "node-version-file": ".nvmrc", cache: "npm" } },
            { run: "npm ci" },
          ],
          `${file}:${id}`,
        );
      }
    });

    it("install promtool before every npm test", () => {
      const testing = allJobs().filter(([, , job]) => job.steps.some((s) => s.run === "npm test"));
      assert.deepEqual(
        testing.map(([file, id]) => `${file}:${id}`),
        ["preview.yml:test"],
      );
      for (const [file, id, job] of testing) {
        const runs = job.steps.map((s) => s.run);
        const test = runs.indexOf("npm test");
        assert.equal(
          runs[test - 1],
          "sudo apt-get update && sudo apt-get install -y --no-install-recommends docker-registry apache2-utils prometheus",
          `${file}:${id}`,
        );
      }
    });

    it("run pulumi transpile-only, skipping checkpoints only on a self-managed backend", () => {
      for (const file of STACK_WORKFLOWS) assert.deepEqual(runtimeEnvProblems(workflows[file]), [], file);
      const typeChecked = broken(deploy, (w) => {
        delete (w.jobs.dev.env as Record<string, string>).PULUMI_NODEJS_TRANSPILE_ONLY;
        (w.jobs.prod.env as Record<string, string>).PULUMI_SKIP_CHECKPOINTS = "true";
      });
      assert.deepEqual(runtimeEnvProblems(typeChecked), [
        'dev: PULUMI_NODEJS_TRANSPILE_ONLY is not "true"',
        "prod: PULUMI_SKIP_CHECKPOINTS without a self-managed PULUMI_BACKEND_URL",
      ]);
      const blob = broken(deploy, (w) => {
        (w.jobs.dev.env as Record<string, string>).PULUMI_BACKEND_URL = "azblob://state";
        (w.jobs.prod.env as Record<string, string>).PULUMI_BACKEND_URL = "file:///tmp/state";
        (w.jobs.prod.env as Record<string, string>).PULUMI_SKIP_CHECKPOINTS = "true";
      });
      assert.deepEqual(runtimeEnvProblems(blob), [
        'dev: a self-managed backend without PULUMI_SKIP_CHECKPOINTS: "true"',
      ]);
    });

    it("type-check and lint once, in the pull request's test job, right after npm ci", () => {
      const checking = allJobs().filter(([, , job]) => job.steps.some((s) => s.run?.startsWith("npx tsc")));
      assert.deepEqual(
        checking.map(([file, id]) => `${file}:${id}`),
        ["preview.yml:test"],
      );
      const runs = preview.jobs.test.steps.flatMap((s) => (s.run ? [s.run] : []));
      assert.deepEqual(runs.slice(0, 3), ["npm ci", "npm run lint", "npx tsc --noEmit -p tsconfig.dev.json"]);
    });

    it("let azure-native fetch fresh OIDC assertions as the identity the job logged in as", () => {
      for (const file of STACK_WORKFLOWS) assert.deepEqual(armOidcProblems(workflows[file]), [], file);
      const stale = broken(deploy, (w) => {
        delete (w.jobs.dev.env as Record<string, string>).ARM_USE_OIDC;
        (w.jobs.prod.env as Record<string, string>).ARM_CLIENT_ID = PREVIEW_CLIENT_ID;
        (w.jobs.prod as { permissions?: Record<string, string> }).permissions = { contents: "read" };
      });
      assert.deepEqual(armOidcProblems(stale), [
        "dev: ARM_USE_OIDC is undefined, not true",
        `prod: ARM_CLIENT_ID is ${PREVIEW_CLIENT_ID}, not ${DEPLOY_CLIENT_ID}`,
        "prod: id-token is undefined, not write",
      ]);
    });

    it("run the tests once per pull request", () => {
      assert.deepEqual(pullRequestTestJobs(workflows), ["preview.yml:test"]);
      const twice = broken(workflows, (all) => {
        const steps = all["preview.yml"].jobs["preview-dev"].steps as Step[];
        steps.splice(3, 0, { run: "npm test" });
      });
      assert.deepEqual(pullRequestTestJobs(twice), ["preview.yml:test", "preview.yml:preview-dev"]);
    });

    it("let every up wait in line behind the running one, never cancelling a waiting deploy", () => {
      for (const file of ["deploy.yml", "scheduled.yml"]) {
        assert.deepEqual(upQueueProblems(workflows[file]), [], file);
        assert.equal(Object.keys(workflows[file].jobs).length, 2, file);
        for (const job of Object.values(workflows[file].jobs)) assert.ok(job.concurrency, file);
      }
      const single = broken(deploy, (w) => {
        delete (w.jobs.prod.concurrency as { queue?: string }).queue;
        (w.jobs.dev.concurrency as { "cancel-in-progress": boolean })["cancel-in-progress"] = true;
      });
      assert.deepEqual(upQueueProblems(single), [
        "dev: cancel-in-progress is not false",
        "prod: queue is undefined, not max",
      ]);
    });

    it("keep every other job out of the up groups", () => {
      const groups = allJobs()
        .filter(([, , job]) => job.concurrency?.group.startsWith("pulumi-up-"))
        .map(([file, id]) => `${file}:${id}`);
      assert.deepEqual(groups, [
        "deploy.yml:dev",
        "deploy.yml:prod",
        "scheduled.yml:dev",
        "scheduled.yml:prod",
      ]);
    });

    it("give every committed stack but local one deploy and one scheduled job of its own (a fleet split across stacks)", () => {
      const stacks = readdirSync(join(DIR, "..", ".."))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined && s !== "local")
        .sort();
      assert.deepEqual(stacks, ["dev", "prod"]);
      for (const file of ["deploy.yml", "scheduled.yml"]) {
        const jobs = allJobs().filter(
          ([f, , job]) => f === file && job.concurrency?.group.startsWith("pulumi-up-"),
        );
        const byStack = jobs.map(([, id, job]) => [job.env?.STACK, job.concurrency?.group, id]).sort();
        assert.deepEqual(
          byStack,
          stacks.map((stack) => [stack, `pulumi-up-${stack}`, stack]),
          `${file}: one job per stack, named after it, with STACK and the stack's own up group`,
        );
      }
    });

    it("run up only on the head of main, checked after npm ci and before logging in", () => {
      const upJobs = allJobs().filter(([, , job]) => pulumiSteps(job).some((s) => s.with?.command === "up"));
      assert.deepEqual(
        upJobs.map(([file, id]) => `${file}:${id}`),
        ["deploy.yml:dev", "deploy.yml:prod", "scheduled.yml:dev", "scheduled.yml:prod"],
      );
      for (const [file, id, job] of upJobs) {
        const ci = job.steps.findIndex((s) => s.run === "npm ci");
        const guard = job.steps.findIndex((s) => s.name === HEAD_GUARD.name);
        assert.ok(ci >= 0 && guard > ci, `${file}:${id}`);
        assert.deepEqual(job.steps[guard], HEAD_GUARD, `${file}:${id}`);
        const login = job.steps.findIndex((s) => action(s) === "azure/login");
        assert.ok(login > guard, `${file}:${id}`);
      }
      for (const [, , job] of allJobs().filter(([file]) => file === "preview.yml" || file === "e2e.yml")) {
        assert.ok(!job.steps.some((s) => s.name === HEAD_GUARD.name));
      }
    });
  });

  describe("preview.yml", () => {
    it("runs on pull requests to main, and again when a label is added", () => {
      assert.deepEqual(preview.on, {
        pull_request: { branches: ["main"], types: ["opened", "synchronize", "reopened", "labeled"] },
      });
    });

    it("may write the pull request comment and ask for an OIDC token, and nothing more", () => {
      assert.deepEqual(preview.permissions, {
        contents: "read",
        "pull-requests": "write",
        "id-token": "write",
      });
    });

    const PREVIEW_WITH = {
      command: "preview",
      "stack-name": STACK_NAME,
      diff: true,
      "comment-on-pr": true,
      "github-token": "${{ secrets.GITHUB_TOKEN }}",
    };
    const SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository";
    // tools/previewFailure.ts: runs the preview again with its output kept, and exits 1 unless a retry can pass.
    const CLASSIFY =
      'npm run -s preview:failure -- --stack "$STACK_NAME" --log "$RUNNER_TEMP/preview-failure.log"';

    it("previews dev in dev-preview and prod in production-preview, each once the tests passed", () => {
      assert.deepEqual(Object.keys(preview.jobs), ["test", "preview-dev", "preview-prod"]);
      for (const [id, stack, environment] of [
        ["preview-dev", "dev", "dev-preview"],
        ["preview-prod", "prod", "production-preview"],
      ]) {
        const job = preview.jobs[id];
        assert.equal(job.needs, "test", id);
        assert.equal(job.strategy, undefined, id);
        assert.deepEqual([job.env?.STACK, environmentOf(job)], [stack, environment], id);
        assert.deepEqual(
          pulumiSteps(job).map((s) => [s.name, s.with]),
          [
            ["pulumi preview", PREVIEW_WITH],
            ["pulumi preview (second attempt)", PREVIEW_WITH],
          ],
          id,
        );
        // The tests ran in the job it needs: here nothing but npm ci, the context rename, the failure's
        // classification and the retry's wait.
        assert.deepEqual(
          job.steps.flatMap((s) => (s.run ? [s.run] : [])),
          ["npm ci", KUBE_CONTEXT_SCRIPT, CLASSIFY, "sleep 120"],
          id,
        );
      }
    });

    it("previews prod only for a same-repository pull request labelled preview-prod", () => {
      assert.equal(preview.jobs["preview-dev"].if, SAME_REPO);
      assert.equal(
        preview.jobs["preview-prod"].if,
        `${SAME_REPO} && contains(github.event.pull_request.labels.*.name, 'preview-prod')`,
      );
    });

    it("never lets a pull request reach prod's credentials without production-preview's review", () => {
      assert.deepEqual(pullRequestProblems(workflows), []);
      assert.deepEqual(prodOutsideEnvironments(workflows), []);
    });

    it("catch a pull-request job that previews prod, or reads prod's names or secrets, outside production-preview", () => {
      const ungated = broken(workflows, (all) => {
        const w = all["preview.yml"] as unknown as { jobs: Record<string, Map> };
        delete w.jobs["preview-prod"].environment;
        const dev = w.jobs["preview-dev"] as { env: Map; environment?: string };
        dev.env.STACK = "prod";
        dev.environment = "production";
        (w.jobs.test as { steps: Step[] }).steps.push(
          { run: "pulumi preview --stack acme/prod" },
          { run: "echo", env: { T: "${{ secrets.PULUMI_ACCESS_TOKEN }}" } },
        );
        (all["e2e.yml"] as { on: Map }).on.pull_request_target = null;
      });
      assert.deepEqual(pullRequestProblems(ungated), [
        "e2e.yml: pull_request_target runs with the repository's secrets for any fork",
        "preview.yml:test: runs Pulumi on prod without production-preview's review",
        "preview.yml:test: reads the repository secret secrets.PULUMI_ACCESS_TOKEN",
        "preview.yml:preview-dev: uses production, an environment of main, from a pull request",
        "preview.yml:preview-prod: runs Pulumi on prod without production-preview's review",
        "preview.yml:preview-prod: names vars.AKS_RESOURCE_GROUP_PROD without production-preview's review",
        "preview.yml:preview-prod: names vars.AKS_CLUSTER_NAME_PROD without production-preview's review",
        "preview.yml:preview-prod: names vars.AZURE_PROD_PREVIEW_CLIENT_ID without production-preview's review",
        "preview.yml:preview-prod: reads the repository secret secrets.PULUMI_ACCESS_TOKEN",
      ]);
      assert.deepEqual(prodOutsideEnvironments(ungated), [
        "preview.yml:preview-prod: runs Pulumi on prod in undefined",
      ]);
    });

    it("catch dev's preview moved to prod's cluster, or given the deploy identity, even inside dev-preview", () => {
      const devOnProd = broken(preview, (w) => {
        const env = w.jobs["preview-dev"].env as Record<string, string>;
        env.AKS_CLUSTER_NAME = "${{ vars.AKS_CLUSTER_NAME_PROD }}";
        env.ARM_CLIENT_ID = DEPLOY_CLIENT_ID;
      });
      assert.deepEqual(pullRequestProblems({ "preview.yml": devOnProd }), [
        "preview.yml:preview-dev: names vars.AKS_CLUSTER_NAME_PROD without production-preview's review",
        "preview.yml:preview-dev: names vars.AZURE_CLIENT_ID without production-preview's review",
      ]);
    });

    it("tries a failed preview once more, two minutes later, with a fresh login as the same identity, only when a retry can pass", () => {
      for (const [id, clientId] of [
        ["preview-dev", PREVIEW_CLIENT_ID],
        ["preview-prod", PROD_PREVIEW_CLIENT_ID],
      ]) {
        const job = preview.jobs[id];
        const first = job.steps.findIndex((s) => action(s) === "pulumi/actions");
        const retry = "steps.preview.outcome == 'failure'";
        assert.deepEqual(
          job.steps.slice(first),
          [
            {
              name: "pulumi preview",
              id: "preview",
              "continue-on-error": true,
              uses: "pulumi/actions@v6",
              with: PREVIEW_WITH,
              env: { PULUMI_ACCESS_TOKEN: PULUMI_TOKEN },
            },
            {
              name: "Can a second attempt pass?",
              id: "classify",
              if: retry,
              run: CLASSIFY,
              env: { STACK_NAME, PULUMI_ACCESS_TOKEN: PULUMI_TOKEN },
            },
            {
              name: "Wait before the second attempt",
              if: `${retry} && steps.classify.outputs.passed != 'true'`,
              run: "sleep 120",
            },
            {
              name: "Azure login again (OIDC)",
              if: retry,
              uses: "azure/login@v2",
              with: {
                "client-id": clientId,
                "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
                "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
              },
            },
            {
              name: "pulumi preview (second attempt)",
              if: retry,
              uses: "pulumi/actions@v6",
              with: PREVIEW_WITH,
              env: { PULUMI_ACCESS_TOKEN: PULUMI_TOKEN },
            },
          ],
          id,
        );
      }
    });

    it("replaces an outdated preview of the same pull request and stack, outside the up groups", () => {
      for (const stack of ["dev", "prod"]) {
        assert.deepEqual(preview.jobs[`preview-${stack}`].concurrency, {
          group: `preview-\${{ github.event.pull_request.number }}-${stack}`,
          "cancel-in-progress": true,
        });
      }
    });

    it("tests and plans both stacks offline in a job with no secret and read-only permissions", () => {
      const plan = preview.jobs.test;
      assert.equal(plan.if, undefined);
      assert.equal(plan.needs, undefined);
      assert.equal(plan.environment, undefined);
      assert.deepEqual(plan.permissions, { contents: "read" });
      assert.deepEqual(
        plan.steps.flatMap((s) => (s.run ? [s.run] : [])),
        [
          "npm ci",
          "npm run lint",
          "npx tsc --noEmit -p tsconfig.dev.json",
          "sudo apt-get update && sudo apt-get install -y --no-install-recommends docker-registry apache2-utils prometheus",
          "npm test",
          "npm run plan -- --stack dev --allow-missing-passwords",
          "npm run plan -- --stack prod --allow-missing-passwords",
        ],
      );
      assert.doesNotMatch(JSON.stringify(plan), /secrets\.|azure\/login|pulumi\/actions/);
    });
  });

  describe("deploy.yml", () => {
    it("runs on pushes to main", () => {
      assert.deepEqual(deploy.on, { push: { branches: ["main"] } });
      assert.deepEqual(deploy.permissions, { contents: "read", "id-token": "write" });
    });

    it("runs up on dev, then on prod in the production environment once dev succeeded", () => {
      assert.deepEqual(Object.keys(deploy.jobs), ["dev", "prod"]);
      const { dev, prod } = deploy.jobs;
      assert.equal(dev.needs, undefined);
      assert.equal(dev.environment, undefined);
      assert.equal(prod.needs, "dev");
      assert.equal(prod.environment, "production");
      for (const job of [dev, prod]) {
        assert.deepEqual(
          pulumiSteps(job).map((s) => s.with),
          // refresh: the up repairs drift and rotates a password a refresh finds dead (test/e2e scenario 4).
          [{ command: "up", "stack-name": STACK_NAME, diff: true, refresh: true }],
        );
      }
      assert.deepEqual([dev.env?.STACK, prod.env?.STACK], ["dev", "prod"]);
    });

    it("never runs two ups on one stack at once, and never cancels one, running or waiting", () => {
      assert.deepEqual(deploy.jobs.dev.concurrency, {
        group: "pulumi-up-dev",
        "cancel-in-progress": false,
        queue: "max",
      });
      assert.deepEqual(deploy.jobs.prod.concurrency, {
        group: "pulumi-up-prod",
        "cancel-in-progress": false,
        queue: "max",
      });
    });
  });

  describe("scheduled.yml", () => {
    it("runs daily and on demand", () => {
      assert.deepEqual(Object.keys(scheduled.on).sort(), ["schedule", "workflow_dispatch"]);
      const schedule = scheduled.on.schedule as { cron: string }[];
      assert.deepEqual(schedule, [{ cron: "17 5 * * *" }]);
      assert.deepEqual(scheduled.permissions, { contents: "read", "id-token": "write", deployments: "read" });
    });

    it("applies due rotations and repairs drift with up --refresh, then checks with a refreshed preview that nothing changes it back", () => {
      for (const id of ["dev", "prod"]) {
        const job = scheduled.jobs[id];
        assert.deepEqual(driftProblems(job), [], id);
        assert.deepEqual(
          pulumiSteps(job).map((s) => s.with),
          [
            { command: "refresh", "stack-name": STACK_NAME, "expect-no-changes": true, diff: true },
            { command: "up", "stack-name": STACK_NAME, diff: true, refresh: true },
            {
              command: "preview",
              "stack-name": STACK_NAME,
              refresh: true,
              "expect-no-changes": true,
              diff: true,
            },
          ],
          id,
        );
      }
    });

    it("fixes one rotation instant for the up and the drift check, before the up (issue 16.14)", () => {
      for (const id of ["dev", "prod"]) {
        const steps = scheduled.jobs[id].steps as { name?: string; run?: string; uses?: string }[];
        const fix = steps.findIndex((s) => s.name === "One rotation instant for the up and the drift check");
        const up = steps.findIndex((s) => s.name === "pulumi up (apply due rotations)");
        assert.ok(fix >= 0 && fix < up, id);
        assert.equal(
          steps[fix].run?.trim(),
          'echo "REGISTRY_ACCESS_ROTATION_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$GITHUB_ENV"',
          id,
        );
      }
    });

    it("catch a drift check moved before the up, or one that no longer checks", () => {
      const at = (job: Job, name: string) => job.steps.findIndex((s) => s.name?.startsWith(name));
      const swapped = broken(scheduled.jobs.dev, (job) => {
        const [a, b] = [at(job, "pulumi up"), at(job, "Drift check")];
        [job.steps[a], job.steps[b]] = [job.steps[b], job.steps[a]];
      });
      assert.deepEqual(driftProblems(swapped), ["drift check runs before the up"]);
      const lax = broken(scheduled.jobs.dev, (job) => {
        const drift = pulumiSteps(job)[2] as { with: Map };
        delete drift.with.refresh;
        drift.with["expect-no-changes"] = false;
      });
      assert.deepEqual(driftProblems(lax), [
        "drift check without refresh: true",
        "drift check without expect-no-changes: true",
      ]);
      const late = broken(scheduled.jobs.dev, (job) => {
        const [a, b] = [at(job, "pulumi up"), at(job, "Drift report")];
        [job.steps[a], job.steps[b]] = [job.steps[b], job.steps[a]];
      });
      assert.deepEqual(driftProblems(late), ["drift report runs after the up"]);
      const silent = broken(scheduled.jobs.dev, (job) => {
        const report = job.steps[at(job, "Drift report")] as { with: Map; "continue-on-error"?: boolean };
        delete report["continue-on-error"];
        report.with["expect-no-changes"] = false;
        job.steps.splice(at(job, "Fail on repaired drift"), 1);
      });
      assert.deepEqual(driftProblems(silent), [
        "drift report without expect-no-changes: true",
        "drift report is not id drift with continue-on-error: the up would not repair",
        "repaired drift does not fail the run after the up",
      ]);
      const gone = broken(scheduled.jobs.dev, (job) => job.steps.splice(at(job, "Drift report"), 1));
      assert.deepEqual(driftProblems(gone), ["no drift report"]);
    });

    it("turns the up's warnings into annotations, once each, as bash runs it", () => {
      for (const id of ["dev", "prod"]) {
        const job = scheduled.jobs[id];
        const up = job.steps.findIndex((s) => s.id === "up");
        assert.equal(job.steps[up].with?.command, "up", id);
        const step = job.steps[up + 1];
        assert.deepEqual(
          [step.name, step.if, step.env],
          ["Warnings as annotations", "${{ !cancelled() }}", { OUTPUT: "${{ steps.up.outputs.output }}" }],
          id,
        );
      }
      const script = scheduled.jobs.prod.steps.find((s) => s.name === "Warnings as annotations")
        ?.run as string;
      const output = [
        "Updating (prod):",
        " ~  registry-access:index:AcrPullToken team-a-mycompany update [diff: ~credentials]",
        "Diagnostics:",
        "  pulumi:pulumi:Stack (registry-access-prod):",
        "    warning: ACR token team-a-mycompany expires in 5 days",
        "    warning: ACR token team-a-mycompany expires in 5 days",
        "    warning: a second warning: with a colon",
        "    error: not a warning",
      ].join("\n");
      const run = spawnSync("bash", ["-eo", "pipefail", "-c", script], {
        env: { PATH: process.env.PATH, OUTPUT: output, STACK: "prod" },
        encoding: "utf8",
      });
      assert.deepEqual(
        [run.status, run.stdout],
        [
          0,
          "::warning title=pulumi up (prod)::ACR token team-a-mycompany expires in 5 days\n" +
            "::warning title=pulumi up (prod)::a second warning: with a colon\n",
        ],
      );
      const none = spawnSync("bash", ["-eo", "pipefail", "-c", script], {
        env: { PATH: process.env.PATH, OUTPUT: "", STACK: "dev" },
        encoding: "utf8",
      });
      assert.deepEqual([none.status, none.stdout], [0, ""]);
    });

    it("explains the order in a comment right above the up", () => {
      const text = readFileSync(join(DIR, "scheduled.yml"), "utf8");
      const comment =
        "      # Order matters. A password whose rotation has come due shows up as a change in any preview";
      const up = "      - name: pulumi up (apply due rotations)";
      assert.equal(text.split(comment).length - 1, 2);
      for (const block of text.split(comment).slice(1)) {
        assert.ok(block.indexOf(up) > 0 && block.indexOf(up) < block.indexOf("Drift check"), block);
      }
    });

    it("shares the deploy's concurrency group per stack; prod rotates unattended in production-rotation", () => {
      for (const id of ["dev", "prod"]) {
        assert.deepEqual(scheduled.jobs[id].concurrency, deploy.jobs[id].concurrency, id);
      }
      assert.deepEqual(
        [scheduled.jobs.dev.environment, scheduled.jobs.prod.environment],
        [undefined, "production-rotation"],
      );
    });

    it("rotates prod only on the commit that the production environment last deployed, before logging in", () => {
      const job = scheduled.jobs.prod;
      const at = job.steps.findIndex((s: { name?: string }) => s.name === "Rotate only what production runs");
      const login = job.steps.findIndex((s: { uses?: string }) => (s.uses ?? "").startsWith("azure/login"));
      assert.ok(at >= 0 && at < login, "the guard runs before the login");
      const guard = job.steps[at];
      assert.equal(guard.name, "Rotate only what production runs");
      assert.deepEqual(guard.env, { GH_TOKEN: "${{ github.token }}" });
      assert.match(guard.run ?? "", /deployments\?environment=production&/);
      assert.match(guard.run ?? "", /= success \]/);
      assert.match(
        guard.run ?? "",
        /if \[ "\$deployed" != "\$GITHUB_SHA" \]; then\n.*::error::.*\n\s*exit 1\n/,
      );
      assert.ok(!scheduled.jobs.dev.steps.some((s) => s.name === guard.name));
    });

    it("its guard passes on production's last successful deployment only, as bash runs it (gh stood in for)", () => {
      // A stand-in for the GitHub CLI: answers the two REST calls of the guard from a fixed list of deployments,
      // newest first (GET /repos/{repo}/deployments, GET .../deployments/{id}/statuses), as `--jq` would print them.
      const dir = mkdtempSync(join(tmpdir(), "gh-"));
      const gh = [
        "#!/bin/sh",
        'case "$2" in',
        '  */deployments\\?environment=production*) printf "3 ccc\\n2 bbb\\n1 aaa\\n" ;;',
        "  */deployments/3/statuses*) echo waiting ;;",
        "  */deployments/2/statuses*) echo success ;;",
        "  *) echo failure ;;",
        "esac",
      ].join("\n");
      writeFileSync(join(dir, "gh"), gh, { mode: 0o755 });
      const script = scheduled.jobs.prod.steps.find(
        (s: { name?: string }) => s.name === "Rotate only what production runs",
      )?.run as string;
      const run = (sha: string) =>
        spawnSync("bash", ["-eo", "pipefail", "-c", script], {
          env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_REPOSITORY: "o/r", GITHUB_SHA: sha },
          encoding: "utf8",
        });
      try {
        assert.deepEqual([run("bbb").status, run("bbb").stdout], [0, ""]);
        const ahead = run("ccc");
        assert.deepEqual(
          [ahead.status, ahead.stdout],
          [
            1,
            "::error::main is at ccc, but production last deployed bbb: the deploy of ccc, once reviewed, applies the due rotations. Nothing was rotated.\n",
          ],
        );
        assert.equal(run("aaa").status, 1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
  describe("e2e.yml", () => {
    it("runs on pull requests to main and on pushes to main", () => {
      assert.deepEqual(e2e.on, { pull_request: { branches: ["main"] }, push: { branches: ["main"] } });
    });

    it("needs no secret, no Azure login and no Pulumi Cloud, so forks run it too", () => {
      const text = readFileSync(join(DIR, "e2e.yml"), "utf8");
      assert.doesNotMatch(text, /secrets\.|azure\/|id-token|PULUMI_ACCESS_TOKEN/);
      assert.deepEqual(Object.keys(e2e.jobs), ["e2e"]);
      assert.equal(e2e.jobs.e2e.if, undefined);
      assert.deepEqual(pulumiSteps(e2e.jobs.e2e), []);
    });

    it("runs npm run test:e2e on a kind cluster with the real Pulumi CLI and a local backend", () => {
      assert.deepEqual(e2e.jobs.e2e.steps.slice(3), [
        {
          name: "Install what the tests start (registry, htpasswd)",
          run: "sudo apt-get update && sudo apt-get install -y --no-install-recommends docker-registry apache2-utils",
        },
        { name: "Kind cluster", uses: "helm/kind-action@v1", with: { cluster_name: "registry-access-e2e" } },
        { name: "Install the Pulumi CLI", uses: "pulumi/actions@v6" },
        {
          name: "npm run test:e2e",
          run: 'mkdir -p "$RUNNER_TEMP/pulumi-state"\nnpm run test:e2e\n',
          env: {
            REGISTRY_ACCESS_E2E_EXTERNAL_CLUSTER: "1",
            PULUMI_BACKEND_URL: "file://${{ runner.temp }}/pulumi-state",
            PULUMI_CONFIG_PASSPHRASE: "registry-access-e2e",
            PULUMI_SKIP_UPDATE_CHECK: "true",
          },
        },
      ]);
    });

    it("stops after 30 minutes, and a newer push replaces a run still going", () => {
      const job = e2e.jobs.e2e as Job & { "timeout-minutes"?: number };
      assert.equal(job["timeout-minutes"], 30);
      assert.deepEqual(job.concurrency, { group: "e2e-${{ github.ref }}", "cancel-in-progress": true });
    });
  });

  describe("mutation.yml", () => {
    it("runs weekly and on demand, never on pull requests (.ci/run runs the incremental form there)", () => {
      assert.deepEqual(mutation.on, { schedule: [{ cron: "0 4 * * 1" }], workflow_dispatch: null });
    });

    it("needs no secret, no Azure login and no Pulumi Cloud", () => {
      const text = readFileSync(join(DIR, "mutation.yml"), "utf8");
      assert.doesNotMatch(text, /secrets\.|azure\/|id-token|PULUMI_ACCESS_TOKEN/);
      assert.deepEqual(Object.keys(mutation.jobs), ["mutate"]);
      assert.deepEqual(pulumiSteps(mutation.jobs.mutate), []);
    });

    it("re-tests every mutant on the Node of .nvmrc with the test services, checks the strict bar, and uploads the report even when the bar fails", () => {
      const job = mutation.jobs.mutate as Job & { "timeout-minutes"?: number };
      assert.equal(job["timeout-minutes"], 120);
      assert.deepEqual(job.steps[1].with, { "node-version-file": ".nvmrc", cache: "npm" });
      assert.deepEqual(job.steps.slice(2), [
        { run: "npm ci" },
        {
          name: "Install what the tests start (registry, htpasswd, promtool)",
          run: "sudo apt-get update && sudo apt-get install -y --no-install-recommends docker-registry apache2-utils prometheus",
        },
        { name: "Every mutant, ignoring the committed incremental result", run: "npx stryker run --force" },
        {
          name: "The bar (85% killed per file, every survivor explained in test/mutants/SURVIVORS.md)",
          run: "npm run -s mutate:bar -- --strict",
        },
        {
          name: "The report",
          if: "${{ !cancelled() }}",
          uses: "actions/upload-artifact@v4",
          with: { name: "mutation-report", path: "reports/mutation/" },
        },
      ]);
    });
  });
});
