/**
 * The small program of the ESO scenario (test/e2e/eso.test.ts): a service account `app` whose pull secret is either
 * a plain `regcred` Secret (mode `regcred`) or the Secret ESO renders from a generator through the ExternalSecret
 * that `generatedPullSecretManifest` builds (mode `eso`), declared as AcrWorkloadIdentity declares it: the
 * ExternalSecret waits for `condition=Ready`, and the account depends on what it lists.
 *
 * ESO's `Fake` generator stands in for `ACRAccessToken`: Azure's token exchange (workload identity to Entra to
 * ACR's /oauth2/exchange) is the one part that cannot run here. Everything after the generator's output is ESO's
 * real code against the real cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dockerConfigJson } from "../../../components/dockerConfig";
import {
  GENERATOR_API_VERSION,
  generatedPullSecretManifest,
} from "../../../components/workloadIdentityManifests";

const config = new pulumi.Config();
const namespace = config.require("namespace");
const mode = config.require("mode");
const server = config.require("server");
const provider = new k8s.Provider("kubernetes", {
  context: new pulumi.Config("kubernetes").require("context"),
  enableServerSideApply: true,
});

let pullSecret: pulumi.Resource;
let secretName: string;
if (mode === "regcred") {
  secretName = "regcred";
  pullSecret = new k8s.core.v1.Secret(
    "regcred",
    {
      metadata: { name: secretName, namespace },
      type: "kubernetes.io/dockerconfigjson",
      stringData: {
        ".dockerconfigjson": config
          .requireSecret("regcredPassword")
          .apply((password) =>
            dockerConfigJson([{ server, username: config.require("regcredUsername"), password }]),
          ),
      },
    },
    { provider },
  );
} else if (mode === "eso") {
  secretName = "regcred-eso";
  const generator = new k8s.apiextensions.CustomResource(
    "generator",
    {
      apiVersion: GENERATOR_API_VERSION,
      kind: "Fake",
      metadata: { name: "registry-access-fake", namespace },
      spec: {
        data: { username: config.require("esoUsername"), password: config.requireSecret("esoPassword") },
      },
    },
    { provider },
  );
  const manifest = generatedPullSecretManifest({
    apiVersion: "external-secrets.io/v1",
    name: secretName,
    namespace,
    targetSecretName: secretName,
    refreshInterval: "1h",
    generators: [{ kind: "Fake", name: "registry-access-fake", server }],
  });
  pullSecret = new k8s.apiextensions.CustomResource(
    "external-secret",
    {
      ...manifest,
      apiVersion: manifest.apiVersion as string,
      kind: "ExternalSecret",
      metadata: {
        ...(manifest.metadata as object),
        annotations: { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "120" },
      },
    },
    { provider, dependsOn: [generator] },
  );
} else {
  throw new Error(`mode is ${mode}: set regcred or eso`);
}

new k8s.core.v1.ServiceAccount(
  "app",
  { metadata: { name: "app", namespace }, imagePullSecrets: [{ name: secretName }] },
  { provider, dependsOn: [pullSecret] },
);

export const pullSecretName = secretName;
