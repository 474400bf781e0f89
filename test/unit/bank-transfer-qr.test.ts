/**
 * EPC QR codes as a banking app reads them: rendered to PNG and SVG, then decoded by zbar (`zbarimg`), which knows
 * nothing of our code. `-Sbinary` makes zbar hand over the bytes of the symbol as they are, without guessing a
 * character set, so a UTF-8 umlaut is checked byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { epcQrPng, epcQrSvg, epcQrVersion } from '../../src/gateway/providers/bank-transfer/qr';
import { giroCodePayload } from '../../src/gateway/providers/bank-transfer/transformers';

const hasZbar = spawnSync('zbarimg', ['--version']).status === 0;
if (!hasZbar) console.log('EPC QR decoding skipped: zbarimg not installed (zbar-tools)');
const withZbar = hasZbar ? test : test.skip;

const dir = mkdtempSync(join(tmpdir(), 'clearhub-epcqr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The symbol's bytes as zbar reads them from an image file (in binary mode zbarimg adds no line feed). */
function zbar(file: string): Buffer {
  const r = spawnSync('zbarimg', ['--raw', '-q', '-Sbinary', file]);
  if (r.status !== 0) throw new Error(`zbarimg found no code in ${file} (exit ${r.status})`);
  return r.stdout;
}

/**
 * Draws an SVG QR code (one path of `M x y`, `m dx dy`, `h n` runs, as the qrcode renderer writes it) into a
 * portable bitmap zbar can read, 8 pixels per module.
 */
function svgToPbm(svg: string): string {
  const size = Number(/viewBox="0 0 (\d+) (\d+)"/.exec(svg)?.[1]);
  const d = /<path[^>]*stroke="#000000"[^>]*\sd="([^"]+)"/.exec(svg)?.[1] ?? '';
  const dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  let x = 0;
  let y = 0;
  for (const [, cmd, a, b] of d.matchAll(/([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?/g)) {
    const n = Number(a);
    if (cmd === 'M') [x, y] = [n, Number(b)];
    else if (cmd === 'm') [x, y] = [x + n, y + Number(b ?? 0)];
    else {
      const to = cmd === 'h' ? x + n : n;
      for (let i = x; i < to; i++) dark[Math.floor(y)]![i] = true;
      x = to;
    }
  }
  const scale = 8;
  const rows: string[] = [];
  for (const row of dark) {
    const line = row.flatMap((on) => new Array<string>(scale).fill(on ? '1' : '0')).join(' ');
    for (let i = 0; i < scale; i++) rows.push(line);
  }
  return `P1\n${size * scale} ${size * scale}\n${rows.join('\n')}\n`;
}

const TRANSFER = {
  name: 'Müller & Söhne GmbH',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
  amountMinor: 1230,
  currency: 'EUR' as const,
  reference: 'RF18539007547034',
};
const EXPECTED =
  'BCD\n002\n1\nSCT\nCOBADEFFXXX\nMüller & Söhne GmbH\nDE89370400440532013000\nEUR12.30\n\nRF18539007547034\n';

describe('EPC QR code images', () => {
  withZbar('the PNG decodes to the EPC fields, umlauts as UTF-8 bytes', async () => {
    const file = join(dir, 'code.png');
    writeFileSync(file, await epcQrPng(giroCodePayload(TRANSFER)));
    const bytes = zbar(file);
    expect(bytes.equals(Buffer.from(EXPECTED, 'utf8'))).toBe(true);
    expect(bytes.toString('utf8').split('\n')).toEqual([
      'BCD',
      '002',
      '1',
      'SCT',
      'COBADEFFXXX',
      'Müller & Söhne GmbH',
      'DE89370400440532013000',
      'EUR12.30',
      '',
      'RF18539007547034',
      '',
    ]);
  });

  withZbar('the SVG is well-formed XML holding the same QR code', async () => {
    const svg = await epcQrSvg(giroCodePayload({ ...TRANSFER, reference: undefined, text: 'Rechnung 2027-0042' }));
    const file = join(dir, 'code.svg');
    writeFileSync(file, svg);
    expect(spawnSync('xmllint', ['--noout', file]).status).toBe(0);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const pbm = join(dir, 'code.pbm');
    writeFileSync(pbm, svgToPbm(svg));
    expect(zbar(pbm).toString('utf8')).toBe(
      'BCD\n002\n1\nSCT\nCOBADEFFXXX\nMüller & Söhne GmbH\nDE89370400440532013000\nEUR12.30\n\n\nRechnung 2027-0042',
    );
  });

  withZbar('a payload that declares ISO 8859-1 is encoded in ISO 8859-1', async () => {
    const latin1 = 'BCD\n002\n2\nSCT\n\nJosé Größe\nDE89370400440532013000\nEUR1.00\n\n\nDanke';
    const file = join(dir, 'latin1.png');
    writeFileSync(file, await epcQrPng(latin1));
    expect(zbar(file).equals(Buffer.from(latin1, 'latin1'))).toBe(true);
  });

  test('the symbol stays within EPC limits: level M, at most version 13 and 331 bytes', () => {
    // 11 lines with a 70-character name and a 140-character text: the largest a GiroCode gets.
    const big = giroCodePayload({ ...TRANSFER, name: 'N'.repeat(70), reference: undefined, text: 'T'.repeat(140) });
    expect(epcQrVersion(big)).toBeLessThanOrEqual(13);
    expect(() => epcQrVersion(`${big}${'x'.repeat(200)}`)).toThrow(/^payload: .*331/);
    expect(() => epcQrVersion('hello')).toThrow(/^payload: /);
    expect(() => epcQrVersion('BCD\n002\n3\nSCT\n\nX\nDE89370400440532013000\nEUR1.00\n\n\n')).toThrow(
      /^payload: character set 3/,
    );
  });
});
