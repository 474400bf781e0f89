/**
 * What browser tests need around the app: Debian's Chromium through playwright-core, a TCP proxy that records every
 * byte the browser (and the PSP simulators) send to our server, debtors with items in several sources, QR codes read
 * back with zbar, and screenshots kept under `test-artifacts/`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const hasZbar = spawnSync('zbarimg', ['--version']).status === 0;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
}

/** `test-artifacts/<group>/`, created on first use (the folder is git-ignored). */
export function artifactsDir(group: string): string {
  const dir = resolve(__dirname, '../../test-artifacts', group);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A full-page screenshot kept as a test artefact; returns its path. */
export async function keepScreenshot(page: Page, group: string, name: string): Promise<string> {
  const file = join(artifactsDir(group), `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The text of the one QR code in a PNG, as zbar reads it (`zbarimg --raw -q`), without zbar's closing line feed. */
export function readQr(png: Buffer, file: string): string {
  writeFileSync(file, png);
  const r = spawnSync('zbarimg', ['--raw', '-q', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`zbarimg found no code in ${file}`);
  return r.stdout.replace(/\n$/, '');
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Everything clients sent through the proxy so far (requests, bodies), as one string. */
  received(): string;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a local port that keeps every byte clients send through it. Put it in front of the app to
 * prove what never reached our server (a card number), whatever route or body parser was involved.
 */
export async function startRecordingProxy(targetPort: number): Promise<RecordingProxy> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => Buffer.concat(chunks).toString('latin1'),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** One item of a source: [sourceKey, documentNumber, amountMinor, dueDate]. */
export type SourceItem = [string, string, number, string];

/**
 * One debtor (`externalId`) whose open items come from several sources, unified by the external id as the ingest
 * does for real sources. Returns the debtor id and the item ids by source key.
 */
export async function seedDebtorAcrossSources(
  store: Store,
  tenantId: string,
  o: { externalId: string; name: string; language: string; sources: Record<string, SourceItem[]> },
): Promise<{ debtorId: string; itemIds: Record<string, string> }> {
  await store.db
    .insertInto('tenants')
    .values({ tenant_id: tenantId, name: 'ACME Mobile', country: 'DE', currency: 'EUR' })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  for (const [source, items] of Object.entries(o.sources)) {
    await ingestBatch(store, {
      tenantId,
      source,
      debtorMatch: 'externalId',
      debtors: [{ externalId: o.externalId, name: o.name, type: 'B2C', language: o.language, tags: [] }],
      items: items.map(([sourceKey, documentNumber, amountMinor, dueDate]) => ({
        sourceKey,
        externalId: o.externalId,
        documentNumber,
        currency: 'EUR',
        amountMinor,
        openMinor: amountMinor,
        dueDate,
        dunningLevel: 0,
      })),
    });
  }
  const rows = await store.db
    .selectFrom('items')
    .select(['item_id', 'source_key', 'debtor_id'])
    .where('tenant_id', '=', tenantId)
    .where('external_id', '=', o.externalId)
    .execute();
  const debtors = new Set(rows.map((r) => r.debtor_id));
  if (debtors.size !== 1) throw new Error(`expected one debtor across the sources, got ${debtors.size}`);
  return { debtorId: rows[0]!.debtor_id, itemIds: Object.fromEntries(rows.map((r) => [r.source_key, r.item_id])) };
}
