import { z } from 'zod';
import { sepaBic, sepaIban } from '../../../cash/pain001';
import { parseProviderOptions, via } from '../options';

/**
 * Options of our bank transfer provider: the account the payer transfers to.
 *
 * @example
 * ```yaml
 * gateway:
 *   providers:
 *     bank-transfer:
 *       creditorName: Demo Telco GmbH
 *       iban: DE89370400440532013000
 *       bic: COBADEFFXXX
 * ```
 */
export const bankTransferConfigSchema = z.strictObject({
  /** The beneficiary's name the payer's bank shows (and checks: Verification of Payee), up to 70 characters. */
  creditorName: z
    .string()
    .min(1)
    .max(70)
    .refine((s) => !/[\r\n]/.test(s), { error: 'must be one line' }),
  /** The account the payer transfers to. */
  iban: via((s) => sepaIban(s, 'iban')),
  /** Optional within the EEA; printed in the instructions and the QR code when given. */
  bic: via((s) => sepaBic(s, 'bic')).optional(),
});

export type BankTransferConfigInput = z.input<typeof bankTransferConfigSchema>;
export type BankTransferConfig = z.output<typeof bankTransferConfigSchema>;

/**
 * Validates the options.
 * @throws IntegrationError `invalid bank-transfer provider options: iban: …` naming the first bad option.
 */
export function parseBankTransferConfig(input: unknown): BankTransferConfig {
  return parseProviderOptions('bank-transfer', bankTransferConfigSchema, input);
}
