import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { createMemoryUserProvider } from '../auth/memory-user-provider.js';
import type { User, UserProvider } from '../auth/user.js';
import { ConfigError } from '../errors.js';

const usersSchema = z.array(
  z.object({
    id: z.string().min(1),
    identifier: z.string().min(1),
    roles: z.array(z.string()).default(['ROLE_USER']),
    passwordHash: z.string().optional(),
    enabled: z.boolean().optional(),
  }),
);

/**
 * The standalone server's user provider: a JSON array of users in a file,
 * read at start and written back when a password is rehashed. Good for a demo
 * and a handful of service accounts; applications bring their own provider.
 */
export function openUsersFile(path: string): UserProvider & { users: User[]; save(): void } {
  let users: User[] = [];
  if (existsSync(path)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      // Not the parser's message: it may quote the file, password hashes included.
      throw new ConfigError(`Invalid users file ${path}: not readable JSON`);
    }
    const parsed = usersSchema.safeParse(json);
    if (!parsed.success) throw new ConfigError(`Invalid users file ${path}: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
    users = parsed.data;
  }
  const save = () => {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(users, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  };
  const provider = createMemoryUserProvider(users);
  return {
    ...provider,
    save,
    async upgradePassword(user, newHash) {
      await provider.upgradePassword(user, newHash);
      save();
    },
  };
}
