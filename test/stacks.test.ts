import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSettings, SettingsError } from "../components/settings";
import { passwordsInFile, readStackFile, SECRET_PLACEHOLDER, stackFilePath } from "../components/stackFile";
import { runProgram } from "../tools/mockRuntime";

const ROOT = path.resolve(__dirname, "..");

/**
 * The committed stack files carry no credential (an operator sets them with `pulumi config set --secret`), so
 * a placeholder stands in for each one here, as it does in `npm run plan`.
 */
describe("committed stacks", () => {
  for (const stack of ["dev", "prod", "local"]) {
    describe(stack, () => {
      it("as committed, lacks only the credentials an operator sets, each named with its command", () => {
        const expected: Record<string, string[]> = {
          dev: ["dockerhub", "gcr"],
          prod: [],
          local: ["local"],
        };
        const missing = expected[stack].map(
          (id) =>
            `registries.${id}.password: missing; set it with \`pulumi config set --secret --path 'registries.${id}.password' <value>\``,
        );
        let problems: readonly string[] = [];
        try {
          parseSettings(readStackFile(stackFilePath(ROOT, stack)).settings);
        } catch (e) {
          problems = (e as SettingsError).problems;
        }
        assert.deepStrictEqual(problems, missing);
      });

      it("holds no password in plain text: each static one is encrypted or not set yet", () => {
        const expected: Record<string, Record<string, string>> = {
          dev: { dockerhub: "missing", gcr: "missing" },
          prod: {},
          local: { local: "missing" },
        };
        assert.deepStrictEqual(
          passwordsInFile(readStackFile(stackFilePath(ROOT, stack)).config),
          expected[stack],
        );
      });

      it("is valid with placeholders and runs through the program under mocks", async () => {
        const file = readStackFile(stackFilePath(ROOT, stack), { placeholders: true });
        const settings = parseSettings(file.settings);
        const run = await runProgram(file.config, { stack });
        assert.deepStrictEqual(
          Object.keys(run.outputs.namespaces as object),
          settings.namespaces.map((n) => n.name),
        );
        assert.strictEqual(
          run.recorder.ofType("registry-access:index:NamespaceRegistryAccess").length,
          settings.namespaces.length,
        );
      });
    });
  }

  it("prod: production pulls from ACR only, through its own pull-only token", async () => {
    const file = readStackFile(stackFilePath(ROOT, "prod"), { placeholders: true });
    const run = await runProgram(file.config, { stack: "prod" });
    assert.deepStrictEqual(run.outputs.namespaces, {
      production: {
        secretName: "regcred",
        delivery: "direct",
        registries: ["mycompany.azurecr.io"],
        serviceAccounts: ["default", "app-sa"],
        acrTokens: [
          {
            registry: "mycompany.azurecr.io",
            tokenName: "ra-prod-production-c4655130",
            repositories: ["webapp", "myapp"],
            activeSlot: "password1",
            password1Expiry: "2099-12-31T00:00:00.000Z",
          },
        ],
      },
    });
    assert.deepStrictEqual(
      run.recorder.find("azure-native:containerregistry:ScopeMap", "production-mycompany-scope-map").inputs
        .actions,
      ["repositories/webapp/content/read", "repositories/myapp/content/read"],
    );
    const password = run.recorder.find(
      "pulumi-nodejs:dynamic/registry-access:AcrTokenPassword",
      "production-mycompany-password",
    );
    assert.strictEqual(password.inputs.passwordLifetimeDays, 90);
    assert.strictEqual(password.inputs.rotateAfterDays, 60);
    assert.strictEqual(
      run.recorder.find("pulumi:providers:kubernetes", "kubernetes").inputs.context,
      "prod-aks",
    );
  });

  it("dev: ACR plus Docker Hub in both namespaces, GCR in staging", async () => {
    const file = readStackFile(stackFilePath(ROOT, "dev"), { placeholders: true });
    const run = await runProgram(file.config, { stack: "dev" });
    const namespaces = run.outputs.namespaces as Record<
      string,
      { registries: string[]; serviceAccounts: string[] }
    >;
    assert.deepStrictEqual(namespaces.development.registries, [
      "https://index.docker.io/v1/",
      "mycompany.azurecr.io",
    ]);
    assert.deepStrictEqual(namespaces.staging.registries, [
      "https://index.docker.io/v1/",
      "gcr.io",
      "mycompany.azurecr.io",
    ]);
    assert.deepStrictEqual(namespaces.staging.serviceAccounts, ["default", "app-sa"]);
    assert.deepStrictEqual(
      run.recorder.ofType("kubernetes:core/v1:ServiceAccount").map((r) => r.inputs.metadata.name),
      ["app-sa"],
    );
  });

  it("dev has development and staging, prod has production", () => {
    const names = (stack: string) =>
      parseSettings(
        readStackFile(stackFilePath(ROOT, stack), { placeholders: true }).settings,
      ).namespaces.map((n) => n.name);
    assert.deepStrictEqual(names("dev"), ["development", "staging"]);
    assert.deepStrictEqual(names("prod"), ["production"]);
  });

  it("puts the placeholder in place of encrypted values and missing static passwords only", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    const file = path.join(dir, "Pulumi.x.yaml");
    fs.writeFileSync(
      file,
      [
        "config:",
        "  kubernetes:kubeconfig:",
        "    secure: v1:AAAA",
        "  registry-access:registries:",
        "    a: { type: static, server: a.io, username: u }",
        "    b: { type: static, server: b.io, username: u, password: { secure: 'v1:BBBB' } }",
        "    c: { type: static, server: c.io, username: u, password: plain }",
        "    d: { type: acr, server: d.azurecr.io, resourceGroup: rg }",
      ].join("\n"),
    );
    const read = readStackFile(file, { placeholders: true });
    assert.deepStrictEqual(read.config["kubernetes:kubeconfig"], SECRET_PLACEHOLDER);
    assert.deepStrictEqual(read.settings.registries, {
      a: { type: "static", server: "a.io", username: "u", password: "[secret]" },
      b: { type: "static", server: "b.io", username: "u", password: "[secret]" },
      c: { type: "static", server: "c.io", username: "u", password: "plain" },
      d: { type: "acr", server: "d.azurecr.io", resourceGroup: "rg" },
    });
    assert.deepStrictEqual(readStackFile(file).settings.registries, {
      a: { type: "static", server: "a.io", username: "u" },
      b: { type: "static", server: "b.io", username: "u", password: { secure: "v1:BBBB" } },
      c: { type: "static", server: "c.io", username: "u", password: "plain" },
      d: { type: "acr", server: "d.azurecr.io", resourceGroup: "rg" },
    });
    fs.rmSync(dir, { recursive: true });
  });
});
