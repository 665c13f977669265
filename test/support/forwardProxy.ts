/**
 * A stand-in for an HTTPS forward proxy (Squid, a corporate egress proxy), on 127.0.0.1: it tunnels
 * `CONNECT host:port` (RFC 9110 section 9.3.6: a 2xx answer turns the connection into a blind tunnel) and records
 * every host it was asked to tunnel to, so a test can show which requests went through it and which did not.
 *
 * Modeled: CONNECT with a 200 answer and a byte-for-byte tunnel; Basic proxy authentication when `credentials`
 * are set (407 with `Proxy-Authenticate: Basic`, RFC 9110 section 11.7.1); a scripted refusal (`refuseWith`).
 * Not modeled, so a green test does not prove it: plain-http forwarding (absolute-URI requests, answered 405
 * here), TLS to the proxy itself (https:// proxies), other proxy authentication schemes, keep-alive of the
 * proxy connection, and any proxy's real access rules.
 */
import { createServer, IncomingMessage } from "http";
import { connect, Socket } from "net";

export interface ForwardProxyOptions {
  /** `user:password` the proxy requires as Basic Proxy-Authorization; unset: no authentication. */
  readonly credentials?: string;
  /** Answer every CONNECT with this status instead of tunnelling (e.g. 403 for a policy, 502 for a gateway error). */
  readonly refuseWith?: number;
}

export interface ForwardProxy {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** `host:port` of every CONNECT, in order, tunnelled or not. */
  readonly tunnelled: readonly string[];
  /** Requests that were not CONNECT, as `METHOD url`. */
  readonly otherRequests: readonly string[];
  stop(): Promise<void>;
}

export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const tunnelled: string[] = [];
  const otherRequests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    otherRequests.push(`${req.method} ${req.url}`);
    res.writeHead(405).end();
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? "";
    tunnelled.push(target);
    client.on("error", () => {});
    const expected =
      options.credentials === undefined
        ? undefined
        : `Basic ${Buffer.from(options.credentials, "utf8").toString("base64")}`;
    if (expected !== undefined && req.headers["proxy-authorization"] !== expected) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n',
      );
      return;
    }
    if (options.refuseWith !== undefined) {
      client.end(`HTTP/1.1 ${options.refuseWith} Refused\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
    if (!match) {
      client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    const upstream = connect(Number(match[3]), match[1] ?? match[2], () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnelled,
    otherRequests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
