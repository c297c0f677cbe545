/**
 * What the routes read of an HTTP request: its method, path, query and
 * headers, each taken from the host's own request and parsed at most once.
 * A Node adapter builds one over its framework's request
 * (`nodeRequestView`), the Fetch adapter over the `Request` it was given
 * ({@link fetchRequestView}).
 *
 * A Fetch `Request` is built from it only when something asks for one (an
 * event listener reading `event.request`, a custom refresh-token extractor
 * reading `source.request`): building a `Request`, its `Headers` and its
 * `AbortSignal` on every request cost more than the rest of a refresh's
 * request handling (docs/benchmarks.md).
 *
 * @example
 * const view = fetchRequestView(request);
 * view.header('user-agent'); // as request.headers.get('user-agent')
 */
export interface RequestView {
  /** The method, upper-cased where the Fetch Standard normalises it (`post` → `POST`). */
  readonly method: string;
  /** The path, as the URL parser normalised it; what the routes match. */
  readonly pathname: string;
  /** The absolute URL, as `Request.url` spells it (over `http://localhost` when the host gave only a target). */
  readonly url: string;
  /** The URL, parsed on first use and kept. */
  readonly parsedUrl: URL;
  /** The headers as the host has them: Fetch `Headers`, or Node's object with lower-case names. */
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The body stream, when the host has not read the body itself (a Fetch host); else null. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** A header's value (name in any case), repeated ones joined by `, `, or null: `Headers.get`'s answer. */
  header(name: string): string | null;
  /** The request as a Fetch `Request`: the host's own, or one built on the first call and kept. */
  fetchRequest(): Request;
}

/**
 * The view of a Fetch `Request` (the Fetch adapter, `jwtRefresh.handle`):
 * headers read from it, the URL parsed once, `fetchRequest()` the request itself.
 *
 * @example
 * const parts = await jwtRefresh.handleToParts(fetchRequestView(request), { clientIp });
 */
export function fetchRequestView(request: Request): RequestView {
  // `Request.url` serialises its URL on every read: read it once.
  const url = request.url;
  const parsedUrl = new URL(url);
  return {
    method: request.method,
    pathname: parsedUrl.pathname,
    url,
    parsedUrl,
    headers: request.headers,
    get body() {
      return request.body;
    },
    header: (name) => request.headers.get(name),
    fetchRequest: () => request,
  };
}

/** Whether `request` is a {@link RequestView} rather than a Fetch `Request`. */
export function isRequestView(request: Request | RequestView): request is RequestView {
  return typeof (request as Partial<RequestView>).fetchRequest === 'function';
}

/** A header of a Fetch `Request` or of a view, without building anything. */
export function headerOf(request: Request | RequestView, name: string): string | null {
  return isRequestView(request) ? request.header(name) : request.headers.get(name);
}

/** The Fetch `Request` behind a view (built now if need be), the request itself, or undefined. */
export function fetchRequestOf(request: Request | RequestView | undefined): Request | undefined {
  return request === undefined || !isRequestView(request) ? request : request.fetchRequest();
}
