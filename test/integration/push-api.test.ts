import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { createApiKey } from '../../src/api/api-keys';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { recordPayment } from '../../src/gateway/payments';
import { Runtime } from '../../src/runtime';
import { makeHome } from '../helpers/tenant';

describe('POST /v1/items: a shop pushes its open items instead of being pulled', () => {
  let rt: Runtime;
  let base: string;
  let token: string;
  let close: () => void;

  beforeAll(async () => {
    const env = makeHome({ smtpPort: 1 });
    const file = join(env.home, 'config', 'tenants', `${env.tenant}.yaml`);
    const doc = parseDocument(readFileSync(file, 'utf8'));
    (doc.get('sources') as { add(v: unknown): void }).add(
      doc.createNode({
        name: 'shop',
        kind: 'push',
        mapping: 'mappings/csv-generic.v1.yaml',
        debtorMatch: 'externalId',
      }),
    );
    writeFileSync(file, doc.toString());
    rt = await Runtime.open({ home: env.home, databaseUrl: 'pglite:memory', redisUrl: '' });
    await rt.registerTenant(rt.tenant(env.tenant));
    token = (await createApiKey(rt.store, env.tenant, 'shop')).token;
    const app = createApp({
      store: rt.store,
      services: { recordPayment: (i) => recordPayment(rt.store, i), pushItems: (i) => rt.pushItems(i) },
      logger: createLogger({ level: 'error' }),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(async () => {
    close();
    await rt.close();
  });

  const record = (doc: string, due: string, amount: string | number) => ({
    customer_no: 'S-77',
    customer_name: 'Lena Wolf',
    email: 'lena@example.org',
    document_no: doc,
    due_date: due,
    currency: 'EUR',
    amount,
  });
  const push = (records: unknown[], source = 'shop') =>
    fetch(`${base}/v1/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source, records }),
    });

  test('good records are upserted, a bad one is quarantined and reported by position, a repeat changes nothing', async () => {
    const records = [
      record('ORD-1', '2026-10-01', '49.90'),
      record('ORD-2', '2026-10-15', 12),
      record('ORD-3', '2026-13-01', '5.00'),
    ];
    const first = await push(records);
    expect(first.status).toBe(200);
    const body = (await first.json()) as {
      inserted: number;
      quarantined: number;
      rejected: { index: number; reason: string }[];
    };
    expect(body).toMatchObject({ inserted: 2, quarantined: 1 });
    expect(body.rejected).toEqual([{ index: 2, reason: expect.stringContaining('2026-13-01') }]);

    const again = (await (await push(records)).json()) as Record<string, number>;
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 2, quarantined: 0 });

    const items = (await (
      await fetch(`${base}/v1/items`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      items: { sourceKey: string; amount: { minor: number } }[];
    };
    expect(items.items.map((i) => [i.sourceKey, i.amount.minor]).sort()).toEqual([
      ['ORD-1', 4990],
      ['ORD-2', 1200],
    ]);
  });

  test('a source that is not a push source is refused with the field named', async () => {
    const r = await push([record('X-1', '2026-10-01', '1.00')], 'billing');
    expect(r.status).toBe(422);
    const p = (await r.json()) as { errors: { path: string }[] };
    expect(p.errors[0]!.path).toBe('source');
  });
});
