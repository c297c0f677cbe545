import type { FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Fastify's `clientErrorHandler` for the standalone server: Node's own
 * refusals, before any route runs (a request that outlived `requestTimeout`,
 * a request line or header that does not parse, headers too large), answered
 * in the library's JSON shape (`{"code": 408, "message": "Request Timeout"}`)
 * and logged at info: the client caused them, and an error-level line per
 * bad request would let anyone flood the logs (Fastify's default answers in
 * its own shape and logs at trace).
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  this.log.info({ status, code: error.code }, 'client error');
  if (socket.writable) {
    const body = JSON.stringify({ code: status, message: STATUS_CODES[status] });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
