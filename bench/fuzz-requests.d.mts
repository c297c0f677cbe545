import type * as fc from 'fast-check';

/** One generated request, as raw HTTP/1.1 parts. */
export interface HostileRequest {
  requestLine: string;
  headerLines: string[];
  body: Buffer | undefined;
}

/** The real tokens the generator mixes into requests. */
export interface FuzzTokens {
  refresh: string[];
  access: string[];
  odd: string[];
}

export function hostileRequest(
  fast: typeof fc,
  context: { routes: ReadonlyArray<{ method: string; path: string }>; tokens: FuzzTokens },
): fc.Arbitrary<HostileRequest>;

export function targetPath(requestLine: string): string;

export function judge(
  request: HostileRequest,
  response: { status: number; body: string },
  scope: { secrets: readonly string[]; paths: readonly string[] },
): string | null;
