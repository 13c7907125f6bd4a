import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { ChildIdentity, MasterToApi } from '@coyotes/protocol';
import { PIDFILE_ENV } from './predecessors.js';
import { SupervisedChild } from './supervised-child.js';

/**
 * Master's handle on one api process: starts, restarts and drains it; it asks master nothing (it
 * works through the broker, and reads this host's figures from Redis). Every api process listens
 * on the same HTTP socket (a cluster worker; master binds the socket).
 */
export class ApiProcess {
  private readonly child: SupervisedChild<MasterToApi>;

  constructor(
    label: string,
    entry: URL,
    identity: ChildIdentity,
    /** Told each unrequested exit (before the restart). */
    onExit: (code: number | null) => void,
    log: Logger,
    output?: Writable,
  ) {
    this.child = new SupervisedChild<MasterToApi>({
      label,
      entry,
      log,
      output,
      sharesListeners: true,
      // the pidfile names the installation: a later master and the tests recognise its processes by it
      env: { COYOTES_LOG_LEVEL: identity.options.logLevel, [PIDFILE_ENV]: identity.options.pidfile },
      startMessage: () => ({ type: 'start', identity }),
      // `ready` says it listens; nothing else is expected
      onMessage: () => undefined,
      onCrash: (code) => onExit(code),
    });
  }

  get pid(): number | null {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.alive;
  }

  start(): void {
    this.child.start();
  }

  async stop(): Promise<void> {
    await this.child.stop({ type: 'drain' });
  }
}
