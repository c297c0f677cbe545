/** A user as jwt-refresh sees it. */
export interface User {
  /** Stable id: stored with refresh tokens and used to reload the user on refresh. */
  id: string;
  /** What the user logs in with (the bundle's username); goes in the `userIdClaim` claim. */
  identifier: string;
  /** Roles, put in the access token's `roles` claim. */
  roles: string[];
  /** Password hash from a {@link PasswordHasher}; users without one cannot log in with a password. */
  passwordHash?: string;
  /** false refuses the user at login and at refresh (default user checker). */
  enabled?: boolean;
}

/**
 * Where users come from (Symfony's UserProvider).
 *
 * @example
 * const provider: UserProvider = {
 *   loadUserByIdentifier: async (username) => db.users.findOne({ username }),
 *   loadUserById: async (id) => db.users.findOne({ id }),
 * };
 */
export interface UserProvider {
  /** The user who logs in as `identifier`, or null. */
  loadUserByIdentifier(identifier: string): Promise<User | null>;
  /** The user with this stable id, or null when deleted. Used on refresh. */
  loadUserById(id: string): Promise<User | null>;
  /** Stores a new hash when the hasher asks for a rehash at login. Optional. */
  upgradePassword?(user: User, newHash: string): Promise<void>;
}

/**
 * Checks run before and after authentication (Symfony's UserChecker). Throw a
 * jwt-refresh error (e.g. `AccountDisabledError`) to refuse the user.
 */
export interface UserChecker {
  checkPreAuth(user: User): void | Promise<void>;
  checkPostAuth(user: User): void | Promise<void>;
}
