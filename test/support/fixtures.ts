import * as assert from "assert";
import type { AcrRegistry } from "../../components/settings";
import { parseSettings, SettingsError } from "../../components/settings";
import { installMocks, Recorder } from "../../tools/mockRuntime";

/** Canary credentials: unique strings that must never show up outside a Pulumi secret. */
export const CANARY = {
  hubPassword: "canary-hub-pw-7f3a91",
  ghcrPassword: "canary-ghcr-pw-c04e2b",
  /** A GCR JSON key: newlines, quotes and backslashes must survive byte for byte. */
  gcrKey:
    '{\n  "type": "service_account",\n  "private_key": "-----BEGIN KEY-----\\nCANARY-gcr-9d1e\\n-----END KEY-----\\n"\n}',
};

/** A valid static-registry configuration (without the `registry-access:` prefix). */
export function staticSettings(): Record<string, unknown> {
  return {
    registries: {
      dockerhub: { type: "static", server: "docker.io", username: "hub-bot", password: CANARY.hubPassword },
      ghcr: { type: "static", server: "ghcr.io", username: "gh-bot", password: CANARY.ghcrPassword },
      gcr: { type: "static", server: "gcr.io", username: "_json_key", password: CANARY.gcrKey },
    },
    namespaces: {
      "team-a": {
        registries: { dockerhub: {}, ghcr: {} },
        serviceAccounts: ["default", { name: "builder", create: true }],
        labels: { team: "a" },
        annotations: { owner: "team-a@example.com" },
        extraImagePullSecrets: ["legacy-pull"],
      },
      "team-b": { registries: { gcr: {} } },
    },
  };
}

/** Static registries plus an ACR registry, with two namespaces pulling from ACR. */
export function acrSettings(): Record<string, unknown> {
  const base = staticSettings();
  return {
    ...base,
    registries: {
      ...(base.registries as Record<string, unknown>),
      acr: { type: "acr", server: "mycompany.azurecr.io", resourceGroup: "rg-registry" },
    },
    namespaces: {
      "team-a": { registries: { acr: { repositories: ["team-a/*", "shared/base"] }, dockerhub: {} } },
      "team-b": { registries: { acr: { repositories: ["team-b/api"] } } },
    },
  };
}

/** The problems parseSettings reports for a config; fails the test when it accepts the config. */
export function problemsOf(raw: Record<string, unknown>): readonly string[] {
  try {
    parseSettings(raw);
  } catch (e) {
    if (e instanceof SettingsError) return e.problems;
    throw e;
  }
  assert.fail("expected the config to be rejected");
}

/** An ACR registry as parseSettings returns it with the defaults: for tests that build a component by itself. */
export const ACR_REGISTRY: AcrRegistry = {
  id: "acr",
  type: "acr",
  server: "mycompany.azurecr.io",
  resourceGroup: "rg-registry",
  registryName: "mycompany",
  passwordLifetimeDays: 90,
  rotateAfterDays: 60,
  rotationSpreadDays: 7,
};

/** Install fresh mocks, run `declare`, and wait until the mock monitor has seen every registration. */
export async function declaredUnderMocks(declare: () => void): Promise<Recorder> {
  const recorder = new Recorder();
  const settled = await installMocks(recorder);
  declare();
  await settled();
  return recorder;
}
