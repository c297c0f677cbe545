import { z } from 'zod';
import type { AccessTokenExtractor } from '../config/schema.js';
import { LEXIK_BUNDLE, SINCE } from './bundle-keys.js';
import { type KeySpec, readKeys, readValue, refuse, sectionMapping, toggleNode } from './read-option.js';
import type { Context, Mapping } from './reading-context.js';

const EXTRACTORS = ['authorization_header', 'query_parameter', 'cookie', 'split_cookie'] as const;
type ExtractorNode = (typeof EXTRACTORS)[number];

/** Each extractor's keys and Lexik's defaults for them. */
const DEFAULTS: Record<ExtractorNode, Mapping> = {
  authorization_header: { prefix: 'Bearer', name: 'Authorization' },
  query_parameter: { name: 'bearer' },
  cookie: { name: 'BEARER' },
  split_cookie: { cookies: [] },
};

const name = z.string().min(1);

/**
 * Lexik's `token_extractors` (2.0+) as our `accessTokenExtractors`, in the
 * order Lexik chains them: the header, the query parameter, the cookie, the
 * split cookie. The header is on unless disabled (`canBeDisabled()`), the
 * others off unless enabled (`canBeEnabled()`).
 */
export function readTokenExtractors(ctx: Context, value: unknown, source: string): void {
  const section = sectionMapping(ctx, value, source);
  readKeys(ctx, section, source, NODE_KEYS, LEXIK_BUNDLE);

  const chain: AccessTokenExtractor[] = [];
  let valid = true;
  for (const node of EXTRACTORS) {
    const path = `${source}.${node}`;
    const raw = section[node];
    const toggled = raw === undefined ? { enabled: node === 'authorization_header', children: {} } : toggleNode(ctx, raw, path);
    if (toggled === null) {
      valid = false;
      continue;
    }
    const childKeys = new Map<string, KeySpec>(
      Object.keys(DEFAULTS[node]).map((key) => [key, { since: SINCE.lexik2, read: () => undefined }]),
    );
    readKeys(ctx, toggled.children, path, childKeys, LEXIK_BUNDLE);
    if (!toggled.enabled) continue;
    const settings = { ...DEFAULTS[node], ...toggled.children };
    const extractor = readExtractor(ctx, node, settings, path);
    if (extractor === undefined) valid = false;
    else chain.push(extractor);
  }
  if (!valid) return;
  if (chain.length === 0) {
    refuse(
      ctx,
      source,
      SINCE.lexik2,
      'enables no extractor, so no request could ever be authenticated',
      'leave authorization_header enabled or enable another one',
    );
    return;
  }
  ctx.explicit.push({ target: ['accessTokenExtractors'], value: chain, source });
}

/** Lists the extractor nodes for the typo check; {@link readTokenExtractors} reads them itself. */
const NODE_KEYS = new Map<string, KeySpec>(
  EXTRACTORS.map((node) => [node, { since: node === 'split_cookie' ? SINCE.lexik29 : SINCE.lexik2, read: () => undefined }]),
);

function readExtractor(ctx: Context, node: ExtractorNode, settings: Mapping, path: string): AccessTokenExtractor | undefined {
  switch (node) {
    case 'authorization_header': {
      const header = readValue(ctx, settings.name, `${path}.name`, name);
      // `prefix: ~` (or '') makes Lexik take the whole header value.
      const prefix = readValue(ctx, settings.prefix ?? '', `${path}.prefix`, z.string());
      return header === undefined || prefix === undefined ? undefined : { type: 'header', name: header, prefix };
    }
    case 'query_parameter': {
      const parameter = readValue(ctx, settings.name, `${path}.name`, name);
      return parameter === undefined ? undefined : { type: 'query', name: parameter };
    }
    case 'cookie': {
      const cookie = readValue(ctx, settings.name, `${path}.name`, name);
      return cookie === undefined ? undefined : { type: 'cookie', name: cookie };
    }
    case 'split_cookie': {
      const names = readValue(ctx, settings.cookies, `${path}.cookies`, z.array(name));
      if (names === undefined) return undefined;
      if (names.length === 0) {
        refuse(
          ctx,
          path,
          SINCE.lexik29,
          'is enabled without cookies, so it could never find a token',
          'list the cookies in split_cookie.cookies',
        );
        return undefined;
      }
      return { type: 'splitCookie', names };
    }
  }
}
