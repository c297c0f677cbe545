import { BadRequestError, PayloadTooLargeError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';

/** A request body as the handlers see it. */
export type ParsedBody =
  | { kind: 'empty' }
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; value: URLSearchParams }
  /** JSON syntax error, or a content type that is neither JSON nor a form and does not parse as JSON. */
  | { kind: 'malformed'; reason: 'json' | 'media-type' };

/** `type "/" subtype`, each an RFC 9110 §5.6.2 token (§8.3.1). */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~\da-z-]+\/[!#$%&'*+.^_`|~\da-z-]+$/;

/**
 * Reads and parses a request body, never more than `limit` bytes.
 *
 * JSON is accepted under any content type that parses as JSON (SPEC §6: the
 * bundle reads JSON whatever the header says); a form under
 * `application/x-www-form-urlencoded`. A Content-Type that is no media type
 * at all is `malformed` (415), as is a body in another type that is not JSON. `buffered` is the body a Node host
 * already read (`RequestInfo.body`); otherwise the request's own stream is
 * read incrementally, so a huge body is refused without being buffered.
 *
 * @throws PayloadTooLargeError past `limit` bytes; BadRequestError when the body stream fails (the client went away)
 */
export async function readBody(request: RequestView, limit: number, buffered?: Uint8Array | string): Promise<ParsedBody> {
  const declared = Number(request.header('content-length') ?? Number.NaN);
  if (declared > limit) throw new PayloadTooLargeError();
  const text = await readText(request, limit, buffered);
  if (text.trim() === '') return { kind: 'empty' };
  const contentType = request.header('content-type') ?? '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  // A header that names no media type (`;`, `garbage/ÿ`) is refused as Fastify refuses it, on every adapter alike.
  if (contentType.trim() !== '' && !MEDIA_TYPE.test(mediaType)) return { kind: 'malformed', reason: 'media-type' };
  if (mediaType === 'application/x-www-form-urlencoded') return { kind: 'form', value: new URLSearchParams(text) };
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch {
    const isJson = mediaType === '' || mediaType === 'application/json' || mediaType.endsWith('+json') || mediaType === 'text/plain';
    return { kind: 'malformed', reason: isJson ? 'json' : 'media-type' };
  }
}

async function readText(request: RequestView, limit: number, raw: Uint8Array | string | undefined): Promise<string> {
  if (raw !== undefined) {
    const bytes = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
    if (bytes > limit) throw new PayloadTooLargeError();
    return typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  }
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      // The client went away or the host's timeout cut it off mid-body: the client's doing, not a server error.
      throw new BadRequestError('Request body was not received in full.', { cause: error });
    }
    const { done, value } = chunk;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new PayloadTooLargeError();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
