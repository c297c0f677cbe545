import { blockAccessToken } from '../tokens/access-token-revocation.js';
import { claimsOrNull } from './authenticate-access-token.js';
import { endSession } from './end-session.js';
import type { SessionContext } from './session-context.js';
import type { RequestView } from '../lib/request-view.js';

/** Longest access token the revocation looks at (the verifier's own cap). */
const MAX_ACCESS_TOKEN_LENGTH = 8192;

/**
 * RFC 7009 token revocation: an access token goes on the blocklist until it
 * expires; a refresh token ends its session, as a logout does. Unknown and
 * invalid tokens change nothing and are no error (§2.2), so the caller learns
 * nothing about which tokens exist.
 *
 * @throws StoreError
 */
export async function revokeToken(
  ctx: SessionContext,
  token: string,
  options: { tokenTypeHint?: string; request?: Request | RequestView } = {},
): Promise<void> {
  const looksLikeJwt = options.tokenTypeHint === 'access_token' || token.split('.').length === 3;
  if (looksLikeJwt && token.length <= MAX_ACCESS_TOKEN_LENGTH) {
    const claims = await claimsOrNull(ctx, token);
    if (claims !== null && (await blockAccessToken(ctx.store, claims))) return;
  }
  // §2.1: the hint is only a hint; what is not a (blockable) access token may be a refresh token.
  if (token.length <= ctx.config.maxTokenLength) await endSession(ctx, token, { request: options.request });
}
