import { createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { resolveCliSettings } from '../src/cli/cli-settings.js';
import { loadConfigFileWithWarnings } from '../src/config-file/load-config-file.js';
import { parseConfig } from '../src/config/parse-config.js';
import type { JwtRefreshConfig } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';
import { generateKeyPair } from '../src/jwt/generate-key-pair.js';
import { buildServer } from '../src/server/build-server.js';
import { readServerSettings } from '../src/server/server-settings.js';

// Every key of gesdinet 2.x/3.0 and of Lexik (DependencyInjection/Configuration.php
// across the bundles' tags), pasted into a config file: each loads with the
// bundle's meaning, or is refused naming the key, the bundle version and what to do.

const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-bundle-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function file(yaml: string): string {
  counter += 1;
  const path = join(dir, `config-${counter}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

function load(yaml: string, env: Record<string, string> = {}): { config: JwtRefreshConfig; warnings: string[] } {
  const { config, warnings } = loadConfigFileWithWarnings(file(yaml), { env });
  return { config: parseConfig(config), warnings };
}

function refusal(yaml: string): string {
  try {
    loadConfigFileWithWarnings(file(yaml), { env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected the file to be refused');
}

const gesdinet = (lines: string) => `gesdinet_jwt_refresh_token:\n${lines}\n`;
const lexik = (lines: string) => `lexik_jwt_authentication:\n${lines}\n`;

describe('gesdinet 2.x and 3.0 keys', () => {
  it('max_tokens_per_user (2.2) caps the live sessions per user', () => {
    expect(load(gesdinet('  max_tokens_per_user: 3')).config.maxTokensPerUser).toBe(3);
    expect(load(gesdinet('  max_tokens_per_user: ~')).config).not.toHaveProperty('maxTokensPerUser');
    expect(load(gesdinet("  max_tokens_per_user: '%env(int:MAX)%'"), { MAX: '5' }).config.maxTokensPerUser).toBe(5);
  });

  it('single_use_ttl_update: false (2.2) ends a chain of rotations ttl after the login', () => {
    expect(load(gesdinet('  single_use: true\n  ttl: 600\n  single_use_ttl_update: false')).config.maxSessionLifetime).toBe(600);
    // With max_session_lifetime too, the sooner of the two.
    const both = load(gesdinet('  single_use: true\n  ttl: 600\n  max_session_lifetime: 300\n  single_use_ttl_update: false'));
    expect(both.config.maxSessionLifetime).toBe(300);
    // The bundle's default ttl.
    expect(load(gesdinet('  single_use: true\n  single_use_ttl_update: false')).config.maxSessionLifetime).toBe(2_592_000);
    // true is the bundle's default and our rotation: the successor gets a full ttl.
    expect(load(gesdinet('  single_use: true\n  single_use_ttl_update: true')).config).not.toHaveProperty('maxSessionLifetime');
    // Without single_use there is no successor: nothing to cap, as in the bundle.
    expect(load(gesdinet('  ttl_update: true\n  single_use_ttl_update: false')).config).not.toHaveProperty('maxSessionLifetime');
  });

  it('hash_tokens (2.2) reads the bundle’s sha256$ rows; accept_stored_in_the_clear is left to the importer', () => {
    const enabled = load(gesdinet('  hash_tokens:\n    enabled: true\n    accept_stored_in_the_clear: false'));
    expect(enabled.config.legacySha256Tokens).toBe(true);
    expect(enabled.warnings).toEqual([
      expect.stringContaining('gesdinet_jwt_refresh_token.hash_tokens.accept_stored_in_the_clear is ignored'),
    ]);
    // canBeEnabled(): `~` turns it on.
    expect(load(gesdinet('  hash_tokens: ~')).config.legacySha256Tokens).toBe(true);
    const disabled = load(gesdinet('  hash_tokens: false'));
    expect(disabled.config.legacySha256Tokens).toBe(false);
    expect(disabled.warnings).toEqual([expect.stringContaining('always stored hashed')]);
  });

  it('default_invalid_batch_size (2.0) is the batch size of jwt-refresh clear', () => {
    expect(load(gesdinet('  default_invalid_batch_size: 250')).config.clearBatchSize).toBe(250);
    expect(refusal(gesdinet('  default_invalid_batch_size: 0'))).toContain('gesdinet_jwt_refresh_token.default_invalid_batch_size');
  });

  it('max_session_lifetime (3.0) is the absolute lifetime of a session', () => {
    expect(load(gesdinet('  max_session_lifetime: 86400')).config.maxSessionLifetime).toBe(86_400);
    expect(load(gesdinet('  max_session_lifetime: ~')).config).not.toHaveProperty('maxSessionLifetime');
  });

  it('reuse_detection (3.0) is always on with single_use; its cache and ttl are the store’s', () => {
    const on = load(gesdinet('  single_use: true\n  reuse_detection:\n    cache: cache.redis\n    ttl: 100'));
    expect(on.config.singleUse).toBe(true);
    expect(on.warnings).toEqual([
      expect.stringContaining('gesdinet_jwt_refresh_token.reuse_detection.cache is ignored'),
      expect.stringContaining('gesdinet_jwt_refresh_token.reuse_detection.ttl is ignored'),
    ]);
    expect(on.warnings.join('\n')).not.toContain('cache.redis');
    const off = load(gesdinet('  reuse_detection: { enabled: false }'));
    expect(off.warnings).toEqual([expect.stringContaining('gesdinet_jwt_refresh_token.reuse_detection.enabled is ignored')]);
  });

  it('rate_limiter (3.0) turns our rate limits on', () => {
    const { config, warnings } = load(gesdinet('  rate_limiter:\n    limiter: limiter.refresh\n    key: token'));
    expect(config.rateLimit.enabled).toBe(true);
    expect(warnings).toEqual([
      expect.stringContaining('gesdinet_jwt_refresh_token.rate_limiter.limiter is ignored'),
      expect.stringContaining('gesdinet_jwt_refresh_token.rate_limiter.key is ignored'),
    ]);
    expect(load(gesdinet('  rate_limiter: false')).config.rateLimit.enabled).toBe(false);
    expect(refusal(gesdinet('  rate_limiter: { limiter: x, key: user }'))).toContain('gesdinet_jwt_refresh_token.rate_limiter.key');
  });

  it('block_previous_jwt (3.0): false is ours, true is refused with what to do instead', () => {
    expect(load(gesdinet('  block_previous_jwt: false')).warnings).toEqual([]);
    const message = refusal(gesdinet('  block_previous_jwt: true'));
    expect(message).toContain('gesdinet_jwt_refresh_token.block_previous_jwt (gesdinet 3.0) is not supported');
    expect(message).toContain('instead, keep jwt.tokenTtl short');
  });

  it('block_jwts_on_revocation (3.0) is always on; user_claim is the user id claim', () => {
    const { config, warnings } = load(gesdinet('  block_jwts_on_revocation:\n    cache: cache.app\n    ttl: 3600\n    user_claim: email'));
    expect(config.jwt.userIdClaim).toBe('email');
    expect(warnings).toEqual([
      expect.stringContaining('block_jwts_on_revocation.cache is ignored'),
      expect.stringContaining('block_jwts_on_revocation.ttl is ignored'),
    ]);
    expect(load(gesdinet('  block_jwts_on_revocation: false')).warnings).toEqual([expect.stringContaining('always refused')]);
  });

  it('dbal_* (2.2) are accepted and reported: the store defines its table, the importer takes the bundle’s', () => {
    const { warnings } = load(
      gesdinet(
        [
          '  dbal_connection: doctrine.dbal.default_connection',
          '  dbal_table_name: jwt_tokens',
          '  dbal_auto_create_table: true',
          '  dbal_columns:',
          '    id: { name: token_id, type: integer }',
          '    refresh_token: { name: token, type: string }',
        ].join('\n'),
      ),
    );
    expect(warnings).toEqual([
      expect.stringContaining('gesdinet_jwt_refresh_token.dbal_connection is ignored'),
      expect.stringContaining('gesdinet_jwt_refresh_token.dbal_table_name is ignored'),
      expect.stringContaining('gesdinet_jwt_refresh_token.dbal_auto_create_table is ignored'),
      expect.stringContaining('gesdinet_jwt_refresh_token.dbal_columns is ignored'),
    ]);
    expect(warnings[1]).toContain('import-gesdinet --table');
    expect(warnings[3]).toContain('import-gesdinet --columns');
    expect(warnings.join('\n')).not.toContain('jwt_tokens');
  });

  it('cache_pool, refresh_token_manager and api_platform (2.2/3.0) are accepted and reported', () => {
    const { warnings } = load(gesdinet('  cache_pool: cache.tokens\n  refresh_token_manager: app.tokens\n  api_platform: true'));
    expect(warnings).toEqual([
      expect.stringContaining('gesdinet_jwt_refresh_token.cache_pool is ignored: the store is chosen'),
      expect.stringContaining('gesdinet_jwt_refresh_token.refresh_token_manager is ignored: the store is chosen'),
      expect.stringContaining('gesdinet_jwt_refresh_token.api_platform is ignored: the OpenAPI document'),
    ]);
  });

  it('cookie.same_site is matched without regard to case (3.0); empty is refused', () => {
    expect(load(gesdinet('  cookie: { same_site: STRICT }')).config.cookie.sameSite).toBe('strict');
    expect(load(gesdinet('  cookie: { same_site: Lax }')).config.cookie.sameSite).toBe('lax');
    expect(load(gesdinet('  cookie: { same_site: none }')).config.cookie.sameSite).toBe('none');
    const message = refusal(gesdinet("  cookie: { same_site: '' }"));
    expect(message).toContain('gesdinet_jwt_refresh_token.cookie.same_site (gesdinet 3.0)');
    expect(message).toContain('instead, write lax, strict or none');
  });

  it('loads a pasted 3.0 configuration whole', () => {
    const { config } = load(
      gesdinet(
        [
          '  refresh_token_class: App\\Entity\\RefreshToken',
          '  ttl: 1209600',
          '  single_use: true',
          '  max_tokens_per_user: 5',
          '  single_use_ttl_update: true',
          '  max_session_lifetime: 7776000',
          '  block_previous_jwt: false',
          '  hash_tokens: true',
          '  reuse_detection: true',
          '  rate_limiter: { limiter: limiter.refresh }',
          '  block_jwts_on_revocation: true',
          '  default_invalid_batch_size: 500',
          '  cookie: { same_site: STRICT, path: /api/token }',
        ].join('\n'),
      ),
    );
    expect(config).toMatchObject({
      ttl: 1_209_600,
      singleUse: true,
      maxTokensPerUser: 5,
      maxSessionLifetime: 7_776_000,
      legacySha256Tokens: true,
      rateLimit: { enabled: true },
      clearBatchSize: 500,
      cookie: { enabled: true, sameSite: 'strict', path: '/api/token' },
    });
  });
});

describe('Lexik keys', () => {
  it('token_extractors (2.0) become the access-token extractor chain, in Lexik’s order', () => {
    const { config } = load(
      lexik(
        [
          '  token_extractors:',
          '    cookie: { enabled: true, name: jwt }',
          '    query_parameter: true',
          '    split_cookie: { enabled: true, cookies: [jwt_hp, jwt_s] }',
          '    authorization_header: { prefix: JWT, name: X-Token }',
        ].join('\n'),
      ),
    );
    expect(config.accessTokenExtractors).toEqual([
      { type: 'header', name: 'X-Token', prefix: 'JWT' },
      { type: 'query', name: 'bearer' },
      { type: 'cookie', name: 'jwt' },
      { type: 'splitCookie', names: ['jwt_hp', 'jwt_s'] },
    ]);
    // `prefix: ~` takes the whole header value; a disabled header leaves the others.
    expect(load(lexik('  token_extractors:\n    authorization_header: { prefix: ~ }')).config.accessTokenExtractors).toEqual([
      { type: 'header', name: 'Authorization', prefix: '' },
    ]);
    expect(load(lexik('  token_extractors:\n    authorization_header: false\n    cookie: ~')).config.accessTokenExtractors).toEqual([
      { type: 'cookie', name: 'BEARER' },
    ]);
  });

  it('token_extractors enabling none is refused, and a typo in them is named', () => {
    expect(refusal(lexik('  token_extractors:\n    authorization_header: { enabled: false }'))).toContain(
      'lexik_jwt_authentication.token_extractors (Lexik 2.0+) enables no extractor',
    );
    expect(refusal(lexik('  token_extractors:\n    cookie: { nmae: jwt }'))).toContain(
      'lexik_jwt_authentication.token_extractors.cookie.nmae is not an option of the Lexik bundle, did you mean name?',
    );
  });

  it('set_cookies (2.7) is refused with what to do instead; empty, it does nothing', () => {
    const message = refusal(lexik('  set_cookies:\n    BEARER: { samesite: strict }'));
    expect(message).toContain('lexik_jwt_authentication.set_cookies (Lexik 2.7+) is not supported');
    expect(message).toContain('instead, have the client send it back as Authorization: Bearer');
    expect(load(lexik('  set_cookies: {}')).warnings).toEqual([]);
  });

  it('additional_public_keys (2.15) are verification keys tried in turn', () => {
    const { config } = load(lexik("  additional_public_keys: ['%kernel.project_dir%/old.pem', '%env(OLDER_KEY)%']"), {
      OLDER_KEY: '/keys/older.pem',
    });
    expect(config.jwt.verificationKeys).toEqual([{ key: join(dir, 'old.pem') }, { key: '/keys/older.pem' }]);
  });

  it('blocklist_token (3.1) gives tokens a jti; logout blocklists them here anyway', () => {
    const { config, warnings } = load(lexik('  blocklist_token: { enabled: true, cache: cache.app }'));
    expect(config.jwt.setJti).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('lexik_jwt_authentication.blocklist_token.cache is ignored')]);
    expect(refusal(`jwt: { setJti: false }\n${lexik('  blocklist_token: true')}`)).toContain('lexik_jwt_authentication.blocklist_token');
  });

  it('allow_no_expiration (2.16): false is ours, true is refused', () => {
    expect(load(lexik('  allow_no_expiration: false')).warnings).toEqual([]);
    expect(refusal(lexik('  allow_no_expiration: true'))).toContain(
      'lexik_jwt_authentication.allow_no_expiration (Lexik 2.16+) is not supported',
    );
  });

  it('access_token_issuance and access_token_verification (2.20) are refused when enabled', () => {
    expect(load(lexik('  access_token_issuance: { enabled: false }')).warnings).toEqual([]);
    const message = refusal(lexik('  access_token_verification:\n    signature: { allowed_algorithms: [RS256], keyset: x }'));
    expect(message).toContain('lexik_jwt_authentication.access_token_verification (Lexik 2.20+) is not supported');
    expect(message).toContain('instead, give the signing key as secret_key and public_key');
  });

  it('api_platform (2.17) names our login route and its fields', () => {
    const { config } = load(lexik('  api_platform: { check_path: /auth, username_path: email, password_path: pass }'));
    expect(config.routes.login).toBe('/auth');
    expect(config.login).toEqual({ usernameField: 'email', passwordField: 'pass' });
  });

  it('private_key_path and public_key_path (1.x-2.x) are the key paths', () => {
    const { config } = load(lexik("  private_key_path: '%kernel.project_dir%/private.pem'\n  public_key_path: /keys/public.pem"));
    expect(config.jwt).toMatchObject({ secretKey: join(dir, 'private.pem'), publicKey: '/keys/public.pem' });
  });

  it('user_identity_field (1.x-2.x) is the user id claim unless user_id_claim names one', () => {
    expect(load(lexik('  user_identity_field: email')).config.jwt.userIdClaim).toBe('email');
    expect(load(lexik('  user_identity_field: email\n  user_id_claim: mail')).config.jwt.userIdClaim).toBe('mail');
  });

  it('remove_token_from_body_when_cookies_used, encoder.service and encoder_service are accepted and reported', () => {
    const { warnings } = load(
      lexik('  remove_token_from_body_when_cookies_used: false\n  encoder: { service: x, crypto_engine: openssl }'),
    );
    expect(warnings).toEqual([
      expect.stringContaining('lexik_jwt_authentication.remove_token_from_body_when_cookies_used is ignored'),
      expect.stringContaining('lexik_jwt_authentication.encoder.service is ignored'),
      expect.stringContaining('lexik_jwt_authentication.encoder.crypto_engine is ignored'),
    ]);
  });
});

describe('%kernel.project_dir% in a Symfony project', () => {
  it('is the directory that holds config/, as Symfony has it', () => {
    const project = join(dir, 'app');
    mkdirSync(join(project, 'config/packages'), { recursive: true });
    const path = join(project, 'config/packages/lexik_jwt_authentication.yaml');
    writeFileSync(path, lexik("  secret_key: '%env(resolve:JWT_SECRET_KEY)%'"));
    const loaded = loadConfigFileWithWarnings(path, { env: { JWT_SECRET_KEY: '%kernel.project_dir%/config/jwt/private.pem' } });
    expect(loaded.config.jwt?.secretKey).toBe(join(project, 'config/jwt/private.pem'));
    // The server and the CLI do not lay the raw variable over it a second time.
    expect(loaded.environmentRead).toEqual(['JWT_SECRET_KEY']);
  });
});

describe('the Lexik recipe’s JWT_SECRET_KEY', () => {
  const recipeEnv = {
    JWT_SECRET_KEY: '%kernel.project_dir%/config/jwt/private.pem',
    JWT_PUBLIC_KEY: '%kernel.project_dir%/config/jwt/public.pem',
  };

  /** A Symfony project with the recipe's key pair and its lexik_jwt_authentication.yaml. */
  async function symfonyProject(): Promise<{ project: string; configPath: string; publicKeyPem: string }> {
    counter += 1;
    const project = join(dir, `project-${counter}`);
    mkdirSync(join(project, 'config/jwt'), { recursive: true });
    mkdirSync(join(project, 'config/packages'), { recursive: true });
    const keys = await generateKeyPair('ES256');
    writeFileSync(join(project, 'config/jwt/private.pem'), keys.privateKeyPem ?? '');
    writeFileSync(join(project, 'config/jwt/public.pem'), keys.publicKeyPem ?? '');
    const configPath = join(project, 'config/packages/lexik_jwt_authentication.yaml');
    writeFileSync(
      configPath,
      lexik(
        [
          "  secret_key: '%env(resolve:JWT_SECRET_KEY)%'",
          "  public_key: '%env(resolve:JWT_PUBLIC_KEY)%'",
          "  pass_phrase: '%env(JWT_PASSPHRASE)%'",
          '  encoder: { signature_algorithm: ES256 }',
        ].join('\n'),
      ),
    );
    return { project, configPath, publicKeyPem: keys.publicKeyPem ?? '' };
  }

  it('starts the server, signing with the project’s key, when pasted with %env(resolve:JWT_SECRET_KEY)%', async () => {
    const { project, configPath, publicKeyPem } = await symfonyProject();
    const env = { ...recipeEnv, JWT_PASSPHRASE: '', JWT_REFRESH_CONFIG: configPath };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    try {
      const settings = readServerSettings({ ...env, DATABASE_URL: `sqlite:${join(project, 'var/db.sqlite')}`, LOG_LEVEL: 'silent' });
      const { app } = await buildServer(settings);
      try {
        const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
        const login = await fetch(`${baseUrl}/api/login_check`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'demo', password: 'demo' }),
        });
        expect(login.status).toBe(200);
        const { token } = (await login.json()) as { token: string };
        const { payload } = await jwtVerify(token, createPublicKey(publicKeyPem));
        expect(payload.username).toBe('demo');
      } finally {
        await app.close();
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('gives the CLI the resolved key path too', async () => {
    const { project, configPath } = await symfonyProject();
    const settings = resolveCliSettings({ config: configPath }, { ...recipeEnv, JWT_PASSPHRASE: '' });
    expect(settings.config.jwt.secretKey).toBe(join(project, 'config/jwt/private.pem'));
    expect(settings.config.jwt.publicKey).toBe(join(project, 'config/jwt/public.pem'));
    // A variable the file does not read still overrides it, as documented.
    const overridden = resolveCliSettings(
      { config: configPath },
      { ...recipeEnv, JWT_PASSPHRASE: '', REFRESH_TOKEN_PEPPER: 'p'.repeat(32) },
    );
    expect(overridden.config.pepper).toBe('p'.repeat(32));
  });
});
