/**
 * The ACR password provider against ARM answers that the local ARM server (test/support/armServer.ts) never gives,
 * and the edges of its rotation messages (StrykerJS mutants that survived the provider tests, issue 12).
 *
 * The stand-in here is a scripted one: it stands for ARM's `Registries - Generate Credentials` and `Tokens - Get`
 * (Microsoft.ContainerRegistry REST API reference), HTTPS on 127.0.0.1 with a throwaway self-signed certificate,
 * and answers each with the JSON body the test scripts. Rules it models, with their source:
 * - generateCredentials may complete at once: the operation's documented responses are 200 (a
 *   GenerateCredentialsResult) and 202 (ARM's async operation contract, "Track asynchronous Azure operations":
 *   a completed operation answers 200).
 * - Every field of GenerateCredentialsResult (`username`, `passwords`), of a TokenPassword (`name`, `value`,
 *   `creationTime`, `expiry`) and of a token's `credentials` is optional in the REST API's definitions (and in
 *   @azure/arm-containerregistry's models), so an answer may leave any of them out.
 * - Paths are matched exactly, as ARM routes them (`/subscriptions/...`, one slash).
 * Not modeled (armServer.ts models them; a green test here proves nothing about them): 202 and polling, errors,
 * authentication (any bearer token is accepted), api-version, what ARM stores.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  IMPORT_REFUSAL,
  makeAcrTokenPasswordProvider,
  type AcrTokenPasswordInputs,
  type AcrTokenPasswordOutputs,
} from "../../components/acrTokenPassword";
import type { LoginCheck, RegistryLogin } from "../../components/registryHandshake";

type Provider = Required<pulumi.dynamic.ResourceProvider<AcrTokenPasswordInputs, AcrTokenPasswordOutputs>>;

const REGISTRY_ID =
  "/subscriptions/sub-1/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/mycompany";
const TOKEN_ID = `${REGISTRY_ID}/tokens/ns-team-a`;
const SCOPE_MAP_ID = `${REGISTRY_ID}/scopeMaps/ns-team-a`;
const GENERATE_PATH = `${REGISTRY_ID}/generateCredentials`;
const START = new Date("2025-01-01T00:00:00.000Z");
/** The password the scripted ARM generates: it must never reach a message. */
const PASSWORD = "scripted-password-5b1e";

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

interface ScriptedArm {
  readonly endpoint: string;
  readonly caPem: string;
  readonly requests: Recorded[];
  /** The body of the next generateCredentials answers (200). */
  generate: unknown;
  /** The body of the next token GET answers (200). */
  token: unknown;
  close(): Promise<void>;
}

