import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An app (express, or any request listener) listening on a free loopback port; `close` drops kept-alive clients too. */
export async function listen(app: { listen(port: number, host: string): Server }): Promise<{
  base: string;
  close(): Promise<void>;
}> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
