/**
 * Our SEPA direct debit provider as the checkout and the back office use it: mandate and pre-notification at create,
 * FRST then RCUR, pain.008 files the bank accepts (DK schema), cancel before submission, refunds as pain.001, returns
 * from statements. The clock is pinned; dates are checked by hand against the TARGET2 calendar.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IntegrationError } from '../../src/domain/errors';
import { parseSepaDirectDebitConfig } from '../../src/gateway/providers/sepa-direct-debit/config';
import {
  createSepaDirectDebitProvider,
  type SepaDirectDebitProvider,
} from '../../src/gateway/providers/sepa-direct-debit/provider';
import { InMemorySepaStore } from '../../src/gateway/providers/sepa-direct-debit/store';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';

const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const XSD = join(CONTRACTS, 'banking/xsd');
const canValidate = existsSync(XSD) && spawnSync('xmllint', ['--version']).status === 0;
if (!canValidate) console.log(`SEPA provider: XSD validation skipped (no ${XSD} or no xmllint)`);

const dir = mkdtempSync(join(tmpdir(), 'clearhub-sdd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 'valid', the validator's complaint, or 'skipped' without the schemas. */
function xmllint(xml: string, xsd: string): string {
  if (!canValidate) return 'valid';
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', join(XSD, xsd), file], { encoding: 'utf8' });
  return r.status === 0 ? 'valid' : r.stderr;
}

