import { createApp } from '../api/app';
import { createLogger } from '../api/logger';
import { IntegrationError } from '../domain/errors';
import { recordPayment } from '../gateway/payments';
import { WRITEBACK_QUEUE } from '../routing/relay';
import { Runtime } from '../runtime';

/** Runs the HTTP API until SIGINT/SIGTERM. Stateless: run as many as you like behind a load balancer. */
export async function serve(o: { home: string; port: number; host: string }): Promise<void> {
  const rt = await Runtime.open({ home: o.home });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info', json: true });
  const app = createApp({
    store: rt.store,
    services: {
      recordPayment: (input) => recordPayment(rt.store, input),
      pushItems: (input) => rt.pushItems(input),
      smsReceipts: (tenantId) => rt.smsReceiptEndpoint(tenantId),
      ...(rt.gatewayTenantIds().length
        ? { gateway: { ctx: rt.gateway(), queue: rt.queue, webhookTenant: (p: string) => rt.webhookTenant(p) } }
        : {}),
    },
    logger,
    // The API writes outbox rows that workers take from the queue: with BullMQ, Redis must answer too.
    readiness: async () => {
      try {
        const c = await rt.queue.counts(WRITEBACK_QUEUE);
        return { ok: true, checks: { queue: `${rt.queue.kind}: ${c.waiting} waiting, ${c.failed} failed` } };
      } catch (err) {
        return {
          ok: false,
          checks: { queue: `${rt.queue.kind}: ${err instanceof Error ? err.message : String(err)}` },
        };
      }
    },
  });
  const server = app.listen(o.port, o.host);
  try {
    await new Promise<void>((r, reject) => {
      server.once('listening', () => r());
      server.once('error', reject);
    });
  } catch (err) {
    await rt.close();
    throw new IntegrationError(`cannot listen on ${o.host}:${o.port}: ${(err as Error).message}`, '--port');
  }
  logger.info('listening', { host: o.host, port: o.port, store: rt.store.dialect, queue: rt.queue.kind });
  await new Promise<void>((r) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => r());
  });
  await new Promise<void>((r) => server.close(() => r()));
  await rt.close();
}
