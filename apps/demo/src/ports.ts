import { createServer } from 'node:net';

/** A port the demo needs is taken. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly variable: string,
    readonly port: number,
  ) {
    super(`Port ${port} is already in use. Stop whatever listens there, or choose another port: ${variable}=<port> pnpm demo`);
  }
}

/** Resolves when `port` can be listened on at `host`; rejects with {@link PortInUseError} when taken. */
export function checkPortFree(port: number, host: string, variable: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new PortInUseError(variable, port) : error);
    });
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
