/**
 * Import of a gesdinet/jwt-refresh-token-bundle `refresh_tokens` table
 * (SPEC §7, **beyond**): the library API under `jwt-refresh import-gesdinet`.
 */
export {
  DEFAULT_GESDINET_COLUMNS,
  type GesdinetColumns,
  type GesdinetRow,
  type GesdinetSource,
  type GesdinetSourceOptions,
} from './gesdinet-source.js';
export {
  DEFAULT_IMPORT_BATCH_SIZE,
  type GesdinetImportReport,
  type ImportGesdinetOptions,
  type ImportProgress,
  importGesdinetTokens,
} from './import-gesdinet-tokens.js';
export type { GesdinetSkipReason } from './map-gesdinet-row.js';
export { openGesdinetSource } from './open-gesdinet-source.js';
export { checkTimeZone } from './source-datetime.js';
