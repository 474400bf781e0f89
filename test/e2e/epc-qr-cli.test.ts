/**
 * `clearhub epc-qr` as a user runs it: the built CLI (bin/clearhub.js → dist; `npm test` builds it first, or
 * `npx tsc -p tsconfig.build.json`), its PNG read back by zbar (`zbarimg`), its SVG checked as XML and read back too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(__dirname, '../../bin/clearhub.js');
const BUILT = resolve(__dirname, '../../dist/src/cli/epc-qr.js');
const hasZbar = spawnSync('zbarimg', ['--version']).status === 0;
if (!hasZbar) console.log('clearhub epc-qr: decoding skipped, zbarimg not installed (zbar-tools)');
const withZbar = hasZbar ? test : test.skip;

const dir = mkdtempSync(join(tmpdir(), 'clearhub-epc-qr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npm run build)`);
});

function clearhub(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'epc-qr', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
    cwd: dir,
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The symbol's bytes exactly (`-Sbinary`: no charset guessing, no line feed added). */
function zbarBytes(file: string): Buffer {
  const r = spawnSync('zbarimg', ['--raw', '-q', '-Sbinary', file]);
  if (r.status !== 0) throw new Error(`zbarimg found no code in ${file}`);
  return r.stdout;
}

/** Draws the SVG's module path (`M`, `m`, `h` runs) into a bitmap zbar reads, 8 pixels per module. */
function svgToPbm(svg: string): string {
  const size = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)?.[1]);
  const d = /<path[^>]*stroke="#000000"[^>]*\sd="([^"]+)"/.exec(svg)?.[1] ?? '';
  const dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let [x, y] = [0, 0];
  for (const [, cmd, a, b] of d.matchAll(/([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    if (cmd === 'M') [x, y] = [Number(a), Number(b)];
    else if (cmd === 'm') [x, y] = [x + Number(a), y + Number(b ?? 0)];
    else for (const end = x + Number(a); x < end; x++) dark[Math.floor(y)]![x] = true;
  }
  const rows = dark.flatMap((row) => {
    const line = row.flatMap((on) => new Array<string>(8).fill(on ? '1' : '0')).join(' ');
    return new Array<string>(8).fill(line);
  });
  return `P1\n${size * 8} ${size * 8}\n${rows.join('\n')}\n`;
}

describe('clearhub epc-qr', () => {
  withZbar('a PNG with an RF reference: a banking app reads every field back', () => {
    const out = join(dir, 'code.png');
    const r = clearhub(
      '--name',
      'Demo Telco GmbH',
      '--iban',
      'DE89 3704 0044 0532 0130 00',
      '--bic',
      'COBADEFFXXX',
      '--amount',
      '12.30',
      '--currency',
      'EUR',
      '--reference',
      'RF18 5390 0754 7034',
      '--out',
      out,
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(out);
    expect(readFileSync(out).subarray(1, 4).toString()).toBe('PNG');
    const plain = spawnSync('zbarimg', ['--raw', '-q', out], { encoding: 'utf8' });
    expect(plain.status).toBe(0);
    // zbarimg --raw ends the symbol with a line feed of its own.
    expect(plain.stdout.split('\n')).toEqual([
      'BCD', // service tag
      '002', // version
      '1', // UTF-8
      'SCT', // SEPA credit transfer
      'COBADEFFXXX',
      'Demo Telco GmbH',
      'DE89370400440532013000',
      'EUR12.30',
      '', // purpose
      'RF18539007547034',
      '', // no text beside a reference
      '',
    ]);
  });

  withZbar('a PNG with a text and no BIC keeps umlauts as UTF-8', () => {
    const out = join(dir, 'text.png');
    const r = clearhub(
      '--name',
      'Bäckerei Müller',
      '--iban',
      'DE02120300000000202051',
      '--amount',
      '5',
      '--text',
      'Rechnung 7 – Brötchen',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(zbarBytes(out).toString('utf8')).toBe(
      'BCD\n002\n1\nSCT\n\nBäckerei Müller\nDE02120300000000202051\nEUR5.00\n\n\nRechnung 7 – Brötchen',
    );
  });

  withZbar('an SVG is well-formed XML that holds the same code', () => {
    const out = join(dir, 'code.svg');
    const r = clearhub(
      '--name',
      'Demo Telco GmbH',
      '--iban',
      'DE89370400440532013000',
      '--amount',
      '0.01',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(spawnSync('xmllint', ['--noout', out]).status).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*viewBox="0 0 \d+ \d+"/);
    const pbm = join(dir, 'code.pbm');
    writeFileSync(pbm, svgToPbm(svg));
    expect(zbarBytes(pbm).toString('utf8')).toBe(
      'BCD\n002\n1\nSCT\n\nDemo Telco GmbH\nDE89370400440532013000\nEUR0.01\n\n\n',
    );
  });

  test.each([
    ['an invalid IBAN', ['--iban', 'DE89370400440532013001'], '--iban'],
    ['a currency other than EUR', ['--currency', 'CHF'], '--currency'],
    ['three decimals', ['--amount', '12.345'], '--amount'],
    ['a negative amount', ['--amount', '-1'], '--amount'],
    ['a reference with wrong check digits', ['--reference', 'RF19539007547034'], '--reference'],
    ['a reference that is no RF reference', ['--reference', 'INV-2027-42'], '--reference'],
    ['both a reference and a text', ['--reference', 'RF18539007547034', '--text', 'INV 42'], '--reference'],
    ['a bad BIC', ['--bic', 'COBADE'], '--bic'],
    ['a name longer than 70 characters', ['--name', 'N'.repeat(71)], '--name'],
    ['a file that is neither .png nor .svg', ['--out', 'code.jpg'], '--out'],
  ])('%s: exit code 2, the option named, no file', (_what, bad, option) => {
    const base: Record<string, string> = {
      '--name': 'Demo Telco GmbH',
      '--iban': 'DE89370400440532013000',
      '--amount': '12.30',
      '--currency': 'EUR',
      '--out': 'bad.png',
    };
    const args = Object.entries({ ...base, ...Object.fromEntries(pairs(bad)) }).flat();
    const r = clearhub(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`^clearhub: ${option}: `));
    expect(r.out).toBe('');
    expect(existsSync(join(dir, 'bad.png'))).toBe(false);
  });
});

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
