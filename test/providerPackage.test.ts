/**
 * Issue 16, item 9: the dynamic providers ship as the package registry-access-providers (tools/providerPackage.ts),
 * so that each resource's `__provider` is a `require` of it, not the provider's code by value (about 70 KB for
 * AcrTokenPassword, stored twice per resource). Pulumi's closure serializer emits a `require` only for a value
 * that is the exports of a module whose path, relative to the working directory, runs through node_modules
 * (createClosure.js, findNormalizedModuleNameAsync and captureModuleAsync in @pulumi/pulumi/runtime/closure).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { AcrTokenPassword, IMPORT_REFUSAL } from "../components/acrTokenPassword";
import { ServiceAccountPullSecrets } from "../components/serviceAccountPullSecrets";
import {
  generate,
  main,
  PACKAGE_DIR,
  PACKAGE_NAME,
  ROOT,
  sourceFiles,
  staleFiles,
} from "../tools/providerPackage";
import { startDynamicProviderHost, type DynamicProviderHost } from "./support/dynamicProviderHost";

const INSTALLED = path.join(ROOT, "node_modules", PACKAGE_NAME);
/** The serialized provider must stay below this: 285 and 294 bytes packaged, 70,788 and 10,515 by value. */
const MAX_PROVIDER_BYTES = 1024;

const TOKEN_ID =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/mycompany/tokens/ns-team-a";

