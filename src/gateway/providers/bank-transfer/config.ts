import { z } from 'zod';
import { sepaBic, sepaIban } from '../../../cash/pain001';
import { IntegrationError } from '../../../domain/errors';

/** A zod string checked (and normalised) by one of our validators, which throw IntegrationError. */
const via = (check: (s: string) => string) =>
  z.string().transform((s, ctx) => {
    try {
      return check(s);
    } catch (err) {
      const message =
        err instanceof IntegrationError && err.field ? err.message.slice(err.field.length + 2) : String(err);
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
  });

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
  const r = bankTransferConfigSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new IntegrationError(
      `invalid bank-transfer provider options: ${problems.join('; ')}`,
      r.error.issues[0]?.path.map(String).join('.') || 'options',
    );
  }
  return r.data;
}
