/**
 * tools/previewFailure.ts: which failed pull-request previews get a second attempt (issue 18.7). The outputs below
 * are the shapes the Pulumi CLI, the program, Pulumi Cloud, Azure and the Kubernetes API print.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { classifyPreviewFailure, main, PERMANENT, TRANSIENT } from "../tools/previewFailure";

const HEADER = "Previewing update (acme/dev)\n\n     Type                 Name                  Plan\n";
const UNKNOWN =
  "not retried: the failure is none that a retry is known to fix (a network error, 429, 5xx, a held stack); " +
  "its output is above. Re-run the job if it was one";

const PERMANENT_OUTPUTS: [string, string][] = [
  [
    HEADER +
      "Diagnostics:\n  pulumi:pulumi:Stack (registry-access-dev):\n    error: 2 problems in the registry-access configuration:\n" +
      "      namespaces.Prod_NS: not a valid namespace name (lowercase letters, digits and '-', at most 63)\n",
    "not retried: the stack's configuration is invalid",
  ],
  [
    HEADER +
      "    error: Missing required configuration variable 'registry-access:registries'\n" +
      "        please set a value using the command `pulumi config set registry-access:registries <value>`\n",
    "not retried: a required configuration value is not set in the stack",
  ],
  [
    "    error: Running program '/home/runner/work/app' failed with an unhandled exception:\n" +
      "    TSError: ⨯ Unable to compile TypeScript:\n    index.ts(12,7): error TS2322: Type 'string' is not assignable to type 'number'.\n",
    "not retried: the program does not type-check",
  ],
  [
    "error: no stack named 'acme/dev' found\n",
    "not retried: the stack does not exist, or this token cannot see it",
  ],
  [
    "error: getting secrets manager: failed to decrypt encrypted configuration value 'registries.hub.password'\n",
    "not retried: the stack's secrets cannot be decrypted with this token",
  ],
  [
    '    error: configured Kubernetes cluster is unreachable: namespaces "team-a" is forbidden: User ' +
      '"00000000-aaaa" cannot get resource "namespaces" in API group "" in the namespace "team-a"\n',
    "not retried: the Kubernetes API refused the identity (RBAC, 403)",
  ],
  [
    '    error: azure-native:containerregistry:Token: StatusCode=403 Code="AuthorizationFailed" Message="The client ' +
      "'x' with object id 'y' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/tokens/read'\"\n",
    "not retried: Azure refused the identity (AuthorizationFailed, 403)",
  ],
  [
    "    error: Running program '/home/runner/work/app' failed with an unhandled exception:\n" +
      "    TypeError: Cannot read properties of undefined (reading 'map')\n",
    "not retried: the program threw an error of its own",
  ],
];

const TRANSIENT_OUTPUTS: [string, string][] = [
  [
    "error: [409] Conflict: Another update is currently in progress.\nTo learn more about possible reasons and resolution, visit https://www.pulumi.com/docs/common-errors/#conflict\n",
    "retried in 2 minutes: another update holds the stack (409)",
  ],
  ["error: [429] Too Many Requests: rate limit exceeded\n", "retried in 2 minutes: rate limited (429)"],
  [
    '    error: azure-native:containerregistry:Registry: StatusCode=429 Code="TooManyRequests"\n',
    "retried in 2 minutes: rate limited (429)",
  ],
  ["error: failed to load checkpoint: [502] Bad Gateway\n", "retried in 2 minutes: the server failed (5xx)"],
  ['    error: StatusCode=503 Code="ServiceUnavailable"\n', "retried in 2 minutes: the server failed (5xx)"],
  [
    "    error: the server is currently unable to handle the request (get namespaces team-a)\n",
    "retried in 2 minutes: the server failed (5xx)",
  ],
  [
    'error: Get "https://api.pulumi.com/api/user": read tcp 10.1.0.4:41234->52.1.2.3:443: read: connection reset by peer\n',
    "retried in 2 minutes: the connection failed",
  ],
  [
    '    error: Get "https://aks-dev.hcp.westeurope.azmk8s.io/api": dial tcp: lookup aks-dev: i/o timeout\n',
    "retried in 2 minutes: the connection failed",
  ],
  [
    "    error: request to https://login.microsoftonline.com failed, reason: getaddrinfo EAI_AGAIN\n",
    "retried in 2 minutes: the connection failed",
  ],
  [
    "    error: AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-12-04T07:00:00Z\n",
    "retried in 2 minutes: a sign-in token expired (the retry logs in again)",
  ],
];

describe("which failed previews are tried again (tools/previewFailure.ts)", () => {
  for (const [output, reason] of PERMANENT_OUTPUTS) {
    it(`fails at once: ${reason.slice("not retried: ".length)}`, () => {
      assert.deepStrictEqual(classifyPreviewFailure(output), { retry: false, reason });
    });
  }

  for (const [output, reason] of TRANSIENT_OUTPUTS) {
    it(`retries: ${reason.slice("retried in 2 minutes: ".length)}`, () => {
      assert.deepStrictEqual(classifyPreviewFailure(output), { retry: true, reason });
    });
  }

  it("each rule is exercised by one of the outputs above", () => {
    const used = (rules: typeof PERMANENT, outputs: [string, string][]) =>
      rules.filter((r) => !outputs.some(([o]) => r.pattern.test(o))).map((r) => r.reason);
    assert.deepStrictEqual(used(PERMANENT, PERMANENT_OUTPUTS), []);
    assert.deepStrictEqual(used(TRANSIENT, TRANSIENT_OUTPUTS), []);
  });

  it("does not retry a configuration error that came after a retried request", () => {
    const output =
      "warning: [503] Service Unavailable, retrying\n" +
      "    error: 1 problem in the registry-access configuration:\n      registries: missing\n";
    assert.deepStrictEqual(classifyPreviewFailure(output), {
      retry: false,
      reason: "not retried: the stack's configuration is invalid",
    });
  });

  it("does not retry a failure it does not know, nor mistake a count of 500 resources for a 500", () => {
    assert.deepStrictEqual(classifyPreviewFailure("error: something else went wrong\n"), {
      retry: false,
      reason: UNKNOWN,
    });
    assert.deepStrictEqual(
      classifyPreviewFailure(HEADER + "Resources:\n    + 500 to create\n    429 unchanged\nerror: x\n"),
      {
        retry: false,
        reason: UNKNOWN,
      },
    );
  });

  describe("the command the workflow runs", () => {
    let dir: string;
    let out: string[];
    const write = process.stdout.write.bind(process.stdout);
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-access-preview-failure-"));
      out = [];
      process.stdout.write = ((chunk: string) => (
        out.push(String(chunk)),
        true
      )) as typeof process.stdout.write;
    });
    afterEach(() => {
      process.stdout.write = write;
      fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A stand-in for the Pulumi CLI: records its arguments, prints `text`, exits with `status`. */
    function fakePulumi(text: string, status: number): string {
      const file = path.join(dir, "pulumi");
      fs.writeFileSync(
        file,
        `#!/bin/sh\necho "$@" >"${dir}/args"\nprintf '%s' '${text.replace(/'/g, "'\\''")}'\nexit ${status}\n`,
        { mode: 0o755 },
      );
      return file;
    }

    function run(text: string, status: number): { code: number; output: string; log: string; args: string } {
      const githubOutput = path.join(dir, "github-output");
      const log = path.join(dir, "preview.log");
      const code = main(
        ["--stack", "acme/dev", "--log", log],
        { PATH: process.env.PATH, GITHUB_OUTPUT: githubOutput },
        fakePulumi(text, status),
      );
      return {
        code,
        output: fs.readFileSync(githubOutput, "utf8"),
        log: fs.readFileSync(log, "utf8"),
        args: fs.readFileSync(path.join(dir, "args"), "utf8"),
      };
    }

    it("runs the preview, keeps its output, and fails with an annotation on a configuration error", () => {
      const text = "error: 1 problem in the registry-access configuration:\n  registries: missing\n";
      assert.deepStrictEqual(run(text, 255), {
        code: 1,
        output: "passed=false\nretry=false\nreason=not retried: the stack's configuration is invalid\n",
        log: text,
        args: "preview --diff --non-interactive --stack acme/dev\n",
      });
      assert.deepStrictEqual(out, [
        text,
        "::error title=pulumi preview::not retried: the stack's configuration is invalid\n",
      ]);
    });

    it("asks for the retry on a transient failure", () => {
      const result = run("error: [429] Too Many Requests\n", 255);
      assert.deepStrictEqual(
        [result.code, result.output],
        [0, "passed=false\nretry=true\nreason=retried in 2 minutes: rate limited (429)\n"],
      );
      assert.strictEqual(out[1], "::notice title=pulumi preview::retried in 2 minutes: rate limited (429)\n");
    });

    it("asks for the retry at once when the preview passes now (the comment comes from the action's run)", () => {
      const result = run("Resources:\n    15 unchanged\n", 0);
      assert.deepStrictEqual(
        [result.code, result.output],
        [
          0,
          "passed=true\nretry=true\nreason=passed when run again: the first failure was transient; retried now for the comment\n",
        ],
      );
    });

    it("needs --stack", () => {
      const err: string[] = [];
      const writeErr = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string) => (
        err.push(String(chunk)),
        true
      )) as typeof process.stderr.write;
      try {
        assert.strictEqual(main([], {}), 2);
      } finally {
        process.stderr.write = writeErr;
      }
      assert.deepStrictEqual(err, [
        "previewFailure: --stack is required\nusage: ts-node --transpile-only tools/previewFailure.ts --stack NAME [--log FILE]\n",
      ]);
    });
  });
});
