import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { formatMinor } from '../domain/money';

/** A small, fast, seedable PRNG (mulberry32): the demo and the benchmarks produce the same data for the same seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CSV_HEADER =
  'customer_no,customer_name,customer_type,email,phone,language,country,document_no,contract_no,document_date,due_date,currency,amount,open_amount,dunning_level,dunning_block';

const FIRST = [
  'Anna',
  'Ben',
  'Clara',
  'David',
  'Elif',
  'Finn',
  'Greta',
  'Hannah',
  'Jonas',
  'Lena',
  'Mehmet',
  'Mia',
  'Noah',
  'Paul',
  'Sofia',
  'Tom',
  'Yusuf',
  'Zoe',
];
const LAST = [
  'Müller',
  'Schmidt',
  'Schneider',
  'Fischer',
  'Weber',
  'Meyer',
  'Wagner',
  'Becker',
  'Schulz',
  'Hoffmann',
  'Koch',
  'Richter',
  'Yılmaz',
  'Klein',
  'Wolf',
  'Neumann',
];
const FIRMS = ['Bäckerei', 'Autohaus', 'Praxis', 'Kanzlei', 'Logistik', 'Café', 'Elektro', 'Gartenbau'];

export interface GenerateOptions {
  items: number;
  debtors: number;
  seed: number;
  /** The run date: due dates fall in the 90 days before it, plus a few not yet due. */
  asOf: string;
  /** Rows with a deliberate mistake (bad date, bad amount, missing key, unknown currency), spread through the file. */
  malformed?: number;
  documentPrefix?: string;
}

/**
 * Writes a realistic flat billing export: customers with one or more invoices (telco monthly bills, one contract each),
 * amounts from 9.99 to a few hundred euros, due dates over the last 90 days. Returns what it wrote.
 */
