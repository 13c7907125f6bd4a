import { CoyotesError, isErrorCode } from '@coyotes/protocol';
import type { ApiOp, ApiOperation, ApiReply, ApiToMaster, MasterToApi } from '@coyotes/protocol';

const TIMEOUT_MS = 10_000;

/** Request/response over the IPC channel to master: each request of protocol's `ApiRequests`, with its typed reply. */
export class MasterClient {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (data: ApiReply<ApiOp>) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();

  constructor(private readonly send: (message: ApiToMaster) => void) {}

  request<K extends ApiOp>(operation: ApiOperation<K>): Promise<ApiReply<K>> {
    const id = this.nextId++;
    return new Promise<ApiReply<K>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CoyotesError('COY_ERR_IPC_TIMEOUT', 'master did not answer in time'));
      }, TIMEOUT_MS);
      // master answers request `id` with the reply of its op (its handler table is typed so)
      this.pending.set(id, { resolve: resolve as (data: ApiReply<ApiOp>) => void, reject, timer });
      this.send({ type: 'request', id, ...operation } as ApiToMaster);
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
