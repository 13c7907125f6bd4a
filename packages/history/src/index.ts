export { HistoryStore, FAILURE_STATUSES, decodeCursor, encodeCursor } from './store.js';
export type { HistoryFilter, RunStats } from './store.js';
export { MIGRATIONS, MIGRATIONS_TABLE, RUNS_TABLE } from './migrations.js';
export type { Migration } from './migrations.js';
export { parseHistoryUrl } from './url.js';
export type { Dialect, HistoryUrl } from './url.js';
