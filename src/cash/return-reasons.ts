/**
 * SEPA R-transaction reason codes (ISO 20022 ExternalReturnReason1Code / ExternalStatusReason1Code) that banks put on
 * returned direct debits and credit transfers, with what they mean for the creditor. `retry` says whether collecting
 * again from the same account can work (insufficient funds) or cannot (account closed, no mandate, debtor objected).
 */
export interface ReturnReason {
  code: string;
  text: string;
  retry: boolean;
}

const REASONS: readonly ReturnReason[] = [
  { code: 'AC01', text: 'incorrect account number', retry: false },
  { code: 'AC04', text: 'account closed', retry: false },
  { code: 'AC06', text: 'account blocked', retry: false },
  { code: 'AC13', text: 'debtor account is a consumer account', retry: false },
  { code: 'AG01', text: 'direct debits not allowed on this account', retry: false },
  { code: 'AG02', text: 'invalid bank operation code', retry: false },
  { code: 'AM04', text: 'insufficient funds', retry: true },
  { code: 'AM05', text: 'duplicate collection', retry: false },
  { code: 'BE05', text: 'creditor identifier unknown to the debtor bank', retry: false },
  { code: 'CNOR', text: 'creditor bank not registered', retry: false },
  { code: 'DNOR', text: 'debtor bank not registered', retry: false },
  { code: 'FF01', text: 'invalid file format', retry: true },
  { code: 'MD01', text: 'no valid mandate', retry: false },
  { code: 'MD02', text: 'mandate data missing or wrong', retry: false },
  { code: 'MD06', text: 'refund requested by the debtor', retry: false },
  { code: 'MD07', text: 'debtor deceased', retry: false },
  { code: 'MS02', text: 'refused by the debtor (reason not given)', retry: false },
  { code: 'MS03', text: 'refused by the debtor bank (reason not given)', retry: true },
  { code: 'RC01', text: 'bank identifier (BIC) wrong', retry: false },
  { code: 'RR01', text: 'debtor account or identification missing (regulatory)', retry: false },
  { code: 'RR02', text: "debtor's name or address missing (regulatory)", retry: false },
  { code: 'RR03', text: "creditor's name or address missing (regulatory)", retry: false },
  { code: 'RR04', text: 'regulatory reason', retry: false },
  { code: 'SL01', text: 'specific service of the debtor bank (creditor blocked)', retry: false },
  { code: 'FOCR', text: 'returned after a cancellation request', retry: false },
  { code: 'DUPL', text: 'duplicate payment', retry: false },
  { code: 'TECH', text: 'technical problem', retry: true },
  { code: 'FRAD', text: 'fraudulent origin', retry: false },
  { code: 'CUST', text: 'requested by the customer', retry: false },
];

const BY_CODE = new Map(REASONS.map((r) => [r.code, r]));

export function returnReason(code: string): ReturnReason {
  return BY_CODE.get(code.toUpperCase()) ?? { code, text: 'return reason not in the SEPA code list', retry: false };
}
