export { Master } from './master.js';
export type { MasterOptions } from './master.js';
export { acquirePidfile, releasePidfile } from './pidfile.js';
export { UsageSampler } from './usage-sampler.js';
export type { GroupUsage, SampleTargets, Usage, UsageSnapshot, UsageSource } from './usage-sampler.js';
