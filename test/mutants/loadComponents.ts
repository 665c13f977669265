/**
 * The first spec file of Stryker's runs (stryker.config.mjs), never loaded by `npm test`: it loads every module of
 * components/, and the verify checks of tools/, before any test runs, so that their module-level code counts as
 * static coverage (see hookCoverage.ts, item 2).
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const COMPONENTS = path.join(ROOT, "components");
const files = fs
  .readdirSync(COMPONENTS)
  .filter((file) => file.endsWith(".ts"))
  .sort()
  .map((file) => path.join(COMPONENTS, file));
// eslint-disable-next-line @typescript-eslint/no-require-imports
for (const file of [...files, path.join(ROOT, "tools", "verifyChecks.ts")]) require(file);
