import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFile, loadConfigFileWithWarnings } from '../src/config-file/load-config-file.js';
import { parseConfig } from '../src/config/parse-config.js';
import { ConfigError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

let counter = 0;
/** Writes `content` to a fresh file with the given extension and returns its path. */
function file(extension: string, content: string): string {
  counter += 1;
  const path = join(dir, `config-${counter}${extension}`);
  writeFileSync(path, content);
  return path;
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('our own options', () => {
  it('reads camelCase options from YAML at the top level', () => {
    const path = file(
      '.yaml',
      ['ttl: 3600', 'singleUse: false', 'cookie:', '  enabled: true', '  sameSite: strict', 'jwt:', '  algorithm: HS256'].join('\n'),
    );
    expect(loadConfigFile(path)).toEqual({
      ttl: 3600,
      singleUse: false,
      cookie: { enabled: true, sameSite: 'strict' },
      jwt: { algorithm: 'HS256' },
    });
  });

  it('reads them under jwt_refresh too', () => {
    const path = file('.yml', 'jwt_refresh:\n  ttl: 60\n  reuseGraceSeconds: 0\n');
    expect(loadConfigFile(path)).toEqual({ ttl: 60, reuseGraceSeconds: 0 });
  });

  it('refuses options both at the top level and under jwt_refresh', () => {
    const path = file('.yaml', 'ttl: 60\njwt_refresh:\n  singleUse: true\n');
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('jwt_refresh');
  });

  it('reads JSON', () => {
    const path = file('.json', JSON.stringify({ ttl: 120, routes: { login: '/login' } }));
    expect(parseConfig(loadConfigFile(path))).toMatchObject({ ttl: 120, routes: { login: '/login', refresh: '/api/token/refresh' } });
  });

  it('applies none of our defaults', () => {
    const path = file('.yaml', 'ttl: 60\njwt:\n  tokenTtl: 600\n');
    expect(loadConfigFile(path)).toEqual({ ttl: 60, jwt: { tokenTtl: 600 } });
  });

  it('validates every option against the schema, naming the file, each path, and the option a typo meant', () => {
    const path = file('.yaml', 'ttl: -5\nnotAnOption: 1\nsingelUse: true\njwt:\n  algorithm: XS256\n');
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message.startsWith(`Config file ${path}: `)).toBe(true);
    expect(error.message).toContain('ttl: ');
    expect(error.message).toContain('notAnOption: unknown option;');
    expect(error.message).toContain('singelUse: unknown option, did you mean singleUse?');
    expect(error.message).toContain('jwt.algorithm: ');
    expect(error.message).not.toContain('XS256');
  });

  it('names the paths under jwt_refresh as written', () => {
    const error = configErrorOf(() => loadConfigFile(file('.yaml', 'jwt_refresh:\n  ttlUpdte: true\n  cookie: { sameSite: bogus }\n')));
    expect(error.message).toContain('jwt_refresh.ttlUpdte: unknown option, did you mean ttlUpdate?');
    expect(error.message).toContain('jwt_refresh.cookie.sameSite: ');
  });

  it('treats an empty YAML file as no options', () => {
    expect(loadConfigFile(file('.yaml', ''))).toEqual({});
  });

  it('takes our own options as written, without Symfony parameters', () => {
    const path = file('.yaml', 'secret: "%env(SECRET)%-literal-0123456789"\n');
    expect(loadConfigFile(path, { env: {} })).toEqual({ secret: '%env(SECRET)%-literal-0123456789' });
  });
});

describe('gesdinet_jwt_refresh_token section', () => {
  const pasted = `
gesdinet_jwt_refresh_token:
  refresh_token_class: App\\Entity\\RefreshToken
  ttl: 86400
  ttl_update: true
  token_parameter_name: refreshToken
  return_expiration: true
  return_expiration_parameter_name: refresh_expires_at
  cookie:
    enabled: true
    same_site: strict
    path: /api/token
    domain: example.com
    http_only: false
    secure: true
    partitioned: true
    remove_token_from_body: false
`;

  it('maps every supported key onto our options', () => {
    const config = parseConfig(loadConfigFile(file('.yaml', pasted)));
    expect(config).toMatchObject({
      ttl: 86400,
      ttlUpdate: true,
      tokenParameterName: 'refreshToken',
      returnExpiration: true,
      returnExpirationParameterName: 'refresh_expires_at',
      cookie: {
        enabled: true,
        sameSite: 'strict',
        path: '/api/token',
        domain: 'example.com',
        httpOnly: false,
        secure: true,
        partitioned: true,
        removeTokenFromBody: false,
      },
    });
  });

  it("brings the bundle's defaults: no rotation and query-string tokens", () => {
    const config = parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  ttl: 3600\n')));
    expect(config.singleUse).toBe(false);
    expect(config.bundleCompat).toBe(true);
    // Where the bundle's defaults equal ours, nothing changes.
    expect(config.cookie.enabled).toBe(false);
    expect(config.tokenParameterName).toBe('refresh_token');
  });

  it('brings them for an empty section too', () => {
    const config = parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token: ~\n')));
    expect(config).toMatchObject({ singleUse: false, bundleCompat: true, ttl: 2_592_000 });
  });

  it('keeps single_use when the section sets it', () => {
    const config = parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  single_use: true\n')));
    expect(config.singleUse).toBe(true);
    expect(config.bundleCompat).toBe(true);
  });

  it('lets our own keys override those bundle defaults without a conflict', () => {
    const path = file('.yaml', 'singleUse: true\nbundleCompat: false\ngesdinet_jwt_refresh_token:\n  ttl: 3600\n');
    const config = parseConfig(loadConfigFile(path));
    expect(config).toMatchObject({ singleUse: true, bundleCompat: false, ttl: 3600 });
  });

  it('leaves our defaults alone when there is no gesdinet section', () => {
    const config = parseConfig(loadConfigFile(file('.yaml', 'ttl: 3600\n')));
    expect(config).toMatchObject({ singleUse: true, bundleCompat: false });
  });

  it('turns the cookie on when its section is present, as Symfony canBeEnabled() does', () => {
    const config = parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie:\n    same_site: none\n')));
    expect(config.cookie).toMatchObject({ enabled: true, sameSite: 'none', removeTokenFromBody: true });
    expect(parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie: ~\n'))).cookie.enabled).toBe(true);
    expect(parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie: false\n'))).cookie.enabled).toBe(false);
    const disabled = parseConfig(loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie: { enabled: false, path: /x }\n')));
    expect(disabled.cookie).toMatchObject({ enabled: false, path: '/x' });
  });

  it('accepts the keys it does not support, and lists them as warnings', () => {
    const { config, warnings } = loadConfigFileWithWarnings(
      file('.yaml', 'gesdinet_jwt_refresh_token:\n  firewall: api\n  user_provider: app.users\n  manager_type: orm\n  ttl: 60\n'),
    );
    expect(config).toMatchObject({ ttl: 60 });
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toContain('gesdinet_jwt_refresh_token.firewall');
    expect(warnings.join('\n')).toContain('gesdinet_jwt_refresh_token.user_provider');
    expect(warnings.join('\n')).toContain('gesdinet_jwt_refresh_token.manager_type');
    // Warnings name keys, never values.
    expect(warnings.join('\n')).not.toContain('app.users');
  });

  it('refuses an unknown key, naming its path and the bundle key it resembles', () => {
    const error = configErrorOf(() => loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  tll: 60\n')));
    expect(error.message).toContain('gesdinet_jwt_refresh_token.tll is not an option of the gesdinet bundle, did you mean ttl?');
    const cookieError = configErrorOf(() => loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie:\n    samesite: lax\n')));
    expect(cookieError.message).toContain(
      'gesdinet_jwt_refresh_token.cookie.samesite is not an option of the gesdinet bundle, did you mean same_site?',
    );
    const far = configErrorOf(() => loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  frobnicate: 1\n')));
    expect(far.message).not.toContain('did you mean');
  });

  it('reports every problem of the file at once', () => {
    const path = file(
      '.yaml',
      [
        'ttlUpdte: true',
        'gesdinet_jwt_refresh_token:',
        '  tll: 60',
        '  cookie: { same_site: bogus }',
        'lexik_jwt_authentication:',
        '  toekn_ttl: 60',
        '',
      ].join('\n'),
    );
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message).toContain('gesdinet_jwt_refresh_token.tll is not an option');
    expect(error.message).toContain('gesdinet_jwt_refresh_token.cookie.same_site: ');
    expect(error.message).toContain('lexik_jwt_authentication.toekn_ttl is not an option of the Lexik bundle, did you mean token_ttl?');
    expect(error.message).toContain('ttlUpdte: unknown option, did you mean ttlUpdate?');
  });

  it('reports a rule broken by bundle values under the bundle key that set it', () => {
    const error = configErrorOf(() =>
      loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie: { same_site: none, secure: false }\n')),
    );
    expect(error.message).toContain('gesdinet_jwt_refresh_token.cookie.same_site: "none" requires secure: true');
  });

  it('reports an invalid value under the bundle path', () => {
    const error = configErrorOf(() => loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token:\n  cookie:\n    same_site: bogus\n')));
    expect(error.message).toContain('gesdinet_jwt_refresh_token.cookie.same_site');
  });

  it('refuses a conflict between our key and the bundle key, naming both', () => {
    const error = configErrorOf(() => loadConfigFile(file('.yaml', 'ttl: 60\ngesdinet_jwt_refresh_token:\n  ttl: 120\n')));
    expect(error.message).toContain(' ttl ');
    expect(error.message).toContain('gesdinet_jwt_refresh_token.ttl');

    const nested = configErrorOf(() =>
      loadConfigFile(file('.yaml', 'jwt_refresh:\n  cookie: { secure: true }\ngesdinet_jwt_refresh_token:\n  cookie: { secure: false }\n')),
    );
    expect(nested.message).toContain('jwt_refresh.cookie.secure');
    expect(nested.message).toContain('gesdinet_jwt_refresh_token.cookie.secure');
  });

  it('accepts the same value in both places', () => {
    const path = file(
      '.yaml',
      'ttl: 60\ncookie: { sameSite: strict }\ngesdinet_jwt_refresh_token:\n  ttl: 60\n  cookie: { same_site: strict }\n',
    );
    expect(parseConfig(loadConfigFile(path))).toMatchObject({ ttl: 60, cookie: { sameSite: 'strict', enabled: true } });
  });

  it('reads a gesdinet section from JSON', () => {
    const path = file('.json', JSON.stringify({ gesdinet_jwt_refresh_token: { single_use: true, cookie: { enabled: true } } }));
    expect(parseConfig(loadConfigFile(path))).toMatchObject({ singleUse: true, bundleCompat: true, cookie: { enabled: true } });
  });
});

describe('lexik_jwt_authentication section', () => {
  it('maps its keys onto jwt', () => {
    const path = file(
      '.yaml',
      [
        'lexik_jwt_authentication:',
        '  secret_key: /keys/private.pem',
        '  public_key: /keys/public.pem',
        '  pass_phrase: s3cret',
        '  token_ttl: 900',
        '  clock_skew: 30',
        '  user_id_claim: email',
        '  encoder:',
        '    signature_algorithm: ES384',
      ].join('\n'),
    );
    expect(parseConfig(loadConfigFile(path)).jwt).toMatchObject({
      secretKey: '/keys/private.pem',
      publicKey: '/keys/public.pem',
      passphrase: 's3cret',
      tokenTtl: 900,
      clockSkew: 30,
      userIdClaim: 'email',
      algorithm: 'ES384',
    });
  });

  it('accepts signature_algorithm at the top of the section too', () => {
    const path = file('.yaml', 'lexik_jwt_authentication:\n  signature_algorithm: HS512\n');
    expect(parseConfig(loadConfigFile(path)).jwt.algorithm).toBe('HS512');
  });

  it("defaults the algorithm to the bundle's RS256", () => {
    const config = parseConfig(loadConfigFile(file('.yaml', 'lexik_jwt_authentication:\n  token_ttl: 600\n')));
    expect(config.jwt.algorithm).toBe('RS256');
    // Without the section, ours.
    expect(parseConfig(loadConfigFile(file('.yaml', 'ttl: 60\n'))).jwt.algorithm).toBe('ES256');
    // Our own key overrides a bundle default.
    const ours = parseConfig(loadConfigFile(file('.yaml', 'jwt: { algorithm: EdDSA }\nlexik_jwt_authentication: ~\n')));
    expect(ours.jwt.algorithm).toBe('EdDSA');
  });

  it('refuses two different algorithms, naming both places', () => {
    const error = configErrorOf(() =>
      loadConfigFile(file('.yaml', 'lexik_jwt_authentication:\n  signature_algorithm: HS256\n  encoder: { signature_algorithm: RS256 }\n')),
    );
    expect(error.message).toContain('lexik_jwt_authentication.signature_algorithm');
    expect(error.message).toContain('lexik_jwt_authentication.encoder.signature_algorithm');
  });

  it('refuses a conflict with our jwt options without quoting either value', () => {
    const error = configErrorOf(() =>
      loadConfigFile(file('.yaml', 'jwt: { passphrase: first-secret }\nlexik_jwt_authentication:\n  pass_phrase: second-secret\n')),
    );
    expect(error.message).toContain('jwt.passphrase');
    expect(error.message).toContain('lexik_jwt_authentication.pass_phrase');
    expect(error.message).not.toContain('first-secret');
    expect(error.message).not.toContain('second-secret');
  });

  it("resolves %kernel.project_dir% against the config file's directory when it is in no config directory", () => {
    const path = file('.yaml', "lexik_jwt_authentication:\n  secret_key: '%kernel.project_dir%/config/jwt/private.pem'\n");
    expect(loadConfigFile(path)).toMatchObject({ jwt: { secretKey: join(dir, 'config/jwt/private.pem') } });
  });

  it('resolves %env(NAME)% and %env(resolve:NAME)% from the environment', () => {
    vi.stubEnv('JWT_SECRET_KEY', '%kernel.project_dir%/config/jwt/private.pem');
    vi.stubEnv('JWT_PUBLIC_KEY', '/etc/jwt/public.pem');
    vi.stubEnv('JWT_PASSPHRASE', 'from-env');
    const path = file(
      '.yaml',
      [
        'lexik_jwt_authentication:',
        "  secret_key: '%env(resolve:JWT_SECRET_KEY)%'",
        "  public_key: '%env(JWT_PUBLIC_KEY)%'",
        "  pass_phrase: '%env(JWT_PASSPHRASE)%'",
      ].join('\n'),
    );
    expect(loadConfigFile(path).jwt).toEqual({
      secretKey: join(dir, 'config/jwt/private.pem'),
      publicKey: '/etc/jwt/public.pem',
      passphrase: 'from-env',
      algorithm: 'RS256',
    });
  });

  it('converts numbers from the environment', () => {
    const path = file('.yaml', "lexik_jwt_authentication:\n  token_ttl: '%env(int:JWT_TTL)%'\n  clock_skew: '%env(SKEW)%'\n");
    expect(loadConfigFile(path, { env: { JWT_TTL: '1800', SKEW: '5' } }).jwt).toMatchObject({ tokenTtl: 1800, clockSkew: 5 });
  });

  it('treats an empty pass_phrase as none, as the bundle does', () => {
    const path = file('.yaml', "lexik_jwt_authentication:\n  pass_phrase: '%env(JWT_PASSPHRASE)%'\n");
    expect(loadConfigFile(path, { env: { JWT_PASSPHRASE: '' } }).jwt).toEqual({ algorithm: 'RS256' });
  });

  it('refuses a missing environment variable, naming it', () => {
    const path = file('.yaml', "lexik_jwt_authentication:\n  secret_key: '%env(resolve:JWT_MISSING_KEY)%'\n");
    const error = configErrorOf(() => loadConfigFile(path, { env: {} }));
    expect(error.message).toContain('JWT_MISSING_KEY');
    expect(error.message).toContain('lexik_jwt_authentication.secret_key');
  });

  it('refuses a Symfony parameter it cannot resolve', () => {
    const path = file('.yaml', "lexik_jwt_authentication:\n  secret_key: '%app.jwt_key%'\n");
    expect(configErrorOf(() => loadConfigFile(path)).message).toContain('lexik_jwt_authentication.secret_key');
    // %% is a literal %.
    const escaped = file('.yaml', "lexik_jwt_authentication:\n  secret_key: '100%%-secret'\n");
    expect(loadConfigFile(escaped).jwt?.secretKey).toBe('100%-secret');
  });

  it('ignores the keys whose job is done otherwise here, with a warning', () => {
    const { config, warnings } = loadConfigFileWithWarnings(
      file('.yaml', 'lexik_jwt_authentication:\n  token_ttl: 60\n  encoder: { service: my.encoder }\n'),
    );
    expect(config).toEqual({ jwt: { tokenTtl: 60, algorithm: 'RS256' } });
    expect(warnings).toEqual([expect.stringContaining('lexik_jwt_authentication.encoder.service')]);
    expect(warnings.join('\n')).not.toContain('my.encoder');
  });

  it('refuses a key the Lexik bundle does not have (a typo), naming it', () => {
    expect(() => loadConfigFile(file('.yaml', 'lexik_jwt_authentication:\n  toekn_ttl: 60\n'))).toThrow(
      'lexik_jwt_authentication.toekn_ttl is not an option of the Lexik bundle, did you mean token_ttl?',
    );
    expect(() => loadConfigFile(file('.yaml', 'lexik_jwt_authentication:\n  encoder: { signature_algoritm: ES256 }\n'))).toThrow(
      'lexik_jwt_authentication.encoder.signature_algoritm is not an option of the Lexik bundle, did you mean signature_algorithm?',
    );
  });

  it('maps both bundles of one pasted file together', () => {
    const path = file(
      '.yaml',
      'lexik_jwt_authentication:\n  secret_key: hs-secret-hs-secret\n  signature_algorithm: HS256\ngesdinet_jwt_refresh_token:\n  ttl: 7200\n  single_use: true\n',
    );
    const config = parseConfig(loadConfigFile(path));
    expect(config).toMatchObject({
      ttl: 7200,
      singleUse: true,
      bundleCompat: true,
      jwt: { algorithm: 'HS256', secretKey: 'hs-secret-hs-secret' },
    });
  });
});

describe('file errors', () => {
  it('refuses an unsupported extension, naming the file', () => {
    const path = file('.toml', 'ttl = 60\n');
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('.toml');
  });

  it('refuses a file that cannot be read', () => {
    const path = join(dir, 'missing.yaml');
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message).toContain(path);
    expect(error.message).toContain('ENOENT');
  });

  it('refuses bad YAML without quoting the file', () => {
    const path = file('.yaml', 'jwt:\n  secretKey: "super-secret-value\n  algorithm: [HS256\n');
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/line \d+, column \d+/);
    expect(error.message).not.toContain('super-secret-value');
    expect(error.cause).toBeUndefined();
  });

  it('refuses duplicate YAML keys', () => {
    const error = configErrorOf(() => loadConfigFile(file('.yaml', 'ttl: 60\nttl: 120\n')));
    expect(error.message).toContain('DUPLICATE_KEY');
  });

  it('refuses bad JSON without quoting the file', () => {
    const path = file('.json', '{"pepper": "super-secret-value-1234", }');
    const error = configErrorOf(() => loadConfigFile(path));
    expect(error.message).toContain(path);
    expect(error.message).not.toContain('super-secret-value');
    expect(error.cause).toBeUndefined();
  });

  it('refuses a file that is not a mapping', () => {
    expect(configErrorOf(() => loadConfigFile(file('.json', '[1, 2]'))).message).toContain('mapping');
    expect(configErrorOf(() => loadConfigFile(file('.yaml', 'gesdinet_jwt_refresh_token: [ttl]\n'))).message).toContain(
      'gesdinet_jwt_refresh_token',
    );
  });
});
