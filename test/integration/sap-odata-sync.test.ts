import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/db';
import { createSourceConnector, loadCompiledMapping } from '../../src/sync/registry';
import { closeCleared, readCheckpoint, syncSource } from '../../src/sync/sync';
import { docNumber } from '../conformance/source-connector.harness';
import { type SapGateway, startSapGateway } from '../simulators/sap-gateway/gateway';
import { SIM_USER } from './sap-odata.harness';

/** A tenant's SAP FI-AR source as the registry builds it from the tenant file, synced against the simulated Gateway. */
describe('SAP FI-AR over OData: items cleared in SAP are closed, with the clearing document as evidence', () => {
  let gw: SapGateway;
  let store: Store;
  beforeAll(async () => {
    gw = await startSapGateway({ pageSize: 7 });
    await gw.seedPartners([
      {
        id: '10100001',
        name: 'Kunde A',
        category: '2',
        email: 'a@example.org',
        country: 'DE',
        street: 'Friedrichstraße',
        houseNumber: '68',
        postalCode: '10117',
        city: 'Berlin',
      },
    ]);
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await gw.close();
  });

  test('a full sync imports, SAP clears two items, the next sync closes exactly those', async () => {
    const connector = createSourceConnector(
      {
        name: 'fi-ar',
        kind: 'sap-odata',
        mapping: 'mappings/sap-fi-ar-odata.v1.yaml',
        debtorMatch: 'externalId',
        options: {
          baseUrl: gw.url,
          sapClient: '100',
          companyCodes: ['1010'],
          auth: { type: 'basic', ...SIM_USER },
          pageSize: 10,
        },
      },
      mkdtempSync(join(tmpdir(), 'clearhub-odata-')),
    );
    expect(connector.cleared).toBeDefined();
    await gw.seedItems(
      Array.from({ length: 12 }, (_, i) => ({ document: docNumber(i + 1), customer: '10100001', amount: '100.00' })),
    );
    const run = async () => {
      const r = await syncSource(store, {
        tenantId: 't',
        source: 'fi-ar',
        debtorMatch: 'externalId',
        batches: connector.pull({
          since: await readCheckpoint(store, 't', 'fi-ar'),
          signal: new AbortController().signal,
        }),
        map: loadCompiledMapping('mappings/sap-fi-ar-odata.v1.yaml'),
      });
      const c = await closeCleared(store, {
        tenantId: 't',
        source: 'fi-ar',
        batches: connector.cleared!({
          since: await readCheckpoint(store, 't', 'fi-ar:cleared'),
          signal: new AbortController().signal,
        }),
      });
      return { ...r, closed: c.closed };
    };
    expect(await run()).toMatchObject({ inserted: 12, closed: 0 });
    // The business partner's address, for letters (API_BUSINESS_PARTNER, first address).
    const address = await store.db.selectFrom('debtor_addresses').select(['lines', 'country']).execute();
    expect(address).toEqual([{ lines: ['Kunde A', 'Friedrichstraße 68', '10117 Berlin'], country: 'DE' }]);

    gw.advanceDays(1);
    await gw.clearItem(docNumber(3), '1400000003');
    await gw.clearItem(docNumber(7), '1400000007');
    expect((await run()).closed).toBe(2);

    const closed = await store.db
      .selectFrom('items')
      .select(['item_id', 'document_number', 'open_minor'])
      .where('status', '=', 'closed')
      .execute();
    expect(closed.map((c) => c.document_number).sort()).toEqual([docNumber(3), docNumber(7)]);
    expect(closed.every((c) => c.open_minor === 0)).toBe(true);
    const ev = await store.db.selectFrom('events').select('payload').where('type', '=', 'item.closed').execute();
    const evidence = ev.map((e) => (e.payload as { evidence: string }).evidence).sort();
    expect(evidence).toHaveLength(2);
    expect(evidence[0]).toMatch(/^SAP clearing document 1400000003\/\d{4}$/);
    expect(evidence[1]).toMatch(/^SAP clearing document 1400000007\/\d{4}$/);
    expect((await run()).closed).toBe(0); // nothing cleared since: nothing closed twice
  });
});
