/**
 * SEPA R-transaction reason codes (ISO 20022 ExternalReturnReason1Code, as the EPC SDD rulebooks use them) → our
 * unified decline codes. They arrive in bank statements (camt.053/054 `RtrInf/Rsn/Cd`, MT940 `:86:` `SVWZ`/`RTRN`
 * details) and in pain.002 status reports. Data, not logic: add a row when a new code shows up.
 */
import type { Decline, DeclineCode } from '../types';

export const RETURN_REASONS: Readonly<Record<string, { code: DeclineCode; meaning: string }>> = {
  AC01: { code: 'invalid_account', meaning: 'account identifier incorrect (invalid IBAN)' },
  AC04: { code: 'invalid_account', meaning: 'account closed' },
  AC06: { code: 'invalid_account', meaning: 'account blocked' },
  AC13: { code: 'not_supported', meaning: 'debtor account is a consumer account (B2B)' },
  AG01: { code: 'not_supported', meaning: 'direct debit forbidden on this account' },
  AG02: { code: 'processing_error', meaning: 'invalid bank operation code' },
  AM04: { code: 'insufficient_funds', meaning: 'insufficient funds' },
  AM05: { code: 'processing_error', meaning: 'duplicate collection' },
  BE05: { code: 'processing_error', meaning: 'creditor identifier unknown to the bank' },
  CNOR: { code: 'processing_error', meaning: 'creditor bank not registered in the clearing system' },
  DNOR: { code: 'invalid_account', meaning: 'debtor bank not registered in the clearing system' },
  FF01: { code: 'processing_error', meaning: 'invalid file format' },
  MD01: { code: 'authentication_failed', meaning: 'no valid mandate' },
  MD02: { code: 'processing_error', meaning: 'mandate data missing or incorrect' },
  MD06: { code: 'other', meaning: 'refund requested by the debtor (authorised, within 8 weeks)' },
  MD07: { code: 'invalid_account', meaning: 'debtor deceased' },
  MS02: { code: 'canceled_by_shopper', meaning: 'refused by the debtor' },
  MS03: { code: 'other', meaning: 'reason not specified' },
  RC01: { code: 'invalid_account', meaning: 'BIC incorrect' },
  RR01: { code: 'processing_error', meaning: 'debtor account or identification missing (regulatory)' },
  RR02: { code: 'processing_error', meaning: 'debtor name or address missing (regulatory)' },
  RR03: { code: 'processing_error', meaning: 'creditor name or address missing (regulatory)' },
  RR04: { code: 'other', meaning: 'regulatory reason' },
  SL01: {
    code: 'not_supported',
    meaning: 'specific service offered by the debtor bank (e.g. debit blocked for this creditor)',
  },
};

/** The decline a return reason stands for; an unknown code is `other` with the code kept verbatim. */
export function declineOfReturn(reasonCode: string): Decline {
  const code = reasonCode.trim().toUpperCase();
  const known = RETURN_REASONS[code];
  return {
    code: known?.code ?? 'other',
    providerCode: code,
    message: known ? `SEPA return ${code}: ${known.meaning}` : `SEPA return ${code}`,
  };
}
