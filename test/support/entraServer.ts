/**
 * Local stand-ins for the two token services an OIDC login in GitHub Actions talks to, for the real
 * `@azure/identity` ClientAssertionCredential (and the MSAL inside it):
 * - GitHub's ID token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`): `GET <url>&audience=<aud>` with
 *   `Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` answers `{ "value": "<jwt>" }` (GitHub docs, "About
 *   security hardening with OpenID Connect", "Updating your actions for OIDC"). Plain http on 127.0.0.1: the
 *   caller here is our own fetch.
 * - Microsoft Entra ID's v2.0 endpoints for one tenant: the OpenID configuration document MSAL reads first, and
 *   the token endpoint, where a client-credentials grant with `client_assertion` (the GitHub token) and
 *   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` gets an access token
 *   (Microsoft identity platform, "client credentials flow", "workload identity federation"). HTTPS with a
 *   throwaway certificate: MSAL refuses an http authority.
 *
 * Modeled: each GitHub answer is a new token (`gh-id-token-<n>`); a request without the bearer is a 401. Entra
 * answers every assertion it was given with the ARM server's test token, for one hour.
 * Not modeled (a green test proves nothing about them): the JWT's signature, issuer, subject and audience checks
 * against the federated credential; GitHub's token lifetime (minutes) and Entra's refusal of an expired assertion
 * (AADSTS700024); instance discovery (the tests turn it off); any other grant.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { makeCertificate, TEST_BEARER_TOKEN } from "./armServer";

export const GITHUB_REQUEST_TOKEN = "github-request-token";

export interface TokenServers {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL`, with a query as GitHub's has one. */
  readonly githubUrl: string;
  /** The Entra authority host (https://127.0.0.1:<port>). */
  readonly authorityHost: string;
  readonly caPem: string;
  /** Each GitHub request: its audience and whether the bearer was right; the token it was given. */
  readonly githubRequests: { audience: string | null; authorized: boolean; issued?: string }[];
  /** Each Entra token request: the assertion, client id and scope it carried. */
  readonly tokenRequests: {
    tenant: string;
    clientId: string | null;
    assertion: string | null;
    scope: string | null;
  }[];
  close(): Promise<void>;
}

export async function startTokenServers(): Promise<TokenServers> {
  const githubRequests: TokenServers["githubRequests"] = [];
  const tokenRequests: TokenServers["tokenRequests"] = [];
  const github = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const authorized = req.headers.authorization === `Bearer ${GITHUB_REQUEST_TOKEN}`;
    if (!authorized) {
      githubRequests.push({ audience: url.searchParams.get("audience"), authorized });
      res.writeHead(401, { "content-type": "application/json" }).end('{"message":"Bad credentials"}');
      return;
    }
    const issued = `gh-id-token-${githubRequests.length + 1}`;
    githubRequests.push({ audience: url.searchParams.get("audience"), authorized, issued });
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ count: 1, value: issued }));
  });
  const { key, cert } = makeCertificate();
  const entra = https.createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      const base = `https://127.0.0.1:${(entra.address() as AddressInfo).port}`;
      const config = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      };
      if (config) {
        const tenant = config[1];
        json(200, {
          token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
          issuer: `${base}/${tenant}/v2.0`,
          jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
          response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
        });
        return;
      }
      const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
      if (token && req.method === "POST") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        tokenRequests.push({
          tenant: token[1],
          clientId: form.get("client_id"),
          assertion: form.get("client_assertion"),
          scope: form.get("scope"),
        });
        json(200, {
          token_type: "Bearer",
          expires_in: 3600,
          ext_expires_in: 3600,
          access_token: TEST_BEARER_TOKEN,
        });
        return;
      }
      json(404, { error: "not_found", error_description: `no ${req.method} ${url.pathname} here` });
    });
  });
  await Promise.all([
    new Promise<void>((resolve) => github.listen(0, "127.0.0.1", resolve)),
    new Promise<void>((resolve) => entra.listen(0, "127.0.0.1", resolve)),
  ]);
  return {
    githubUrl: `http://127.0.0.1:${(github.address() as AddressInfo).port}/token?api-version=2.0`,
    authorityHost: `https://127.0.0.1:${(entra.address() as AddressInfo).port}`,
    caPem: cert,
    githubRequests,
    tokenRequests,
    close: async () => {
      github.closeAllConnections();
      entra.closeAllConnections();
      await Promise.all([
        new Promise((resolve) => github.close(resolve)),
        new Promise((resolve) => entra.close(resolve)),
      ]);
    },
  };
}
