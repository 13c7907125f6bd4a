export { createApp } from './app.js';
export type { ApiDeps } from './deps.js';
export { MasterClient } from './master-client.js';

/** Path of the api process entry, for master to fork. */
export const API_PROCESS_ENTRY = new URL('./child.js', import.meta.url);
