import type { User, UserProvider } from './user.js';

/**
 * A user provider over an in-memory list, for tests, demos and fixed service
 * accounts. `users` is read live, so tests can disable or delete a user.
 *
 * @example
 * const users = createMemoryUserProvider([{ id: '1', identifier: 'alice', roles: ['ROLE_USER'], passwordHash }]);
 */
export function createMemoryUserProvider(users: User[]): Required<UserProvider> & { users: User[] } {
  return {
    users,
    async loadUserByIdentifier(identifier) {
      return users.find((user) => user.identifier === identifier) ?? null;
    },
    async loadUserById(id) {
      return users.find((user) => user.id === id) ?? null;
    },
    async upgradePassword(user, newHash) {
      const stored = users.find((candidate) => candidate.id === user.id);
      if (stored !== undefined) stored.passwordHash = newHash;
    },
  };
}
