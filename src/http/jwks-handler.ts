import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { AccessTokenKeys } from '../jwt/load-keys.js';
import type { HandlerContext } from './handler-context.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

const documents = new WeakMap<AccessTokenKeys, Promise<{ keys: JWK[] }>>();

/**
 * The public verification keys as a JWK Set (RFC 7517 §5): the signing key's
 * public half and every older key of a rotation, each with `kid`, `alg` and
 * `use: "sig"`. A key without a configured kid gets its RFC 7638 thumbprint.
 * HMAC secrets are never published: for HS* the set is empty.
 */
export function jwksDocument(keys: AccessTokenKeys): Promise<{ keys: JWK[] }> {
  let document = documents.get(keys);
  if (document === undefined) {
    document = buildDocument(keys);
    documents.set(keys, document);
  }
  return document;
}

async function buildDocument(keys: AccessTokenKeys): Promise<{ keys: JWK[] }> {
  if (keys.algorithm.startsWith('HS')) return { keys: [] };
  const entries: Array<[string | null, KeyObject]> = [[keys.kid, keys.verificationKey], ...keys.previousKeys];
  const jwks = await Promise.all(
    entries.map(async ([kid, key]) => {
      const jwk = await exportJWK(key);
      return { ...jwk, kid: kid ?? (await calculateJwkThumbprint(jwk)), alg: keys.algorithm, use: 'sig' };
    }),
  );
  return { keys: jwks };
}

/** `GET /.well-known/jwks.json`: public, so cacheable for a few minutes. */
export async function handleJwks(ctx: HandlerContext): Promise<ResponseParts> {
  return jsonParts(200, await jwksDocument(ctx.keys), { 'cache-control': 'public, max-age=300' });
}
