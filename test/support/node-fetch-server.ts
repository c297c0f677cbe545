import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toFetchRequest } from '../../src/adapters/node/node-request.js';
import { readNodeBody } from '../../src/adapters/node/read-node-body.js';
import { writeNodeParts, writeNodeResponse } from '../../src/adapters/node/write-node-response.js';
import { errorParts } from '../../src/http/error-response.js';

export interface ListeningServer {
  baseUrl: string;
  close(): Promise<void>;
}

/** Runs a node:http request listener (an Express app, a bridge) on a free loopback port. */
export async function listen(listener: RequestListener): Promise<ListeningServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // fetch keeps connections alive; without this close() waits for them.
        server.closeAllConnections();
      }),
  };
}

/**
 * Serves a Fetch handler through node:http, the way a host runtime does:
 * IncomingMessage -> Request, Response -> ServerResponse. The handler also
 * gets the IncomingMessage, as Deno's and Bun's get their connection info.
 */
export function serveFetch(handler: (request: Request, incoming: IncomingMessage) => Promise<Response>): Promise<ListeningServer> {
  return listen((req, res) => {
    const respond = async () => {
      // No limit here: the handler under test enforces its own.
      const body = await readNodeBody(req, Number.POSITIVE_INFINITY);
      await writeNodeResponse(res, await handler(toFetchRequest(req.method ?? 'GET', req.url ?? '/', req.headers, body), req));
    };
    // What toFetchRequest refuses (a TRACE, userinfo in the target) is answered as a host answers it.
    respond().catch((error: unknown) => (res.headersSent ? res.destroy() : writeNodeParts(res, errorParts(error))));
  });
}
