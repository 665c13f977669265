/**
 * One stack file written with YAML anchors and merge keys (`<<: *ns-defaults`), as an operator shortens 200
 * namespaces: the Pulumi CLI (Go's yaml.v3) reads it with the merge keys resolved, and so must plan and verify.
 * ACR registries only, so that no credential is needed to plan it.
 */
export const MERGE_KEYS_STACK = [
  "config:",
  "  registry-access:registries:",
  "    acr: &acr",
  "      type: acr",
  "      server: mycompany.azurecr.io",
  "      resourceGroup: rg-shared",
  "    other:",
  "      <<: *acr",
  "      server: othercompany.azurecr.io",
  "  registry-access:namespaces:",
  "    team-a: &ns-defaults",
  "      registries:",
  "        acr: { repositories: [team-a/*] }",
  "      labels: &labels { owner: platform, tier: app }",
  "      serviceAccounts: [default, { name: builder, create: true }]",
  "    team-b:",
  "      <<: *ns-defaults",
  "      labels:",
  "        <<: *labels",
  "        tier: batch",
  "    qa:",
  "      <<: [*ns-defaults]",
  "      registries:",
  "        other: { repositories: [qa/*] }",
  "",
].join("\n");

/** The `registry-access:` keys of MERGE_KEYS_STACK with every merge key resolved, as Pulumi reads them. */
export const MERGE_KEYS_SETTINGS = {
  registries: {
    acr: { type: "acr", server: "mycompany.azurecr.io", resourceGroup: "rg-shared" },
    other: { type: "acr", server: "othercompany.azurecr.io", resourceGroup: "rg-shared" },
  },
  namespaces: {
    "team-a": {
      registries: { acr: { repositories: ["team-a/*"] } },
      labels: { owner: "platform", tier: "app" },
      serviceAccounts: ["default", { name: "builder", create: true }],
    },
    "team-b": {
      registries: { acr: { repositories: ["team-a/*"] } },
      labels: { owner: "platform", tier: "batch" },
      serviceAccounts: ["default", { name: "builder", create: true }],
    },
    qa: {
      registries: { other: { repositories: ["qa/*"] } },
      labels: { owner: "platform", tier: "app" },
      serviceAccounts: ["default", { name: "builder", create: true }],
    },
  },
};
