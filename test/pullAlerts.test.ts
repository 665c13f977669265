import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  ALERTS,
  EXTERNAL_SECRET_ALERT,
  IMAGE_PULL_ALERT,
  INIT_IMAGE_PULL_ALERT,
  PullAlertOptionsError,
  pullAlertRules,
  runbookUrl,
} from "../components/pullAlerts";
import { checkRules, testRules } from "./support/promtool";

const SAMPLE = { namespaces: ["prod", "dev", "team-a"], externalSecretsNamespaces: ["prod"] };

const CONTAINER_EXPR =
  'max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{namespace=~"dev|prod|team-a",reason=~"ErrImagePull|ImagePullBackOff"}) > 0';
const INIT_EXPR =
  'max by (namespace, pod, container) (kube_pod_init_container_status_waiting_reason{namespace=~"dev|prod|team-a",reason=~"ErrImagePull|ImagePullBackOff"}) > 0';
const ESO_EXPR =
  'max by (namespace, name) (externalsecret_status_condition{condition="Ready",namespace=~"prod",status="False"}) == 1';

function rule(rules: ReturnType<typeof pullAlertRules>, alert: string) {
  const found = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  assert.ok(found, `no rule ${alert}`);
  return found;
}

function errorOf(fn: () => unknown): PullAlertOptionsError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PullAlertOptionsError, `expected a PullAlertOptionsError, got ${String(e)}`);
    return e;
  }
  assert.fail("expected an error");
}

/** `{ series, values }` for promtool's input_series. */
function series(metric: string, labels: Record<string, string>, values: string) {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return { series: `${metric}{${body}}`, values };
}

