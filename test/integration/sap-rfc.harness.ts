import type { SapRfcConnectorConfigInput } from '../../connectors/sap-rfc/config';
import { createSapRfcConnector, type SapRfcConnector } from '../../connectors/sap-rfc/connector';
import { type FakeSapOptions, FakeSapRfc } from '../../src/simulators/sap-rfc/fake-transport';
import { loadCompiledMapping } from '../../src/sync/registry';
import { docNumber, type HarnessFactory, type SourceHarness } from '../conformance/source-connector.harness';

/** The customers of the harness's company code; seeded items are spread over them (one RFC read each). */
export const HARNESS_CUSTOMERS = ['10100001', '10100002', '10100003', '10100004'];
export const HARNESS_COMPANY_CODE = '1010';

/** FI-AR options against the fake: small batches so that a failure can hit the middle of a pull; no read retries. */
export function fiArOptions(overrides: Partial<SapRfcConnectorConfigInput> = {}): SapRfcConnectorConfigInput {
  return {
    variant: 'fi-ar',
    connection: { dest: 'FAKE' },
    companyCodes: [HARNESS_COMPANY_CODE],
    customers: HARNESS_CUSTOMERS,
    posting: { bankClearingAccount: '113109' },
    batchSize: 3,
    resilience: { retries: 0, breakerThreshold: 1000 },
    ...overrides,
  } as SapRfcConnectorConfigInput;
}

export interface SapRfcHarness extends SourceHarness {
  connector: SapRfcConnector;
  fake: FakeSapRfc;
}

/**
 * The source-connector harness for sap-rfc, variant fi-ar: the connector on the fake transport, with the
 * sap-fi-ar-rfc.v1 mapping. Items are invoices of 100.00 + i cents, baseline 2024-01-15, 30 days net.
 */
export async function createSapRfcHarness(
  opts: { options?: Partial<SapRfcConnectorConfigInput>; fake?: FakeSapOptions } = {},
): Promise<SapRfcHarness> {
  const fake = new FakeSapRfc(opts.fake);
  const connector = createSapRfcConnector(fiArOptions(opts.options), process.cwd(), fake);
  let broken = 0;
  return {
    connector,
    fake,
    map: loadCompiledMapping('mappings/sap-fi-ar-rfc.v1.yaml'),
    async seed(from, n) {
      const docs: string[] = [];
      for (let i = from; i < from + n; i++) {
        const doc = docNumber(i);
        fake.seedAr({
          COMP_CODE: HARNESS_COMPANY_CODE,
          CUSTOMER: HARNESS_CUSTOMERS[i % HARNESS_CUSTOMERS.length]!,
          DOC_NO: doc,
          amountMinor: 10_000 + i,
          BLINE_DATE: '20240115',
          NETTERMS: '30',
        });
        docs.push(doc);
      }
      return docs;
    },
    async seedBroken() {
      // Austrian schillings: a currency SAP still holds in old documents, unknown to our exponent table.
      const doc = `80${String(++broken).padStart(8, '0')}`;
      fake.seedAr({
        COMP_CODE: HARNESS_COMPANY_CODE,
        CUSTOMER: HARNESS_CUSTOMERS[0]!,
        DOC_NO: doc,
        CURRENCY: 'ATS',
        AMT_DOCCUR: '5000.0000',
      });
      return doc;
    },
    async touch(documentNumber) {
      fake.touch(documentNumber);
    },
    async failOnRequest(nth) {
      fake.failOnRead(nth);
    },
    async writtenBack() {
      return fake.committed.map((p) => ({
        documentNumber: p.documentNumber,
        kind: 'payment' as const,
        amountMinor: p.amountMinor,
      }));
    },
    async timeoutAfterApplyingNextWrite() {
      fake.timeoutAfterApplyingNextWrite();
    },
    async close() {
      await connector.close();
    },
  };
}

export const sapRfcHarnessFactory: HarnessFactory = () => createSapRfcHarness();
