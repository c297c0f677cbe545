import { afterAll, describe, expect, it } from 'vitest';
import { createJwtRefresh, type JwtRefresh } from '../src/create-jwt-refresh.js';
import { RefreshTokenInvalidError } from '../src/errors.js';
import { testOptions } from './support/app-options.js';

// The bundle's max_tokens_per_user (2.2+): "signing in beyond it revokes the session
// that has gone longest without being refreshed".

const instances: JwtRefresh[] = [];
afterAll(async () => {
  for (const instance of instances) await instance.close();
});

describe('maxTokensPerUser', () => {
  it('evicts the sessions that went longest without a refresh, not the oldest logins', async () => {
    const fixture = await testOptions({ maxTokensPerUser: 2, singleUse: true });
    const jwtRefresh = await createJwtRefresh(fixture.options);
    instances.push(jwtRefresh);
    const alice = fixture.users[0]!;
    const revoked: Array<{ familyId: string; reason: string }> = [];
    jwtRefresh.events.on('refreshTokenRevoked', ({ familyId, reason }) => void revoked.push({ familyId, reason }));

    const laptop = await jwtRefresh.issueSession(alice);
    fixture.clock.advance(60);
    const phone = await jwtRefresh.issueSession(alice);
    fixture.clock.advance(60);
    // The laptop, signed in first, is the one in use.
    const laptopNow = await jwtRefresh.refreshSession(laptop.refreshToken);
    fixture.clock.advance(60);
    const tablet = await jwtRefresh.issueSession(alice);

    const families = (await jwtRefresh.listSessions(alice.id)).map((session) => session.sessionId).sort();
    expect(families).toEqual([laptop.sessionId, tablet.sessionId].sort());
    expect(revoked).toEqual([{ familyId: phone.sessionId, reason: 'evicted' }]);
    await expect(jwtRefresh.refreshSession(phone.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
    await expect(jwtRefresh.refreshSession(laptopNow.refreshToken)).resolves.toMatchObject({ sessionId: laptop.sessionId });
  });
});
