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
