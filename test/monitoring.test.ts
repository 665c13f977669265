import * as assert from "assert";
import { parseSettings } from "../components/settings";
import { acrSettings, problemsOf } from "./support/fixtures";
import { checkRules } from "./support/promtool";
import { runProgram, stackConfig } from "../tools/mockRuntime";

const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

function withMonitoring(monitoring: unknown): Record<string, unknown> {
  const base = acrSettings();
  return {
    ...base,
    namespaces: {
      ...(base.namespaces as Record<string, unknown>),
      "team-c": { registries: { ghcr: {} }, delivery: "externalSecrets" },
    },
    externalSecrets: {
      keyVault: { name: "kv-registry", resourceGroup: "rg-vault" },
      oidcIssuerUrl: "https://issuer.example.com/",
    },
    monitoring,
  };
}

describe("alerts on failed pulls (under mocks)", () => {
  it("declares one PrometheusRule for the managed namespaces that promtool accepts", async () => {
    const run = await runProgram(
      stackConfig(withMonitoring({ enabled: true, namespace: "observability", labels: { release: "kps" } })),
      { stack: "prod" },
    );
    const rule = run.recorder.find(RULE, "pull-alerts-rule");
    assert.deepStrictEqual(rule.inputs.metadata, {
      name: "registry-access-prod",
      namespace: "observability",
      labels: { release: "kps", "app.kubernetes.io/managed-by": "registry-access" },
      annotations: {
        "pulumi.com/patchForce": "true",
        "pulumi.com/patchFieldManager": "registry-access-prod",
      },
    });
    const groups = rule.inputs.spec.groups as { rules: { alert: string; expr: string }[] }[];
    const alerts = groups.flatMap((g) => g.rules);
    assert.deepStrictEqual(
      alerts.map((a) => a.alert),
      [
        "RegistryAccessImagePullFailing",
        "RegistryAccessInitImagePullFailing",
        "RegistryAccessExternalSecretNotReady",
      ],
    );
    assert.ok(alerts[0].expr.includes('namespace=~"team-a|team-b|team-c"'), alerts[0].expr);
    assert.ok(alerts[2].expr.includes('namespace=~"team-c"'), alerts[2].expr);
    // The rules exactly as the program declares them pass promtool.
    const checked = checkRules(rule.inputs.spec);
    assert.strictEqual(checked.ok, true, checked.output);
    assert.match(checked.output, /SUCCESS: 3 rules found/);
    // And the check can fail on the same object.
    const broken = JSON.parse(JSON.stringify(rule.inputs.spec));
    broken.groups[0].rules[0].expr = "max by (namespace (kube_pod_container_status_waiting_reason";
    assert.strictEqual(checkRules(broken).ok, false);
  });

  it("declares no rule when monitoring is off or absent", async () => {
    for (const monitoring of [undefined, { enabled: false }]) {
      const run = await runProgram(stackConfig(withMonitoring(monitoring)));
      assert.deepStrictEqual(run.recorder.ofType(RULE), []);
    }
  });

  it("rejects bad monitoring settings with their paths", () => {
    assert.deepStrictEqual(
      problemsOf(withMonitoring({ enabled: "yes", namespace: "Mon", labels: { a: 1 }, extra: true })),
      [
        "monitoring.extra: unknown key; allowed here: enabled, namespace, labels, runbookBaseUrl",
        'monitoring.enabled: expected true or false, got "yes"',
      ],
    );
    assert.deepStrictEqual(
      problemsOf(withMonitoring({ enabled: true, namespace: "Mon", labels: { a: 1 } })),
      [
        "monitoring.namespace: \"Mon\" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
        "monitoring.labels.a: expected a string, got 1",
      ],
    );
  });

  it("gives every alert the runbook_url <runbookBaseUrl>/docs/runbooks/<Alert>.md exactly when it is configured", async () => {
    const annotationsOf = async (monitoring: unknown) => {
      const run = await runProgram(stackConfig(withMonitoring(monitoring)));
      const groups = run.recorder.find(RULE, "pull-alerts-rule").inputs.spec.groups as {
        rules: { annotations: Record<string, string> }[];
      }[];
      return groups.flatMap((g) => g.rules.map((r) => [r.annotations.runbook, r.annotations.runbook_url]));
    };
    const files = [
      "docs/runbooks/RegistryAccessImagePullFailing.md",
      "docs/runbooks/RegistryAccessInitImagePullFailing.md",
      "docs/runbooks/RegistryAccessExternalSecretNotReady.md",
    ];
    assert.deepStrictEqual(
      await annotationsOf({
        enabled: true,
        runbookBaseUrl: "https://github.com/acme/registry-access/blob/main/",
      }),
      files.map((f) => [f, `https://github.com/acme/registry-access/blob/main/${f}`]),
    );
    assert.deepStrictEqual(
      await annotationsOf({ enabled: true }),
      files.map((f) => [f, undefined]),
    );
  });

  it("rejects a runbookBaseUrl that is not an http(s) address, naming the path, the value and the fix", () => {
    const fix =
      "is not an http(s) address without a ?query or #fragment; give the repository's web address at a branch, " +
      "such as https://github.com/<org>/registry-access/blob/main";
    for (const [value, shown] of [
      ["github.com/acme/registry-access", '"github.com/acme/registry-access"'],
      ["https://github.com/acme/registry-access#main", '"https://github.com/acme/registry-access#main"'],
      [42, "42"],
    ] as const) {
      assert.deepStrictEqual(problemsOf(withMonitoring({ enabled: true, runbookBaseUrl: value })), [
        `monitoring.runbookBaseUrl: ${shown} ${fix}`,
      ]);
    }
    const accepted = parseSettings(withMonitoring({ enabled: true, runbookBaseUrl: "http://wiki.local" }));
    assert.deepStrictEqual(accepted.monitoring, {
      namespace: "monitoring",
      labels: {},
      runbookBaseUrl: "http://wiki.local",
    });
    assert.deepStrictEqual(parseSettings(withMonitoring({ enabled: true })).monitoring, {
      namespace: "monitoring",
      labels: {},
    });
  });
});
