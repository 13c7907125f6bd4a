export { Master } from './master.js';
export type { MasterOptions } from './master.js';
export { acquirePidfile, releasePidfile } from './pidfile.js';
