/**
 * The program of the provider-upgrade scenario (issue 16, item 9): one AcrTokenPassword against the local ARM
 * server, declared either as this project did before the provider package (`byValue: true`: the provider from
 * components/, which Pulumi serializes by value into `__provider`) or as it does now (the AcrTokenPassword class,
 * whose provider is a `require` of registry-access-providers). Same type, same name: one resource, upgraded.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  AcrTokenPassword,
  acrTokenPasswordProvider,
  type AcrTokenPasswordArgs,
} from "../../../components/acrTokenPassword";

/** AcrTokenPassword as it registered before issue 16.9: the same type, the provider by value. */
class ByValueAcrTokenPassword extends pulumi.dynamic.Resource {
  declare public readonly activeSlot: pulumi.Output<string>;
  constructor(name: string, args: AcrTokenPasswordArgs) {
    super(
      acrTokenPasswordProvider,
      name,
      { ...args, tokenName: undefined, activeSlot: undefined, password: undefined },
      { additionalSecretOutputs: ["password"] },
      "registry-access",
      "AcrTokenPassword",
    );
  }
}

const config = new pulumi.Config();
const args: AcrTokenPasswordArgs = {
  tokenId: config.require("tokenId"),
  scopeMapId: config.require("scopeMapId"),
  loginServer: config.require("loginServer"),
  passwordLifetimeDays: 60,
  rotateAfterDays: 30,
  forceRotation: config.get("forceRotation"),
  verifyRepository: config.require("verifyRepository"),
  armEndpoint: config.require("armEndpoint"),
};
const password = config.getBoolean("byValue")
  ? new ByValueAcrTokenPassword("password", args)
  : new AcrTokenPassword("password", args);

export const activeSlot = password.activeSlot;
