import { createPostgresStore, type PostgresRefreshTokenStore } from '../../src/stores/postgres.js';
import { startThrowawayPostgres } from '../support/throwaway-servers.js';
import { runStoreOutage } from './store-outage.suite.js';

runStoreOutage('postgres', {
  server: startThrowawayPostgres,
  open: (url, operationTimeoutMs) => createPostgresStore({ url, operationTimeoutMs }),
  async liveByFamily(store, familyIds) {
    const { rows } = await (store as PostgresRefreshTokenStore).pool.query<{ family_id: string; n: number }>(
      'SELECT family_id, count(*)::int AS n FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL AND family_id = ANY($1) GROUP BY family_id',
      [familyIds],
    );
    return new Map(rows.map((row) => [row.family_id, row.n]));
  },
});