const all = (xml: string, tag: string) =>
  [...xml.matchAll(new RegExp(`<${tag}(?: [^>]*)?>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);

const CONFIG = {
  creditorName: 'Demo Telco GmbH',
  creditorIban: 'DE89 3704 0044 0532 0130 00',
  creditorBic: 'COBADEFFXXX',
  creditorId: 'DE98ZZZ09999999999',
  painVersion: 'pain.008.001.02' as const,
  refundPainVersion: 'pain.001.001.03' as const,
};

const ERIKA_IBAN = 'DE02120300000000202051';
let clock = new Date('2027-03-15T09:00:00Z'); // Monday 15 March 2027, 10:00 in Berlin
let store: InMemorySepaStore;
let sdd: SepaDirectDebitProvider;
let n = 0;

beforeEach(() => {
  clock = new Date('2027-03-15T09:00:00Z');
  store = new InMemorySepaStore();
  sdd = createSepaDirectDebitProvider({ config: CONFIG, store, now: () => clock });
});

function input(over: Partial<CreatePaymentInput> = {}): CreatePaymentInput {
  const paymentId = `0195f2a0-0000-7000-8000-${String(++n).padStart(12, '0')}`;
  return {
    paymentId,
    idempotencyKey: `payment:${paymentId}:create`,
    amountMinor: 1234,
    currency: 'EUR',
    method: 'sepa_direct_debit',
    providerType: 'sepa_direct_debit',
    capture: 'automatic',
    returnUrl: 'https://shop.example/return',
    locale: 'de-DE',
    description: 'Rechnung 2027-0042 Mobilfunk März',
    payer: { debtorId: 'D-1', name: 'Jürgen Müller' },
    methodData: { iban: ERIKA_IBAN, accountHolder: 'Jürgen Müller' },
    recurring: 'first',
    ...over,
  };
}

describe('SEPA direct debit: create', () => {
  test('a new mandate: pending, due after 14 days of notice (Easter Monday → Tuesday), pre-notification shown', async () => {
    const p = await sdd.create(input());
    expect(p.status).toBe('pending');
    expect(p.capturedMinor).toBe(0);
    expect(p.recurringReference).toMatch(/^M[0-9a-f]{32}$/);
    expect(p.nextAction).toMatchObject({ type: 'await', dueDate: '2027-03-30' });
    const note = p.nextAction.type === 'await' ? (p.nextAction.note ?? '') : '';
    expect(note).toContain('30. März 2027');
    expect(note).toMatch(/12,34\s€/);
    expect(note).toContain('DE98ZZZ09999999999');
    expect(note).toContain(p.recurringReference);
    expect(note).toContain('Demo Telco GmbH');
    expect(note).toContain('DE02 **** 2051');
    expect(note).not.toContain(ERIKA_IBAN);
    expect(note).toContain('Rechnung 2027-0042 Mobilfunk Maerz');
    const again = await sdd.retrieve(p.providerReference);
    expect(again).toEqual(p);
  });

  test('an English pre-notification for an English-speaking debtor', async () => {
    const p = await sdd.create(input({ locale: 'en-GB' }));
    const note = p.nextAction.type === 'await' ? p.nextAction.note : '';
    expect(note).toMatch(
      /^Pre-notification: Demo Telco GmbH will collect €12\.34 on 30 March 2027 by SEPA Core direct debit/,
    );
  });

  test('the same create twice is one collection; another key for the same payment is refused', async () => {
    const i = input();
    const a = await sdd.create(i);
    const b = await sdd.create(i);
    expect(b.providerReference).toBe(a.providerReference);
    expect(await store.listCollections({})).toHaveLength(1);
    await expect(sdd.create({ ...i, idempotencyKey: 'other' })).rejects.toThrow(/^idempotencyKey: /);
  });

  test('bad input is an IntegrationError naming the field, without repeating the IBAN', async () => {
    const bad = async (over: Partial<CreatePaymentInput>) =>
      sdd.create(input(over)).then(
        () => 'accepted',
        (e: unknown) => (e instanceof IntegrationError ? e.message : `not an IntegrationError: ${String(e)}`),
      );
    const badIban = await bad({ methodData: { iban: 'DE02120300000000202052', accountHolder: 'X' } });
    expect(badIban).toMatch(/^methodData\.iban: /);
    expect(badIban).not.toContain('202052');
    expect(await bad({ methodData: { iban: 'US12345678901234567890', accountHolder: 'X' } })).toMatch(
      /^methodData\.iban: /,
    );
    expect(await bad({ methodData: { accountHolder: 'X' } })).toMatch(/^methodData\.iban: .*required/);
    expect(await bad({ methodData: { iban: ERIKA_IBAN }, payer: {} })).toMatch(/^methodData\.accountHolder: /);
    expect(await bad({ currency: 'CHF' })).toMatch(/^currency: /);
    expect(await bad({ amountMinor: 0 })).toMatch(/^amountMinor: /);
    expect(await bad({ capture: 'manual' })).toMatch(/^capture: /);
    expect(
      await bad({
        methodData: { iban: ERIKA_IBAN, accountHolder: 'X', extra: { mandateReference: 'Vertrag/Nr. 7 ä' } },
      }),
    ).toMatch(/^methodData\.extra\.mandateReference: /);
    expect(
      await bad({ methodData: { iban: ERIKA_IBAN, accountHolder: 'X', extra: { mandateReference: 'M'.repeat(36) } } }),
    ).toMatch(/^methodData\.extra\.mandateReference: .*35/);
    expect(
      await bad({ methodData: { iban: ERIKA_IBAN, accountHolder: 'X', extra: { mandateSignedOn: '2027-03-16' } } }),
    ).toMatch(/^methodData\.extra\.mandateSignedOn: .*future/);
    expect(
      await bad({ methodData: { iban: ERIKA_IBAN, accountHolder: 'X', extra: { dueDate: '2027-03-25' } } }),
    ).toMatch(/^methodData\.extra\.dueDate: .*2027-03-30/);
    // Switzerland is SEPA but not EEA: no IBAN-only.
    expect(await bad({ methodData: { iban: 'CH9300762011623852957', accountHolder: 'X' } })).toMatch(
      /^methodData\.extra\.bic: /,
    );
    expect(await bad({ recurring: 'subsequent', methodData: {} })).toMatch(/^methodData\.mandateId: /);
    expect(await bad({ methodData: { mandateId: 'NO-SUCH' } })).toMatch(/^methodData\.mandateId: /);
  });

  test('a mandate reference is unique without regard to case', async () => {
    const extra = { mandateReference: 'Vertrag-4711' };
    await sdd.create(input({ methodData: { iban: ERIKA_IBAN, accountHolder: 'X', extra } }));
    await expect(
      sdd.create(
        input({ methodData: { iban: ERIKA_IBAN, accountHolder: 'X', extra: { mandateReference: 'VERTRAG-4711' } } }),
      ),
    ).rejects.toThrow(/^methodData\.extra\.mandateReference: .*another mandate/);
  });

  test('an invalid creditor identifier in the configuration is refused, naming the option', () => {
    expect(() => parseSepaDirectDebitConfig({ ...CONFIG, creditorId: 'DE99ZZZ09999999999' })).toThrow(
      expect.objectContaining({ field: 'creditorId', message: expect.stringMatching(/check digits/) }),
    );
    expect(() => parseSepaDirectDebitConfig({ ...CONFIG, creditorIban: 'DE89370400440532013001' })).toThrow(
      expect.objectContaining({ field: 'creditorIban' }),
    );
    expect(parseSepaDirectDebitConfig(CONFIG)).toMatchObject({
      creditorIban: 'DE89370400440532013000',
      preNotificationDays: 14,
    });
  });
});

describe('SEPA direct debit: sequence types and files', () => {
  test("a mandate's first collection is FRST, its second RCUR; each goes out in its own window, in a file the bank accepts", async () => {
    const first = await sdd.create(input());
    const mandateId = first.recurringReference!;
    const second = await sdd.create(
      input({
        recurring: 'subsequent',
        methodData: { mandateId, extra: { dueDate: '2027-04-15' } },
        amountMinor: 5000,
      }),
    );
    expect(second.recurringReference).toBe(mandateId);
    expect(second.nextAction).toMatchObject({ type: 'await', dueDate: '2027-04-15' });

    // Too early for both (a bank takes files at most 14 days ahead): nothing to send.
    expect((await sdd.writeCollectionFile()).file).toBeUndefined();

    clock = new Date('2027-03-24T09:00:00Z');
    const r1 = await sdd.writeCollectionFile({ messageId: 'SDD-20270324-1' });
    expect(r1.submitted).toEqual([first.providerReference]);
    const xml1 = r1.file!.xml;
    expect(all(xml1, 'SeqTp')).toEqual(['FRST']);
    expect(all(xml1, 'ReqdColltnDt')).toEqual(['2027-03-30']);
    expect(all(xml1, 'MndtId')).toEqual([mandateId]);
    expect(all(xml1, 'DtOfSgntr')).toEqual(['2027-03-15']);
    expect(all(xml1, 'EndToEndId')).toEqual([first.providerReference]);
    expect(all(xml1, 'CtrlSum')).toEqual(['12.34', '12.34']);
    expect(all(xml1, 'Nm')).toContain('Juergen Mueller');
    expect(all(xml1, 'Ustrd')).toEqual(['Rechnung 2027-0042 Mobilfunk Maerz']);
    expect(xmllint(xml1, 'dk-gbic-variants/pain.008.001.02.dk.xsd')).toBe('valid');
    expect((await sdd.retrieve(first.providerReference)).providerStatus).toBe('submitted');
    expect((await sdd.file('SDD-20270324-1'))?.xml).toBe(xml1);

    clock = new Date('2027-04-05T09:00:00Z');
    const r2 = await sdd.writeCollectionFile({ messageId: 'SDD-20270405-1' });
    expect(r2.submitted).toEqual([second.providerReference]);
    expect(all(r2.file!.xml, 'SeqTp')).toEqual(['RCUR']);
    expect(all(r2.file!.xml, 'CtrlSum')).toEqual(['50.00', '50.00']);
    expect(xmllint(r2.file!.xml, 'dk-gbic-variants/pain.008.001.02.dk.xsd')).toBe('valid');
  });

  test('several collections in one file: NbOfTxs and CtrlSum per sequence type, pain.008.001.08 valid', async () => {
    const sdd08 = createSepaDirectDebitProvider({
      config: { ...CONFIG, painVersion: 'pain.008.001.08' },
      now: () => clock,
    });
    const a = await sdd08.create(input({ amountMinor: 1999 }));
    await sdd08.create(
      input({ amountMinor: 1, recurring: 'subsequent', methodData: { mandateId: a.recurringReference } }),
    );
    await sdd08.create(
      input({
        amountMinor: 25_000,
        recurring: undefined,
        methodData: { iban: 'AT611904300234573201', accountHolder: 'Ödön Horváth' },
      }),
    );
    clock = new Date('2027-03-24T09:00:00Z');
    const { file } = await sdd08.writeCollectionFile();
    const xml = file!.xml;
    // 19.99 FRST; 0.01 RCUR; 250.00 OOFF — all due 30 March.
    expect(all(xml, 'NbOfTxs')).toEqual(['3', '1', '1', '1']);
    expect(all(xml, 'CtrlSum')).toEqual(['270.00', '19.99', '0.01', '250.00']);
    expect(all(xml, 'SeqTp')).toEqual(['FRST', 'RCUR', 'OOFF']);
    expect(all(xml, 'Nm')).toContain('Oedoen Horvath');
    expect(xmllint(xml, 'pain.008.001.08.xsd')).toBe('valid');
  });

  test('a one-off mandate collects once (OOFF) and cannot be used again', async () => {
    const p = await sdd.create(input({ recurring: undefined }));
    expect(p.recurringReference).toBeUndefined();
    const [c] = await store.listCollections({});
    expect(c?.sequenceType).toBe('OOFF');
    await expect(
      sdd.create(input({ recurring: 'subsequent', methodData: { mandateId: c!.mandateReference } })),
    ).rejects.toThrow(/^methodData\.mandateId: .*one-off/);
  });

  test('a collection whose submission day passed is reported as missed, not sent late', async () => {
    const p = await sdd.create(input());
    clock = new Date('2027-03-26T09:00:00Z'); // Good Friday; the file was due at the bank on Thursday
    const r = await sdd.writeCollectionFile();
    expect(r.file).toBeUndefined();
    expect(r.missed).toEqual([p.providerReference]);
  });
});

describe('SEPA direct debit: cancel, outcomes, refunds', () => {
  test('cancel before submission; after submission it is refused', async () => {
    const a = await sdd.create(input());
    const canceled = await sdd.cancel(a.providerReference, { paymentId: 'x', idempotencyKey: 'x' });
    expect(canceled.status).toBe('canceled');
    expect(canceled.nextAction).toEqual({ type: 'none' });
    const b = await sdd.create(input());
    clock = new Date('2027-03-24T09:00:00Z');
    await sdd.writeCollectionFile();
    await expect(sdd.cancel(b.providerReference, { paymentId: 'x', idempotencyKey: 'y' })).rejects.toThrow(
      /^providerReference: already sent to the bank/,
    );
  });

  test('when the first collection is canceled, the next one of the mandate goes out as FRST', async () => {
    const first = await sdd.create(input());
    const second = await sdd.create(
      input({
        recurring: 'subsequent',
        methodData: { mandateId: first.recurringReference, extra: { dueDate: '2027-04-01' } },
      }),
    );
    await sdd.cancel(first.providerReference, { paymentId: 'x', idempotencyKey: 'x' });
    clock = new Date('2027-03-24T09:00:00Z');
    const { file, submitted } = await sdd.writeCollectionFile();
    expect(submitted).toEqual([second.providerReference]);
    expect(all(file!.xml, 'SeqTp')).toEqual(['FRST']);
  });

  test('a return from the statement: returned, with the unified decline code', async () => {
    const p = await sdd.create(input());
    clock = new Date('2027-03-24T09:00:00Z');
    await sdd.writeCollectionFile();
    const r = await sdd.recordOutcome(p.providerReference, { status: 'returned', reasonCode: 'AM04' });
    expect(r.status).toBe('returned');
    expect(r.decline).toEqual(expect.objectContaining({ code: 'insufficient_funds', providerCode: 'AM04' }));
    expect(r.capturedMinor).toBe(0);
  });

  test('refunds: refused before collection; after it a pain.001 back to the debtor, pending, never more than was collected', async () => {
    const p = await sdd.create(input({ amountMinor: 10_000 }));
    const refund = (id: string, amountMinor: number) =>
      sdd.refund(p.providerReference, {
        paymentId: 'x',
        refundId: id,
        amountMinor,
        currency: 'EUR',
        idempotencyKey: `payment:x:refund:${id}`,
        reason: 'Kulanz',
      });
    await expect(refund('r0', 100)).rejects.toThrow(/^providerReference: not collected yet; cancel/);
    clock = new Date('2027-03-24T09:00:00Z');
    await sdd.writeCollectionFile();
    await expect(refund('r0', 100)).rejects.toThrow(/^providerReference: not collected yet/);
    clock = new Date('2027-03-30T15:00:00Z');
    expect((await sdd.recordOutcome(p.providerReference, { status: 'collected' })).status).toBe('succeeded');

    const r1 = await refund('r1', 2_500);
    expect(r1).toEqual({
      providerRefundReference: `${p.providerReference}R1`,
      status: 'pending',
      amountMinor: 2_500,
      currency: 'EUR',
    });
    expect(await refund('r1', 2_500)).toEqual(r1); // retried: still one refund
    const after = await sdd.retrieve(p.providerReference);
    expect(after).toMatchObject({ status: 'partially_refunded', refundedMinor: 2_500, capturedMinor: 10_000 });

    const [c] = await store.listCollections({});
    const file = await sdd.file(c!.refunds[0]!.fileId);
    expect(c!.refunds).toHaveLength(1);
    const xml = file!.xml;
    expect(all(xml, 'EndToEndId')).toEqual([`${p.providerReference}R1`]);
    expect(all(xml, 'InstdAmt')).toEqual(['25.00']);
    expect(all(xml, 'CtrlSum')).toEqual(['25.00', '25.00']);
    expect(all(xml, 'IBAN')).toEqual(['DE89370400440532013000', ERIKA_IBAN]); // from us to the debtor
    expect(all(xml, 'Nm')).toEqual(['Demo Telco GmbH', 'Demo Telco GmbH', 'Juergen Mueller']);
    expect(all(xml, 'ReqdExctnDt')).toEqual(['2027-03-30']);
    expect(xmllint(xml, 'dk-gbic-variants/pain.001.001.03.dk.xsd')).toBe('valid');

    await expect(refund('r2', 7_501)).rejects.toThrow(/^amountMinor: at most 75\.00 EUR/);
    await refund('r2', 7_500);
    expect(await sdd.retrieve(p.providerReference)).toMatchObject({ status: 'refunded', refundedMinor: 10_000 });
  });

  test('no webhooks: any delivery is rejected as malformed', async () => {
    await expect(sdd.parseWebhook({ headers: {}, body: Buffer.from('{}') })).rejects.toMatchObject({
      name: 'WebhookRejected',
      reason: 'malformed',
    });
    expect(sdd.capabilities).toMatchObject({
      webhooks: false,
      statusSync: true,
      recurring: true,
      manualCapture: false,
    });
  });

  test('a revoked mandate takes no new collections and its scheduled ones are canceled', async () => {
    const p = await sdd.create(input());
    await sdd.revokeMandate(p.recurringReference!.toLowerCase());
    expect((await sdd.retrieve(p.providerReference)).status).toBe('canceled');
    await expect(
      sdd.create(input({ recurring: 'subsequent', methodData: { mandateId: p.recurringReference } })),
    ).rejects.toThrow(/^methodData\.mandateId: .*revoked/);
  });
});