function selfSignedCertificate(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "scripted-arm-"));
  try {
    const [keyFile, certFile] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=127.0.0.1"],
        ...["-addext", "subjectAltName=IP:127.0.0.1"],
      ],
      { stdio: "pipe" },
    );
    return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function startScriptedArm(): Promise<ScriptedArm> {
  const { key, cert } = selfSignedCertificate();
  const arm = {
    endpoint: "",
    caPem: cert,
    requests: [] as Recorded[],
    generate: undefined as unknown,
    token: undefined as unknown,
    close: async () => {},
  };
  const server = https.createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      const text = Buffer.concat(chunks).toString("utf8");
      arm.requests.push({
        method: req.method ?? "",
        path: url.pathname,
        body: text ? JSON.parse(text) : undefined,
      });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method === "POST" && url.pathname === GENERATE_PATH) return send(200, arm.generate);
      if (req.method === "GET" && url.pathname === TOKEN_ID) return send(200, arm.token);
      send(404, { error: { code: "NotFound", message: `No route for ${req.method} ${url.pathname}.` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  arm.endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  arm.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return arm;
}

/** A token GET's answer (the REST API's Token shape) with these password slots. */
function tokenAnswer(passwords: Record<string, string>[] | undefined): unknown {
  return {
    id: TOKEN_ID,
    name: "ns-team-a",
    properties: {
      creationDate: "2024-12-01T00:00:00.0000000+00:00",
      scopeMapId: SCOPE_MAP_ID,
      status: "enabled",
      ...(passwords === undefined ? {} : { credentials: { passwords } }),
    },
  };
}

describe("AcrTokenPassword provider against scripted ARM answers", () => {
  let arm: ScriptedArm;
  let provider: Provider;
  let verified: RegistryLogin[];
  let scopes: string[];
  let verifyAnswer: (login: RegistryLogin) => LoginCheck;

  const inputs = (extra: Partial<AcrTokenPasswordInputs> = {}): AcrTokenPasswordInputs => ({
    tokenId: TOKEN_ID,
    scopeMapId: SCOPE_MAP_ID,
    loginServer: "mycompany.azurecr.io",
    passwordLifetimeDays: 60,
    rotateAfterDays: 30,
    armEndpoint: arm.endpoint,
    ...extra,
  });

  /** A state this provider wrote: password1 active since START, expiring 60 days later. */
  const state = (extra: Partial<AcrTokenPasswordOutputs> = {}): AcrTokenPasswordOutputs => ({
    ...inputs(),
    tokenName: "ns-team-a",
    activeSlot: "password1",
    password: "the-old-password",
    activeCreated: START.toISOString(),
    password1Expiry: "2025-03-02T00:00:00.000Z",
    password2Expiry: null,
    password1Created: "2025-01-01T00:00:00.500Z",
    password2Created: null,
    drift: null,
    ...extra,
  });

  before(async () => {
    arm = await startScriptedArm();
  });

  after(async () => {
    await arm.close();
  });

  beforeEach(() => {
    arm.requests.length = 0;
    arm.generate = undefined;
    arm.token = undefined;
    verified = [];
    scopes = [];
    verifyAnswer = (login) => ({ ok: true, server: login.server, detail: "logged in" });
    provider = makeAcrTokenPasswordProvider({
      credential: {
        getToken: async (scope) => {
          scopes.push(...[scope].flat());
          return { token: "any", expiresOnTimestamp: Date.now() + 3_600_000 };
        },
      },
      now: () => START,
      verify: async (login) => {
        verified.push(login);
        return verifyAnswer(login);
      },
      pollIntervalMs: 1,
      tlsCa: arm.caPem,
    }) as Provider;
  });

  describe("generateCredentials answers without the password", () => {
    const NO_VALUE =
      "Azure answered generateCredentials for the password1 of ACR token ns-team-a on registry mycompany without a password value.";

    for (const [what, answer] of [
      ["no passwords list at all", { username: "ns-team-a" }],
      ["only the other slot", { username: "ns-team-a", passwords: [{ name: "password2", value: PASSWORD }] }],
      [
        "the slot without its value",
        { username: "ns-team-a", passwords: [{ name: "password1", expiry: "2025-03-02T00:00:00Z" }] },
      ],
      ["the slot with an empty value", { passwords: [{ name: "password1", value: "" }] }],
    ] as const) {
      it(`create fails, names slot, token and registry, and verifies nothing: ${what}`, async () => {
        arm.generate = answer;
        await assert.rejects(provider.create(inputs()), { message: NO_VALUE });
        assert.deepEqual(
          arm.requests.map((r) => `${r.method} ${r.path}`),
          [`POST ${GENERATE_PATH}`],
        );
        assert.deepEqual(verified, []);
      });
    }
  });

  it("the state keeps the expiry and creation time ARM answered, and without them the expiry asked for and no creation time", async () => {
    // ARM may record another expiry than the one asked for (here: 30 days instead of 60).
    arm.generate = {
      passwords: [
        {
          name: "password1",
          value: PASSWORD,
          creationTime: "2025-01-01T00:00:01.2345678+00:00",
          expiry: "2025-01-31T00:00:00.0000000+00:00",
        },
      ],
    };
    const first = (await provider.create(inputs())).outs as AcrTokenPasswordOutputs;
    assert.deepEqual(
      [first.password, first.password1Expiry, first.password1Created],
      [PASSWORD, "2025-01-31T00:00:00.000Z", "2025-01-01T00:00:01.234Z"],
    );
    assert.deepEqual(arm.requests[0].body, {
      tokenId: TOKEN_ID,
      name: "password1",
      expiry: "2025-03-02T00:00:00.000Z",
    });

    arm.generate = { passwords: [{ name: "password1", value: PASSWORD }] };
    const second = (await provider.create(inputs())).outs as AcrTokenPasswordOutputs;
    assert.deepEqual(
      [second.password, second.password1Expiry, second.password1Created],
      [PASSWORD, "2025-03-02T00:00:00.000Z", null],
    );
  });

  it("an endpoint with trailing slashes, as Azure's cloud metadata writes it (`az cloud show`: https://management.azure.com/), reaches the same paths and asks for the same token scope", async () => {
    arm.generate = { passwords: [{ name: "password1", value: PASSWORD }] };
    // The SDK joins the request paths whatever the endpoint ends in, but names the token's scope after the endpoint
    // as given (`<endpoint>/.default`, @azure/arm-containerregistry's client context).
    for (const endpoint of [`${arm.endpoint}/`, `${arm.endpoint}//`]) {
      const created = await provider.create(inputs({ armEndpoint: endpoint }));
      assert.equal(created.outs?.password, PASSWORD);
    }
    assert.deepEqual(
      arm.requests.map((r) => `${r.method} ${r.path}`),
      [`POST ${GENERATE_PATH}`, `POST ${GENERATE_PATH}`],
    );
    assert.deepEqual([...new Set(scopes)], [`${arm.endpoint}/.default`]);
  });

  describe("what a failed rotation says the pull secret keeps", () => {
    beforeEach(() => {
      arm.generate = {
        passwords: [
          { name: "password1", value: PASSWORD },
          { name: "password2", value: PASSWORD },
        ],
      };
      verifyAnswer = (login) => ({
        ok: false,
        server: login.server,
        failure: "bad-credentials",
        detail: `answered 401 for ${login.password}`,
      });
    });
    const refused = (slot: string) =>
      `Registry mycompany.azurecr.io did not accept the new ${slot} of ACR token ns-team-a: answered 401 for ***. `;
    const due = () => ({ ...inputs(), forceRotation: "ticket-1" });

    it("rotating away from password2: it keeps password2, with password2's expiry", async () => {
      const olds = state({
        activeSlot: "password2",
        password2Expiry: "2025-04-01T00:00:00.000Z",
        password2Created: "2025-01-31T00:00:00.000Z",
      });
      await assert.rejects(provider.update(TOKEN_ID, olds, due()), {
        message:
          refused("password1") +
          "The pull secret was left unchanged: it keeps password2, valid until 2025-04-01T00:00:00.000Z.",
      });
      assert.equal((arm.requests[0].body as { name: string }).name, "password1");
    });

    it("an empty drift is no drift: it keeps password1, with its expiry", async () => {
      await assert.rejects(provider.update(TOKEN_ID, state({ drift: "" }), due()), {
        message:
          refused("password2") +
          "The pull secret was left unchanged: it keeps password1, valid until 2025-03-02T00:00:00.000Z.",
      });
    });

    it("a state without the active slot's expiry says no date", async () => {
      const olds = state();
      delete (olds as { password1Expiry?: string | null }).password1Expiry;
      await assert.rejects(provider.update(TOKEN_ID, olds, due()), {
        message: refused("password2") + "The pull secret was left unchanged: it keeps password1.",
      });
    });
  });

  describe("refresh (read) against token answers", () => {
    const read = async (olds: AcrTokenPasswordOutputs) =>
      (await provider.read(TOKEN_ID, olds)).props as AcrTokenPasswordOutputs;
    const GONE =
      "the active password1 of ACR token ns-team-a on registry mycompany no longer exists: it was removed outside " +
      "Pulumi, or by a token write that left it out";

    it("a token with no credentials at all has lost the active slot", async () => {
      arm.token = tokenAnswer(undefined);
      assert.deepEqual(await read(state()), { ...state(), drift: GONE });
      assert.deepEqual(
        arm.requests.map((r) => `${r.method} ${r.path}`),
        [`GET ${TOKEN_ID}`],
      );
    });

    it("refuses, before calling Azure, a state without a token id or a slot it knows (an import)", async () => {
      arm.token = tokenAnswer([{ name: "password1", expiry: "2025-03-02T00:00:00Z" }]);
      const noId = state();
      delete (noId as { tokenId?: string }).tokenId;
      for (const props of [
        noId,
        state({ activeSlot: undefined }),
        state({ activeSlot: "password3" as "password1" }),
      ]) {
        await assert.rejects(provider.read(TOKEN_ID, props), { message: IMPORT_REFUSAL });
      }
      assert.deepEqual(arm.requests, []);
    });

    it("a state without the active slot's creation time takes ARM's when the expiry matches, and not otherwise", async () => {
      const unrecorded = state({ password1Created: null });
      // No creation time on ARM's side either: nothing to take.
      arm.token = tokenAnswer([{ name: "password1", expiry: "2025-03-02T00:00:00.0000000+00:00" }]);
      assert.deepEqual(await read(unrecorded), unrecorded);

      arm.token = tokenAnswer([
        {
          name: "password1",
          creationTime: "2025-01-01T00:00:00.7000000+00:00",
          expiry: "2025-03-02T00:00:00.0000000+00:00",
        },
      ]);
      assert.deepEqual(await read(unrecorded), {
        ...unrecorded,
        password1Created: "2025-01-01T00:00:00.700Z",
      });

      // Another expiry: the slot was regenerated, and its creation time is not ours to record.
      arm.token = tokenAnswer([
        {
          name: "password1",
          creationTime: "2025-01-05T00:00:00.0000000+00:00",
          expiry: "2025-02-04T00:00:00.0000000+00:00",
        },
      ]);
      assert.deepEqual(await read(unrecorded), {
        ...unrecorded,
        drift:
          "the active password1 of ACR token ns-team-a on registry mycompany was regenerated outside Pulumi: ARM has " +
          "it created 2025-01-05T00:00:00.000Z, expiring 2025-02-04T00:00:00.000Z; the state has created " +
          "unrecorded, expiring 2025-03-02T00:00:00.000Z",
      });
    });

    it("the creation time goes to the active password2's key, and a recorded one stays as the state wrote it", async () => {
      const olds = state({
        activeSlot: "password2",
        password2Expiry: "2025-04-01T00:00:00.000Z",
        password2Created: null,
      });
      const slots = [
        {
          name: "password1",
          creationTime: "2025-01-01T00:00:00.5000000+00:00",
          expiry: "2025-03-02T00:00:00Z",
        },
        {
          name: "password2",
          creationTime: "2025-01-31T00:00:00.2500000+00:00",
          expiry: "2025-04-01T00:00:00Z",
        },
      ];
      arm.token = tokenAnswer(slots);
      assert.deepEqual(await read(olds), { ...olds, password2Created: "2025-01-31T00:00:00.250Z" });

      // The same instant in ARM's own format: no drift, and the state's text is returned as it was.
      const armText = state({ password1Created: "2025-01-01T00:00:00.5000000+00:00" });
      assert.deepEqual(await read(armText), armText);
    });
  });
});
