import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawWebhook } from '../../../src/gateway/providers/types';

/**
 * An HTTP endpoint that keeps every webhook delivery a simulator sends, byte for byte, so a test can hand it to a
 * provider's `parseWebhook` (or forward it to the API) and tamper with copies. It answers 200 unless told to fail
 * the next deliveries, which lets a test watch a simulator's retries.
 */
export interface WebhookSink {
  url: string;
  deliveries: RawWebhook[];
  /** Resolves with the first delivery (already received or still to come) that matches. */
  waitFor(match: (w: RawWebhook) => boolean, timeoutMs?: number): Promise<RawWebhook>;
  /** Answers the next `n` deliveries with this status (e.g. 500) before answering 200 again. */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const deliveries: RawWebhook[] = [];
  const waiters: { match: (w: RawWebhook) => boolean; resolve: (w: RawWebhook) => void }[] = [];
  let failing = 0;
  let failStatus = 500;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing > 0) {
        failing--;
        res.writeHead(failStatus).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
      const w: RawWebhook = { headers, body: Buffer.concat(chunks) };
      deliveries.push(w);
      for (const waiter of [...waiters]) {
        if (waiter.match(w)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(w);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    deliveries,
    waitFor(match, timeoutMs = 5000) {
      const found = deliveries.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (w: RawWebhook) => {
            clearTimeout(timer);
            resolve(w);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching webhook within ${timeoutMs} ms (${deliveries.length} received)`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    failNext(n, status = 500) {
      failing = n;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The body of a delivery as text, for matching on ids. */
export const bodyText = (w: RawWebhook): string => w.body.toString('utf8');
