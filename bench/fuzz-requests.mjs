// Hostile HTTP requests for the fuzz test (test/fuzz.test.ts) and the long fuzz
// run (bench/fuzz.mjs): one generator and one judge, so both ask the same question.

/** Methods Node's parser accepts, the ones our routes serve, and the odd ones (TRACE, QUERY, CONNECT-less). */
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'QUERY', 'PURGE', 'PROPFIND', 'SEARCH'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  ';',
  'garbage/\xff',
  '/',
  'application/',
  'application/json;;;',
  '*/*',
];

/** What a response body must never hold: a stack frame, a driver's or SQL's words. */
const LEAK = /\bat [^\s]+ \(|\bat [^\s]+:\d+:\d+|SQLITE_|\bSELECT\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bER_[A-Z_]+|\bsyntax error at\b/;

/** Strips what would end a header line early, so a generated value stays one header. */
const headerSafe = (value) => value.replace(/[\r\n]/g, '');

/**
 * The arbitrary of one hostile request, as raw HTTP/1.1 parts:
 * `{ requestLine, headerLines, body }` (header values latin1, body a Buffer).
 *
 * `context.routes`: the routes (`{ method, path }`, the app's protected ones
 * too), mostly asked with their own method so requests get past routing;
 * `context.tokens`: real tokens to mix in (`refresh`, `access`: valid ones;
 * `odd`: validly signed but odd access tokens).
 */
export function hostileRequest(fc, context) {
  const { routes, tokens } = context;
  const paths = [...new Set(routes.map((route) => route.path))];
  const anyToken = fc.oneof(
    // Real tokens most of the time: the odd ones have to reach what comes after the signature check.
    { weight: 4, arbitrary: fc.constantFrom(...tokens.refresh, ...tokens.access, ...tokens.odd) },
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', ' ', 'null', 'a'.repeat(5000), '%00', '\u0000', 'ÿ'),
  );
  const tokenValue = fc.oneof(
    { weight: 4, arbitrary: anyToken },
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
    fc.array(anyToken, { maxLength: 2 }),
    fc.dictionary(fc.string({ maxLength: 5 }), anyToken, { maxKeys: 2 }),
  );
  const field = fc.constantFrom(
    'refresh_token',
    'token',
    'username',
    'password',
    'grant_type',
    'token_type_hint',
    '__proto__',
    'constructor',
  );
  const jsonBody = fc.oneof(
    fc.record({
      username: fc.oneof(fc.constantFrom('alice', 'bob', 'carol'), tokenValue),
      password: fc.oneof(fc.constant('secret-password'), tokenValue),
    }),
    fc.dictionary(field, tokenValue, { maxKeys: 4 }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    jsonBody.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
    fc.dictionary(field, anyToken, { maxKeys: 3 }).map((form) => Buffer.from(new URLSearchParams(form).toString())),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ maxLength: 64 }).map((text) => Buffer.from(text)),
    fc
      .constantFrom('{"refresh_token": ', '[', '{}', '""', 'a=1&a=2&refresh_token=', '%', '{"__proto__":{"x":1}}')
      .map((text) => Buffer.from(text)),
  );
  const query = fc.oneof(
    fc.constant(''),
    anyToken.map((token) => `?refresh_token=${encodeURIComponent(token)}`),
    fc.constantFrom('?', '?refresh_token', '?a=%zz', '?refresh_token=1&refresh_token=2'),
  );
  const route = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...routes) },
    fc.record({ method: fc.constantFrom(...METHODS), path: fc.constantFrom(...paths) }),
  );
  const target = (path) =>
    fc
      .tuple(
        fc.constant(path),
        query,
        fc.constantFrom(
          'plain',
          'plain',
          'plain',
          'userinfo',
          'absolute',
          'fragment',
          'trailing-slash',
          'double-slash',
          'encoded',
          'upper',
        ),
      )
      .map(([path, search, shape]) => {
        switch (shape) {
          case 'userinfo':
            return `http://a:b@host${path}${search}`;
          case 'absolute':
            return `http://host${path}${search}`;
          case 'fragment':
            return `${path}${search}#x`;
          case 'trailing-slash':
            return `${path}/${search}`;
          case 'double-slash':
            return `/${path}${search}`;
          case 'encoded':
            return `${path.replace(/\//g, '%2F').replace(/^%2F/, '/')}${search}`;
          case 'upper':
            return `${path.toUpperCase()}${search}`;
          default:
            return `${path}${search}`;
        }
      });
  const optional = (arbitrary) => fc.option(arbitrary, { nil: undefined, freq: 2 });
  const headers = fc.record({
    contentType: optional(fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ maxLength: 20 }))),
    authorization: fc.option(
      fc.oneof(
        // Access tokens, valid and odd, most of the time: they reach what comes after the signature check.
        { weight: 4, arbitrary: fc.constantFrom(...tokens.access, ...tokens.odd).map((token) => `Bearer ${token}`) },
        { weight: 2, arbitrary: anyToken.map((token) => `Bearer ${token}`) },
        anyToken.map((token) => `bearer  ${token}`),
        fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', 'Bearer a.b.c', 'Bearer ....'),
        fc.string({ maxLength: 30 }),
      ),
      { nil: undefined, freq: 5 },
    ),
    cookie: optional(
      fc.oneof(
        anyToken.map((token) => `refresh_token=${token}`),
        fc.string({ maxLength: 30 }),
      ),
    ),
    secFetchSite: optional(fc.constantFrom('same-origin', 'cross-site', 'none', 'same-site', 'x')),
    origin: optional(fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1', '\xff')),
    forwardedFor: optional(fc.constantFrom('1.2.3.4', 'x, y, z', '', '::1, 10.0.0.1')),
  });
  const request = route.chain(({ method, path }) => fc.record({ method: fc.constant(method), target: target(path), headers, body }));
  return request.map(({ method, target, headers, body }) => {
    const headerLines = [];
    if (headers.contentType !== undefined) headerLines.push(`Content-Type: ${headerSafe(headers.contentType)}`);
    if (headers.authorization !== undefined) headerLines.push(`Authorization: ${headerSafe(headers.authorization)}`);
    if (headers.cookie !== undefined) headerLines.push(`Cookie: ${headerSafe(headers.cookie)}`);
    if (headers.secFetchSite !== undefined) headerLines.push(`Sec-Fetch-Site: ${headers.secFetchSite}`);
    if (headers.origin !== undefined) headerLines.push(`Origin: ${headers.origin}`);
    if (headers.forwardedFor !== undefined) headerLines.push(`X-Forwarded-For: ${headers.forwardedFor}`);
    if (body !== undefined) headerLines.push(`Content-Length: ${body.length}`);
    else if (method !== 'GET' && method !== 'HEAD' && method !== 'TRACE') headerLines.push('Content-Length: 0');
    return { requestLine: `${method} ${target.replace(/[\s]/g, '')} HTTP/1.1`, headerLines, body };
  });
}

