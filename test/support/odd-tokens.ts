import { importPKCS8, SignJWT } from 'jose';

/**
 * Signs access tokens the issuer never would, with its own key, so they pass
 * the signature check and reach everything after it: a `typ` that is no
 * string, an `exp` no store can date, `typ: application/jwt`.
 */
export async function oddTokenSigner(privateKeyPem: string, algorithm = 'ES256') {
  const key = await importPKCS8(privateKeyPem, algorithm);
  return (nowSeconds: number, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> =>
    new SignJWT({ username: 'alice', roles: ['ROLE_USER'], iat: nowSeconds, exp: nowSeconds + 600, ...claims })
      // A header jose's types would not let through (`typ: 5`) is what the signer is for.
      .setProtectedHeader({ alg: algorithm, ...header } as { alg: string })
      .sign(key);
}
