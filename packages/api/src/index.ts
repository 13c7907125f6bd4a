export { createApp } from './app.js';
export type { ApiDeps } from './deps.js';
export { API_PROCESS_ENTRY } from './entry.js';
