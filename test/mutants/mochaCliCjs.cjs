// Loaded by stryker.config.mjs (and through testRunnerNodeArgs / checkerNodeArgs in Stryker's workers), never by
// `npm test`. @stryker-mutator/mocha-runner 10.0.0 requires Mocha's CLI helpers without an extension
// (`mocha/lib/cli/run-helpers`), and Mocha 12 names them `.cjs`, so the plugin fails to load ("Cannot find
// TestRunner plugin mocha"). Resolving `.cjs` like `.js` for extensionless requires is enough; remove this file
// once the runner probes the extension itself (stryker-js pull request 6205).
"use strict";
if (!require.extensions[".cjs"]) require.extensions[".cjs"] = require.extensions[".js"];
