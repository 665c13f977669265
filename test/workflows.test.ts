import { strict as assert } from "assert";
import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import YAML from "yaml";

const DIR = join(__dirname, "..", ".github", "workflows");

type Map = Record<string, unknown>;

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}

interface Job {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly environment?: string;
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean };
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

function action(step: Step): string | undefined {
  return step.uses?.split("@")[0];
}

function pulumiSteps(job: Job): Step[] {
  return job.steps.filter((s) => action(s) === "pulumi/actions");
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
  return problems;
}

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
    it("are the three user workflows, all parsed strictly", () => {
      assert.deepEqual(files.sort(), ["deploy.yml", "preview.yml", "scheduled.yml"]);
    });

    it("grant GitHub's OIDC token at the top level", () => {
      for (const [file, w] of Object.entries(workflows)) {
        assert.equal(w.permissions["id-token"], "write", file);
        assert.equal(w.permissions.contents, "read", file);
      }
    });

    it("pin every action to a major version tag at least, and use these versions", () => {
      for (const [file, w] of Object.entries(workflows)) assert.deepEqual(unpinnedUses(w), [], file);
      const uses = new Set(
        allJobs().flatMap(([, , job]) => job.steps.flatMap((s) => (s.uses ? [s.uses] : []))),
      );
      assert.deepEqual([...uses].sort(), [
        "actions/checkout@v4",
        "actions/setup-node@v4",
        "azure/aks-set-context@v4",
        "azure/login@v2",
        "azure/use-kubelogin@v1",
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
        ".jobs.prod.steps[3].with.creds",
      ]);
    });

    it("take PULUMI_ACCESS_TOKEN from the secrets, on every Pulumi step", () => {
      for (const [file, w] of Object.entries(workflows)) assert.deepEqual(pulumiTokenProblems(w), [], file);
      const copy = broken(scheduled, (w) => {
        const drift = pulumiSteps(w.jobs.prod)[1] as { env: Map };
        drift.env.PULUMI_ACCESS_TOKEN = "${{ vars.PULUMI_ACCESS_TOKEN }}";
      });
      assert.deepEqual(pulumiTokenProblems(copy), [
        ".jobs.prod.steps[8].env.PULUMI_ACCESS_TOKEN: ${{ vars.PULUMI_ACCESS_TOKEN }}",
        "prod: step Drift check (pulumi preview --refresh --expect-no-changes) has no PULUMI_ACCESS_TOKEN from secrets",
      ]);
    });

    it("cover both dev and prod", () => {
      for (const [file, w] of Object.entries(workflows))
        assert.deepEqual(stacksOfWorkflow(w), ["dev", "prod"], file);
    });

    it("log in the same way in every job: OIDC, kubelogin, the stack's AKS cluster, its context name", () => {
      const expected: Step[] = [
        {
          name: "Azure login (OIDC)",
          uses: "azure/login@v2",
          with: {
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
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
          "preview.yml:preview",
          "scheduled.yml:dev",
          "scheduled.yml:prod",
        ],
      );
      for (const [file, id, job] of loggingIn) {
        const start = job.steps.findIndex((s) => action(s) === "azure/login");
        assert.deepEqual(job.steps.slice(start, start + 4), expected, `${file}:${id}`);
        // Right before Pulumi: az needs the short-lived GitHub token again for each new access token.
        const firstPulumi = job.steps.findIndex((s) => action(s) === "pulumi/actions");
        assert.equal(firstPulumi, start + 4, `${file}:${id}`);
      }
    });

    it("point each stack at its own AKS cluster variables", () => {
      const vars = (stack: string) => ({
        rg: `\${{ vars.AKS_RESOURCE_GROUP_${stack.toUpperCase()} }}`,
        name: `\${{ vars.AKS_CLUSTER_NAME_${stack.toUpperCase()} }}`,
      });
      for (const [file, id, job] of allJobs().filter(([, , j]) => pulumiSteps(j).length > 0)) {
        if (job.env?.STACK === "${{ matrix.stack }}") {
          assert.deepEqual(
            job.env,
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
            job.env,
            { STACK: stack, AKS_RESOURCE_GROUP: v.rg, AKS_CLUSTER_NAME: v.name },
            `${file}:${id}`,
          );
        }
      }
    });

    it("name the stack the same way in every Pulumi step", () => {
      const names = allJobs().flatMap(([, , job]) => pulumiSteps(job).map((s) => s.with?.["stack-name"]));
      assert.equal(names.length, 7);
      assert.deepEqual(new Set(names), new Set([STACK_NAME]));
    });

    it("set up Node 20 with the npm cache and install with npm ci", () => {
      for (const [file, id, job] of allJobs()) {
        assert.deepEqual(
          job.steps.slice(0, 3),
          [
            { uses: "actions/checkout@v4" },
            { uses: "actions/setup-node@v4", with: { "node-version": 20, cache: "npm" } },
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
        ["preview.yml:plan", "preview.yml:preview"],
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
  });

  describe("preview.yml", () => {
    it("runs on pull requests to main", () => {
      assert.deepEqual(preview.on, { pull_request: { branches: ["main"] } });
    });

    it("may write the pull request comment and ask for an OIDC token, and nothing more", () => {
      assert.deepEqual(preview.permissions, {
        contents: "read",
        "pull-requests": "write",
        "id-token": "write",
      });
    });

    it("previews dev and prod with a diff and a pull request comment, after the tests", () => {
      const job = preview.jobs.preview;
      assert.deepEqual(
        job.strategy?.matrix?.include?.map((e) => e.stack),
        ["dev", "prod"],
      );
      assert.deepEqual(pulumiSteps(job), [
        {
          name: "pulumi preview",
          uses: "pulumi/actions@v6",
          with: {
            command: "preview",
            "stack-name": STACK_NAME,
            diff: true,
            "comment-on-pr": true,
            "github-token": "${{ secrets.GITHUB_TOKEN }}",
          },
          env: { PULUMI_ACCESS_TOKEN: PULUMI_TOKEN },
        },
      ]);
      const runs = job.steps.flatMap((s) => (s.run ? [s.run] : []));
      assert.deepEqual(runs.slice(-2), ["npm test", KUBE_CONTEXT_SCRIPT]);
      assert.ok(
        job.steps.findIndex((s) => s.run === "npm test") <
          job.steps.findIndex((s) => action(s) === "azure/login"),
      );
    });

    it("skips the cloud preview for forks, which get no secrets", () => {
      assert.equal(
        preview.jobs.preview.if,
        "github.event.pull_request.head.repo.full_name == github.repository",
      );
    });

    it("replaces an outdated preview of the same pull request and stack", () => {
      assert.deepEqual(preview.jobs.preview.concurrency, {
        group: "preview-${{ github.event.pull_request.number }}-${{ matrix.stack }}",
        "cancel-in-progress": true,
      });
    });

    it("plans both stacks offline in a job with no secret and read-only permissions", () => {
      const plan = preview.jobs.plan;
      assert.equal(plan.if, undefined);
      assert.deepEqual(plan.permissions, { contents: "read" });
      assert.deepEqual(
        plan.steps.flatMap((s) => (s.run ? [s.run] : [])),
        [
          "npm ci",
          "sudo apt-get update && sudo apt-get install -y --no-install-recommends docker-registry apache2-utils prometheus",
          "npm test",
          "npm run plan -- --stack dev",
          "npm run plan -- --stack prod",
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
          [{ command: "up", "stack-name": STACK_NAME, diff: true }],
        );
      }
      assert.deepEqual([dev.env?.STACK, prod.env?.STACK], ["dev", "prod"]);
    });

    it("never runs two ups on one stack at once, and never cancels one", () => {
      assert.deepEqual(deploy.jobs.dev.concurrency, { group: "pulumi-up-dev", "cancel-in-progress": false });
      assert.deepEqual(deploy.jobs.prod.concurrency, {
        group: "pulumi-up-prod",
        "cancel-in-progress": false,
      });
    });
  });

  describe("scheduled.yml", () => {
    it("runs daily and on demand", () => {
      assert.deepEqual(Object.keys(scheduled.on).sort(), ["schedule", "workflow_dispatch"]);
      const schedule = scheduled.on.schedule as { cron: string }[];
      assert.deepEqual(schedule, [{ cron: "17 5 * * *" }]);
      assert.deepEqual(scheduled.permissions, { contents: "read", "id-token": "write" });
    });

    it("applies due rotations with up, then checks drift with a refreshed preview that expects no changes", () => {
      for (const id of ["dev", "prod"]) {
        const job = scheduled.jobs[id];
        assert.deepEqual(driftProblems(job), [], id);
        assert.deepEqual(
          pulumiSteps(job).map((s) => s.with),
          [
            { command: "up", "stack-name": STACK_NAME, diff: true },
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

    it("catch a drift check moved before the up, or one that no longer checks", () => {
      const swapped = broken(scheduled.jobs.dev, (job) => {
        const [a, b] = [job.steps.length - 2, job.steps.length - 1];
        [job.steps[a], job.steps[b]] = [job.steps[b], job.steps[a]];
      });
      assert.deepEqual(driftProblems(swapped), ["drift check runs before the up"]);
      const lax = broken(scheduled.jobs.dev, (job) => {
        const drift = pulumiSteps(job)[1] as { with: Map };
        delete drift.with.refresh;
        drift.with["expect-no-changes"] = false;
      });
      assert.deepEqual(driftProblems(lax), [
        "drift check without refresh: true",
        "drift check without expect-no-changes: true",
      ]);
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

    it("shares the deploy's concurrency group per stack, and prod's production environment", () => {
      for (const id of ["dev", "prod"]) {
        assert.deepEqual(scheduled.jobs[id].concurrency, deploy.jobs[id].concurrency, id);
        assert.equal(scheduled.jobs[id].environment, deploy.jobs[id].environment, id);
      }
    });
  });
});
