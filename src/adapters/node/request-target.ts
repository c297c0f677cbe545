import { BadRequestError } from '../../errors.js';

/** An absolute-form target (`http://host/path`), which RFC 9112 §3.2.2 makes servers accept. */
const ABSOLUTE_FORM = /^[a-z][a-z\d+.-]*:\/\//i;

/**
 * The URL of a request target as a Node server received it (`req.url`),
 * for the core: path and query only, over a placeholder origin.
 *
 * The origin form (`/path?query`) is taken as a path, so `//evil/x` stays the
 * path `//evil/x` rather than naming a host; the absolute form keeps its path
 * and query. Anything else is malformed (RFC 9112 §3.2): a fragment, which no
 * request target has; userinfo, which RFC 9110 §4.2.4 has recipients treat as
 * an error (it disguises the host, and a Fetch `Request` refuses it); the
 * asterisk and authority forms, which name no route.
 *
 * @throws BadRequestError for a malformed target
 *
 * @example
 * requestTargetUrl('/api/token/refresh?x=1').pathname; // '/api/token/refresh'
 * requestTargetUrl('http://a:b@host/api/token/invalidate'); // throws BadRequestError
 */
export function requestTargetUrl(target: string): URL {
  if (target.includes('#')) throw malformed();
  let url: URL;
  try {
    if (target.startsWith('/')) return new URL(`http://localhost${target}`);
    if (!ABSOLUTE_FORM.test(target)) throw malformed();
    url = new URL(target);
  } catch {
    throw malformed();
  }
  if (url.username !== '' || url.password !== '') throw malformed();
  return new URL(`http://localhost${url.pathname}${url.search}`);
}

function malformed(): BadRequestError {
  return new BadRequestError('Malformed request target.');
}
