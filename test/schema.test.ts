import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import Ajv, { ErrorObject } from "ajv";
import fc from "fast-check";
import { parse } from "yaml";
import { isDockerHub } from "../components/dockerConfig";
import { NAMESPACE_NAME, patternOf, SERVER, SERVICE_ACCOUNT } from "../components/configSpec";
import { isNamespaceName, isObjectName } from "../components/names";
import { parseSettings, SettingsError } from "../components/settings";
import { parseStackConfig, passwordsInFile, stackFileOf } from "../components/stackFile";
import { SCHEMA_FILE, schemaText } from "../tools/schema";
import { MERGE_KEYS_STACK } from "./support/mergeKeys";

const ROOT = path.resolve(__dirname, "..");

const ajv = new Ajv({ allErrors: true, strictTypes: true, strictTuples: true });
const validate = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")));

/** Where the schema rejects a stack file: `<instancePath> <keyword>`, sorted; none when it accepts it. */
function schemaErrors(text: string): string[] {
  // What the file means, merge keys resolved, as Pulumi reads it.
  if (validate(parse(text, { merge: true }))) return [];
  const errors = (validate.errors ?? []) as ErrorObject[];
  // "if"/"then" and "anyOf" only say that a branch failed: the branch's own errors say why.
  return [
    ...new Set(
      errors.filter((e) => !["if", "anyOf"].includes(e.keyword)).map((e) => `${e.instancePath} ${e.keyword}`),
    ),
  ].sort();
}

/**
 * What the program says about a stack file: its problems as `pulumi preview` reports them. Encrypted values and
 * passwords not set yet stand in as placeholders, as the engine hands decrypted values to the program.
 */
function programProblems(text: string, name = "Pulumi.x.yaml"): readonly string[] {
  try {
    const config = parseStackConfig(text, name);
    const passwords = passwordsInFile(config);
    const ids = Object.keys(passwords).filter((id) => passwords[id] === "plaintext");
    parseSettings(stackFileOf(config, { placeholders: true }).settings, {
      plainTextPasswords: { file: name, ids },
    });
    return [];
  } catch (e) {
    if (e instanceof SettingsError) return e.problems;
    throw e;
  }
}

/** The markdown files a user reads: the README first (its example is the full one), then every guide in docs/. */
function guides(): string[] {
  const docs = fs
    .readdirSync(path.join(ROOT, "docs"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => path.join("docs", f));
  return ["README.md", ...docs];
}

/** The ```yaml blocks of the README and docs/ that are stack files (they start with config:). */
function readmeStackFiles(): string[] {
  const text = guides()
    .map((f) => fs.readFileSync(path.join(ROOT, f), "utf8"))
    .join("\n");
  return [...text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)]
    .map((m) => m[1])
    .filter((b) => /^config:/m.test(b));
}

/** A fragment (ESO, alerts) completed with the README's full example: what a user's stack file would be. */
function completed(block: string, full: string): string {
  if (/registry-access:registries:/.test(block)) return block;
  const fragment = parse(block) as { config: Record<string, unknown> };
  const base = parse(full) as { config: Record<string, unknown> };
  return JSON.stringify({ config: { ...base.config, ...fragment.config } });
}

const GOOD_BASE = [
  "config:",
  "  kubernetes:context: dev-aks",
  "  registry-access:registries:",
  "    hub:",
  "      type: static",
  "      server: docker.io",
  "      username: bot",
  "      password:",
  "        secure: v1:AAAAencrypted",
  "    acr:",
  "      type: acr",
  "      server: mycompany.azurecr.io",
  "      resourceGroup: rg-registry",
  "  registry-access:namespaces:",
  "    app:",
  "      registries:",
  "        hub: {}",
  "        acr:",
  "          repositories: [webapp, team-a/*]",
  "",
].join("\n");

