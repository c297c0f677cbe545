import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from '../config/schema.js';
import { generateKeyPair } from '../jwt/generate-key-pair.js';

/** `jwt-refresh keys generate`: writes a key pair, refusing to overwrite without `--overwrite` (SPEC §1). */
export function registerKeysGenerate(program: Command): void {
  program
    .command('keys')
    .description('manage signing keys')
    .command('generate')
    .description('write a new signing key pair (or HMAC secret)')
    .addOption(new Option('--algorithm <alg>', 'signature algorithm').choices(SIGNATURE_ALGORITHMS).default('ES256'))
    .option('--dir <dir>', 'directory for private.pem and public.pem', './config/jwt')
    .option('--overwrite', 'replace existing files', false)
    .action(async (options: { algorithm: SignatureAlgorithm; dir: string; overwrite: boolean }) => {
      const privatePath = join(options.dir, options.algorithm.startsWith('HS') ? 'secret.txt' : 'private.pem');
      const publicPath = join(options.dir, 'public.pem');
      if (!options.overwrite && (existsSync(privatePath) || existsSync(publicPath))) {
        process.stderr.write(`Key files already exist in ${options.dir}; pass --overwrite to replace them.\n`);
        process.exitCode = 1;
        return;
      }
      const generated = await generateKeyPair(options.algorithm);
      mkdirSync(options.dir, { recursive: true });
      writeFileSync(privatePath, `${generated.secret ?? generated.privateKeyPem}\n`, { mode: 0o600 });
      // `mode` applies only when the file is created: an overwritten key keeps its old, maybe world-readable, mode.
      chmodSync(privatePath, 0o600);
      if (generated.publicKeyPem !== null) writeFileSync(publicPath, generated.publicKeyPem);
      process.stdout.write(`Wrote ${options.algorithm} key material to ${options.dir}\n`);
    });
}
