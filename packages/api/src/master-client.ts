import { CoyotesError, isErrorCode } from '@coyotes/protocol';
import type { ApiOperation, ApiToMaster, MasterToApi } from '@coyotes/protocol';

const TIMEOUT_MS = 10_000;

/** Request/response over the IPC channel to master, for operations that change processes. */
export class MasterClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly send: (message: ApiToMaster) => void) {}

  request<T>(operation: ApiOperation): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CoyotesError('COY_ERR_IPC_TIMEOUT', 'master did not answer in time'));
      }, TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (data: unknown) => void, reject, timer });
      this.send({ type: 'request', id, ...operation });
    });
  }

  /** Hands a reply from master to its waiting request. */
  settle(message: Extract<MasterToApi, { type: 'reply' }>): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    clearTimeout(waiting.timer);
    if (message.ok) waiting.resolve(message.data);
    else if (isErrorCode(message.code)) waiting.reject(new CoyotesError(message.code, message.message));
    else waiting.reject(new Error(message.message));
  }
}
