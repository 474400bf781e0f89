import { randomBytes } from 'node:crypto';
import { extractIBAN } from 'ibantools';
import {
  checkIsoDate,
  type Remittance,
  type SepaFileSummary,
  sepaBic,
  sepaIban,
  sepaText,
  writePain001,
} from '../../../cash/pain001';
import { type DirectDebit, writePain008 } from '../../../cash/pain008';
import { IntegrationError } from '../../../domain/errors';
import { formatMinor, sumMinor } from '../../../domain/money';
import { isCreditorReference } from '../bank-transfer/transformers';
import {
  type CaptureInput,
  type CreatePaymentInput,
  type PaymentProvider,
  type ProviderCapabilities,
  type ProviderPayment,
  type ProviderRefund,
  type RefundInput,
  WebhookRejected,
} from '../types';
import { parseSepaDirectDebitConfig, type SepaDirectDebitConfig, type SepaDirectDebitConfigInput } from './config';
import { declineOfReturn } from './errors';
import {
  InMemorySepaStore,
  type SepaCollection,
  type SepaDirectDebitStore,
  type SepaFile,
  type SepaMandate,
  type SepaRefund,
} from './store';
import {
  addCalendarDays,
  type CollectionTiming,
  dueDateFor,
  endToEndIdOf,
  latestSubmissionDay,
  localDateTime,
  mandateExpired,
  mandateReference,
  paymentStateOf,
  preNotificationText,
  rollToTarget2BusinessDay,
  sequenceTypeFor,
  submissionDay,
} from './transformers';

export interface SepaDirectDebitProviderOptions {
  config: SepaDirectDebitConfigInput;
  /** @defaultValue a new {@link InMemorySepaStore} */
  store?: SepaDirectDebitStore;
  /** The clock; tests pin it. @defaultValue () => new Date() */
  now?: () => Date;
}

/** What {@link SepaDirectDebitProvider.writeCollectionFile} did. */
export interface CollectionFileResult {
  /** The pain.008 written, or undefined when no collection was due for submission. */
  file?: SepaFile;
  /** Collections now `submitted` in it (their references). */
  submitted: string[];
  /**
   * Still `scheduled`, but their last submission day has passed: they cannot be collected on the pre-notified date.
   * Cancel them and create new ones with a new pre-notification.
   */
  missed: string[];
}

export type CollectionOutcome = { status: 'collected' } | { status: 'returned'; reasonCode: string };

/** The PaymentProvider plus what only a direct debit has: mandates, collection files and outcomes from statements. */
export interface SepaDirectDebitProvider extends PaymentProvider {
  readonly name: 'sepa-direct-debit';
  readonly config: SepaDirectDebitConfig;
  mandate(reference: string): Promise<SepaMandate | undefined>;
  /** The debtor withdrew the mandate: it takes no new collections, and its scheduled ones are canceled. */
  revokeMandate(reference: string): Promise<SepaMandate>;
  /**
   * Puts every scheduled collection whose submission window is open (at most `maxSubmissionDaysAhead` calendar days
   * before its due date, at the latest `submissionLeadDays` TARGET2 days before it) into one pain.008 file, marks them
   * `submitted` and keeps the file. Run it once a business day.
   */
  writeCollectionFile(options?: { messageId?: string }): Promise<CollectionFileResult>;
  /** Cash application calls this when the statement shows the collection credited, or a return (R-transaction). */
  recordOutcome(providerReference: string, outcome: CollectionOutcome): Promise<ProviderPayment>;
  /** A pain.008 or pain.001 file by its MsgId. */
  file(fileId: string): Promise<SepaFile | undefined>;
}

/** SEPA countries outside the EEA: their accounts need the BIC (EPC rulebook, IBAN-only applies within the EEA). */
const BIC_REQUIRED = new Set(['AD', 'AL', 'CH', 'GB', 'GG', 'IM', 'JE', 'MC', 'MD', 'ME', 'MK', 'RS', 'SM', 'VA']);

const CAPABILITIES: ProviderCapabilities = {
  partialCapture: false,
  partialRefund: true,
  multipleCaptures: false,
  manualCapture: false,
  recurring: true,
  webhooks: false,
  statusSync: true,
};

function extraString(input: CreatePaymentInput, key: string): string | undefined {
  const v = input.methodData?.extra?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new IntegrationError('must be a string', `methodData.extra.${key}`);
  return v;
}

