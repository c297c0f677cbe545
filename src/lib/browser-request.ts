import { headerOf, type RequestView } from './request-view.js';

/**
 * Whether a browser sent `request`: browsers mark every request with
 * `Sec-Fetch-Site` (Fetch Metadata, sent to potentially trustworthy origins:
 * https, localhost) and every POST with `Origin` (also over plain http).
 * curl, mobile apps and server-side clients send neither; Node's own `fetch`
 * sends `Sec-Fetch-Mode` but not these two, so it counts as no browser.
 */
export function isBrowserRequest(request: Request | RequestView): boolean {
  return headerOf(request, 'sec-fetch-site') !== null || headerOf(request, 'origin') !== null;
}
