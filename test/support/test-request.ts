import { fromFetchResponse, type TestApp, type TestRequest } from './http-driver.js';

/** The fetch options of a test request: `json` serialised with content-type application/json, POST by default. */
export function requestInit(request: TestRequest = {}): RequestInit {
  const headers: Record<string, string> = { ...request.headers };
  let body = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    headers['content-type'] ??= 'application/json';
  }
  return { method: request.method ?? 'POST', headers, body: body ?? null };
}

/** Sends test requests over TCP to a listening server. */
export function requestOverHttp(baseUrl: string): TestApp['request'] {
  return async (path, request) => fromFetchResponse(await fetch(`${baseUrl}${path}`, requestInit(request)));
}

/** Hands test requests, as real Fetch `Request`s with bodies and headers, straight to a handler. */
export function requestInProcess(handler: (request: Request) => Promise<Response>): TestApp['request'] {
  return async (path, request) => fromFetchResponse(await handler(new Request(`http://localhost${path}`, requestInit(request))));
}