/** A MsgId that is unique per file: prefix, UTC time to the second, 6 random hex digits (≤ 30 characters). */
function messageIdAt(prefix: string, now: Date): string {
  return `${prefix}${now.toISOString().replace(/\D/g, '').slice(0, 14)}${randomBytes(3).toString('hex').toUpperCase()}`;
}

const activeRefunds = (c: SepaCollection) => c.refunds.filter((r) => r.status !== 'failed');

/**
 * Our own SEPA direct debit (CORE or B2B): creates the mandate and schedules the collection on a due date that keeps
 * the pre-notification period and the bank's submission lead time (TARGET2 calendar); collections go out in pain.008
 * files; refunds go out as pain.001 credit transfers; outcomes come from bank statements, not webhooks.
 */
export function createSepaDirectDebitProvider(options: SepaDirectDebitProviderOptions): SepaDirectDebitProvider {
  const config = parseSepaDirectDebitConfig(options.config);
  const store = options.store ?? new InMemorySepaStore();
  const clock = options.now ?? (() => new Date());
  const timing: CollectionTiming = {
    preNotificationDays: config.preNotificationDays,
    submissionLeadDays: config.submissionLeadDays,
    timeZone: config.timeZone,
    ...(config.cutOffTime ? { cutOffTime: config.cutOffTime } : {}),
  };
  const today = (now: Date) => localDateTime(now, config.timeZone).date;

  async function load(providerReference: string): Promise<SepaCollection> {
    const c = await store.getCollection(providerReference);
    if (!c) throw new IntegrationError(`no SEPA direct debit collection "${providerReference}"`, 'providerReference');
    return c;
  }

  async function loadMandate(reference: string, field: string): Promise<SepaMandate> {
    const m = await store.getMandate(reference);
    if (!m) throw new IntegrationError(`no mandate "${reference}"`, field);
    return m;
  }

  function toPayment(c: SepaCollection, mandate: SepaMandate | undefined): ProviderPayment {
    const refundedMinor = sumMinor(activeRefunds(c).map((r) => r.amountMinor));
    const waiting = c.status === 'scheduled' || c.status === 'submitted';
    return {
      providerReference: c.reference,
      status: paymentStateOf(c.status, c.amountMinor, refundedMinor),
      providerStatus: c.status,
      amountMinor: c.amountMinor,
      currency: c.currency,
      capturedMinor: c.status === 'collected' ? c.amountMinor : 0,
      refundedMinor,
      nextAction: waiting ? { type: 'await', dueDate: c.dueDate, note: c.preNotification } : { type: 'none' },
      ...(c.status === 'returned' && c.returnReason ? { decline: declineOfReturn(c.returnReason) } : {}),
      ...(mandate?.type === 'recurring' ? { recurringReference: mandate.reference } : {}),
    };
  }

  function bicFor(iban: string, given: string | undefined, field: string): string | undefined {
    if (given) return sepaBic(given, field);
    const { countryCode, bankIdentifier } = extractIBAN(iban);
    const fromDirectory =
      countryCode && bankIdentifier ? config.bicDirectory[countryCode]?.[bankIdentifier] : undefined;
    if (fromDirectory) return fromDirectory;
    if (countryCode && BIC_REQUIRED.has(countryCode)) {
      throw new IntegrationError(`accounts in ${countryCode} (SEPA, outside the EEA) need the BIC`, field);
    }
    return undefined;
  }

  /** The mandate a payment collects under: an existing one (`methodData.mandateId`) or a new one from the IBAN. */
  async function mandateFor(input: CreatePaymentInput, todayDate: string, paymentRef: string): Promise<SepaMandate> {
    const md = input.methodData ?? {};
    if (md.mandateId) {
      const m = await loadMandate(md.mandateId, 'methodData.mandateId');
      if (m.status === 'revoked')
        throw new IntegrationError(`mandate "${m.reference}" was revoked`, 'methodData.mandateId');
      if (m.type === 'one-off') {
        throw new IntegrationError(
          `mandate "${m.reference}" is a one-off mandate and was used`,
          'methodData.mandateId',
        );
      }
      if (mandateExpired(m.lastCollectionDate, m.signedOn, todayDate)) {
        throw new IntegrationError(
          `mandate "${m.reference}" lapsed: no collection for 36 months; the debtor must sign a new one`,
          'methodData.mandateId',
        );
      }
      if (md.iban && sepaIban(md.iban, 'methodData.iban') !== m.iban) {
        throw new IntegrationError(
          "differs from the mandate's account; a new account needs a new mandate",
          'methodData.iban',
        );
      }
      return m;
    }
    if (input.recurring === 'subsequent') {
      throw new IntegrationError(
        'a subsequent payment needs the mandate reference of the first',
        'methodData.mandateId',
      );
    }
    if (!md.iban) throw new IntegrationError("the debtor's IBAN is required for a new mandate", 'methodData.iban');
    const iban = sepaIban(md.iban, 'methodData.iban');
    const holder = md.accountHolder ?? input.payer?.name;
    if (!holder) throw new IntegrationError("the account holder's name is required", 'methodData.accountHolder');
    sepaText(holder, 70, 'methodData.accountHolder');
    const bic = bicFor(iban, extraString(input, 'bic'), 'methodData.extra.bic');
    const givenRef = extraString(input, 'mandateReference');
    const reference = givenRef
      ? mandateReference(givenRef, 'methodData.extra.mandateReference')
      : mandateReference(`${config.mandateReferencePrefix}${paymentRef}`, 'paymentId');
    if (await store.getMandate(reference)) {
      throw new IntegrationError(
        `"${reference}" is the reference of another mandate`,
        'methodData.extra.mandateReference',
      );
    }
    const signedOn = checkIsoDate(
      extraString(input, 'mandateSignedOn') ?? todayDate,
      'methodData.extra.mandateSignedOn',
    );
    if (signedOn > todayDate) throw new IntegrationError('is in the future', 'methodData.extra.mandateSignedOn');
    return {
      reference,
      creditorId: config.creditorId,
      debtorName: holder,
      iban,
      ...(bic ? { bic } : {}),
      signedOn,
      type: input.recurring === 'first' ? 'recurring' : 'one-off',
      status: 'active',
      createdAt: clock().toISOString(),
      ...(input.payer?.debtorId ? { debtorId: input.payer.debtorId } : {}),
    };
  }

  const provider: SepaDirectDebitProvider = {
    name: 'sepa-direct-debit',
    capabilities: CAPABILITIES,
    config,

    async create(input) {
      if (input.currency !== 'EUR') throw new IntegrationError('SEPA direct debits are in EUR', 'currency');
      if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor < 1 || input.amountMinor > 99_999_999_999) {
        throw new IntegrationError('must be 0.01 to 999999999.99 EUR in minor units', 'amountMinor');
      }
      if (input.capture === 'manual') {
        throw new IntegrationError(
          'a direct debit is collected on its due date; it has no separate capture',
          'capture',
        );
      }
      const reference = endToEndIdOf(input.paymentId);
      const existing = await store.getCollection(reference);
      if (existing) {
        if (existing.idempotencyKey !== input.idempotencyKey) {
          throw new IntegrationError(
            `payment ${input.paymentId} was created with a different idempotency key`,
            'idempotencyKey',
          );
        }
        return toPayment(existing, await store.getMandate(existing.mandateReference));
      }
      const now = clock();
      const todayDate = today(now);
      const mandate = await mandateFor(input, todayDate, reference);
      const dueDate = dueDateFor(now, timing, extraString(input, 'dueDate'), 'methodData.extra.dueDate');
      const earlier = (await store.listCollections({ mandateReference: mandate.reference })).filter(
        (c) => c.status !== 'canceled',
      );
      const rf = extraString(input, 'creditorReference');
      if (rf !== undefined && !isCreditorReference(rf)) {
        throw new IntegrationError('is not an ISO 11649 (RF) reference', 'methodData.extra.creditorReference');
      }
      const remittance: Remittance = rf
        ? { reference: rf.replace(/\s/g, '').toUpperCase() }
        : { text: sepaText(input.description ?? `Payment ${input.paymentId}`, 140, 'description') };
      const collection: SepaCollection = {
        reference,
        paymentId: input.paymentId,
        idempotencyKey: input.idempotencyKey,
        amountMinor: input.amountMinor,
        currency: 'EUR',
        mandateReference: mandate.reference,
        sequenceType: sequenceTypeFor(mandate.type, earlier.length),
        dueDate,
        remittance,
        preNotification: preNotificationText({
          locale: input.locale,
          creditorName: config.creditorName,
          creditorId: config.creditorId,
          mandateReference: mandate.reference,
          amountMinor: input.amountMinor,
          currency: 'EUR',
          dueDate,
          iban: mandate.iban,
          localInstrument: config.localInstrument,
          remittance: 'reference' in remittance ? remittance.reference : remittance.text,
        }),
        status: 'scheduled',
        refunds: [],
        createdAt: now.toISOString(),
      };
      if (!mandate.lastCollectionDate || mandate.lastCollectionDate < dueDate) mandate.lastCollectionDate = dueDate;
      await store.saveMandate(mandate);
      await store.saveCollection(collection);
      return toPayment(collection, mandate);
    },

    async capture(_ref: string, _input: CaptureInput) {
      throw new IntegrationError('a direct debit is collected on its due date; it has nothing to capture', 'capture');
    },

    async complete(ref) {
      return provider.retrieve(ref);
    },

    async retrieve(ref) {
      const c = await load(ref);
      return toPayment(c, await store.getMandate(c.mandateReference));
    },

    async cancel(ref) {
      const c = await load(ref);
      const mandate = await store.getMandate(c.mandateReference);
      switch (c.status) {
        case 'canceled':
          return toPayment(c, mandate);
        case 'scheduled':
          break;
        case 'submitted':
          throw new IntegrationError(
            `already sent to the bank in file ${c.fileId}; ask the bank to recall it, or refund it once collected`,
            'providerReference',
          );
        case 'collected':
        case 'returned':
          throw new IntegrationError(
            `the collection is ${c.status}; it can no longer be canceled`,
            'providerReference',
          );
        default: {
          const never: never = c.status;
          throw new Error(`unknown status ${String(never)}`);
        }
      }
      c.status = 'canceled';
      await store.saveCollection(c);
      // The first collection of a recurring mandate was canceled: the next one becomes the first.
      if (c.sequenceType === 'FRST') {
        const others = await store.listCollections({ mandateReference: c.mandateReference });
        const live = others.filter((o) => o.status !== 'canceled');
        if (live.every((o) => o.status === 'scheduled')) {
          const next = live.sort((a, b) => (a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : 0))[0];
          if (next && next.sequenceType === 'RCUR') {
            next.sequenceType = 'FRST';
            await store.saveCollection(next);
          }
        }
      }
      return toPayment(c, mandate);
    },

    async refund(ref, input: RefundInput): Promise<ProviderRefund> {
      const c = await load(ref);
      const same = c.refunds.find((r) => r.idempotencyKey === input.idempotencyKey || r.refundId === input.refundId);
      if (same) {
        if (same.amountMinor !== input.amountMinor) {
          throw new IntegrationError(`refund ${same.refundId} was made for a different amount`, 'amountMinor');
        }
        return {
          providerRefundReference: same.reference,
          status: same.status,
          amountMinor: same.amountMinor,
          currency: 'EUR',
        };
      }
      if (input.currency !== c.currency) throw new IntegrationError(`the collection is in ${c.currency}`, 'currency');
      if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor < 1) {
        throw new IntegrationError('must be a positive amount in minor units', 'amountMinor');
      }
      if (c.status !== 'collected') {
        throw new IntegrationError(
          c.status === 'scheduled'
            ? 'not collected yet; cancel it instead'
            : c.status === 'submitted'
              ? 'not collected yet (no credit on the statement); refund it once it is collected'
              : `the collection is ${c.status}; there is nothing to refund`,
          'providerReference',
        );
      }
      const refundable = c.amountMinor - sumMinor(activeRefunds(c).map((r) => r.amountMinor));
      if (input.amountMinor > refundable) {
        throw new IntegrationError(`at most ${formatMinor(refundable, 'EUR')} EUR is left to refund`, 'amountMinor');
      }
      if (c.refunds.length >= 99) throw new IntegrationError('at most 99 refunds per collection', 'refundId');
      const mandate = await loadMandate(c.mandateReference, 'providerReference');
      const now = clock();
      const reference = `${c.reference}R${c.refunds.length + 1}`;
      const messageId = messageIdAt('RFD', now);
      const { xml, summary } = writePain001({
        version: config.refundPainVersion,
        messageId,
        createdAt: now,
        debtor: {
          name: config.creditorName,
          iban: config.creditorIban,
          ...(config.creditorBic ? { bic: config.creditorBic } : {}),
        },
        executionDate: rollToTarget2BusinessDay(today(now)),
        transfers: [
          {
            endToEndId: reference,
            amountMinor: input.amountMinor,
            currency: 'EUR',
            creditor: { name: mandate.debtorName, iban: mandate.iban, ...(mandate.bic ? { bic: mandate.bic } : {}) },
            remittance: {
              text: `Refund of direct debit ${c.reference} mandate ${mandate.reference}${input.reason ? ` ${input.reason}` : ''}`,
            },
          },
        ],
      });
      await store.saveFile({
        fileId: messageId,
        version: config.refundPainVersion,
        xml,
        summary,
        createdAt: now.toISOString(),
      });
      const refund: SepaRefund = {
        refundId: input.refundId,
        idempotencyKey: input.idempotencyKey,
        reference,
        amountMinor: input.amountMinor,
        status: 'pending',
        fileId: messageId,
        createdAt: now.toISOString(),
      };
      c.refunds.push(refund);
      await store.saveCollection(c);
      return { providerRefundReference: reference, status: 'pending', amountMinor: input.amountMinor, currency: 'EUR' };
    },

    async parseWebhook() {
      throw new WebhookRejected(
        'sepa-direct-debit has no webhooks: collection outcomes come from bank statements',
        'malformed',
      );
    },

    async mandate(reference) {
      return store.getMandate(reference);
    },

    async revokeMandate(reference) {
      const m = await loadMandate(reference, 'mandateReference');
      m.status = 'revoked';
      await store.saveMandate(m);
      for (const c of await store.listCollections({ mandateReference: m.reference, status: 'scheduled' })) {
        c.status = 'canceled';
        await store.saveCollection(c);
      }
      return m;
    },

    async writeCollectionFile(opts = {}) {
      const now = clock();
      const todayDate = today(now);
      const sendDay = submissionDay(now, timing);
      const scheduled = await store.listCollections({ status: 'scheduled' });
      const missed = scheduled.filter((c) => latestSubmissionDay(c.dueDate, timing) < sendDay);
      const due = scheduled.filter(
        (c) =>
          latestSubmissionDay(c.dueDate, timing) >= sendDay &&
          addCalendarDays(c.dueDate, -config.maxSubmissionDaysAhead) <= todayDate,
      );
      if (due.length === 0) return { submitted: [], missed: missed.map((c) => c.reference) };
      const collections: DirectDebit[] = [];
      for (const c of due) {
        const m = await loadMandate(c.mandateReference, 'mandateReference');
        collections.push({
          endToEndId: c.reference,
          amountMinor: c.amountMinor,
          currency: c.currency,
          sequenceType: c.sequenceType,
          collectionDate: c.dueDate,
          mandate: { reference: m.reference, signedOn: m.signedOn },
          debtor: { name: m.debtorName, iban: m.iban, ...(m.bic ? { bic: m.bic } : {}) },
          remittance: c.remittance,
        });
      }
      const messageId = opts.messageId ?? messageIdAt('SDD', now);
      const { xml, summary } = writePain008({
        version: config.painVersion,
        messageId,
        createdAt: now,
        creditor: {
          name: config.creditorName,
          iban: config.creditorIban,
          ...(config.creditorBic ? { bic: config.creditorBic } : {}),
          creditorId: config.creditorId,
        },
        localInstrument: config.localInstrument,
        collections,
      });
      const file: SepaFile = {
        fileId: messageId,
        version: config.painVersion,
        xml,
        summary,
        createdAt: now.toISOString(),
      };
      await store.saveFile(file);
      for (const c of due) {
        c.status = 'submitted';
        c.fileId = messageId;
        await store.saveCollection(c);
      }
      return { file, submitted: due.map((c) => c.reference), missed: missed.map((c) => c.reference) };
    },

    async recordOutcome(ref, outcome) {
      const c = await load(ref);
      const allowed =
        outcome.status === 'collected'
          ? c.status === 'submitted' || c.status === 'collected'
          : c.status === 'submitted' || c.status === 'collected' || c.status === 'returned';
      if (!allowed) {
        throw new IntegrationError(`a ${c.status} collection cannot become ${outcome.status}`, 'providerReference');
      }
      c.status = outcome.status;
      if (outcome.status === 'returned') c.returnReason = outcome.reasonCode.trim().toUpperCase();
      await store.saveCollection(c);
      return toPayment(c, await store.getMandate(c.mandateReference));
    },

    async file(fileId) {
      return store.getFile(fileId);
    },
  };
  return provider;
}

export type { SepaFileSummary };
