import { Keys } from '../../packages/broker/src/keys.js';
import { DEFAULT_SERVER_OPTIONS } from '../../packages/protocol/src/options.js';

/**
 * The Redis keys of a server started with the default -key-prefix and ingress list, as the tests
 * start it: built by the broker's own Keys, so a test never spells a key out.
 */
export const keys = new Keys(DEFAULT_SERVER_OPTIONS.keyPrefix, DEFAULT_SERVER_OPTIONS.prepareQueueKey);