export async function writeSubledgerCsv(
  file: string,
  o: GenerateOptions,
): Promise<{ rows: number; malformed: number }> {
  const rand = rng(o.seed);
  const out = createWriteStream(file, { encoding: 'utf8' });
  const asOfMs = Date.parse(`${o.asOf}T00:00:00Z`);
  const day = (offset: number) => new Date(asOfMs + offset * 86_400_000).toISOString().slice(0, 10);
  const malformedEvery = o.malformed ? Math.floor(o.items / o.malformed) : 0;
  const prefix = o.documentPrefix ?? 'INV';
  let malformed = 0;
  let buf = `${CSV_HEADER}\n`;
  for (let n = 0; n < o.items; n++) {
    const d = n % o.debtors;
    const business = d % 7 === 0;
    const name = business
      ? `${FIRMS[d % FIRMS.length]} ${LAST[(d >> 3) % LAST.length]} GmbH`
      : `${FIRST[d % FIRST.length]} ${LAST[(d >> 2) % LAST.length]}`;
    const customer = `C${String(100000 + d)}`;
    const lang = d % 5 === 0 ? 'en' : 'de';
    const email = `kunde${100000 + d}@example.org`;
    const amountMinor = 999 + Math.floor(rand() * 30000);
    const dueOffset = -Math.floor(rand() * 90) + (rand() < 0.05 ? 14 : 0);
    let due = day(dueOffset);
    let amount = formatMinor(amountMinor, 'EUR');
    let currency = 'EUR';
    let doc = `${prefix}-${String(n + 1).padStart(8, '0')}`;
    if (malformedEvery && n % malformedEvery === malformedEvery - 1 && malformed < (o.malformed ?? 0)) {
      const kind = malformed % 4;
      if (kind === 0) due = due.replace(/-(\d\d)$/, '-32');
      if (kind === 1) amount = `${amount.replace('.', ',')},5`;
      if (kind === 2) doc = '';
      if (kind === 3) currency = 'EUX';
      malformed++;
    }
    const contract = `SIM-${String(500000 + d)}`;
    // The billing system dunned by itself before Clearhub took over: older items arrive with its level.
    const level = dueOffset <= -60 ? 3 : dueOffset <= -45 ? 2 : dueOffset <= -30 ? 1 : 0;
    buf += `${customer},"${name}",${business ? 'B2B' : 'B2C'},${email},+4915${String(10000000 + d * 7)},${lang},DE,${doc},${contract},${day(dueOffset - 14)},${due},${currency},${amount},${amount},${level},\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return { rows: o.items, malformed };
}

/** The subledgers of the multi-source demo, in the order their items are dealt out to a customer. */
export const DEMO_SOURCES = ['billing', 'fica', 'legacy-landline'] as const;
export type DemoSource = (typeof DEMO_SOURCES)[number];

/** One customer of the multi-source demo: the same customer (business partner) number in every subledger. */
export interface DemoCustomer {
  /** Ten digits, no leading zero: SAP's ALPHA conversion leaves it as it is, so every system spells it alike. */
  customerNo: string;
  name: string;
  business: boolean;
  email: string;
  phone: string;
  language: 'de' | 'en';
  /** FI-CA contract account (twelve digits). */
  contractAccount: string;
}

/** One open item of the multi-source demo. */
export interface DemoItem {
  source: DemoSource;
  customer: DemoCustomer;
  /** Unique across the subledgers: INV-… (CSV), twelve digits (FI-CA), LL-… (legacy SOAP billing). */
  documentNumber: string;
  contract: string;
  documentDate: string;
  dueDate: string;
  amountMinor: number;
  /** The dunning level the source system had reached before Clearhub took over. */
  level: number;
}

/** Customer d of the multi-source demo (deterministic, no randomness). */
export function demoCustomer(d: number): DemoCustomer {
  const business = d % 7 === 0;
  return {
    customerNo: String(1_000_100_000 + d),
    name: business
      ? `${FIRMS[d % FIRMS.length]} ${LAST[(d >> 3) % LAST.length]} GmbH`
      : `${FIRST[d % FIRST.length]} ${LAST[(d >> 2) % LAST.length]}`,
    business,
    email: `kunde${100000 + d}@example.org`,
    phone: `+4915${String(10000000 + d * 7)}`,
    language: d % 5 === 0 ? 'en' : 'de',
    contractAccount: String(200_000_000_000 + d),
  };
}

/**
 * The items of a telco whose receivables sit in three subledgers: item n belongs to customer n mod debtors, and a
 * customer's k-th item is in subledger k mod 3 (billing export, SAP FI-CA, legacy SOAP billing), so a customer with
 * three items or more owes in every system and must get one notice, not three.
 */
export function* demoLedger(o: { items: number; debtors: number; seed: number; asOf: string }): Generator<DemoItem> {
  const rand = rng(o.seed);
  const asOfMs = Date.parse(`${o.asOf}T00:00:00Z`);
  const day = (offset: number) => new Date(asOfMs + offset * 86_400_000).toISOString().slice(0, 10);
  const counters: Record<DemoSource, number> = { billing: 0, fica: 0, 'legacy-landline': 0 };
  for (let n = 0; n < o.items; n++) {
    const d = n % o.debtors;
    const source = DEMO_SOURCES[Math.floor(n / o.debtors) % DEMO_SOURCES.length]!;
    const no = ++counters[source];
    const customer = demoCustomer(d);
    const amountMinor = 999 + Math.floor(rand() * 30000);
    const dueOffset = -Math.floor(rand() * 90) + (rand() < 0.05 ? 14 : 0);
    const level = dueOffset <= -60 ? 3 : dueOffset <= -45 ? 2 : dueOffset <= -30 ? 1 : 0;
    const documentNumber =
      source === 'billing'
        ? `INV-${String(no).padStart(8, '0')}`
        : source === 'fica'
          ? String(100_000_000_000 + no)
          : `LL-${String(no).padStart(8, '0')}`;
    yield {
      source,
      customer,
      documentNumber,
      contract: source === 'fica' ? `${String(300_000_000 + d)}` : `SIM-${String(500000 + d)}`,
      documentDate: day(dueOffset - 14),
      dueDate: day(dueOffset),
      amountMinor,
      level,
    };
  }
}

/** Writes the billing export's share of the demo ledger as the generic CSV, with `malformed` rows spread through it. */
export async function writeDemoItemsCsv(file: string, items: DemoItem[], malformed = 0): Promise<number> {
  const every = malformed ? Math.max(1, Math.floor(items.length / malformed)) : 0;
  let broken = 0;
  const lines = [CSV_HEADER];
  items.forEach((i, n) => {
    const c = i.customer;
    let due = i.dueDate;
    let amount = formatMinor(i.amountMinor, 'EUR');
    let currency = 'EUR';
    let doc = i.documentNumber;
    if (every && n % every === every - 1 && broken < malformed) {
      const kind = broken % 4;
      if (kind === 0) due = due.replace(/-(\d\d)$/, '-32');
      if (kind === 1) amount = `${amount.replace('.', ',')},5`;
      if (kind === 2) doc = '';
      if (kind === 3) currency = 'EUX';
      broken++;
    }
    lines.push(
      `${c.customerNo},"${c.name}",${c.business ? 'B2B' : 'B2C'},${c.email},${c.phone},${c.language},DE,${doc},${i.contract},${i.documentDate},${due},${currency},${amount},${amount},${i.level},`,
    );
  });
  const out = createWriteStream(file, { encoding: 'utf8' });
  out.end(`${lines.join('\n')}\n`);
  await once(out, 'finish');
  return broken;
}
