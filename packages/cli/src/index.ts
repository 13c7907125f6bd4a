export { main } from './main.js';
export { FLAGS, envName, layerOptions, parseCommandLine } from './flags.js';
export { serverOptions } from './server-options.js';
export { ApiRequestError, CoyotesClient, FINAL_STATES } from './client.js';
export type {
  ChannelSettings,
  ChannelStats,
  ClientOptions,
  LogRecord,
  NodeInfo,
  PushRequest,
  TaskDetail,
  TaskResultDetail,
} from './client.js';
export { taskExitCode } from './commands/exit-code.js';
