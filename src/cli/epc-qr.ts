import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import { IntegrationError } from '../domain/errors';
import { formatMinor, parseAmountInput } from '../domain/money';
import { epcQrPng, epcQrSvg, epcQrVersion } from '../gateway/providers/bank-transfer/qr';
import { giroCodePayload, groupInFours, isCreditorReference } from '../gateway/providers/bank-transfer/transformers';

interface EpcQrOptions {
  name: string;
  iban: string;
  bic?: string;
  amount: string;
  currency: string;
  reference?: string;
  text?: string;
  out: string;
}

/** Payload fields → the option a user typed, so an error names what to fix. */
const OPTION_OF: Readonly<Record<string, string>> = {
  name: '--name',
  iban: '--iban',
  bic: '--bic',
  amountMinor: '--amount',
  currency: '--currency',
  reference: '--reference',
  text: '--text',
};

/** Checks the options and builds the EPC069-12 payload; every error is an IntegrationError naming the option. */
export function epcQrPayloadFromOptions(o: EpcQrOptions): string {
  const format = extname(o.out).toLowerCase();
  if (format !== '.png' && format !== '.svg') {
    throw new IntegrationError(`"${o.out}" must end in .png or .svg`, '--out');
  }
  const currency = o.currency.toUpperCase();
  if (currency !== 'EUR')
    throw new IntegrationError(`the EPC QR code carries euro amounts only, not ${o.currency}`, '--currency');
  if (/^\d+\.\d{3,}$/.test(o.amount)) throw new IntegrationError(`"${o.amount}" has more than 2 decimals`, '--amount');
  if (!/^\d+(\.\d{1,2})?$/.test(o.amount)) {
    throw new IntegrationError(`"${o.amount}" is not an amount such as 12.30`, '--amount');
  }
  const iban = electronicFormatIBAN(o.iban) ?? '';
  if (!isValidIBAN(iban)) throw new IntegrationError(`"${o.iban}" is not a valid IBAN`, '--iban');
  if (o.reference !== undefined && o.text !== undefined) {
    throw new IntegrationError('give --reference or --text, not both', '--reference');
  }
  if (o.reference !== undefined && !isCreditorReference(o.reference)) {
    throw new IntegrationError(
      `"${o.reference}" is not an ISO 11649 reference (RF + 2 check digits + up to 21 characters)`,
      '--reference',
    );
  }
  try {
    return giroCodePayload({
      name: o.name,
      iban,
      ...(o.bic !== undefined ? { bic: o.bic } : {}),
      amountMinor: parseAmountInput(o.amount, 'EUR', '--amount'),
      currency: 'EUR',
      ...(o.reference !== undefined ? { reference: o.reference } : {}),
      ...(o.text !== undefined ? { text: o.text } : {}),
    });
  } catch (err) {
    if (err instanceof IntegrationError && err.field && OPTION_OF[err.field]) {
      throw new IntegrationError(err.message.slice(err.field.length + 2), OPTION_OF[err.field]);
    }
    throw err;
  }
}

/** Registers `clearhub epc-qr`: an EPC069-12 (GiroCode) QR code for a SEPA credit transfer, as PNG or SVG. */
export function registerEpcQr(program: Command): void {
  program
    .command('epc-qr')
    .description('write an EPC QR code (GiroCode) a banking app scans to pre-fill a SEPA credit transfer')
    .requiredOption('--name <name>', 'beneficiary name, up to 70 characters')
    .requiredOption('--iban <iban>', 'beneficiary IBAN')
    .option('--bic <bic>', 'beneficiary BIC (optional within the EEA)')
    .requiredOption('--amount <decimal>', 'amount in euro with a point, e.g. 12.30')
    .option('--currency <code>', 'must be EUR', 'EUR')
    .option('--reference <rf>', 'ISO 11649 creditor reference, e.g. RF18539007547034')
    .option('--text <text>', 'remittance text, up to 140 characters (instead of --reference)')
    .requiredOption('--out <file>', 'where to write the code: a .png or .svg file')
    .action(async (o: EpcQrOptions) => {
      const payload = epcQrPayloadFromOptions(o);
      const version = epcQrVersion(payload);
      const svg = extname(o.out).toLowerCase() === '.svg';
      writeFileSync(o.out, svg ? await epcQrSvg(payload) : await epcQrPng(payload));
      const lines = payload.split('\n');
      const amountMinor = parseAmountInput(o.amount, 'EUR', '--amount');
      console.log(
        `wrote ${o.out}: EPC QR code, QR version ${version}, error correction M, ${Buffer.byteLength(payload)} bytes UTF-8`,
      );
      console.log(
        `  pay ${formatMinor(amountMinor, 'EUR')} EUR to ${lines[5]}, IBAN ${groupInFours(lines[6] ?? '')}${lines[4] ? `, BIC ${lines[4]}` : ''}`,
      );
      if (lines[9]) console.log(`  reference ${groupInFours(lines[9])}`);
      else if (lines[10]) console.log(`  text ${lines[10]}`);
    });
}
