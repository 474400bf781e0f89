import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseSoapConnectorConfig } from '../../connectors/soap/config';
import { toSoapError } from '../../connectors/soap/errors';
import {
  decodeCheckpoint,
  faultMatches,
  fillTemplate,
  flatten,
  laterOf,
  orderLike,
  writeBackValues,
} from '../../connectors/soap/transformers';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';

const REPO = join(__dirname, '../..');

describe('soap transformers', () => {
  it('fills a template: lists repeat, empty placeholders drop their element, text is interpolated', () => {
    const t = { A: '{{pageSize}}', B: '{{pageToken}}', C: { Id: '{{customerIds}}' }, D: 'ref-{{pageSize}}', E: 3 };
    expect(fillTemplate(t, { pageSize: '10', pageToken: '', customerIds: ['K1', 'K2'] })).toEqual({
      A: '10',
      C: { Id: ['K1', 'K2'] },
      D: 'ref-10',
      E: '3',
    });
  });

  it('orders elements like the schema sequence, nested and in lists', () => {
    const shape = { A: 'xsd:string', 'L[]': { X: 'xsd:string', Y: 'xsd:string' }, B: 'xsd:int' };
    const ordered = orderLike({ B: '1', extra: 'e', L: [{ Y: 'y', X: 'x' }], A: 'a' }, shape);
    expect(JSON.stringify(ordered)).toBe('{"A":"a","L":[{"X":"x","Y":"y"}],"B":"1","extra":"e"}');
  });

  it('flattens nested elements, lists, attributes and skips nil', () => {
    expect(
      flatten({
        Name: 'A',
        Address: { City: 'Köln' },
        Phone: ['1', '2'],
        Amount: { attributes: { currency: 'EUR', 'xsi:type': 'x' }, $value: '1.00' },
        Email: { attributes: { 'xsi:nil': 'true' } },
      }),
    ).toEqual({
      Name: 'A',
      'Address.City': 'Köln',
      'Phone.0': '1',
      'Phone.1': '2',
      'Amount.@currency': 'EUR',
      Amount: '1.00',
    });
  });

  it('reads only its own checkpoints and compares change times as instants', () => {
    expect(decodeCheckpoint('{"v":1,"changedSince":"x","pageToken":"t","n":3}')).toEqual({
      v: 1,
      changedSince: 'x',
      pageToken: 't',
      n: 3,
    });
    expect(decodeCheckpoint('{"v":1,"files":{}}')).toEqual({ v: 1 });
    expect(decodeCheckpoint('not json')).toBeUndefined();
    expect(laterOf('2026-09-01T06:00:00Z', '2026-09-01T07:00:00+02:00')).toBe('2026-09-01T06:00:00Z');
    expect(laterOf(undefined, 'garbage')).toBeUndefined();
  });

  it('turns minor units into the decimal the source expects', () => {
    const v = writeBackValues(
      {
        kind: 'payment',
        itemId: 'i',
        sourceKey: 's',
        externalId: 'K',
        documentNumber: 'D',
        paymentId: 'p',
        amountMinor: 5,
        currency: 'KWD',
        cleared: true,
        valueDate: '2026-01-02',
      },
      'outbox:1',
    );
    expect(v).toMatchObject({ amount: '0.005', currency: 'KWD', cleared: 'true', idempotencyKey: 'outbox:1' });
  });

  it('matches fault codes without prefix and by dotted part', () => {
    expect(faultMatches('soap:Client.DuplicateReference', ['DuplicateReference'])).toBe(true);
    expect(faultMatches('tns:DuplicateReference', ['x:DuplicateReference'])).toBe(true);
    expect(faultMatches('soap:Client', ['DuplicateReference'])).toBe(false);
  });
});

describe('soap error table', () => {
  const ctx = { operation: 'PostPayment', write: true, credential: 'auth.basic.user "u"', retryable: ['Busy'] };
  const fault = (faultcode: string) => ({ root: { Envelope: { Body: { Fault: { faultcode, faultstring: 'why' } } } } });

  it.each([
    ['soap:Client.InvoiceUnknown', IntegrationError, undefined],
    ['soap:Server', ConnectorError, true],
    ['soap:Client.Busy', ConnectorError, true],
    ['wsse:FailedAuthentication', IntegrationError, undefined],
  ])('fault %s', (code, type, indeterminate) => {
    const e = toSoapError(fault(code), ctx);
    expect(e).toBeInstanceOf(type);
    expect(e.message).toContain('why');
    if (e instanceof ConnectorError) expect(e.indeterminate).toBe(indeterminate);
  });

  it.each([
    // A SOAP 1.2 Receiver fault is the server's trouble whatever its subcode: retried, not dead-lettered.
    ['env:Receiver', 'app:DatabaseUnavailable', ConnectorError],
    ['env:Sender', 'app:InvoiceUnknown', IntegrationError],
    // A subcode listed in faults.retryable is retried even under Sender.
    ['env:Sender', 'app:Busy', ConnectorError],
  ])('SOAP 1.2 fault %s with subcode %s', (value, subcode, type) => {
    const fault12 = {
      root: {
        Envelope: {
          Body: { Fault: { Code: { Value: value, Subcode: { Value: subcode } }, Reason: { Text: 'why' } } },
        },
      },
    };
    const e = toSoapError(fault12, ctx);
    expect(e).toBeInstanceOf(type);
    expect(e.message).toContain('why');
  });

  it('maps HTTP statuses and socket codes', () => {
    expect(toSoapError({ response: { status: 401 } }, ctx)).toMatchObject({ field: 'auth' });
    expect(toSoapError({ response: { status: 404 } }, ctx)).toBeInstanceOf(IntegrationError);
    expect(toSoapError({ response: { status: 503 } }, ctx)).toMatchObject({ indeterminate: true });
    expect(toSoapError({ code: 'ECONNREFUSED' }, ctx)).toMatchObject({ indeterminate: false });
    expect(toSoapError({ code: 'ECONNRESET' }, ctx)).toMatchObject({ indeterminate: true });
    expect(toSoapError({ code: 'ECONNRESET' }, { ...ctx, write: false })).toMatchObject({ indeterminate: false });
  });
});

describe('soap connector options', () => {
  it('the example in the README and the shipped telco options are valid', () => {
    const readme = readFileSync(join(REPO, 'connectors/soap/README.md'), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    for (const text of [
      example,
      readFileSync(join(REPO, 'connectors/soap/wsdl/telco-billing-v2.options.yaml'), 'utf8'),
    ]) {
      const cfg = parseSoapConnectorConfig(parse(text), REPO);
      expect(cfg.wsdl).toBe(join(REPO, 'connectors/soap/wsdl/telco-billing-v2.wsdl'));
      expect(Object.keys(cfg.operations).sort()).toEqual([
        'customers',
        'dunningLevel',
        'openItems',
        'payment',
        'reversal',
      ]);
    }
  });
});
