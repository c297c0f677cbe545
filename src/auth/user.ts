/** A user as jwt-refresh sees it. */
export interface User {
  /** Stable id: stored with refresh tokens and used to reload the user on refresh. */
  id: string;
  /** What the user logs in with (the bundle's username); goes in the `userIdClaim` claim. */
  identifier: string;
  /** Roles, put in the access token's `roles` claim. */
  roles: string[];
  /** Password hash: ours (`$scrypt$`, `$argon2id$`, `$2y$`) or one a Symfony app stored (bcrypt, Argon2); users without one cannot log in with a password. */
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
  /**
   * Stores `newHash` for `user` (Symfony's `PasswordUpgraderInterface`): called after a
   * successful login whose stored hash is of another format or other parameters than
   * `passwordHashing` (a Symfony bcrypt hash, say). Optional: without it the old hash stays,
   * and works. A failure is logged and does not fail the login.
   */
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
