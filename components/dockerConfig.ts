/** The key the kubelet and Docker use for Docker Hub in a docker config. */
export const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "https://index.docker.io/v1/",
  "https://index.docker.io/v1",
]);

/** Whether a server names Docker Hub (`docker.io`, `index.docker.io`, `https://index.docker.io/v1/`, ...). */
export function isDockerHub(server: string): boolean {
  return DOCKER_HUB_ALIASES.has(server.toLowerCase());
}

/** The `auths` key for a registry server: Docker Hub's canonical URL, or the server as given. */
export function authsKey(server: string): string {
  return isDockerHub(server) ? DOCKER_HUB_KEY : server;
}

export interface DockerCredential {
  /** The registry server: `ghcr.io`, `registry.example.com:5000`, `docker.io`. */
  readonly server: string;
  readonly username: string;
  readonly password: string;
}

interface AuthEntry {
  username: string;
  password: string;
  auth: string;
}

/**
 * The `.dockerconfigjson` document for a list of credentials. Byte-exact: the password goes through JSON
 * escaping and base64 as UTF-8, untouched (a GCR JSON key keeps its newlines and quotes). Keys come out in
 * the order given, so the same input always gives the same bytes and `pulumi preview` shows no diff.
 */
export function dockerConfigJson(credentials: readonly DockerCredential[]): string {
  const auths: Record<string, AuthEntry> = {};
  for (const c of credentials) {
    const key = authsKey(c.server);
    if (key in auths) {
      throw new Error(`two credentials for the registry ${key}: the kubelet would use only one`);
    }
    auths[key] = {
      username: c.username,
      password: c.password,
      auth: Buffer.from(`${c.username}:${c.password}`, "utf8").toString("base64"),
    };
  }
  return JSON.stringify({ auths });
}
