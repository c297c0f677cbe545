import {
  Inject,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnModuleInit,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { JWT_REFRESH, JWT_REFRESH_MODULE_OPTIONS } from './tokens.js';

/** Options of {@link JwtRefreshModule.forRoot}, and what `forRootAsync`'s factory returns. */
export interface JwtRefreshModuleOptions {
  /** The instance from `createJwtRefresh`. The application owns it: close it when the app shuts down. */
  jwtRefresh: JwtRefresh;
  /**
   * Serve the jwt-refresh routes at their configured paths. Default true. Turn it
   * off to serve them through {@link createJwtRefreshController} instead (Express platform only).
   */
  serveRoutes?: boolean;
}

/** Options of {@link JwtRefreshModule.forRootAsync}. */
export interface JwtRefreshModuleAsyncOptions {
  /** Modules whose providers the factory injects. */
  imports?: ModuleMetadata['imports'];
  /** Providers handed to the factory, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...dependencies: never[]) => JwtRefreshModuleOptions | Promise<JwtRefreshModuleOptions>;
}

/**
 * The NestJS module: provides the instance under {@link JWT_REFRESH} to the
 * whole application (it is global, so `JwtAuthGuard` works in any module) and
 * serves the jwt-refresh routes (`jwtRefresh.routes`: login, refresh, invalidate, ...).
 *
 * The routes are served by the Express adapter's router (on Nest's Express
 * platform) or the Fastify plugin (on its Fastify platform), mounted on the HTTP
 * adapter when the application initialises, at the configured paths exactly:
 * neither a global prefix nor the app's guards, interceptors or exception
 * filters apply to them, so nothing rewrites the core's answers (a global
 * `JwtAuthGuard` cannot lock the login route, a response-wrapping interceptor
 * cannot reshape a token pair). Nest's body parser runs first; its parsed body
 * and its errors (413, JSON syntax) are answered by the core as if it had
 * read the body itself.
 *
 * @example
 * JwtRefreshModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: async (config: ConfigService) => ({
 *     jwtRefresh: await createJwtRefresh({ store, userProvider, jwt: { algorithm: 'ES256', secretKey: config.get('JWT_KEY') } }),
 *   }),
 * })
 */
export class JwtRefreshModule implements OnModuleInit {
  constructor(
    private readonly options: JwtRefreshModuleOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** The module for an instance created before the application. */
  static forRoot(options: JwtRefreshModuleOptions): DynamicModule {
    return jwtRefreshModule([], { provide: JWT_REFRESH_MODULE_OPTIONS, useValue: options });
  }

  /** The module for an instance made by a factory, e.g. from a `ConfigService`. */
  static forRootAsync(options: JwtRefreshModuleAsyncOptions): DynamicModule {
    const { imports = [], inject = [], useFactory } = options;
    return jwtRefreshModule(imports, { provide: JWT_REFRESH_MODULE_OPTIONS, inject, useFactory });
  }

  async onModuleInit(): Promise<void> {
    // Undefined in an application context without HTTP (NestFactory.createApplicationContext).
    const httpAdapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (httpAdapter === undefined) return;
    const platform = httpAdapter.getType();
    const { jwtRefresh, serveRoutes = true } = this.options;
    if (platform === 'fastify') {
      if (!serveRoutes) return;
      // The Fastify plugin keeps its routes in an encapsulated context with its own body
      // parsing, so Nest's parsers and hooks on the app's other routes are untouched.
      const { jwtRefreshPlugin } = await import('../fastify.js');
      const fastify = httpAdapter.getInstance<import('fastify').FastifyInstance>();
      await fastify.register(jwtRefreshPlugin, { jwtRefresh });
      return;
    }
    if (platform !== 'express') {
      if (!serveRoutes) return;
      throw new Error(`jwt-refresh/nest serves its routes on the Express and Fastify platforms, not on "${platform}"`);
    }
    // Loaded here so that an app on another platform, using the guard only, never needs Express.
    const { createJwtRefreshRouter, jwtRefreshErrorHandler } = await import('../express.js');
    if (serveRoutes) httpAdapter.use(createJwtRefreshRouter(jwtRefresh));
    // App-level, as Nest's body parser runs before any route: its 413 and JSON
    // syntax errors on the jwt-refresh paths get the core's answer, not Nest's.
    httpAdapter.use(jwtRefreshErrorHandler(jwtRefresh));
  }
}

function jwtRefreshModule(imports: NonNullable<ModuleMetadata['imports']>, optionsProvider: Provider): DynamicModule {
  return {
    module: JwtRefreshModule,
    global: true,
    imports,
    providers: [
      optionsProvider,
      { provide: JWT_REFRESH, inject: [JWT_REFRESH_MODULE_OPTIONS], useFactory: (options: JwtRefreshModuleOptions) => options.jwtRefresh },
      JwtAuthGuard,
    ],
    exports: [JWT_REFRESH, JwtAuthGuard],
  };
}

// Decorators applied as calls: they need no compiler flag, and no decorator
// metadata (which neither vitest's transformer nor esbuild emits).
Inject(JWT_REFRESH_MODULE_OPTIONS)(JwtRefreshModule, undefined, 0);
Inject(HttpAdapterHost)(JwtRefreshModule, undefined, 1);
Module({})(JwtRefreshModule);