describe("pullAlertRules", () => {
  it("builds the exact expressions, with sorted namespaces in an anchored-by-Prometheus regex", () => {
    const rules = pullAlertRules(SAMPLE);
    assert.deepEqual(
      rules.groups.map((g) => [g.name, g.rules.map((r) => [r.alert, r.expr])]),
      [
        [
          "registry-access-image-pulls",
          [
            [IMAGE_PULL_ALERT, CONTAINER_EXPR],
            [INIT_IMAGE_PULL_ALERT, INIT_EXPR],
          ],
        ],
        ["registry-access-external-secrets", [[EXTERNAL_SECRET_ALERT, ESO_EXPR]]],
      ],
    );
  });

  it("gives the whole image pull rule: for, severity, summary, description and runbook anchor", () => {
    assert.deepEqual(rule(pullAlertRules(SAMPLE), IMAGE_PULL_ALERT), {
      alert: "RegistryAccessImagePullFailing",
      expr: CONTAINER_EXPR,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "Image pull failing in {{ $labels.namespace }}/{{ $labels.pod }}",
        description:
          "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has waited on ErrImagePull or ImagePullBackOff for more than 5m.",
        runbook: "docs/runbooks/RegistryAccessImagePullFailing.md",
      },
    });
  });

  it("points every alert at its own runbook file, docs/runbooks/<AlertName>.md, which exists", () => {
    const rules = pullAlertRules(SAMPLE).groups.flatMap((g) => g.rules);
    assert.deepEqual(
      rules.map((r) => r.alert),
      [...ALERTS],
    );
    assert.deepEqual(
      rules.map((r) => r.annotations.runbook),
      [
        "docs/runbooks/RegistryAccessImagePullFailing.md",
        "docs/runbooks/RegistryAccessInitImagePullFailing.md",
        "docs/runbooks/RegistryAccessExternalSecretNotReady.md",
      ],
    );
    for (const r of rules) {
      const file = path.join(__dirname, "..", r.annotations.runbook);
      assert.ok(fs.existsSync(file), `${r.annotations.runbook} is missing`);
      assert.match(fs.readFileSync(file, "utf8"), new RegExp(`^# Runbook: ${r.alert}\n`));
    }
  });

  it("has no runbook file for an alert that does not exist", () => {
    const files = fs.readdirSync(path.join(__dirname, "..", "docs", "runbooks")).sort();
    assert.deepEqual(files, ALERTS.map((a) => `${a}.md`).sort());
  });

  it("names the ExternalSecret and its namespace in the ESO alert", () => {
    assert.deepEqual(rule(pullAlertRules(SAMPLE), EXTERNAL_SECRET_ALERT).annotations, {
      summary: "ExternalSecret {{ $labels.namespace }}/{{ $labels.name }} is not syncing",
      description:
        "ExternalSecret {{ $labels.name }} in namespace {{ $labels.namespace }} has been Ready=False for more than 5m: its pull secret is not refreshed from Key Vault, and pods in {{ $labels.namespace }} will fail to pull once the registry token it holds expires.",
      runbook: "docs/runbooks/RegistryAccessExternalSecretNotReady.md",
    });
  });

  it("gives the same output whatever the order of, and repeats in, the namespace lists", () => {
    const shuffled = pullAlertRules({
      namespaces: ["team-a", "dev", "prod", "dev"],
      externalSecretsNamespaces: ["prod", "prod"],
    });
    assert.deepEqual(shuffled, pullAlertRules(SAMPLE));
  });

  it("has no ESO group or alert when no namespace uses External Secrets Operator", () => {
    const rules = pullAlertRules({ namespaces: ["dev", "prod"], externalSecretsNamespaces: [] });
    assert.deepEqual(
      rules.groups.map((g) => [g.name, g.rules.map((r) => r.alert)]),
      [["registry-access-image-pulls", [IMAGE_PULL_ALERT, INIT_IMAGE_PULL_ALERT]]],
    );
    assert.equal(JSON.stringify(rules).includes("externalsecret"), false);
  });

  it("uses the given wait in `for` and in the descriptions", () => {
    const rules = pullAlertRules({ ...SAMPLE, for: "10m" });
    const all = rules.groups.flatMap((g) => g.rules);
    assert.deepEqual(
      all.map((r) => r.for),
      ["10m", "10m", "10m"],
    );
    assert.equal(
      rule(rules, INIT_IMAGE_PULL_ALERT).annotations.description,
      "Init container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has waited on ErrImagePull or ImagePullBackOff for more than 10m.",
    );
  });

  it("narrows the ESO alert to one ExternalSecret name when given", () => {
    const rules = pullAlertRules({ ...SAMPLE, externalSecretName: "registry-pull" });
    assert.equal(
      rule(rules, EXTERNAL_SECRET_ALERT).expr,
      'max by (namespace, name) (externalsecret_status_condition{condition="Ready",name="registry-pull",namespace=~"prod",status="False"}) == 1',
    );
  });

  it("adds an absolute runbook_url exactly when runbookBaseUrl is given, with no double slash", () => {
    const expected = [
      "https://github.com/acme/registry-access/blob/main/docs/runbooks/RegistryAccessImagePullFailing.md",
      "https://github.com/acme/registry-access/blob/main/docs/runbooks/RegistryAccessInitImagePullFailing.md",
      "https://github.com/acme/registry-access/blob/main/docs/runbooks/RegistryAccessExternalSecretNotReady.md",
    ];
    for (const base of [
      "https://github.com/acme/registry-access/blob/main",
      "https://github.com/acme/registry-access/blob/main/",
      "https://github.com/acme/registry-access/blob/main//",
    ]) {
      const rules = pullAlertRules({ ...SAMPLE, runbookBaseUrl: base });
      assert.deepEqual(
        rules.groups.flatMap((g) => g.rules.map((r) => r.annotations.runbook_url)),
        expected,
        base,
      );
    }
    assert.equal(
      runbookUrl("http://wiki", IMAGE_PULL_ALERT),
      "http://wiki/docs/runbooks/RegistryAccessImagePullFailing.md",
    );
    const plain = pullAlertRules(SAMPLE).groups.flatMap((g) => g.rules);
    assert.deepEqual(
      plain.map((r) => Object.keys(r.annotations)),
      [0, 1, 2].map(() => ["summary", "description", "runbook"]),
    );
  });

  it("refuses a runbookBaseUrl that is not http(s) or has a query or fragment", () => {
    for (const bad of [
      "README.md#x",
      "ftp://x",
      "https://x/a#b",
      "https://x/?a",
      "https://",
      "https://x y",
    ]) {
      assert.deepEqual(errorOf(() => pullAlertRules({ ...SAMPLE, runbookBaseUrl: bad })).problems, [
        `runbookBaseUrl: ${JSON.stringify(bad)} is not an http(s) address without a ?query or #fragment`,
      ]);
    }
  });

  it("refuses an empty namespace list with a clear message", () => {
    const error = errorOf(() => pullAlertRules({ namespaces: [], externalSecretsNamespaces: [] }));
    assert.equal(
      error.message,
      "1 problem in the pull alert options:\n  - namespaces: empty; list at least one namespace this program manages",
    );
  });

  it("refuses names that would put regex or PromQL syntax into the matcher, and collects every problem", () => {
    const error = errorOf(() =>
      pullAlertRules({
        namespaces: ["dev", "dev|kube-system", ".*", 'a"b', "Prod"],
        externalSecretsNamespaces: ["staging"],
        for: "5 minutes",
        externalSecretName: "Bad_Name",
        runbookBaseUrl: "README.md#x",
      }),
    );
    const rule =
      "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
    assert.deepEqual(error.problems, [
      `namespaces[1]: "dev|kube-system" is not a namespace name: ${rule}`,
      `namespaces[2]: ".*" is not a namespace name: ${rule}`,
      `namespaces[3]: "a\\"b" is not a namespace name: ${rule}`,
      `namespaces[4]: "Prod" is not a namespace name: ${rule}`,
      'externalSecretsNamespaces[0]: "staging" is not one of namespaces',
      'for: "5 minutes" is not a Prometheus duration above zero, such as 5m or 1h30m',
      `externalSecretName: "Bad_Name" is not an object name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`,
      'runbookBaseUrl: "README.md#x" is not an http(s) address without a ?query or #fragment',
    ]);
    assert.equal(error.message.split("\n")[0], "8 problems in the pull alert options:");
  });

  it("refuses a zero wait and accepts compound durations", () => {
    assert.deepEqual(errorOf(() => pullAlertRules({ ...SAMPLE, for: "0m" })).problems, [
      'for: "0m" is not a Prometheus duration above zero, such as 5m or 1h30m',
    ]);
    assert.equal(rule(pullAlertRules({ ...SAMPLE, for: "1h30m" }), IMAGE_PULL_ALERT).for, "1h30m");
  });
});

