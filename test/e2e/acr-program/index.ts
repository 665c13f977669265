/**
 * The small program of the ACR password scenario (issue 9, scenario 9): one AcrTokenPassword against the local
 * ARM server, one pull secret holding its active password in the real cluster, and the main program's preview
 * warning about passwords that expire soon, read through the engine from the last deployment. azure-native cannot
 * be built here, so the token and scope map are the ARM server's, made by the test, not declared.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AcrTokenSummary, deployedExpiryWarnings } from "../../../components/AcrPullToken";
import { AcrTokenPassword } from "../../../components/acrTokenPassword";
import { dockerConfigJson } from "../../../components/dockerConfig";
import { readLastDeployment } from "../../../components/lastDeployment";

async function main(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config();
  const namespace = config.require("namespace");
  const loginServer = config.require("loginServer");
  const password = new AcrTokenPassword("password", {
    tokenId: config.require("tokenId"),
    scopeMapId: config.require("scopeMapId"),
    loginServer,
    passwordLifetimeDays: config.requireNumber("passwordLifetimeDays"),
    rotateAfterDays: config.requireNumber("rotateAfterDays"),
    forceRotation: config.get("forceRotation"),
    verifyRepository: config.require("verifyRepository"),
    armEndpoint: config.require("armEndpoint"),
  });
  const provider = new k8s.Provider("kubernetes", {
    context: new pulumi.Config("kubernetes").require("context"),
    enableServerSideApply: true,
    enableSecretMutable: true,
    upsertExistingObjects: true,
  });
  new k8s.core.v1.Secret(
    "pull-secret",
    {
      metadata: { name: "acr-pull", namespace },
      type: "kubernetes.io/dockerconfigjson",
      data: {
        ".dockerconfigjson": pulumi
          .all([password.tokenName, password.password])
          .apply(([username, pw]) =>
            Buffer.from(dockerConfigJson([{ server: loginServer, username, password: pw }])).toString(
              "base64",
            ),
          ),
      },
    },
    { provider },
  );
  if (pulumi.runtime.isDryRun()) {
    const deployed = await readLastDeployment(
      pulumi.getOrganization(),
      pulumi.getProject(),
      pulumi.getStack(),
    );
    for (const warning of deployedExpiryWarnings(deployed?.namespaces, new Date())) pulumi.log.warn(warning);
  }
  const summary = pulumi
    .all([password.tokenName, password.activeSlot, password.password1Expiry, password.password2Expiry])
    .apply(([tokenName, activeSlot, password1Expiry, password2Expiry]): AcrTokenSummary => ({
      registry: loginServer,
      tokenName,
      repositories: [config.require("verifyRepository")],
      activeSlot,
      ...(password1Expiry ? { password1Expiry } : {}),
      ...(password2Expiry ? { password2Expiry } : {}),
    }));
  return {
    namespaces: summary.apply((s) => ({ [namespace]: { acrTokens: [s] } })),
    activeSlot: password.activeSlot,
    drift: password.drift,
  };
}

export = main;
