/**
 * Password hashes as a Symfony application stores them, made by the real
 * algorithms and fixed here (PHP is not installed where the tests run):
 *
 * - `$2y$` with bcryptjs 3.0.3, prefix rewritten from `$2b$` to `$2y$` as PHP
 *   writes it (the same algorithm; `$2y$` is PHP's name for the fixed one);
 * - a password over 72 bytes, hashed as Symfony's NativePasswordHasher does:
 *   bcrypt of base64(SHA-512(password));
 * - Argon2 with the `argon2` package 0.45.1 and PHP's defaults (m=65536 KiB,
 *   t=4, p=1), parameters in PHP's order (`m=…,t=…,p=…`; the package writes `m,p,t`);
 * - two hashes printed in the PHP manual's own `password_verify` and
 *   `password_hash` examples, made by PHP itself, for "rasmuslerdorf".
 */
export const SYMFONY_HASHES = {
  bcrypt: {
    password: 'bcrypt password from Symfony',
    hash: '$2y$10$xABid9B2pTg9HZHOQx1dQOlNEtyLoqOcV2ZU.EWT7VE3vGt83pk9u',
  },
  bcrypt2a: {
    password: 'bcrypt password from Symfony',
    hash: '$2a$04$WQW6gPpfZExPlgG5GMTLXO.aXVBFG/b9DpdLrw6Kxri.1ZwZAdvMS',
  },
  bcryptLong: {
    password: `a long passphrase: ${'correct horse battery staple '.repeat(3)}`,
    hash: '$2y$04$6E6T7Uy74FAzFbgL9a6axuk0syC6LKKMfVzCLkhK6.U6tMlD9eqGe',
  },
  argon2id: {
    password: 'argon2id password from Symfony',
    hash: '$argon2id$v=19$m=65536,t=4,p=1$VCKzCW154yl+ReuAgXizjg$Lkm5B8rDtqcuag9g15GBrMC/mgZ5/alr4m0pVptE4lo',
  },
  argon2i: {
    password: 'argon2i password from Symfony',
    hash: '$argon2i$v=19$m=65536,t=4,p=1$4Rm1sTizcWN/Z5b6r+QOUA$It539/0RbtJyqSt/huYJcsgs0prDZ/ury1HI0oWDW7w',
  },
  phpManualBcrypt: {
    password: 'rasmuslerdorf',
    hash: '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a',
  },
  phpManualArgon2i: {
    password: 'rasmuslerdorf',
    hash: '$argon2i$v=19$m=1024,t=2,p=2$YzJBSzV4TUhkMzc3d3laeg$zqU/1IN0/AogfP4cmSJI1vc8lpXRW9/S0sYY2i2jHT0',
  },
} as const;
