import { z } from 'zod';
import { sepaBic, sepaIban } from '../../../cash/pain001';
import { creditorIdentifier } from '../../../cash/pain008';
import { parseProviderOptions, via } from '../options';

/**
 * Options of our SEPA direct debit provider: who we are as a creditor, and the rulebook timings agreed with our bank.
 *
 * @example
 * ```yaml
 * gateway:
 *   providers:
 *     sepa-direct-debit:
 *       creditorName: Demo Telco GmbH
 *       creditorIban: DE89370400440532013000
 *       creditorBic: COBADEFFXXX
 *       creditorId: DE98ZZZ09999999999
 *       localInstrument: CORE
 *       preNotificationDays: 14        # agreed shorter in the contract? say so here (at least 1)
 *       painVersion: pain.008.001.02   # German banks; pain.008.001.08 is the EPC's current version
 *       bicDirectory: { DE: { "37040044": COBADEFFXXX } }
 * ```
 */
export const sepaDirectDebitConfigSchema = z.strictObject({
  /** Our name as the debtor sees it in the pre-notification and the statement (up to 70 characters). */
  creditorName: z.string().min(1).max(70),
  /** The account the collections are paid into. */
  creditorIban: via((s) => sepaIban(s, 'creditorIban')),
  /** Optional within the EEA (IBAN-only). */
  creditorBic: via((s) => sepaBic(s, 'creditorBic')).optional(),
  /** SEPA creditor identifier (Gläubiger-ID), check digits verified, e.g. `DE98ZZZ09999999999`. */
  creditorId: via((s) => creditorIdentifier(s, 'creditorId')),
  /** `CORE` for consumers, `B2B` for businesses (no refund right, the debtor's bank must know the mandate). @defaultValue 'CORE' */
  localInstrument: z.enum(['CORE', 'B2B']).default('CORE'),
  /**
   * Calendar days between the pre-notification and the due date: 14 unless the mandate or contract agrees a shorter
   * period. @defaultValue 14
   */
  preNotificationDays: z.int().min(1).max(60).default(14),
  /**
   * TARGET2 business days the file must reach the bank before the due date: 1 for CORE and B2B since November 2016
   * (some banks ask for more). @defaultValue 1
   */
  submissionLeadDays: z.int().min(1).max(10).default(1),
  /**
   * The bank's daily cut-off (`HH:MM`, in `timeZone`); a file after it counts as submitted the next TARGET2 day.
   * Leave it out when files go in before any cut-off.
   */
  cutOffTime: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected HH:MM' })
    .optional(),
  /** Time zone of "today" and of the cut-off. @defaultValue 'Europe/Berlin' */
  timeZone: z.string().min(1).default('Europe/Berlin'),
  /** Calendar days before the due date a bank accepts a file at the earliest. @defaultValue 14 */
  maxSubmissionDaysAhead: z.int().min(1).max(30).default(14),
  /** @defaultValue 'pain.008.001.08' */
  painVersion: z.enum(['pain.008.001.08', 'pain.008.001.02']).default('pain.008.001.08'),
  /** Refunds are credit transfers. @defaultValue 'pain.001.001.09' */
  refundPainVersion: z.enum(['pain.001.001.09', 'pain.001.001.03']).default('pain.001.001.09'),
  /** Prefix of the mandate references we generate (the rest is the payment id, 32 characters). @defaultValue 'M' */
  mandateReferencePrefix: z
    .string()
    .regex(/^[A-Z0-9-]{0,3}$/, { error: 'expected up to 3 of A-Z 0-9 -' })
    .default('M'),
  /**
   * National bank code → BIC, per country, for debtors who give only an IBAN (e.g. from the Bundesbank's bank code
   * file). Without an entry the file says `NOTPROVIDED`, which is fine within the EEA.
   */
  bicDirectory: z
    .record(
      z.string().regex(/^[A-Z]{2}$/),
      z.record(
        z.string(),
        via((s) => sepaBic(s, 'bicDirectory')),
      ),
    )
    .default({}),
});

export type SepaDirectDebitConfigInput = z.input<typeof sepaDirectDebitConfigSchema>;
export type SepaDirectDebitConfig = z.output<typeof sepaDirectDebitConfigSchema>;

/**
 * Validates the options.
 * @throws IntegrationError `invalid sepa-direct-debit provider options: creditorId: …` naming the first bad option.
 */
export function parseSepaDirectDebitConfig(input: unknown): SepaDirectDebitConfig {
  return parseProviderOptions('sepa-direct-debit', sepaDirectDebitConfigSchema, input);
}
