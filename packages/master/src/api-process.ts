import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { redisUnavailable } from '@coyotes/broker';
import { isCoyotesError, parseApiToMaster } from '@coyotes/protocol';
import type { ApiOp, ApiOperation, ApiReply, ChildIdentity, MasterToApi } from '@coyotes/protocol';
import { PIDFILE_ENV } from './predecessors.js';
import { SupervisedChild } from './supervised-child.js';

/** What master answers each request of the api process (protocol's `ApiRequests`), as one table. */
export type ApiHandlers = { [K in ApiOp]: (request: ApiOperation<K>) => Promise<ApiReply<K>> };

/** Runs the handler of one request: the compiler checks the reply against the request's entry. */
function answer<K extends ApiOp>(handlers: ApiHandlers, operation: ApiOperation<K>): Promise<ApiReply<K>> {
  const handler: (request: ApiOperation<K>) => Promise<ApiReply<K>> = handlers[operation.op];
  return handler(operation);
}

/**
 * Master's handle on one api process: answers its requests for process changes. Every api
 * process listens on the same HTTP socket (a cluster worker; master binds the socket).
 */
export class ApiProcess {
  private readonly child: SupervisedChild<MasterToApi>;

  constructor(
    label: string,
    entry: URL,
    identity: ChildIdentity,
    handlers: ApiHandlers,
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
      onMessage: (raw) => {
        const message = parseApiToMaster(raw);
        if (message?.type !== 'request') return;
        const { id, type: _type, ...operation } = message;
        answer(handlers, operation).then(
          (data) => this.child.send({ type: 'reply', id, ok: true, data: data ?? null }),
          (thrown: unknown) => {
            const error = redisUnavailable(thrown) ?? thrown;
            const code = isCoyotesError(error) ? error.code : null;
            this.child.send({ type: 'reply', id, ok: false, code, message: error instanceof Error ? error.message : String(error) });
          },
        );
      },
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
