/**
 * Test data of the Adyen simulator, following Adyen's TEST environment:
 *
 * - card fields in Adyen's documented unencrypted test format (`encryptedCardNumber: "test_4111111111111111"`,
 *   `encryptedExpiryMonth: "test_03"`, `encryptedExpiryYear: "test_2030"`, `encryptedSecurityCode: "test_737"`);
 * - cards that ask for 3-D Secure (redirect) and cards that do not;
 * - refusals triggered by `paymentMethod.holderName`, as Adyen's "Testing result codes and refusal reasons" table
 *   does (`NOT_ENOUGH_BALANCE` → Refused, "Not enough balance", refusalReasonCode 12).
 */

/** Brand by card number; all pass the Luhn check. `threeDS`: the issuer asks for a challenge (redirect). */
export const TEST_CARDS: Readonly<Record<string, { brand: string; threeDS: boolean }>> = {
  '4111111111111111': { brand: 'visa', threeDS: false },
  '4988438843884305': { brand: 'visa', threeDS: false },
  '5555341244441115': { brand: 'mc', threeDS: false },
  '5101180000000007': { brand: 'mc', threeDS: false },
  '370000000000002': { brand: 'amex', threeDS: false },
  '4212345678901237': { brand: 'visa', threeDS: true },
  '4917610000000000': { brand: 'visa', threeDS: true },
  '5454545454545454': { brand: 'mc', threeDS: true },
};

/** Outcome of a holderName magic value: Adyen's test table (holderName, refusalReason, resultCode, code). */
export interface HolderOutcome {
  resultCode: 'Authorised' | 'Refused' | 'Error' | 'Cancelled' | 'Received';
  refusalReason?: string;
  refusalReasonCode?: string;
}

export const HOLDER_NAME_OUTCOMES: Readonly<Record<string, HolderOutcome>> = {
  UNKNOWN: { resultCode: 'Error', refusalReason: 'Unknown', refusalReasonCode: '0' },
  APPROVED: { resultCode: 'Authorised' },
  DECLINED: { resultCode: 'Refused', refusalReason: 'Refused', refusalReasonCode: '2' },
  REFERRAL: { resultCode: 'Refused', refusalReason: 'Referral', refusalReasonCode: '3' },
  ERROR: { resultCode: 'Error', refusalReason: 'Acquirer Error', refusalReasonCode: '4' },
  BLOCK_CARD: { resultCode: 'Refused', refusalReason: 'Blocked Card', refusalReasonCode: '5' },
  CARD_EXPIRED: { resultCode: 'Refused', refusalReason: 'Expired Card', refusalReasonCode: '6' },
  INVALID_AMOUNT: { resultCode: 'Refused', refusalReason: 'Invalid Amount', refusalReasonCode: '7' },
  INVALID_CARD_NUMBER: { resultCode: 'Refused', refusalReason: 'Invalid Card Number', refusalReasonCode: '8' },
  ISSUER_UNAVAILABLE: { resultCode: 'Refused', refusalReason: 'Issuer Unavailable', refusalReasonCode: '9' },
  NOT_SUPPORTED: { resultCode: 'Refused', refusalReason: 'Not supported', refusalReasonCode: '10' },
  NOT_3D_AUTHENTICATED: { resultCode: 'Refused', refusalReason: '3D Not Authenticated', refusalReasonCode: '11' },
  NOT_ENOUGH_BALANCE: { resultCode: 'Refused', refusalReason: 'Not enough balance', refusalReasonCode: '12' },
  PENDING: { resultCode: 'Received' },
  ACQUIRER_FRAUD: { resultCode: 'Refused', refusalReason: 'Acquirer Fraud', refusalReasonCode: '14' },
  CANCELLED: { resultCode: 'Refused', refusalReason: 'Cancelled', refusalReasonCode: '15' },
  SHOPPER_CANCELLED: { resultCode: 'Refused', refusalReason: 'Shopper Cancelled', refusalReasonCode: '16' },
  INVALID_PIN: { resultCode: 'Refused', refusalReason: 'Invalid Pin', refusalReasonCode: '17' },
  PIN_TRIES_EXCEEDED: { resultCode: 'Refused', refusalReason: 'Pin tries exceeded', refusalReasonCode: '18' },
  FRAUD: { resultCode: 'Refused', refusalReason: 'FRAUD', refusalReasonCode: '20' },
  NOT_SUBMITTED: { resultCode: 'Refused', refusalReason: 'Not Submitted', refusalReasonCode: '21' },
  FRAUD_CANCELLED: { resultCode: 'Cancelled', refusalReason: 'FRAUD-CANCELLED', refusalReasonCode: '22' },
  TRANSACTION_NOT_PERMITTED: {
    resultCode: 'Refused',
    refusalReason: 'Transaction Not Permitted',
    refusalReasonCode: '23',
  },
  CVC_DECLINED: { resultCode: 'Refused', refusalReason: 'CVC Declined', refusalReasonCode: '24' },
  RESTRICTED_CARD: { resultCode: 'Refused', refusalReason: 'Restricted Card', refusalReasonCode: '25' },
  REVOCATION_OF_AUTH: { resultCode: 'Refused', refusalReason: 'Revocation Of Auth', refusalReasonCode: '26' },
  DECLINED_NON_GENERIC: { resultCode: 'Refused', refusalReason: 'Declined Non Generic', refusalReasonCode: '27' },
  WITHDRAWAL_AMOUNT_EXCEEDED: {
    resultCode: 'Refused',
    refusalReason: 'Withdrawal amount exceeded',
    refusalReasonCode: '28',
  },
  WITHDRAWAL_COUNT_EXCEEDED: {
    resultCode: 'Refused',
    refusalReason: 'Withdrawal count exceeded',
    refusalReasonCode: '29',
  },
  ISSUER_SUSPECTED_FRAUD: { resultCode: 'Refused', refusalReason: 'Issuer Suspected Fraud', refusalReasonCode: '31' },
  AVS_DECLINED: { resultCode: 'Refused', refusalReason: 'AVS Declined', refusalReasonCode: '32' },
};

/** Redirect methods the simulator serves: the shopper approves or rejects on the simulator's page. */
export const REDIRECT_METHODS: ReadonlySet<string> = new Set([
  'ideal',
  'eps',
  'bcmc_mobile',
  'paypal',
  'klarna',
  'klarna_paynow',
  'klarna_account',
  'trustly',
  'twint',
  'wero',
  'mobilepay',
  'vipps',
  'onlineBanking_PL',
  'paybybank',
  'swish',
]);

/** Methods that authorise at once without a shopper step (SEPA direct debit takes the IBAN and a mandate). */
export const DIRECT_METHODS: ReadonlySet<string> = new Set(['sepadirectdebit']);

/** Luhn check of a card number (digits only). */
export function luhn(pan: string): boolean {
  if (!/^\d{12,19}$/.test(pan)) return false;
  let total = 0;
  for (let i = 0; i < pan.length; i++) {
    let d = pan.charCodeAt(pan.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    total += d;
  }
  return total % 10 === 0;
}

/** The value of a test field (`test_4111…` → `4111…`), or undefined when it is not in the test format. */
export function testValue(v: unknown): string | undefined {
  return typeof v === 'string' && v.startsWith('test_') ? v.slice(5) : undefined;
}