describe("pull alert rules under promtool check rules", () => {
  it("passes, with every rule counted", () => {
    const result = checkRules(pullAlertRules(SAMPLE));
    assert.equal(result.ok, true, result.output);
    assert.match(result.output, /^ {2}SUCCESS: 3 rules found$/m);
  });

  it("passes without ESO namespaces, with two rules", () => {
    const result = checkRules(pullAlertRules({ namespaces: ["dev"], externalSecretsNamespaces: [] }));
    assert.equal(result.ok, true, result.output);
    assert.match(result.output, /^ {2}SUCCESS: 2 rules found$/m);
  });

  it("fails on a corrupted expression, so the check can fail", () => {
    const rules = structuredClone(pullAlertRules(SAMPLE));
    const init = rules.groups[0].rules[1] as { expr: string };
    init.expr = init.expr.replace(") > 0", " > 0");
    const result = checkRules(rules);
    assert.equal(result.ok, false, result.output);
    assert.match(
      result.output,
      /group "registry-access-image-pulls", rule 2, "RegistryAccessInitImagePullFailing": could not parse expression: .*unclosed left parenthesis/,
    );
  });

  it("fails on a corrupted duration", () => {
    const rules = structuredClone(pullAlertRules(SAMPLE));
    (rules.groups[1].rules[0] as { for: string }).for = "five minutes";
    const result = checkRules(rules);
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /not a valid duration string: "five minutes"/);
  });

  it("throws, rather than skips, when promtool is missing", () => {
    assert.throws(() => checkRules(pullAlertRules(SAMPLE), "/nonexistent/promtool"), {
      message:
        "promtool not found or not executable at /nonexistent/promtool: install it (Debian/Ubuntu: apt-get install prometheus) " +
        "or set PROMTOOL to its path; the alert rule tests need it and do not skip",
    });
  });
});

