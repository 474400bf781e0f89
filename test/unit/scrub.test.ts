import { Writable } from 'node:stream';
import { createLogger, isValidIban, scrub, scrubText } from '../../src/api/logger';

const PAN = '4111111111111111'; // Luhn-valid test Visa
const PAN_SPACED = '5500 0000 0000 0004'; // Luhn-valid test Mastercard, written in groups
const IBAN = 'DE89370400440532013000';
const IBAN_SPACED = 'GB82 WEST 1234 5698 7654 32';
const TOKEN = 'chk_0123456789abcdef_Qm9ndXNTZWNyZXRWYWx1ZUZvckFQSUtleXMxMjM0NTY3OA';
const DB_URL = 'postgres://u:secret@h/db';

/** A logger whose lines are captured from its transport stream: what would reach stdout, byte for byte. */
function captured(json: boolean) {
  const lines: string[] = [];
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString('utf8');
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ level: 'info', json, stream });
  const flush = async (n: number) => {
    for (let i = 0; i < 100 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    return lines;
  };
  return { logger, flush };
}

const SECRETS = [
  PAN,
  '5500000000000004',
  '5500 0000 0000 0004',
  IBAN,
  'GB82WEST12345698765432',
  'GB82 WEST 1234',
  TOKEN,
  'Qm9ndXNTZWNyZXRWYWx1ZUZvckFQSUtleXMxMjM0NTY3OA',
  'u:secret@',
  'hunter2',
  'tr0ub4dor',
  'sk_live_abc123XYZ',
];

describe.each([
  ['json', true],
  ['text', false],
])('logger output (%s)', (_name, json) => {
  it('carries no card number, IBAN, API key, URL password or nested password, but keeps invoice numbers and amounts', async () => {
    const { logger, flush } = captured(json);
    logger.info(
      `card ${PAN} and ${PAN_SPACED} paid into ${IBAN}, key ${TOKEN}, db ${DB_URL}, invoice INV-2024-000123 amount 1234567890`,
      {
        request: {
          headers: { authorization: `Bearer ${TOKEN}` },
          body: { debtor: { password: 'hunter2', iban: IBAN_SPACED } },
        },
        config: { smtp: { user: 'mailer', pass: { secret: 'tr0ub4dor' } }, psp: `sk_live_abc123XYZ` },
        note: `refund to ${IBAN_SPACED}`,
        invoice: 'INV-2024-000123',
        amountMinor: 1234567890,
        list: [{ cardNumber: PAN }, `raw ${PAN}`],
      },
    );
    const [line] = await flush(1);
    expect(line).toBeDefined();
    for (const s of SECRETS) expect(line).not.toContain(s);
    expect(line).toContain('INV-2024-000123');
    expect(line).toContain('1234567890');
    expect(line).toContain('…1111'); // last four kept, so support can still tell cards apart
    expect(line).toContain('mailer');
    if (json) {
      const parsed = JSON.parse(line!);
      expect(parsed.request.body.debtor.password).toBe('[REDACTED]');
      expect(parsed.request.headers.authorization).toBe('[REDACTED]');
      expect(parsed.list[0].cardNumber).toBe('[REDACTED]');
      expect(parsed.amountMinor).toBe(1234567890);
      expect(parsed.message).toContain('postgres://u:[REDACTED]@h/db');
    }
  });

  it('scrubs an error logged with its stack', async () => {
    const { logger, flush } = captured(json);
    const err = new Error(`connect failed for ${DB_URL} with card ${PAN} password=hunter2`);
    logger.error('write-back failed', { err });
    const [line] = await flush(1);
    expect(line).toContain('write-back failed');
    expect(line).not.toContain('u:secret@');
    expect(line).not.toContain(PAN);
    expect(line).not.toContain('hunter2');
    // The stack keeps its frames: masking stops at the end of the secret.
    expect(line).toMatch(/password=\[REDACTED\]\\n {4}at /);
  });
});

describe('scrub', () => {
  it('leaves look-alikes alone: Luhn-invalid digits, IBANs with a wrong check, dates, long ids', () => {
    const text = 'order 4111111111111112 ref DE89370400440532013001 on 2024-01-15 12:30 id 12345678901234567890123';
    expect(scrubText(text)).toBe(text);
  });

  it('finds a card number inside a longer run of groups', () => {
    const out = scrubText('pan 4111 1111 1111 1111 12 end');
    expect(out).not.toContain('4111 1111 1111 1111');
    expect(out).toContain('12 end');
  });

  it('masks a card number given as a number and keeps ordinary numbers', () => {
    expect(scrub({ pan: 1, n: 4111111111111111, small: 42 })).toEqual({
      pan: '[REDACTED]',
      n: '[pan …1111]',
      small: 42,
    });
  });

  it('masks an IBAN in lower case and one followed by more words', () => {
    expect(scrubText('iban de89370400440532013000.')).toBe('iban [iban DE…3000].');
    expect(scrubText('DE89 3704 0044 0532 0130 00 EUR')).toBe('[iban DE…3000] EUR');
  });

  it('checks IBANs by mod 97 and country length', () => {
    expect(isValidIban('DE89370400440532013000')).toBe(true);
    expect(isValidIban('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(isValidIban('DE8937040044053201300')).toBe(false);
    expect(isValidIban('DE89370400440532013001')).toBe(false);
  });

  it('does not change its input and survives cycles', () => {
    const input: Record<string, unknown> = { password: 'x', nested: { token: 'y' } };
    input.self = input;
    const out = scrub(input) as Record<string, unknown>;
    expect(input.password).toBe('x');
    expect((input.nested as Record<string, unknown>).token).toBe('y');
    expect(out.password).toBe('[REDACTED]');
    expect(out.self).toBe('[Circular]');
  });

  it('is idempotent', () => {
    const once = scrubText(`${TOKEN} ${DB_URL} ${PAN} ${IBAN} password=abc`);
    expect(scrubText(once)).toBe(once);
  });
});

describe('personal data in logs', () => {
  test('e-mail addresses keep only their first letter and domain, and scrubbing twice changes nothing', () => {
    const once = scrubText('notice ntc-1 bounced for anna.mueller@example.org (550)');
    expect(once).toBe('notice ntc-1 bounced for a***@example.org (550)');
    expect(scrubText(once)).toBe(once);
    expect(scrubText('invoice INV-2024-000123 of 119.00 EUR')).toBe('invoice INV-2024-000123 of 119.00 EUR');
  });
});
