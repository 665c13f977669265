#!/usr/bin/env bash
# The Pulumi environment of every run the project controls: `npm run up:local` and `down:local` (through
# scripts/local/common.sh), the environment `npm run -s e2e:env` prints, the e2e tests and `npm run bench:e2e`
# (test/e2e/support/harness.ts sets the same defaults for an external cluster). Sourced, not run. A value already
# in the environment wins, so `PULUMI_SKIP_CHECKPOINTS=false npm run up:local` measures the slow path.
#
#   PULUMI_NODEJS_TRANSPILE_ONLY=true  the language host runs the program through ts-node without type-checking it
#       (it reads only this variable and tsconfig's `noCheck`). `npm run build` and CI type-check instead, once,
#       not on every preview and again on every up.
#   PULUMI_SKIP_CHECKPOINTS=true       a self-managed backend (file, Azure Blob, S3) writes the state once at the
#       end of an update, not the whole state file after every step (pulumi/pulumi#10668), which made an up
#       quadratic in its resource count. A run killed part way leaves the last full state; e2e scenarios 10 and 11
#       show that the next up converges and no namespace loses its pull secret (see the README).
#   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION, PULUMI_SKIP_UPDATE_CHECK: nothing here fetches from the network.
PULUMI_RUN_VARS="PULUMI_NODEJS_TRANSPILE_ONLY PULUMI_SKIP_CHECKPOINTS PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION PULUMI_SKIP_UPDATE_CHECK"
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
export PULUMI_SKIP_CHECKPOINTS="${PULUMI_SKIP_CHECKPOINTS:-true}"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true
