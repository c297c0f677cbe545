export { CurrentUser, Roles } from './decorators.js';
export { JwtAuthGuard, type JwtRefreshRequest } from './jwt-auth.guard.js';
export { createJwtRefreshController } from './jwt-refresh.controller.js';
export { JwtRefreshModule, type JwtRefreshModuleAsyncOptions, type JwtRefreshModuleOptions } from './jwt-refresh.module.js';
export { JWT_REFRESH, JWT_REFRESH_ROLE } from './tokens.js';
