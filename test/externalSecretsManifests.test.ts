import * as assert from "node:assert/strict";
import * as path from "node:path";
import {
  ESO_API_VERSIONS,
  ExternalSecretInput,
  SecretStoreInput,
  externalSecretManifest,
  parseGoDuration,
  secretStoreManifest,
  validateEsoManifest,
} from "../components/externalSecretsManifests";

const STORE_KINDS = ["SecretStore", "ClusterSecretStore"] as const;

function storeInput(apiVersion: SecretStoreInput["apiVersion"]): SecretStoreInput {
  return {
    apiVersion,
    name: "registry-access",
    namespace: "team-a",
    vaultUrl: "https://kv-registry.vault.azure.net",
    serviceAccountName: "registry-access-eso",
  };
}

function externalSecretInput(
  apiVersion: ExternalSecretInput["apiVersion"],
  storeKind: ExternalSecretInput["store"]["kind"] = "SecretStore",
): ExternalSecretInput {
  return {
    apiVersion,
    name: "regcred",
    namespace: "team-a",
    store: { kind: storeKind, name: "registry-access" },
    refreshInterval: "1h",
    targetSecretName: "regcred",
    vaultSecretName: "ra-dev-team-a-dockerconfig",
  };
}

/** A deep copy to break on purpose, and a typed view of its insides. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function copy(manifest: Record<string, unknown>): any {
  return structuredClone(manifest);
}

describe("externalSecretsManifests", () => {
  describe("ESO_API_VERSIONS", () => {
    it("lists v1 and v1beta1, in that order", () => {
      assert.deepEqual(ESO_API_VERSIONS, ["external-secrets.io/v1", "external-secrets.io/v1beta1"]);
    });
  });

  describe("secretStoreManifest", () => {
    for (const apiVersion of ESO_API_VERSIONS) {
      it(`builds an azurekv workload-identity SecretStore (${apiVersion})`, () => {
        assert.deepEqual(secretStoreManifest(storeInput(apiVersion)), {
          apiVersion,
          kind: "SecretStore",
          metadata: {
            name: "registry-access",
            namespace: "team-a",
            labels: { "app.kubernetes.io/managed-by": "registry-access" },
          },
          spec: {
            provider: {
              azurekv: {
                authType: "WorkloadIdentity",
                vaultUrl: "https://kv-registry.vault.azure.net",
                serviceAccountRef: { name: "registry-access-eso" },
              },
            },
          },
        });
      });
    }

    it("gives every manifest its own labels object", () => {
      type Labelled = { metadata: { labels: Record<string, string> } };
      const built = secretStoreManifest(storeInput("external-secrets.io/v1")) as Labelled;
      built.metadata.labels.extra = "x";
      const next = secretStoreManifest(storeInput("external-secrets.io/v1")) as Labelled;
      assert.deepEqual(next.metadata.labels, { "app.kubernetes.io/managed-by": "registry-access" });
    });
  });

  describe("externalSecretManifest", () => {
    for (const apiVersion of ESO_API_VERSIONS) {
      it(`maps the whole vault secret to .dockerconfigjson through the template (${apiVersion})`, () => {
        assert.deepEqual(externalSecretManifest(externalSecretInput(apiVersion)), {
          apiVersion,
          kind: "ExternalSecret",
          metadata: {
            name: "regcred",
            namespace: "team-a",
            labels: { "app.kubernetes.io/managed-by": "registry-access" },
          },
          spec: {
            refreshInterval: "1h",
            secretStoreRef: { kind: "SecretStore", name: "registry-access" },
            target: {
              name: "regcred",
              creationPolicy: "Owner",
              template: {
                type: "kubernetes.io/dockerconfigjson",
                data: { ".dockerconfigjson": "{{ .dockerconfigjson | toString }}" },
              },
            },
            data: [
              { secretKey: "dockerconfigjson", remoteRef: { key: "secret/ra-dev-team-a-dockerconfig" } },
            ],
          },
        });
      });
    }

    it("refers to a ClusterSecretStore and keeps the refresh interval as given", () => {
      const manifest = copy(
        externalSecretManifest({
          ...externalSecretInput("external-secrets.io/v1", "ClusterSecretStore"),
          refreshInterval: "1h30m",
        }),
      );
      assert.deepEqual(manifest.spec.secretStoreRef, { kind: "ClusterSecretStore", name: "registry-access" });
      assert.equal(manifest.spec.refreshInterval, "1h30m");
    });

    it("reads the template input under the same key the data entry stores it", () => {
      const manifest = copy(externalSecretManifest(externalSecretInput("external-secrets.io/v1")));
      const template: string = manifest.spec.target.template.data[".dockerconfigjson"];
      const [secretKey] = /^\{\{ \.(\w+) \| toString \}\}$/.exec(template)!.slice(1);
      assert.deepEqual(
        manifest.spec.data.map((entry: { secretKey: string }) => entry.secretKey),
        [secretKey],
      );
    });
  });

  describe("validateEsoManifest", () => {
    for (const apiVersion of ESO_API_VERSIONS) {
      it(`accepts the SecretStore the builder makes (${apiVersion})`, () => {
        assert.deepEqual(validateEsoManifest(secretStoreManifest(storeInput(apiVersion))), []);
      });

      it(`accepts the same provider as a ClusterSecretStore (${apiVersion})`, () => {
        const store = copy(secretStoreManifest(storeInput(apiVersion)));
        store.kind = "ClusterSecretStore";
        delete store.metadata.namespace;
        assert.deepEqual(validateEsoManifest(store), []);
      });

      for (const storeKind of STORE_KINDS) {
        it(`accepts the ExternalSecret the builder makes (${apiVersion}, ${storeKind})`, () => {
          const manifest = externalSecretManifest(externalSecretInput(apiVersion, storeKind));
          assert.deepEqual(validateEsoManifest(manifest), []);
        });
      }

      it(`rejects creationPolicy "Sometimes" (${apiVersion})`, () => {
        const manifest = copy(externalSecretManifest(externalSecretInput(apiVersion)));
        manifest.spec.target.creationPolicy = "Sometimes";
        assert.deepEqual(validateEsoManifest(manifest), [
          'spec.target.creationPolicy: "Sometimes" is not one of "Owner", "Orphan", "Merge", "None"',
        ]);
      });

      it(`rejects a misspelt authType value (${apiVersion})`, () => {
        const store = copy(secretStoreManifest(storeInput(apiVersion)));
        store.spec.provider.azurekv.authType = "WorkloadIdentiy";
        assert.deepEqual(validateEsoManifest(store), [
          'spec.provider.azurekv.authType: "WorkloadIdentiy" is not one of "ServicePrincipal", "ManagedIdentity", "WorkloadIdentity"',
        ]);
      });

      it(`rejects a SecretStore without vaultUrl (${apiVersion})`, () => {
        const store = copy(secretStoreManifest(storeInput(apiVersion)));
        delete store.spec.provider.azurekv.vaultUrl;
        assert.deepEqual(validateEsoManifest(store), [
          "spec.provider.azurekv.vaultUrl: required field is missing",
        ]);
      });
    }

    it("rejects a SecretStore without a provider and a serviceAccountRef without a name", () => {
      const noProvider = copy(secretStoreManifest(storeInput("external-secrets.io/v1beta1")));
      delete noProvider.spec.provider;
      assert.deepEqual(validateEsoManifest(noProvider), ["spec.provider: required field is missing"]);

      const noAccount = copy(secretStoreManifest(storeInput("external-secrets.io/v1")));
      noAccount.spec.provider.azurekv.serviceAccountRef = {};
      assert.deepEqual(validateEsoManifest(noAccount), [
        "spec.provider.azurekv.serviceAccountRef.name: required field is missing",
      ]);
    });

    it("names every broken field of an ExternalSecret, in schema order", () => {
      const manifest = copy(externalSecretManifest(externalSecretInput("external-secrets.io/v1")));
      delete manifest.spec.data[0].remoteRef.key;
      manifest.spec.data[0].secretKey = "docker config";
      manifest.spec.secretStoreRef.kind = "Vault";
      manifest.spec.target.name = "Reg_Cred";
      manifest.spec.target.template.data[".dockerconfigjson"] = 42;
      assert.deepEqual(validateEsoManifest(manifest), [
        "spec.data[0].remoteRef.key: required field is missing",
        'spec.data[0].secretKey: "docker config" does not match ^[-._a-zA-Z0-9]+$',
        'spec.secretStoreRef.kind: "Vault" is not one of "SecretStore", "ClusterSecretStore"',
        'spec.target.name: "Reg_Cred" does not match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
        'spec.target.template.data[".dockerconfigjson"]: must be of type string, not 42',
      ]);
    });

    it("rejects a refresh interval that is not a Go duration, and one that is not a string", () => {
      const words = copy(externalSecretManifest(externalSecretInput("external-secrets.io/v1beta1")));
      words.spec.refreshInterval = "1d";
      assert.deepEqual(validateEsoManifest(words), [
        'spec.refreshInterval: "1d" is not a Go duration (such as "1h", "30m" or "1h30m")',
      ]);

      const seconds = copy(externalSecretManifest(externalSecretInput("external-secrets.io/v1")));
      seconds.spec.refreshInterval = 3600;
      assert.deepEqual(validateEsoManifest(seconds), [
        "spec.refreshInterval: must be of type string, not 3600",
      ]);
    });

    it("accepts refreshInterval 0 (sync once)", () => {
      const manifest = externalSecretManifest({
        ...externalSecretInput("external-secrets.io/v1"),
        refreshInterval: "0",
      });
      assert.deepEqual(validateEsoManifest(manifest), []);
    });

    it("rejects an apiVersion or kind it has no schema for", () => {
      const alpha = copy(externalSecretManifest(externalSecretInput("external-secrets.io/v1")));
      alpha.apiVersion = "external-secrets.io/v1alpha1";
      assert.deepEqual(validateEsoManifest(alpha), [
        'apiVersion: "external-secrets.io/v1alpha1" is not one of "external-secrets.io/v1", "external-secrets.io/v1beta1"',
      ]);
      assert.deepEqual(validateEsoManifest({ apiVersion: "v1", kind: "Secret" }), [
        'apiVersion: "v1" is not one of "external-secrets.io/v1", "external-secrets.io/v1beta1"',
        'kind: "Secret" is not one of "SecretStore", "ClusterSecretStore", "ExternalSecret"',
      ]);
    });

    it("does not catch a misspelt optional field name (the schemas allow unknown fields)", () => {
      // Pins a known gap: if this starts failing, the library got stricter and the doc comment should say so.
      const store = copy(secretStoreManifest(storeInput("external-secrets.io/v1")));
      store.spec.provider.azurekv.authTyp = store.spec.provider.azurekv.authType;
      delete store.spec.provider.azurekv.authType;
      assert.deepEqual(validateEsoManifest(store), []);
    });

    it("relies on a library that rejects on its own", () => {
      // The model class straight from @kubernetes-models/external-secrets, without our wrapper.
      const packageDir = path.dirname(require.resolve("@kubernetes-models/external-secrets/package.json"));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { ExternalSecret } = require(path.join(packageDir, "external-secrets.io/v1/ExternalSecret.js"));
      const manifest = copy(externalSecretManifest(externalSecretInput("external-secrets.io/v1")));
      assert.doesNotThrow(() => new ExternalSecret(manifest).validate());
      manifest.spec.target.creationPolicy = "Sometimes";
      assert.throws(() => new ExternalSecret(manifest).validate(), {
        message: "data/spec/target/creationPolicy must be equal to one of the allowed values",
      });
    });
  });

  describe("parseGoDuration", () => {
    const valid: ReadonlyArray<readonly [string, number]> = [
      ["1h", 3_600_000],
      ["30m", 1_800_000],
      ["1h30m", 5_400_000],
      ["90s", 90_000],
      ["0.5h", 1_800_000],
      [".5h", 1_800_000],
      ["1.h", 3_600_000],
      ["1.5s", 1_500],
      ["300ms", 300],
      ["2h45m30.5s", 9_930_500],
      ["1m1m", 120_000],
      ["0", 0],
      ["0s", 0],
      ["+1h", 3_600_000],
      ["1us", 0.001],
      ["1\u00b5s", 0.001],
      ["1\u03bcs", 0.001],
      ["1500ns", 0.0015],
      ["2562047h", 9_223_369_200_000],
    ];
    for (const [text, millis] of valid) {
      it(`parses ${JSON.stringify(text)} as ${millis} ms`, () => {
        assert.equal(parseGoDuration(text), millis);
      });
    }

    const invalid: ReadonlyArray<readonly [string, string]> = [
      ["", "empty"],
      ["1", "no unit"],
      ["00", "no unit"],
      ["-1h", "negative"],
      ["-0s", "negative sign"],
      ["1d", "unknown unit"],
      ["1H", "unit is case-sensitive"],
      ["h", "no number"],
      [".h", "no digits"],
      ["1h-5m", "sign inside"],
      ["+-1h", "two signs"],
      [" 1h", "leading space"],
      ["1h ", "trailing space"],
      ["1.5.5h", "two decimal points"],
      ["2562048h", "over Go's maximum"],
    ];
    for (const [text, why] of invalid) {
      it(`rejects ${JSON.stringify(text)} (${why})`, () => {
        assert.equal(parseGoDuration(text), undefined);
      });
    }
  });
});
