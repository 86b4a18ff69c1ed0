// What the two servers (serve, web) share: the node:http server under Fastify, with the timeouts
// that stop a slow or stalled client from holding a connection (and a shutdown) forever, and
// starting it on a port, with the error a user can act on when the port is taken.

import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { UserError } from "../errors.js";

/** Listens; resolves with host:port (an IPv6 host in brackets). */
export async function listen(app: FastifyInstance, port: number, host: string): Promise<string> {
  try {
    await app.listen({ port, host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new UserError(`port ${port} on ${host} is in use: pick another with --port`);
    }
    if (code === "EACCES") {
      throw new UserError(`port ${port} needs privileges this process lacks: pick one above 1023`);
    }
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
      throw new UserError(`cannot listen on ${host}: not an address of this machine (--host)`);
    }
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${shownHost}:${address.port}`;
}

export interface ConnectionLimits {
  /** The request's headers must arrive within this (408 otherwise). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (408 otherwise). */
  bodyTimeoutMs: number;
  /**
   * A connection with no bytes moving either way for this long is cut: a client that stopped
   * reading an answer (a model download) holds it otherwise for good.
   */
  idleTimeoutMs: number;
}

/** A kept-alive connection with no next request is closed after this (Node's default). */
const KEEP_ALIVE_TIMEOUT_MS = 5000;

/** Fastify's serverFactory: a node:http server with `limits`, checked every second at most. */
export function limitedServer(limits: ConnectionLimits): (handler: RequestListener) => Server {
  return (handler) => {
    const server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.bodyTimeoutMs,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs / 2),
      },
      handler,
    );
    // With no "timeout" listener, Node destroys the idle socket.
    server.setTimeout(limits.idleTimeoutMs);
    return server;
  };
}
