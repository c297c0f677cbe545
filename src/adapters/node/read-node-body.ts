import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError } from '../../errors.js';

/**
 * The raw body of a Node request, for adapters whose framework has not
 * consumed it yet. Reads at most `limit` bytes; past that the rest is
 * discarded and a PayloadTooLargeError thrown, so a huge body is never buffered.
 * A body cut off (the client aborted, the server's `requestTimeout` fired)
 * is a BadRequestError.
 *
 * @example
 * const body = await readNodeBody(req, jwtRefresh.config.maxBodyBytes);
 */
export async function readNodeBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (declared > limit) {
    request.resume();
    throw new PayloadTooLargeError();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      size += buffer.byteLength;
      if (size > limit) {
        request.resume();
        throw new PayloadTooLargeError();
      }
      chunks.push(buffer);
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    // The client went away or the server's request timeout cut it off mid-body: the client's
    // doing, answered (if anyone still listens) as a 400, never logged as a server error.
    throw new BadRequestError('Request body was not received in full.', { cause: error });
  }
  return Buffer.concat(chunks);
}

/**
 * The body an app's own parser (express.json(), urlencoded(), text(), raw())
 * already produced, turned back into bytes the core can parse, or null when
 * nothing was parsed and the stream is still to be read.
 *
 * Re-serialising keeps the core the only place that decides what a body
 * means, whatever middleware ran before. Pass the request's Content-Length
 * so an empty body is not mistaken for `{}`.
 */
export function bodyFromParsed(parsed: unknown, contentType: string | undefined, contentLength?: string | undefined): Buffer | null {
  if (parsed === undefined || parsed === null) return null;
  if (Buffer.isBuffer(parsed)) return parsed;
  if (typeof parsed === 'string') return Buffer.from(parsed);
  if (typeof parsed !== 'object') return Buffer.from(JSON.stringify(parsed));
  // Parsers leave `{}` for an empty body too; only the declared length tells it from a sent `{}`.
  if (contentLength === '0' && !Array.isArray(parsed) && Object.keys(parsed).length === 0) return Buffer.alloc(0);
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') form.append(key, value);
    }
    return Buffer.from(form.toString());
  }
  return Buffer.from(JSON.stringify(parsed));
}
