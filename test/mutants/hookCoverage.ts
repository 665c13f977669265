/**
 * Loaded by Stryker only (stryker.config.mjs, mochaOptions.require), never by `npm test`. It makes Stryker's
 * per-test coverage fit how these tests run the program.
 *
 * 1. `before` hooks. Stryker's mocha runner records coverage under the test its root `beforeEach` named last. Code
 *    that runs in a suite's `before` hook (every program test builds the stack there, through runProgram) is then
 *    counted for the last test of the previous file, and Stryker tests those mutants against that one test, which
 *    never runs them: false survivors. Each `before` hook is named after its suite while it runs, and at the end
 *    of the run what it covered is counted for every test of that suite (nested suites included): the tests for
 *    which Stryker's grep makes mocha run that hook.
 * 2. Module loading. A mutant that runs while the files load (a module-level constant) is "static": Stryker starts
 *    a new test process for it and runs every test. test/mutants/loadComponents.ts, the first spec file, loads
 *    all of components/ before any test, so that a component first loaded inside a test (index.ts loads them in
 *    a `before` hook) does not count its module-level code for that test: the module stays cached, and the
 *    mutant would never be active in it. (Not from here: Stryker activates a static mutant only while the spec
 *    files load, after this file.)
 * 3. Functions called both while the test files load (`const token = acrTokenName(...)` in a `describe`) and
 *    in tests. Stryker counts those mutants as static too, and a new process and every test for each made one
 *    file's run take ten minutes instead of three. They are tested in the tests that cover them, with the mutant
 *    active while the tests run and not while the files load: what `ignoreStatic` does for them, without
 *    ignoring the mutants that only run at load time (the regular expressions in names.ts, say).
 */

/** The part of Stryker's instrumenter context (the global `__stryker__`) that this file reads and writes. */
interface StrykerContext {
  currentTestId?: string;
  mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> };
}

/** The parts of mocha's Suite and Hook this file uses (`_beforeAll` is the suite's list of `before` hooks). */
interface Runnable {
  fn?: ((this: unknown, ...args: unknown[]) => unknown) & { [WRAPPED]?: true };
  parent?: Suite;
}
interface Suite {
  parent?: Suite;
  suites: Suite[];
  _beforeAll: Runnable[];
  fullTitle(): string;
  eachTest(fn: (test: { fullTitle(): string }) => void): void;
}

const PREFIX = "stryker-before-hook: ";
const WRAPPED = Symbol("hookCoverage.wrapped");
const hookSuites = new Map<string, Suite>();

function stryker(): StrykerContext | undefined {
  return (globalThis as { __stryker__?: StrykerContext }).__stryker__;
}

/** Wrap every `before` hook under `suite` so that the coverage it records is keyed by its suite. */
function wrapBeforeHooks(suite: Suite): void {
  for (const hook of suite._beforeAll) {
    const fn = hook.fn;
    if (!fn || fn[WRAPPED] || suite.parent === undefined) continue;
    const key = PREFIX + suite.fullTitle();
    hookSuites.set(key, suite);
    // Keep the arity: mocha passes `done` only to a hook that declares it.
    const named = function (this: unknown, ...args: unknown[]): unknown {
      const context = stryker();
      if (context) context.currentTestId = key;
      return fn.apply(this, args);
    };
    const wrapped =
      fn.length === 0
        ? function (this: unknown) {
            return named.call(this);
          }
        : function (this: unknown, done: unknown) {
            return named.call(this, done);
          };
    hook.fn = Object.assign(wrapped, { [WRAPPED]: true as const });
  }
  suite.suites.forEach(wrapBeforeHooks);
}

/**
 * Count each hook's coverage for every test of its suite, then drop the hook's key (it names no test); then drop
 * from the static coverage every mutant that a test covers as well.
 */
function redistribute(): void {
  const coverage = stryker()?.mutantCoverage;
  if (!coverage) return;
  const perTest = coverage.perTest;
  for (const [key, suite] of hookSuites) {
    const covered = perTest[key];
    if (!covered) continue;
    delete perTest[key];
    suite.eachTest((test) => {
      const counts = (perTest[test.fullTitle()] ??= {});
      for (const [mutant, hits] of Object.entries(covered)) counts[mutant] = (counts[mutant] ?? 0) + hits;
    });
  }
  for (const covered of Object.values(perTest)) {
    for (const mutant of Object.keys(covered)) delete coverage.static[mutant];
  }
}

export const mochaHooks = {
  beforeAll(this: { test?: Runnable }): void {
    let root = this.test?.parent;
    while (root?.parent) root = root.parent;
    if (root) wrapBeforeHooks(root);
  },
  afterAll(): void {
    redistribute();
  },
};
