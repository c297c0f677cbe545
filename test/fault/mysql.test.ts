import type { RowDataPacket } from 'mysql2/promise';
import { createMysqlStore, type MysqlRefreshTokenStore } from '../../src/stores/mysql.js';
import { startThrowawayMariadb } from '../support/throwaway-servers.js';
import { runStoreOutage } from './store-outage.suite.js';

runStoreOutage('mysql (MariaDB)', {
  server: startThrowawayMariadb,
  open: (url, operationTimeoutMs) => createMysqlStore({ url, operationTimeoutMs }),
  async liveByFamily(store, familyIds) {
    const [rows] = await (store as MysqlRefreshTokenStore).pool.query<RowDataPacket[]>(
      'SELECT family_id, COUNT(*) AS n FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL AND family_id IN (?) GROUP BY family_id',
      [familyIds],
    );
    return new Map(rows.map((row) => [String(row.family_id), Number(row.n)]));
  },
});
