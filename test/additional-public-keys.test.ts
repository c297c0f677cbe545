import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../src/config-file/load-config-file.js';
import { createJwtRefresh, type JwtRefresh } from '../src/create-jwt-refresh.js';
import { JwtInvalidError } from '../src/errors.js';
import { generateKeyPair } from '../src/jwt/generate-key-pair.js';
import { testOptions } from './support/app-options.js';

// Lexik's additional_public_keys (2.15+): after a key rotation, the tokens the
// old key signed (without a kid, as Lexik signs them) still verify.

const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-additional-keys-'));
const instances: JwtRefresh[] = [];
afterAll(async () => {
  for (const instance of instances) await instance.close();
  rmSync(dir, { recursive: true, force: true });
});

async function pemPair(name: string): Promise<void> {
  const keys = await generateKeyPair('ES256');
  mkdirSync(join(dir, 'config/jwt'), { recursive: true });
  writeFileSync(join(dir, `config/jwt/${name}-private.pem`), keys.privateKeyPem ?? '');
  writeFileSync(join(dir, `config/jwt/${name}-public.pem`), keys.publicKeyPem ?? '');
}

/** An instance with the jwt options of a pasted Lexik section. */
async function fromLexik(lines: string[]): Promise<JwtRefresh> {
  const path = join(dir, 'config/lexik.yaml');
  writeFileSync(path, ['lexik_jwt_authentication:', '  encoder: { signature_algorithm: ES256 }', ...lines, ''].join('\n'));
  const { jwt } = loadConfigFile(path, { env: {} });
  const fixture = await testOptions({ jwt });
  const jwtRefresh = await createJwtRefresh(fixture.options);
  instances.push(jwtRefresh);
  return jwtRefresh;
}

describe('additional_public_keys', () => {
  it('verify the tokens of a rotated-out key; without them those tokens are refused', async () => {
    await pemPair('old');
    await pemPair('current');
    const before = await fromLexik([`  secret_key: '%kernel.project_dir%/config/jwt/old-private.pem'`]);
    const oldToken = await before.createAccessToken({ id: 'u-alice', identifier: 'alice', roles: ['ROLE_USER'] });

    const rotated = await fromLexik([
      `  secret_key: '%kernel.project_dir%/config/jwt/current-private.pem'`,
      `  additional_public_keys: ['%kernel.project_dir%/config/jwt/old-public.pem']`,
    ]);
    expect((await rotated.verifyAccessToken(oldToken)).username).toBe('alice');
    const newToken = await rotated.createAccessToken({ id: 'u-alice', identifier: 'alice', roles: ['ROLE_USER'] });
    expect((await rotated.verifyAccessToken(newToken)).username).toBe('alice');

    const withoutOldKey = await fromLexik([`  secret_key: '%kernel.project_dir%/config/jwt/current-private.pem'`]);
    await expect(withoutOldKey.verifyAccessToken(oldToken)).rejects.toBeInstanceOf(JwtInvalidError);
    // A key listed only as additional verifies, it never signs.
    await expect(before.verifyAccessToken(newToken)).rejects.toBeInstanceOf(JwtInvalidError);
  });
});