describe("stack file schema (schema/stack-config.schema.json)", () => {
  it("is generated from components/configSpec.ts: the committed file is up to date (npm run schema)", async () => {
    assert.strictEqual(fs.readFileSync(SCHEMA_FILE, "utf8"), await schemaText());
  });

  it("every committed stack file names the schema on its first line, by a path that resolves from the file", () => {
    const stackFiles = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
    assert.deepStrictEqual(stackFiles, ["Pulumi.dev.yaml", "Pulumi.local.yaml", "Pulumi.prod.yaml"]);
    for (const file of stackFiles) {
      const first = fs.readFileSync(path.join(ROOT, file), "utf8").split("\n")[0];
      assert.strictEqual(first, "# yaml-language-server: $schema=./schema/stack-config.schema.json", file);
      const target = path.resolve(ROOT, first.split("$schema=")[1]);
      assert.strictEqual(target, SCHEMA_FILE, file);
    }
  });

  describe("files that pass both the schema and the program", () => {
    const files: [string, string][] = [
      ["Pulumi.dev.yaml", fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")],
      ["Pulumi.prod.yaml", fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")],
      ["a stack with an encrypted password", GOOD_BASE],
      ["a stack written with YAML anchors and merge keys", MERGE_KEYS_STACK],
      [
        "a stack whose namespaces inherit their registries from namespaceDefaults",
        [
          "config:",
          "  registry-access:registries:",
          "    hub: { type: static, server: docker.io, username: bot, password: { secure: v1:AAAAencrypted } }",
          "    gh: { type: static, server: ghcr.io, username: bot, password: { secure: v1:AAAAencrypted } }",
          "  registry-access:namespaceDefaults:",
          "    registries: { hub: {}, gh: {} }",
          "    labels: { team: platform }",
          "  registry-access:namespaces:",
          "    a: {}",
          "    b: { registries: { gh: null }, labels: { team: null, tier: batch } }",
          "    c: { registries: { hub: { enabled: false } } }",
          "",
        ].join("\n"),
      ],
    ];
    const blocks = readmeStackFiles();
    it("the README has a full example, and it and docs/ have fragments to check", () => {
      assert.ok(blocks.length >= 3, `${blocks.length} yaml blocks`);
      assert.match(blocks[0], /registry-access:registries:/);
    });
    blocks.forEach((block, i) =>
      files.push([`README or docs/ example ${i + 1}`, completed(block, blocks[0])]),
    );

    for (const [name, text] of files) {
      it(name, () => {
        assert.deepStrictEqual(
          { schema: schemaErrors(text), program: programProblems(text) },
          { schema: [], program: [] },
        );
      });
    }

    it("a stack whose config comes from a Pulumi ESC environment needs no registry-access keys in the file", () => {
      assert.deepStrictEqual(
        schemaErrors("environment:\n  - registry-access/dev\nconfig:\n  kubernetes:context: x\n"),
        [],
      );
    });
  });

  describe("files that fail both, each for its reason", () => {
    /** GOOD_BASE with `from` replaced by `to`. */
    const edit = (from: string, to: string) => {
      assert.ok(GOOD_BASE.includes(from), from);
      return GOOD_BASE.replace(from, to);
    };
    const cases: [string, string, string[], string[]][] = [
      [
        "a password in plain text",
        edit("      password:\n        secure: v1:AAAAencrypted", "      password: hunter2"),
        ["/config/registry-access:registries/hub/password type"],
        [
          "registries.hub.password: written in plain text in Pulumi.x.yaml, where git keeps it; encrypt it with " +
            "`pulumi config set --secret --path 'registries.hub.password' <value>` (if Pulumi.x.yaml was committed with it, " +
            "change the password at the registry too)",
        ],
      ],
      [
        "a password set without --path",
        edit(
          "  registry-access:namespaces:",
          "  registry-access:registries.hub.password:\n    secure: v1:B\n  registry-access:namespaces:",
        ),
        ["/config additionalProperties"],
        [
          "registries.hub.password: a key of its own (registry-access:registries.hub.password), set without --path, which this " +
            "program does not read; remove it with `pulumi config rm 'registries.hub.password'` and set it with " +
            "`pulumi config set --secret --path 'registries.hub.password' <value>`",
        ],
      ],
      [
        "an unknown registry-access key",
        edit(
          "  kubernetes:context: dev-aks",
          "  kubernetes:context: dev-aks\n  registry-access:secretname: regcred",
        ),
        ["/config additionalProperties"],
        [
          "secretname: unknown key registry-access:secretname; did you mean `secretName`? known keys: registries, namespaces, namespaceDefaults, secretName, delivery, externalSecrets, workloadIdentity, monitoring",
        ],
      ],
      [
        "an unknown registry type",
        edit("      type: acr", "      type: quay"),
        ["/config/registry-access:registries/acr/type enum"],
        ['registries.acr.type: unknown registry type "quay"; use static or acr'],
      ],
      [
        "a server with a scheme and a path",
        edit("      server: docker.io", "      server: https://ghcr.io/org"),
        ["/config/registry-access:registries/hub/server pattern"],
        [
          'registries.hub.server: "https://ghcr.io/org" is not a registry server: use a host name with an optional port (ghcr.io, registry.example.com:5000), no scheme or path',
        ],
      ],
      [
        "an unknown key in a static registry",
        edit("      username: bot", "      username: bot\n      email: bot@example.com"),
        ["/config/registry-access:registries/hub additionalProperties"],
        ["registries.hub.email: unknown key; allowed here: type, server, username, password"],
      ],
      [
        "a password lifetime out of range",
        edit(
          "      resourceGroup: rg-registry",
          "      resourceGroup: rg-registry\n      passwordLifetimeDays: 5000",
        ),
        ["/config/registry-access:registries/acr/passwordLifetimeDays maximum"],
        ["registries.acr.passwordLifetimeDays: expected a whole number of days from 2 to 3650, got 5000"],
      ],
      [
        "a namespace name Kubernetes refuses",
        edit("    app:\n", "    Bad_NS:\n"),
        ["/config/registry-access:namespaces pattern", "/config/registry-access:namespaces propertyNames"],
        [
          "namespaces.Bad_NS: \"Bad_NS\" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
        ],
      ],
      [
        "a repository with a wildcard inside",
        edit("[webapp, team-a/*]", "[webapp, team-*/api]"),
        // Neither valid options nor null (what removes an inherited registry): both branches say why.
        [
          "/config/registry-access:namespaces/app/registries/acr type",
          "/config/registry-access:namespaces/app/registries/acr/repositories/1 pattern",
        ],
        [
          "namespaces.app.registries.acr.repositories[1]: \"team-*/api\": a '*' may only stand as a final '/*' (team-a/*)",
        ],
      ],
      [
        "a namespace without registries",
        edit(
          "      registries:\n        hub: {}\n        acr:\n          repositories: [webapp, team-a/*]\n",
          "      labels: { team: a }\n",
        ),
        ["/config/registry-access:namespaces/app required"],
        [
          "namespaces.app.registries: missing; map at least one registry id to its options ({} for a static registry)",
        ],
      ],
      [
        "a service account without a name",
        edit("[webapp, team-a/*]\n", "[webapp, team-a/*]\n      serviceAccounts:\n        - create: true\n"),
        [
          "/config/registry-access:namespaces/app/serviceAccounts/0 required",
          "/config/registry-access:namespaces/app/serviceAccounts/0 type",
        ],
        ["namespaces.app.serviceAccounts[0].name: missing; name the account: { name: app-sa, create: true }"],
      ],
      [
        "an extra pull secret listed twice",
        edit("[webapp, team-a/*]\n", "[webapp, team-a/*]\n      extraImagePullSecrets: [vendor, vendor]\n"),
        ["/config/registry-access:namespaces/app/extraImagePullSecrets uniqueItems"],
        ['namespaces.app.extraImagePullSecrets[1]: "vendor" is listed twice'],
      ],
      [
        "an unknown delivery",
        edit(
          "  registry-access:namespaces:",
          "  registry-access:delivery: eso\n  registry-access:namespaces:",
        ),
        ["/config/registry-access:delivery enum"],
        ['delivery: unknown delivery "eso"; use direct or externalSecrets'],
      ],
      [
        "no namespaces at all",
        GOOD_BASE.slice(0, GOOD_BASE.indexOf("  registry-access:namespaces:")),
        ["/config required"],
        ["namespaces: missing; map each namespace to the registries it may pull from"],
      ],
      [
        "External Secrets without the cluster's OIDC issuer, and a vault name Azure refuses",
        edit(
          "  registry-access:namespaces:",
          "  registry-access:externalSecrets:\n    keyVault: { name: kv--registry, resourceGroup: rg }\n    refreshInterval: 1d\n" +
            "  registry-access:namespaces:",
        ),
        [
          "/config/registry-access:externalSecrets required",
          "/config/registry-access:externalSecrets/keyVault/name pattern",
          "/config/registry-access:externalSecrets/refreshInterval pattern",
        ],
        [
          'externalSecrets.keyVault.name: "kv--registry" is not a Key Vault name: 3 to 24 letters, digits and single hyphens, starting with a letter',
          "externalSecrets.oidcIssuerUrl: missing; set the cluster's OIDC issuer (AKS: az aks show --query oidcIssuerProfile.issuerUrl)",
          'externalSecrets.refreshInterval: "1d" is not a duration ESO accepts: a positive Go duration such as 1h, 30m or 1h30m',
        ],
      ],
      [
        "monitoring switched on with a string",
        edit(
          "  registry-access:namespaces:",
          '  registry-access:monitoring:\n    enabled: "yes"\n  registry-access:namespaces:',
        ),
        ["/config/registry-access:monitoring/enabled type"],
        ['monitoring.enabled: expected true or false, got "yes"'],
      ],
    ];
    for (const [what, text, schema, program] of cases) {
      it(what, () => {
        assert.deepStrictEqual(
          { schema: schemaErrors(text), program: programProblems(text) },
          { schema, program },
        );
      });
    }
  });

  describe("the schema's patterns are the program's rules", () => {
    const label = fc.string({ unit: fc.constantFrom("a", "z", "0", "-", ".", "A", "_"), maxLength: 70 });
    const matches = (spec: { pattern: string; maxLength?: number }, s: string) =>
      new RegExp(spec.pattern, "u").test(s) && s.length <= (spec.maxLength ?? Infinity);

    it("namespace names", () => {
      fc.assert(fc.property(label, (s) => matches(NAMESPACE_NAME, s) === isNamespaceName(s)));
      for (const s of ["a".repeat(63), "a".repeat(64), "a-", "0", "a.b"]) {
        assert.strictEqual(matches(NAMESPACE_NAME, s), isNamespaceName(s), s);
      }
    });

    it("secret and service account names", () => {
      const name = SERVICE_ACCOUNT.properties.name;
      fc.assert(fc.property(label, (s) => matches(name, s) === isObjectName(s)));
      for (const s of ["a".repeat(253), "a".repeat(254), "a..b", "a.b-c"]) {
        assert.strictEqual(matches(name, s), isObjectName(s), s);
      }
    });

    it("Docker Hub's names, in any case", () => {
      const aliases = new RegExp(`^(?:${SERVER.aliases.join("|").replace(/[.\\/]/g, "\\$&")})$`, "iu");
      const candidates = [
        ...SERVER.aliases,
        ...SERVER.aliases.map((a) => a.toUpperCase()),
        "hub.docker.com",
        "docker.io/library",
        "https://index.docker.io/v2/",
      ];
      for (const s of candidates) assert.strictEqual(aliases.test(s), isDockerHub(s), s);
      assert.strictEqual(
        patternOf(SERVER).test("Docker.io"),
        false,
        "the aliases, not the host pattern, take case",
      );
    });
  });
});
