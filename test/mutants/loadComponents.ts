/**
 * The first spec file of Stryker's runs (stryker.config.mjs), never loaded by `npm test`: it loads every module of
 * components/ before any test runs, so that their module-level code counts as static coverage (see
 * hookCoverage.ts, item 2).
 */
import * as fs from "fs";
import * as path from "path";

const COMPONENTS = path.join(__dirname, "..", "..", "components");
for (const file of fs.readdirSync(COMPONENTS).sort()) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (file.endsWith(".ts")) require(path.join(COMPONENTS, file));
}