/** The path a request line's target names (origin or absolute form), as the routes match it. */
export function targetPath(requestLine) {
  const target = requestLine.split(' ')[1] ?? '';
  const path = target.replace(/^[a-z][a-z\d+.-]*:\/\/[^/]*/i, '');
  const end = path.search(/[?#]/);
  return end === -1 ? path : path.slice(0, end);
}

/** Whether the library wrote `response`: a success, or a refusal in its `{"code", "message"}` shape. */
function isLibraryAnswer(response) {
  if (response.status < 400) return true;
  try {
    const body = JSON.parse(response.body);
    return body?.code === response.status && typeof body.message === 'string';
  } catch {
    return false;
  }
}

/**
 * What is wrong with `response` to `request`, or null: no answer at all, a
 * 5xx; and for the library's own answers on its paths (`paths`), a stack trace
 * or SQL in the body, or a real token from the request sent back (`secrets`:
 * the tokens the generator mixes in). The host framework's own answers are
 * the application's to configure, as the standalone server does: its 404 on
 * other paths (`//api/me`) and for methods it does not route (Fastify and
 * PURGE), which quotes the URL, and its error page for its own body parser.
 */
export function judge(request, response, { secrets, paths }) {
  if (response.status === 0) return 'no answer (connection dropped or timed out)';
  if (response.status >= 500) return `status ${response.status}`;
  if (!paths.includes(targetPath(request.requestLine)) || !isLibraryAnswer(response)) return null;
  if (LEAK.test(response.body)) return 'stack trace or SQL in the body';
  const sent = `${request.requestLine}\n${request.headerLines.join('\n')}\n${request.body?.toString('latin1') ?? ''}`;
  for (const secret of secrets) {
    if (sent.includes(secret) && response.body.includes(secret)) return 'a token from the request in the body';
  }
  return null;
}
