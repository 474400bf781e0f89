import { z } from 'zod';
import { sepaBic, sepaIban } from '../../../cash/pain001';
import { parseProviderOptions, via } from '../options';

/**
 * Options of the pay-on-invoice provider: the payment term and the account the invoice asks the payer to transfer to.
 *
 * @example
 * ```yaml
 * gateway:
 *   providers:
 *     invoice:
 *       paymentTermDays: 14
 *       creditorName: Demo Telco GmbH
 *       iban: DE89370400440532013000
 *       bic: COBADEFFXXX
 * ```
 */
export const invoiceConfigSchema = z.strictObject({
  /** Calendar days from today to the due date. @defaultValue 14 */
  paymentTermDays: z.int().min(0).max(365).default(14),
  /** Time zone of "today". @defaultValue 'Europe/Berlin' */
  timeZone: z.string().min(1).default('Europe/Berlin'),
  /** The payee named on the invoice, up to 70 characters. */
  creditorName: z.string().min(1).max(70),
  /** The account the invoice is paid into. */
  iban: via((s) => sepaIban(s, 'iban')),
  bic: via((s) => sepaBic(s, 'bic')).optional(),
});

export type InvoiceConfigInput = z.input<typeof invoiceConfigSchema>;
export type InvoiceConfig = z.output<typeof invoiceConfigSchema>;

/**
 * Validates the options.
 * @throws IntegrationError `invalid invoice provider options: paymentTermDays: …` naming the first bad option.
 */
export function parseInvoiceConfig(input: unknown): InvoiceConfig {
  return parseProviderOptions('invoice', invoiceConfigSchema, input);
}
