import * as assert from "assert";
import * as path from "path";
import { validateEsoManifest } from "../components/externalSecretsManifests";
import {
  acrAccessTokenManifest,
  dockerConfigTemplate,
  generatedPullSecretManifest,
  GENERATOR_API_VERSION,
} from "../components/workloadIdentityManifests";

const LABELS = { "app.kubernetes.io/managed-by": "registry-access" };

/** ESO's own CRD schema for ACRAccessToken, compiled by @kubernetes-models/external-secrets. */
function validateGenerator(manifest: Record<string, unknown>): void {
  const dir = path.dirname(require.resolve("@kubernetes-models/external-secrets/package.json"));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ACRAccessToken } = require(
    path.join(dir, "generators.external-secrets.io/v1alpha1/ACRAccessToken.js"),
  );
  new ACRAccessToken(manifest).validate();
}

describe("workload identity manifests", () => {
  it("writes an ACRAccessToken with workload identity and no scope", () => {
    const manifest = acrAccessTokenManifest({
      name: "acr",
      namespace: "team-a",
      registry: "mycompany.azurecr.io",
      tenantId: "00000000-1111-2222-3333-444444444444",
      serviceAccountName: "registry-access-acr",
    });
    assert.deepStrictEqual(manifest, {
      apiVersion: "generators.external-secrets.io/v1alpha1",
      kind: "ACRAccessToken",
      metadata: { name: "acr", namespace: "team-a", labels: LABELS },
      spec: {
        auth: { workloadIdentity: { serviceAccountRef: { name: "registry-access-acr" } } },
        registry: "mycompany.azurecr.io",
        tenantId: "00000000-1111-2222-3333-444444444444",
      },
    });
    validateGenerator(manifest);
    // The validator is ESO's schema, not a formality: a wrong shape fails it.
    assert.throws(() => validateGenerator({ ...manifest, spec: { registry: 42 } }));
  });

  it("templates one registry with the generator's own keys, and several with r<i>_ prefixes", () => {
    assert.strictEqual(
      dockerConfigTemplate(["a.azurecr.io"]),
      '{{ dict "auths" (dict "a.azurecr.io" (dict "username" .username "password" .password ' +
        '"auth" (printf "%s:%s" .username .password | b64enc))) | toJson }}',
    );
    assert.strictEqual(
      dockerConfigTemplate(["a.azurecr.io", "b.azurecr.io"]),
      '{{ dict "auths" (dict "a.azurecr.io" (dict "username" .r0_username "password" .r0_password ' +
        '"auth" (printf "%s:%s" .r0_username .r0_password | b64enc)) "b.azurecr.io" (dict "username" ' +
        '.r1_username "password" .r1_password "auth" (printf "%s:%s" .r1_username .r1_password | b64enc))) | toJson }}',
    );
  });

  for (const apiVersion of ["external-secrets.io/v1", "external-secrets.io/v1beta1"] as const) {
    it(`writes an ExternalSecret from one generator that ESO's ${apiVersion} schema accepts`, () => {
      const manifest = generatedPullSecretManifest({
        apiVersion,
        name: "regcred-acr",
        namespace: "team-a",
        targetSecretName: "regcred-acr",
        refreshInterval: "1h",
        generators: [{ kind: "ACRAccessToken", name: "acr", server: "a.azurecr.io" }],
      });
      assert.deepStrictEqual(manifest, {
        apiVersion,
        kind: "ExternalSecret",
        metadata: { name: "regcred-acr", namespace: "team-a", labels: LABELS },
        spec: {
          refreshInterval: "1h",
          target: {
            name: "regcred-acr",
            creationPolicy: "Owner",
            template: {
              type: "kubernetes.io/dockerconfigjson",
              engineVersion: "v2",
              data: { ".dockerconfigjson": dockerConfigTemplate(["a.azurecr.io"]) },
            },
          },
          dataFrom: [
            {
              sourceRef: {
                generatorRef: { apiVersion: GENERATOR_API_VERSION, kind: "ACRAccessToken", name: "acr" },
              },
            },
          ],
        },
      });
      assert.deepStrictEqual(validateEsoManifest(manifest), []);
    });
  }

  it("rewrites each generator's keys when several feed one Secret", () => {
    const manifest = generatedPullSecretManifest({
      apiVersion: "external-secrets.io/v1",
      name: "x",
      namespace: "n",
      targetSecretName: "x",
      refreshInterval: "30m",
      generators: [
        { kind: "ACRAccessToken", name: "one", server: "a.azurecr.io" },
        { kind: "ACRAccessToken", name: "two", server: "b.azurecr.io" },
      ],
    }) as { spec: { dataFrom: unknown[] } };
    assert.deepStrictEqual(manifest.spec.dataFrom, [
      {
        sourceRef: {
          generatorRef: { apiVersion: GENERATOR_API_VERSION, kind: "ACRAccessToken", name: "one" },
        },
        rewrite: [{ regexp: { source: "^(.*)$", target: "r0_$1" } }],
      },
      {
        sourceRef: {
          generatorRef: { apiVersion: GENERATOR_API_VERSION, kind: "ACRAccessToken", name: "two" },
        },
        rewrite: [{ regexp: { source: "^(.*)$", target: "r1_$1" } }],
      },
    ]);
    assert.deepStrictEqual(validateEsoManifest(manifest), []);
  });

  it("refuses an ExternalSecret with no generator", () => {
    assert.throws(
      () =>
        generatedPullSecretManifest({
          apiVersion: "external-secrets.io/v1",
          name: "x",
          namespace: "n",
          targetSecretName: "x",
          refreshInterval: "1h",
          generators: [],
        }),
      { message: "generatedPullSecretManifest: list at least one generator" },
    );
  });
});
