import { connect } from 'node:net';

/** An HTTP/1.1 answer as a raw client reads it off the socket. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the socket's close. */
  elapsedMs: number;
}

/** One raw request: the head as written (request line and header lines), then the body's parts. */
export interface RawRequest {
  /** Request line, e.g. `POST http://a:b@host/api/token/invalidate HTTP/1.1`. */
  requestLine: string;
  /** Header lines as sent, byte for byte (latin1), e.g. `['Content-Type: garbage/\xff']`. Host and Connection: close are added. */
  headerLines?: string[];
  /** Body bytes; with `trickle`, sent in these parts with `trickle.intervalMs` between them. */
  body?: Buffer | string | Array<Buffer | string>;
  trickle?: { intervalMs: number };
  /** Give up (and report status 0) after this long. Default 10 s. */
  timeoutMs?: number;
}

/**
 * Sends a request over TCP exactly as written, which fetch and node:http
 * refuse to (userinfo in the target, TRACE, a Content-Type that is no media
 * type, a body sent one byte at a time), and reads the answer until the
 * server closes the connection.
 */
export function sendRaw(origin: string, request: RawRequest): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  const parts = request.body === undefined ? [] : Array.isArray(request.body) ? request.body : [request.body];
  const head = [request.requestLine, `Host: ${hostname}:${port}`, 'Connection: close', ...(request.headerLines ?? []), '', ''].join('\r\n');
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname);
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      resolve({ ...parseResponse(Buffer.concat(chunks)), elapsedMs: Date.now() - started });
    };
    socket.setTimeout(request.timeoutMs ?? 10_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', () => {
      socket.write(Buffer.from(head, 'latin1'));
      const remaining = [...parts];
      const next = () => {
        const part = remaining.shift();
        if (part === undefined || socket.destroyed) return;
        socket.write(typeof part === 'string' ? Buffer.from(part, 'latin1') : part);
        if (remaining.length > 0) timer = setTimeout(next, request.trickle?.intervalMs ?? 0);
      };
      next();
    });
  });
}

function parseResponse(raw: Buffer): Omit<RawResponse, 'elapsedMs'> {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return { status: 0, headers: {}, body: '' };
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  let body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body: body.toString('utf8') };
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
