// Starting a Fastify app on a port, with the error a user can act on when the port is taken.

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
