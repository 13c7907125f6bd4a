export * from './errors.js';
export * from './task.js';
export * from './channel.js';
export * from './options.js';
export * from './ipc.js';
export * from './ingress.js';
export * from './allowlist.js';
export * from './node.js';