describe("pull alert rules under promtool test rules (synthetic series)", () => {
  const rules = pullAlertRules(SAMPLE);
  const backOff = (namespace: string, pod: string, values = "1x10") =>
    series(
      "kube_pod_container_status_waiting_reason",
      { namespace, pod, container: "app", reason: "ImagePullBackOff", uid: `uid-${pod}` },
      values,
    );
  const firing = (namespace: string, pod: string, container = "app") => ({
    exp_labels: { severity: "warning", namespace, pod, container },
    exp_annotations: {
      summary: `Image pull failing in ${namespace}/${pod}`,
      description: `Container ${container} of pod ${namespace}/${pod} has waited on ErrImagePull or ImagePullBackOff for more than 5m.`,
      runbook: "docs/runbooks/RegistryAccessImagePullFailing.md",
    },
  });

  it("fires ImagePullBackOff after 5m in a managed namespace, not before, and never for unmanaged ones", () => {
    const result = testRules(rules, [
      {
        interval: "1m",
        input_series: [
          backOff("dev", "web-1"),
          backOff("staging", "web-2"),
          // A superstring of a managed name: the regex must be anchored at both ends.
          backOff("dev-old", "web-3"),
          backOff("xdev", "web-4"),
        ],
        alert_rule_test: [
          { eval_time: "4m", alertname: IMAGE_PULL_ALERT, exp_alerts: [] },
          { eval_time: "6m", alertname: IMAGE_PULL_ALERT, exp_alerts: [firing("dev", "web-1")] },
          { eval_time: "10m", alertname: IMAGE_PULL_ALERT, exp_alerts: [firing("dev", "web-1")] },
        ],
      },
    ]);
    assert.equal(result.ok, true, result.output);
    assert.match(result.output, /^ {2}SUCCESS$/m);
  });

  it("keeps counting while the kubelet alternates ErrImagePull and ImagePullBackOff", () => {
    // Each reason is its own series, going stale while the other one is current.
    const input = [
      series(
        "kube_pod_container_status_waiting_reason",
        { namespace: "prod", pod: "api-1", container: "app", reason: "ErrImagePull" },
        "1 stale 1 stale 1 stale 1 stale 1 stale 1",
      ),
      series(
        "kube_pod_container_status_waiting_reason",
        { namespace: "prod", pod: "api-1", container: "app", reason: "ImagePullBackOff" },
        "_ 1 stale 1 stale 1 stale 1 stale 1 stale",
      ),
    ];
    const expected = [
      { eval_time: "7m", alertname: IMAGE_PULL_ALERT, exp_alerts: [firing("prod", "api-1")] },
    ];
    const result = testRules(rules, [{ interval: "1m", input_series: input, alert_rule_test: expected }]);
    assert.equal(result.ok, true, result.output);

    // The same input against the obvious expression without `max by`: no alert at all, because `for` restarts
    // on every switch. That is why the reasons are aggregated away.
    const naive = structuredClone(rules);
    (naive.groups[0].rules[0] as { expr: string }).expr =
      'kube_pod_container_status_waiting_reason{namespace=~"dev|prod|team-a",reason=~"ErrImagePull|ImagePullBackOff"} > 0';
    const silent = [{ eval_time: "7m", alertname: IMAGE_PULL_ALERT, exp_alerts: [] }];
    const naiveResult = testRules(naive, [{ interval: "1m", input_series: input, alert_rule_test: silent }]);
    assert.equal(naiveResult.ok, true, naiveResult.output);
  });

  it("ignores other waiting reasons in a managed namespace", () => {
    const result = testRules(rules, [
      {
        interval: "1m",
        input_series: [
          series(
            "kube_pod_container_status_waiting_reason",
            { namespace: "dev", pod: "web-1", container: "app", reason: "CrashLoopBackOff" },
            "1x10",
          ),
          series(
            "kube_pod_container_status_waiting_reason",
            { namespace: "dev", pod: "web-1", container: "app", reason: "ContainerCreating" },
            "1x10",
          ),
        ],
        alert_rule_test: [{ eval_time: "10m", alertname: IMAGE_PULL_ALERT, exp_alerts: [] }],
      },
    ]);
    assert.equal(result.ok, true, result.output);
  });

  it("fires the init container alert from the init container metric", () => {
    const result = testRules(rules, [
      {
        interval: "1m",
        input_series: [
          series(
            "kube_pod_init_container_status_waiting_reason",
            { namespace: "team-a", pod: "job-1", container: "migrate", reason: "ErrImagePull" },
            "1x10",
          ),
        ],
        alert_rule_test: [
          { eval_time: "4m", alertname: INIT_IMAGE_PULL_ALERT, exp_alerts: [] },
          {
            eval_time: "6m",
            alertname: INIT_IMAGE_PULL_ALERT,
            exp_alerts: [
              {
                exp_labels: { severity: "warning", namespace: "team-a", pod: "job-1", container: "migrate" },
                exp_annotations: {
                  summary: "Init container image pull failing in team-a/job-1",
                  description:
                    "Init container migrate of pod team-a/job-1 has waited on ErrImagePull or ImagePullBackOff for more than 5m.",
                  runbook: "docs/runbooks/RegistryAccessInitImagePullFailing.md",
                },
              },
            ],
          },
          // The regular container alert does not look at init containers.
          { eval_time: "6m", alertname: IMAGE_PULL_ALERT, exp_alerts: [] },
        ],
      },
    ]);
    assert.equal(result.ok, true, result.output);
  });

  it("fires the ESO alert for a Ready=False ExternalSecret in an ESO namespace only", () => {
    const condition = (namespace: string, name: string, status: string) =>
      series("externalsecret_status_condition", { namespace, name, condition: "Ready", status }, "1x10");
    const result = testRules(rules, [
      {
        interval: "1m",
        input_series: [
          condition("prod", "registry-pull", "False"),
          // dev is managed, but its secret is not delivered through ESO.
          condition("dev", "registry-pull", "False"),
          condition("team-a", "other", "False"),
          condition("prod", "healthy", "True"),
        ],
        alert_rule_test: [
          { eval_time: "4m", alertname: EXTERNAL_SECRET_ALERT, exp_alerts: [] },
          {
            eval_time: "6m",
            alertname: EXTERNAL_SECRET_ALERT,
            exp_alerts: [
              {
                exp_labels: { severity: "warning", namespace: "prod", name: "registry-pull" },
                exp_annotations: {
                  summary: "ExternalSecret prod/registry-pull is not syncing",
                  description:
                    "ExternalSecret registry-pull in namespace prod has been Ready=False for more than 5m: its pull secret is not refreshed from Key Vault, and pods in prod will fail to pull once the registry token it holds expires.",
                  runbook: "docs/runbooks/RegistryAccessExternalSecretNotReady.md",
                },
              },
            ],
          },
        ],
      },
    ]);
    assert.equal(result.ok, true, result.output);
  });

  it("fails when the expectation is wrong, so these unit tests can fail", () => {
    const result = testRules(rules, [
      {
        interval: "1m",
        input_series: [backOff("dev", "web-1")],
        alert_rule_test: [
          { eval_time: "4m", alertname: IMAGE_PULL_ALERT, exp_alerts: [firing("dev", "web-1")] },
        ],
      },
    ]);
    assert.equal(result.ok, false, result.output);
    assert.match(result.output, /FAILED:\n\s+alertname: RegistryAccessImagePullFailing, time: 4m/);
  });
});