describe("the provider package (issue 16.9)", () => {
  it("holds every provider source and what it imports, nothing else", () => {
    assert.deepEqual(sourceFiles(), [
      "components/acrTokenPassword.ts",
      "components/azureAuth.ts",
      "components/registryHandshake.ts",
      "components/serviceAccountPullSecrets.ts",
    ]);
  });

  it("is committed as npm run providers generates it from components/", () => {
    const problems = staleFiles(PACKAGE_DIR, generate());
    assert.deepEqual(
      problems,
      [],
      "packages/registry-access-providers is out of date: run npm run providers",
    );
  });

  it("names a changed, a missing and an extra file when the package is stale", () => {
    const dir = fs.mkdtempSync(path.join(ROOT, ".test-tmp-providers-"));
    try {
      const files = generate();
      for (const [file, text] of files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      }
      assert.deepEqual(staleFiles(dir, files), []);
      fs.appendFileSync(path.join(dir, "lib/azureAuth.js"), "\n");
      fs.rmSync(path.join(dir, "serviceAccountPullSecrets.js"));
      fs.writeFileSync(path.join(dir, "lib/old.js"), "");
      assert.deepEqual(staleFiles(dir, files), [
        "lib/azureAuth.js differs",
        "serviceAccountPullSecrets.js is missing",
        "lib/old.js is not generated",
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("npm run providers writes the package and the installed copy, so one command brings an edit to pulumi up", () => {
    const dir = fs.mkdtempSync(path.join(ROOT, ".test-tmp-providers-"));
    const [quiet, quietErr] = [process.stdout.write, process.stderr.write];
    try {
      const [pkg, installed, link] = ["pkg", "installed", "link"].map((d) => path.join(dir, d));
      fs.mkdirSync(installed);
      fs.writeFileSync(path.join(installed, "stale.js"), "");
      fs.symlinkSync(pkg, link);
      process.stdout.write = process.stderr.write = () => true;
      assert.equal(main(["--check"], installed, pkg), 1);
      assert.equal(fs.existsSync(pkg), false, "--check writes nothing");
      assert.equal(main([], installed, pkg), 0);
      assert.deepEqual([staleFiles(pkg, generate()), staleFiles(installed, generate())], [[], []]);
      assert.equal(main(["--check"], installed, pkg), 0);
      fs.appendFileSync(path.join(installed, "lib/azureAuth.js"), "\n");
      assert.equal(main(["--check"], installed, pkg), 1, "a stale installed copy fails the check");
      // A symlinked install (npm without install-links) is the package itself: not written twice.
      fs.rmSync(pkg, { recursive: true });
      assert.equal(main([], link, pkg), 0);
      assert.deepEqual(staleFiles(pkg, generate()), []);
    } finally {
      [process.stdout.write, process.stderr.write] = [quiet, quietErr];
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is a production dependency, installed as a copy: a symlink's real path has no node_modules in it", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies[PACKAGE_NAME], `file:packages/${PACKAGE_NAME}`);
    assert.match(fs.readFileSync(path.join(ROOT, ".npmrc"), "utf8"), /^install-links=true$/m);
    assert.equal(fs.lstatSync(INSTALLED).isSymbolicLink(), false);
    assert.deepEqual(
      staleFiles(INSTALLED, generate()),
      [],
      `node_modules/${PACKAGE_NAME} is older than packages/${PACKAGE_NAME}: npm install does not refresh a ` +
        `copied file: dependency; run npm run providers`,
    );
  });
});

describe("the serialized providers the resources register (issue 16.9)", () => {
  const registered = new Map<string, Record<string, unknown>>();
  let host: DynamicProviderHost | undefined;

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.set(args.type, args.inputs);
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => {
          throw new Error(`unexpected call ${args.token}`);
        },
      },
      "registry-access",
      "test",
    );
    new AcrTokenPassword("team-a", {
      tokenId: TOKEN_ID,
      scopeMapId: `${TOKEN_ID.replace("/tokens/", "/scopeMaps/")}`,
      loginServer: "mycompany.azurecr.io",
      passwordLifetimeDays: 60,
      rotateAfterDays: 30,
    });
    new ServiceAccountPullSecrets("team-a-sa-default", {
      namespace: "team-a",
      serviceAccount: "default",
      secretNames: ["regcred"],
      fieldManager: "registry-access-test",
      kubeconfig: KUBECONFIG_NOWHERE,
    });
    for (let i = 0; i < 50 && registered.size < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
  });

  after(async () => {
    await host?.close();
  });

  const providerOf = (type: string): string => {
    const inputs = registered.get(`pulumi-nodejs:dynamic/registry-access:${type}`);
    assert.ok(inputs, `no ${type} registered: saw ${[...registered.keys()].join(", ")}`);
    assert.equal(typeof inputs.__provider, "string");
    return inputs.__provider as string;
  };

  for (const type of ["AcrTokenPassword", "ServiceAccountPullSecrets"]) {
    it(`${type} stores a require of the package, not its code`, () => {
      const text = providerOf(type);
      const entry = type[0].toLowerCase() + type.slice(1);
      assert.ok(
        text.includes(`const provider = require("${PACKAGE_NAME}/${entry}.js");`),
        `the serialized ${type} provider:\n${text.slice(0, 400)}`,
      );
      assert.ok(Buffer.byteLength(text) < MAX_PROVIDER_BYTES, `${Buffer.byteLength(text)} bytes`);
    });
  }

  it("Pulumi's dynamic-provider host loads the AcrTokenPassword package from its text and runs it", async () => {
    host ??= await startDynamicProviderHost();
    // A read with no state is refused by the provider's own code: the package was found and loaded.
    await assert.rejects(
      host.read("urn:pulumi:test::registry-access::x::team-a", TOKEN_ID, {
        __provider: providerOf("AcrTokenPassword"),
      }),
      (err: Error) => {
        assert.equal(err.message, `2 UNKNOWN: ${IMPORT_REFUSAL}`);
        return true;
      },
    );
  });

  it("Pulumi's dynamic-provider host loads the ServiceAccountPullSecrets package and reaches the cluster with it", async () => {
    host ??= await startDynamicProviderHost();
    const inputs = registered.get("pulumi-nodejs:dynamic/registry-access:ServiceAccountPullSecrets")!;
    await assert.rejects(
      host.create("urn:pulumi:test::registry-access::x::team-a-sa-default", inputs),
      (err: Error) => {
        // client-node's own refusal of a plain-HTTP server: the package found @kubernetes/client-node and read.
        assert.equal(
          err.message,
          "2 UNKNOWN: Could not read service account default in namespace team-a: " +
            "HTTP protocol is not allowed when skipTLSVerify is not set or false",
        );
        return true;
      },
    );
  });
});

/** A cluster on a port where nothing listens: the provider's first read fails at once, with its own message. */
const KUBECONFIG_NOWHERE = [
  "apiVersion: v1",
  "kind: Config",
  "clusters: [{ name: nowhere, cluster: { server: 'http://127.0.0.1:9' } }]",
  "users: [{ name: nobody, user: { token: not-a-token } }]",
  "contexts: [{ name: nowhere, context: { cluster: nowhere, user: nobody } }]",
  "current-context: nowhere",
  "",
].join("\n");
