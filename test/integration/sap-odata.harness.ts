import { createSapOdataConnector } from '../../connectors/sap-odata/connector';
import { loadCompiledMapping } from '../../src/sync/registry';
import { docNumber, type SourceHarness } from '../conformance/source-connector.harness';
import { type SapGatewayOptions, startSapGateway } from '../simulators/sap-gateway/gateway';

export const SIM_USER = { user: 'CLEARHUB', password: 'initial-Pw1' };
const CUSTOMERS = ['10100001', '10100002', '10100003'];

/**
 * The sap-odata connector against the simulated SAP Gateway (server pages of 7 rows, client pages of 10, so both
 * `__next` links and `$skip` are in play). Write-back is `dunning_level`: SAP keeps dunning per customer account
 * (A_CustomerDunning), so `writtenBack()` reports each applied PATCH once for every seeded document of that customer.
 */
export async function makeSapOdataHarness(
  gatewayOptions: SapGatewayOptions = { pageSize: 7 },
): Promise<SourceHarness & { writeKind: 'dunning_level' }> {
  const gw = await startSapGateway(gatewayOptions);
  await gw.seedPartners(
    CUSTOMERS.map((id, i) => ({
      id,
      name: `Kunde ${i}`,
      category: i === 0 ? '1' : '2',
      email: `k${i}@example.org`,
      country: 'DE',
    })),
  );
  const customerOf = new Map<string, string>();
  const connector = createSapOdataConnector({
    baseUrl: gw.url,
    sapClient: '100',
    companyCodes: ['1010'],
    auth: { type: 'basic', ...SIM_USER },
    pageSize: 10,
    resilience: { timeoutMs: 1500, retries: 2, backoffBaseMs: 5, backoffMaxMs: 20 },
  });
  let touches = 0;
  const harness: SourceHarness & { writeKind: 'dunning_level' } = {
    connector,
    writeKind: 'dunning_level',
    map: loadCompiledMapping('mappings/sap-fi-ar-odata.v1.yaml'),
    async seed(from, n) {
      const docs: string[] = [];
      const items = [];
      for (let i = from; i < from + n; i++) {
        const customer = CUSTOMERS[i % CUSTOMERS.length]!;
        docs.push(docNumber(i));
        customerOf.set(docNumber(i), customer);
        items.push({ document: docNumber(i), customer, amount: '100.00' });
      }
      await gw.seedItems(items);
      return docs;
    },
    async seedBroken() {
      const doc = docNumber(999_999);
      customerOf.set(doc, CUSTOMERS[0]!);
      await gw.seedItems([{ document: doc, customer: CUSTOMERS[0], amount: '12.345' }]); // EUR has 2 decimals
      return doc;
    },
    async touch(doc) {
      gw.advanceDays(1);
      await gw.touchItem(doc, { AmountInTransactionCurrency: `${90 - ++touches}.00` });
    },
    async failOnRequest(nth) {
      gw.failOnRequest(nth, '503');
    },
    async writtenBack() {
      return gw.writes
        .filter((w) => w.set === 'A_CustomerDunning')
        .flatMap((w) => {
          const customer = /Customer='([^']*)'/.exec(w.key)?.[1];
          return [...customerOf]
            .filter(([, c]) => c === customer)
            .map(([documentNumber]) => ({ documentNumber, kind: 'dunning_level' as const }));
        });
    },
    async timeoutAfterApplyingNextWrite() {
      gw.timeoutAfterApplyingNextWrite();
    },
    close: () => gw.close(),
  };
  return harness;
}
