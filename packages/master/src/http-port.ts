import { createServer } from 'node:net';
import { CoyotesError, parseHostPort } from '@coyotes/protocol';

/** The exit code an api process ends with when it cannot listen (EX_CONFIG): master stops instead of restarting it. */
export const API_CANNOT_LISTEN_EXIT = 78;

/**
 * Refuses to start when `-http-addr` cannot be listened on (most often: another process holds
 * the port), before any child is forked: an api process that cannot listen would otherwise be
 * restarted forever while the channels consume with no HTTP API.
 */
export async function checkHttpAddr(httpAddr: string): Promise<void> {
  const { host, port } = parseHostPort(httpAddr, 'http-addr');
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE' ? 'is already in use by another process' : `cannot be listened on (${error.code ?? error.message})`;
      reject(
        new CoyotesError('COY_ERR_CONFIG_INVALID', `-http-addr ${httpAddr} ${why}`, {
          hint: 'stop that process or choose another -http-addr',
        }),
      );
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
