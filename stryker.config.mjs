// StrykerJS: `npm run mutate` (see docs/testing.md, and test/mutants/SURVIVORS.md for the mutants that
// survive on purpose).
import { createRequire } from "module";
import { fileURLToPath } from "url";

// Mocha 12 and @stryker-mutator/mocha-runner 10.0.0: see the comment in this file. Here for this process, and
// through NODE_OPTIONS for Stryker's workers, which load the plugin too.
const mochaCliCjs = fileURLToPath(new URL("./test/mutants/mochaCliCjs.cjs", import.meta.url));
createRequire(import.meta.url)(mochaCliCjs);
if (!(process.env.NODE_OPTIONS ?? "").includes(mochaCliCjs)) {
  process.env.NODE_OPTIONS =
    `${process.env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(mochaCliCjs)}`.trim();
}

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  mutate: [
    "components/names.ts",
    "components/dockerConfig.ts",
    "components/settings.ts",
    "components/registryHandshake.ts",
    "components/acrTokenPassword.ts",
    "components/NamespaceRegistryAccess.ts",
    "components/AcrPullToken.ts",
    "components/ExternalSecretsDelivery.ts",
    "tools/verifyChecks.ts",
    "components/abacCondition.ts",
    "components/workloadIdentitySettings.ts",
    "components/acrAbacMode.ts",
    "components/workloadIdentityManifests.ts",
    "components/AcrWorkloadIdentity.ts",
    "tools/verifyGenerated.ts",
  ],
  testRunner: "mocha",
  mochaOptions: {
    config: ".mocharc.json",
    // First the file that loads components/ (see test/mutants/hookCoverage.ts); then the unit tests that reach the
    // mutated files, fastest and most exact first: mocha runs them in this order and
    // Stryker stops at the first that fails. Left out: test/e2e (the real engine, minutes per run) and the suites
    // that load none of the mutated files (workflows, productionDependencies, pullAlerts, stackFile,
    // externalSecretsManifests, monitoring, localRegistry).
    spec: [
      "test/mutants/loadComponents.ts",
      "test/names.test.ts",
      "test/dockerConfig.test.ts",
      "test/settings.test.ts",
      "test/schema.test.ts",
      "test/mutants/*.test.ts",
      "test/program.test.ts",
      "test/plainTextPasswords.test.ts",
      "test/externalSecretsProgram.test.ts",
      "test/acrProgram.test.ts",
      "test/registryHandshake.test.ts",
      "test/acrTokenPassword.test.ts",
      "test/rotationSpread.test.ts",
      "test/acrTokenGeneration.test.ts",
      "test/azureAuth.test.ts",
      "test/firstDeploy.test.ts",
      "test/stacks.test.ts",
      "test/plan.test.ts",
      "test/verify.test.ts",
      "test/abacCondition.test.ts",
      "test/acrAbacMode.test.ts",
      "test/workloadIdentitySettings.test.ts",
      "test/workloadIdentityManifests.test.ts",
      "test/workloadIdentityProgram.test.ts",
      "test/verifyGenerated.test.ts",
    ],
    // Pulumi's dynamic-provider host runs the serialized provider in a process of its own, where the instrumented
    // code finds no Stryker: that one suite cannot run under Stryker (acrTokenPassword.test.ts's other suites
    // test the same provider in this process).
    grep: "/^(?!AcrTokenPassword through Pulumi's dynamic-provider host)/",
    // Replaces .mocharc.json's require: ts-node as there, plus per-test coverage for `before` hooks.
    require: ["ts-node/register/transpile-only", "./test/mutants/hookCoverage.ts"],
  },
  // No checker: @stryker-mutator/typescript-checker takes about 5 s per mutant here (each mutant of a component
  // re-checks everything that imports it, and @pulumi/azure-native's 7,000 declaration files), hours for a full
  // run. Mutants that do not compile run under ts-node's transpile-only like any other; the few that survive are
  // listed in test/mutants/SURVIVORS.md. `npx stryker run --checkers typescript` turns it back on.
  tsconfigFile: "tsconfig.dev.json",
  coverageAnalysis: "perTest",
  // Two cores, shared with the end-to-end tests' kube-apiserver and Pulumi engine.
  concurrency: 2,
  timeoutMS: 10000,
  incremental: true,
  incrementalFile: "test/mutants/stryker-incremental.json",
  reporters: ["clear-text", "html", "json", "progress-append-only"],
  // The console shows the score table; the survivors are in the HTML report and tools/mutationBar.ts names them.
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportMutants: false },
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  ignorePatterns: ["test/e2e", ".stryker-tmp*", ".github", ".ci", "reports"],
  // The bar (85% per file) is checked by tools/mutationBar.ts: Stryker's own `break` is one global score.
  thresholds: { high: 95, low: 85, break: null },
};
