// NestJS (Express platform) + jwt-refresh: the token routes and a protected GET /api/me.
// Run: npm run build && PORT=3000 node examples/nest/app.mjs
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } from 'jwt-refresh';
import { CurrentUser, JwtAuthGuard, JwtRefreshModule } from 'jwt-refresh/nest';
import { createMemoryStore } from 'jwt-refresh/stores/memory';

// A fresh key and an in-memory store: every restart logs everybody out.
const { privateKeyPem } = await generateKeyPair('ES256');
const passwordHasher = createScryptHasher();
const jwtRefresh = await createJwtRefresh({
  jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
  store: createMemoryStore(),
  userProvider: createMemoryUserProvider([
    { id: '1', identifier: 'demo', roles: ['ROLE_USER'], passwordHash: await passwordHasher.hash('demo') },
  ]),
  passwordHasher,
});

// Plain JavaScript has no decorator syntax: Nest's decorators are applied as calls.
class MeController {
  me(claims) {
    return claims;
  }
}
const me = Object.getOwnPropertyDescriptor(MeController.prototype, 'me');
Get('me')(MeController.prototype, 'me', me);
CurrentUser()(MeController.prototype, 'me', 0);
UseGuards(JwtAuthGuard)(MeController);
Controller('api')(MeController);

// The module serves the token routes at their configured paths (/api/login_check, ...).
class AppModule {}
Module({ imports: [JwtRefreshModule.forRoot({ jwtRefresh })], controllers: [MeController] })(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
await app.listen(port, host);
console.log(`listening on http://${host}:${port}`);
