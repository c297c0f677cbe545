/**
 * Injection token of the `JwtRefresh` instance that `JwtRefreshModule` provides.
 *
 * @example
 * constructor(@Inject(JWT_REFRESH) private readonly jwtRefresh: JwtRefresh) {}
 */
export const JWT_REFRESH = Symbol('JWT_REFRESH');

/** Injection token of the options given to `forRoot` or made by `forRootAsync`'s factory. */
export const JWT_REFRESH_MODULE_OPTIONS = Symbol('JWT_REFRESH_MODULE_OPTIONS');

/** Metadata key under which `@Roles()` records the role `JwtAuthGuard` requires. */
export const JWT_REFRESH_ROLE = 'jwt-refresh:role';
