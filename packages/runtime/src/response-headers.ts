import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Headers every response carries, whoever writes it: a route, the error handler, the 404
 * handler, or Fastify itself (its 503 while closing). `nosniff` stops a browser from
 * guessing a script or a page in a text or JSON answer.
 */
const everyResponse: readonly (readonly [string, string])[] = [['x-content-type-options', 'nosniff']];

/** Adds the common headers to a reply, as the request observer does for every request it sees. */
export function addCommonHeaders(reply: FastifyReply): void {
  for (const [name, value] of everyResponse) void reply.header(name, value);
}

/**
 * Sets the common headers on each response before Fastify sees the request: a listener in
 * front of Fastify's own, so even the answers Fastify writes directly on the socket's
 * response carry them. Each response then carries headers set outside Fastify, which makes
 * Node merge Fastify's headers into them one at a time: for an app whose requests all pass
 * `addCommonHeaders`, use `setCommonHeadersWhileClosing` instead.
 */
export function setCommonHeaders(app: FastifyInstance): void {
  app.server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
    for (const [name, value] of everyResponse) response.setHeader(name, value);
  });
}

/**
 * For an app whose routed requests get the common headers from `addCommonHeaders`: covers
 * the one answer Fastify writes itself, its 503 to requests that arrive while it closes.
 * Fastify runs preClose hooks in the same tick as it starts refusing requests, before any
 * request can be read.
 */
export function setCommonHeadersWhileClosing(app: FastifyInstance): void {
  app.addHook('preClose', () => setCommonHeaders(app));
}

/**
 * Answers a request Node could not parse (408 slow client, 431 oversized head, 400
 * otherwise) as Fastify's default handler does, with the common headers too, then closes
 * the connection.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection is gone: there is no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Client Timeout']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Exceeded maximum allowed HTTP header size']
        : [400, 'Client Error'];
  const reason = STATUS_CODES[status] ?? '';
  const body = JSON.stringify({ error: reason, message, statusCode: status });
  const headers = everyResponse.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\n${headers}Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
