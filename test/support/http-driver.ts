import type { JwtRefresh, JwtRefreshOptions } from '../../src/create-jwt-refresh.js';

/** What a test sends. `json` is serialised with content-type application/json. */
export interface TestRequest {
  method?: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
}

/** What a test observes. */
export interface TestResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
  text: string;
  /** Set-Cookie headers, one entry each. */
  setCookies: string[];
}

/** A running app under test. */
export interface TestApp {
  request(path: string, request?: TestRequest): Promise<TestResponse>;
  /** The origin requests are sent to (`http://127.0.0.1:<port>`), as a browser on it would send in `Origin`. */
  origin: string;
  jwtRefresh: JwtRefresh;
  close(): Promise<void>;
}

/**
 * How the HTTP conformance suite starts an app on one framework. The app must
 * serve the jwt-refresh routes plus `GET /api/me` (requireAuth, answers the
 * claims) and `GET /api/admin` (requireRole('ROLE_ADMIN'), answers {ok:true}).
 */
export interface HttpDriver {
  name: string;
  start(options: JwtRefreshOptions): Promise<TestApp>;
}

/** Builds a TestResponse from a Fetch Response. */
export async function fromFetchResponse(response: Response): Promise<TestResponse> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text, setCookies: response.headers.getSetCookie() };
}
