import type { ServerResponse } from 'node:http';
import { toResponseParts, type ResponseParts } from '../../http/response-parts.js';

/**
 * Writes response parts (`jwtRefresh.handleToParts`) to a Node
 * `ServerResponse`: what adapters use where the framework hands out the raw
 * response (Express's `res` is one, so is what Nest middleware receives on
 * either platform).
 *
 * @example
 * const parts = await jwtRefresh.handleToParts(request, { clientIp, body });
 * if (parts !== null) writeNodeParts(res, parts);
 */
export function writeNodeParts(res: ServerResponse, parts: ResponseParts): void {
  res.statusCode = parts.status;
  for (const [name, value] of parts.headers) res.setHeader(name, value);
  if (parts.setCookies.length > 0) res.setHeader('set-cookie', parts.setCookies);
  res.end(parts.body);
}

/**
 * Writes a Fetch `Response` to a Node `ServerResponse`, for responses from a
 * Fetch app or a listener.
 *
 * @example
 * await writeNodeResponse(res, await app.fetch(request));
 */
export async function writeNodeResponse(res: ServerResponse, response: Response): Promise<void> {
  writeNodeParts(res, await toResponseParts(response));
}
