/**
 * The supported Node.js version, said once (issue 18.8): package.json's `engines`, `.nvmrc` (which every
 * workflow's setup-node reads) and `npm run mutate`'s `npx -p node@N` agree, and no package in the lock declares
 * engines that exclude a version `engines` admits, so `npm ci` on a supported Node prints no "Unsupported engine".
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

/** The part of semver (npm's own range semantics) used here; the package ships no types. */
interface Semver {
  subset(sub: string, dom: string): boolean;
  minVersion(range: string): { major: number } | null;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require("semver") as Semver;

const ROOT = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

interface Lock {
  readonly packages: Readonly<Record<string, { readonly engines?: { readonly node?: string } | string[] }>>;
}

/** `path range` of each package of the lock whose engines.node does not admit every version of `range`. */
export function packagesExcluding(lock: Lock, range: string): string[] {
  return Object.entries(lock.packages)
    .filter(([name]) => name !== "")
    .flatMap(([name, entry]) => {
      const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      return node && !semver.subset(range, node) ? [`${name} ${node}`] : [];
    });
}

/** Each setup-node step of the workflows, as `file:job` and its `with`. */
function setupNodeSteps(): [string, Record<string, unknown>][] {
  const dir = path.join(ROOT, ".github/workflows");
  return fs.readdirSync(dir).flatMap((file) => {
    const workflow = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8")) as {
      jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
    };
    return Object.entries(workflow.jobs).flatMap(([id, job]) =>
      (job.steps ?? [])
        .filter((s) => s.uses?.startsWith("actions/setup-node@"))
        .map((s): [string, Record<string, unknown>] => [`${file}:${id}`, s.with ?? {}]),
    );
  });
}

describe("the supported Node.js version (issue 18.8)", () => {
  const pkg = JSON.parse(read("package.json")) as {
    engines: { node: string };
    scripts: Record<string, string>;
  };
  const lock = JSON.parse(read("package-lock.json")) as Lock & {
    packages: { "": { engines: { node: string } } };
  };
  const nvmrc = read(".nvmrc");

  it("is Node.js 22 (22.18 or later; 24.11 or later), in engines, the lock and .nvmrc", () => {
    assert.strictEqual(pkg.engines.node, "^22.18.0 || >=24.11.0");
    assert.deepStrictEqual(lock.packages[""].engines, pkg.engines);
    assert.strictEqual(nvmrc, "22\n");
    assert.strictEqual(semver.minVersion(pkg.engines.node)?.major, Number(nvmrc));
  });

  it("every workflow sets up the Node of .nvmrc, and names no version of its own", () => {
    const steps = setupNodeSteps();
    assert.ok(steps.length >= 5, `${steps.length} setup-node steps`);
    for (const [where, options] of steps) {
      assert.deepStrictEqual(options, { "node-version-file": ".nvmrc", cache: "npm" }, where);
    }
  });

  it("npm run mutate runs Stryker on the Node of .nvmrc", () => {
    assert.match(pkg.scripts.mutate, new RegExp(`^npx --yes -p node@${nvmrc.trim()} -- stryker run`));
  });

  it(".ci/run runs everything under the Node of .nvmrc, before npm ci, when the machine's own is another", () => {
    const ci = read(".ci/run");
    const exec = ci.indexOf('exec npx --yes -p "node@$wanted" -- bash "$0" "$@"');
    assert.ok(exec > 0, ".ci/run re-runs itself under node@$wanted");
    assert.ok(ci.includes("wanted=$(cat .nvmrc)"), ".ci/run reads the version from .nvmrc");
    assert.ok(exec < ci.indexOf("\nnpm ci "), "before npm ci");
  });

  it("no package in the lock declares engines that exclude a supported version", () => {
    assert.deepStrictEqual(packagesExcluding(lock, pkg.engines.node), []);
  });

  it("would name the packages that do, as on this machine's Node 20.20", () => {
    assert.deepStrictEqual(
      packagesExcluding(lock, "20.20.0").filter((p) => !p.includes("@babel/")),
      [
        "node_modules/@kubernetes-models/apimachinery >=22",
        "node_modules/@kubernetes-models/base >=22",
        "node_modules/@kubernetes-models/external-secrets >=22",
        "node_modules/@kubernetes-models/validate >=22",
        "node_modules/@stryker-mutator/api >=22.0.0",
        "node_modules/@stryker-mutator/core >=22.0.0",
        "node_modules/@stryker-mutator/instrumenter >=22.0.0",
        "node_modules/@stryker-mutator/mocha-runner >=22.0.0",
        "node_modules/@stryker-mutator/typescript-checker >=22.0.0",
        "node_modules/kubernetes-models >=22",
      ],
    );
    assert.deepStrictEqual(
      packagesExcluding(
        { packages: { "": {}, "node_modules/a": { engines: { node: "^22.18.0 || >=24.11.0" } } } },
        ">=22.18.0",
      ),
      ["node_modules/a ^22.18.0 || >=24.11.0"],
    );
  });
});
