import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createSoapConnector, type SoapConnector, type SoapConnectorContext } from '../../connectors/soap/connector';
import { type SimulatorOptions, TelcoBillingSimulator } from '../../src/simulators/telco-billing/server';
import { loadCompiledMapping } from '../../src/sync/registry';
import type { SourceHarness } from '../conformance/source-connector.harness';
import { docNumber } from '../conformance/source-connector.harness';

export const REPO = join(__dirname, '../..');
export const MAPPING = 'mappings/telco-legacy-soap.v1.yaml';
export const CREDENTIALS = { user: 'clearhub', password: 'Sup3r-s3cret!pw' };
export const PASSWORD_VAR = 'TELCO_BILLING_PASSWORD';

/** The documented options for the telco WSDL, as shipped. */
export function exampleOptions(): Record<string, unknown> {
  return parse(readFileSync(join(REPO, 'connectors/soap/wsdl/telco-billing-v2.options.yaml'), 'utf8'));
}

/**
 * The shipped options pointed at a simulator: its endpoint, small pages (so a fault can hit the middle of a pull),
 * short timeouts and no read retries unless asked for.
 */
export function simulatorOptions(
  endpoint: string,
  overrides: { pageSize?: number; retries?: number; timeoutMs?: number; auth?: unknown } = {},
): Record<string, unknown> {
  const o = exampleOptions() as { operations: { openItems: Record<string, unknown> } } & Record<string, unknown>;
  o.operations.openItems.pageSize = overrides.pageSize ?? 10;
  return {
    ...o,
    endpoint,
    timeoutMs: overrides.timeoutMs ?? 1500,
    resilience: { retries: overrides.retries ?? 0, backoffBaseMs: 5, backoffMaxMs: 20, breakerThreshold: 50 },
    ...(overrides.auth !== undefined ? { auth: overrides.auth } : {}),
  };
}

/** A connector on the simulator; the password comes from the environment given (like a tenant's `${env:…}`). */
export function soapConnector(
  sim: TelcoBillingSimulator,
  overrides: Parameters<typeof simulatorOptions>[1] = {},
  context: SoapConnectorContext = {},
): SoapConnector {
  return createSoapConnector(simulatorOptions(sim.endpoint, overrides), REPO, {
    env: { [PASSWORD_VAR]: CREDENTIALS.password },
    ...context,
  });
}

const CUSTOMERS = [
  { customerNumber: 'K100001', customerType: 'RES', name: 'Jana Novak', language: 'DE', country: 'DE' },
  { customerNumber: 'K100002', customerType: 'BUS', name: 'Bäckerei Sommer GmbH', language: 'DE', country: 'DE' },
  { customerNumber: 'K100003', customerType: 'RES', name: 'Luca Bianchi', language: 'IT', country: 'AT' },
  { customerNumber: 'K100004', customerType: 'RES', name: 'Emre Yilmaz', language: 'TR', country: 'DE' },
] as const;

/** Puts n valid items numbered from `from` into the simulator, spread over four customers. */
export function seedItems(sim: TelcoBillingSimulator, from: number, n: number): string[] {
  for (const c of CUSTOMERS) {
    if (sim.customers.has(c.customerNumber)) continue;
    sim.addCustomer({
      customerNumber: c.customerNumber,
      customerType: c.customerType,
      name: c.name,
      email: `${c.customerNumber.toLowerCase()}@example.org`,
      msisdn: `+49151${c.customerNumber.slice(1)}`,
      language: c.language,
      segment: c.customerType === 'BUS' ? 'SME' : 'consumer',
      address: { street: 'Hauptstr. 1', postalCode: '50667', city: 'Köln', country: c.country },
      iban: 'DE89370400440532013000',
    });
  }
  const docs: string[] = [];
  for (let i = from; i < from + n; i++) {
    const c = CUSTOMERS[i % CUSTOMERS.length]!;
    sim.addItem({
      invoiceNumber: docNumber(i),
      contractAccount: `CA-${c.customerNumber.slice(1)}-${i % 2}`,
      customerNumber: c.customerNumber,
      invoiceDate: '2026-09-01',
      dueDate: '2026-10-01',
      amount: 2000 + i * 137,
      currency: 'EUR',
    });
    docs.push(docNumber(i));
  }
  return docs;
}

/** The SOAP connector's conformance harness: the telco billing simulator with HTTP Basic authentication. */
export async function makeSoapHarness(options: SimulatorOptions = {}): Promise<SourceHarness> {
  const sim = await TelcoBillingSimulator.start({ basic: CREDENTIALS, hangMs: 5000, ...options });
  let broken = 0;
  return {
    connector: soapConnector(sim),
    map: loadCompiledMapping(MAPPING),
    async seed(from, n) {
      return seedItems(sim, from, n);
    },
    async seedBroken() {
      seedItems(sim, 1, 0); // customers
      const doc = docNumber(99_000_000 + ++broken);
      sim.addItem({
        invoiceNumber: doc,
        contractAccount: 'CA-BROKEN',
        customerNumber: 'K100001',
        invoiceDate: '2026-09-01',
        dueDate: '2026-02-30',
        amount: 1000,
        currency: 'EUR',
        raw: { DueDate: '2026-02-30' },
      });
      return doc;
    },
    async touch(doc) {
      sim.touch(doc);
    },
    async failOnRequest(nth) {
      sim.failOnRequest(nth, 'http500');
    },
    async writtenBack() {
      return sim.postings.map((p) => ({
        documentNumber: p.invoiceNumber,
        kind: p.kind,
        ...(p.amount !== undefined ? { amountMinor: p.amount } : {}),
      }));
    },
    async timeoutAfterApplyingNextWrite() {
      sim.timeoutAfterApplyingNextWrite();
    },
    close: () => sim.close(),
  };
}
