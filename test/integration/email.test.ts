import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { simpleParser } from 'mailparser';
import winston from 'winston';
import { createEmailChannel, type EmailChannelOptions } from '../../src/channels/email';
import { type SmtpSink, startSmtpSink } from '../../src/channels/smtp-sink';
import { ConnectorError, IntegrationError, isRetryable } from '../../src/domain/errors';

const FROM = '"Example Telco Billing" <billing@telco.example>';
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clearhub-email-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function emlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
}

async function withSink<T>(
  name: string,
  opts: Partial<Parameters<typeof startSmtpSink>[0]>,
  fn: (sink: SmtpSink, dir: string) => Promise<T>,
): Promise<T> {
  const dir = join(root, name);
  const sink = await startSmtpSink({ dir, ...opts });
  try {
    return await fn(sink, dir);
  } finally {
    await sink.close();
  }
}

function channelFor(sink: SmtpSink, extra: Partial<EmailChannelOptions> = {}) {
  return createEmailChannel({ host: sink.host, port: sink.port, from: FROM, ...extra });
}

/** A winston logger whose JSON lines end up in `lines`. */
function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines, settled: () => new Promise((r) => setImmediate(r)) };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('e-mail channel against the SMTP sink', () => {
  test('a notice with text, HTML and an attachment arrives as sent, with our Message-ID', async () => {
    await withSink('full', {}, async (sink, dir) => {
      const channel = channelFor(sink, { replyTo: 'receivables@telco.example' });
      const pdf = Buffer.from('%PDF-1.4\n% Clearhub test invoice\n%%EOF\n');
      try {
        const result = await channel.send({
          to: 'Erika Mustermann <erika@kunde.example>',
          subject: 'Zahlungserinnerung – Rechnung 4711 über 119,00 €',
          text: 'Guten Tag Frau Mustermann,\nbitte zahlen Sie 119,00 € bis zum 31.01.2026.',
          html: '<p>Guten Tag Frau Mustermann,</p><p>bitte zahlen Sie <b>119,00&nbsp;€</b> bis zum 31.01.2026.</p>',
          attachments: [{ filename: 'Rechnung-4711.pdf', content: pdf, contentType: 'application/pdf' }],
          headers: { 'X-Clearhub-Notice': 'ntc_4711' },
          messageId: '<notice-ntc_4711@clearhub>',
        });
        expect(result).toMatchObject({ status: 'sent', messageId: '<notice-ntc_4711@clearhub>' });
        expect(result.response).toMatch(/^250 /);
      } finally {
        channel.close();
      }

      const files = await emlFiles(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d{8}T\d{9}Z-\d{6}\.eml$/);
      const mail = await simpleParser(await readFile(join(dir, files[0]!)));
      expect(mail.subject).toBe('Zahlungserinnerung – Rechnung 4711 über 119,00 €');
      expect(mail.messageId).toBe('<notice-ntc_4711@clearhub>');
      const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
      expect(to?.value).toEqual([{ address: 'erika@kunde.example', name: 'Erika Mustermann' }]);
      expect(mail.from?.value).toEqual([{ address: 'billing@telco.example', name: 'Example Telco Billing' }]);
      expect(mail.replyTo?.value[0]?.address).toBe('receivables@telco.example');
      expect(mail.text?.trim()).toBe('Guten Tag Frau Mustermann,\nbitte zahlen Sie 119,00 € bis zum 31.01.2026.');
      expect(mail.html).toContain('<b>119,00&nbsp;€</b> bis zum 31.01.2026.');
      expect(mail.headers.get('x-clearhub-notice')).toBe('ntc_4711');
      expect(mail.attachments).toHaveLength(1);
      expect(mail.attachments[0]).toMatchObject({ filename: 'Rechnung-4711.pdf', contentType: 'application/pdf' });
      expect(mail.attachments[0]?.content.equals(pdf)).toBe(true);
      expect(sink.count()).toBe(1);
    });
  });

  test('a recipient the server refuses with 550 is bounced, not thrown, and nothing is delivered', async () => {
    await withSink('bounce', { rejectRecipients: (a) => a.endsWith('@gone.example') }, async (sink, dir) => {
      const channel = channelFor(sink);
      try {
        const result = await channel.send({
          to: 'nobody@gone.example',
          subject: 'Mahnung',
          text: 'Bitte zahlen.',
          html: '<p>Bitte zahlen.</p>',
          messageId: 'notice-bounce-1@clearhub',
        });
        expect(result.status).toBe('bounced');
        expect(result.messageId).toBe('<notice-bounce-1@clearhub>');
        expect(result.response).toMatch(/^550 5\.1\.1 /);
        expect(result.error).toContain('550');
      } finally {
        channel.close();
      }
      expect(await emlFiles(dir)).toEqual([]);
      expect(sink.count()).toBe(0);
    });
  });

  test.each([false, true])('a closed port throws a retryable ConnectorError (pool: %s)', async (pool) => {
    const port = await closedPort();
    const channel = createEmailChannel({ host: '127.0.0.1', port, from: FROM, pool });
    try {
      const sent = channel.send({
        to: 'erika@kunde.example',
        subject: 'Mahnung',
        text: 'Bitte zahlen.',
        html: '<p>Bitte zahlen.</p>',
        messageId: '<notice-closed@clearhub>',
      });
      await expect(sent).rejects.toBeInstanceOf(ConnectorError);
      const err = (await sent.catch((e: unknown) => e)) as ConnectorError;
      expect(err.retryable).toBe(true);
      expect(isRetryable(err)).toBe(true);
      expect(err.options.code).toBe('ECONNREFUSED');
      // Nothing reached a server, so the outcome is known: not sent.
      expect(err.indeterminate).toBe(false);
      await expect(channel.verify()).rejects.toBeInstanceOf(ConnectorError);
    } finally {
      channel.close();
    }
  });

  test('200 messages over a pooled transport all arrive, each once', async () => {
    await withSink('pool', {}, async (sink, dir) => {
      const channel = channelFor(sink, { pool: true, maxConnections: 4 });
      const ids = Array.from({ length: 200 }, (_, i) => `<notice-${i}@clearhub>`);
      try {
        const results = await Promise.all(
          ids.map((messageId, i) =>
            channel.send({
              to: `debtor-${i}@kunde.example`,
              subject: `Zahlungserinnerung ${i}`,
              text: `Bitte zahlen Sie Rechnung ${i}.`,
              html: `<p>Bitte zahlen Sie Rechnung ${i}.</p>`,
              headers: { 'X-Clearhub-Notice': `ntc_${i}` },
              messageId,
            }),
          ),
        );
        expect(results.filter((r) => r.status === 'sent')).toHaveLength(200);
      } finally {
        channel.close();
      }
      const files = await emlFiles(dir);
      expect(files).toHaveLength(200);
      expect(sink.count()).toBe(200);
      const received = await Promise.all(
        files.map(async (f) => (await simpleParser(await readFile(join(dir, f)))).messageId),
      );
      expect(new Set(received)).toEqual(new Set(ids));
    });
  });

  test('the SMTP password never appears in errors or log lines when the login is refused', async () => {
    const user = 'dunning';
    const right = 'c0rrect-H0rse-battery';
    const wrong = 'Wr0ng-Pa55-x9Qz!';
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const leaks = [wrong, b64(wrong), b64(`\u0000${user}\u0000${wrong}`)];

    await withSink('auth', { auth: { user, password: right } }, async (sink, dir) => {
      const message = {
        to: 'erika@kunde.example',
        subject: 'Mahnung',
        text: 'Bitte zahlen.',
        html: '<p>Bitte zahlen.</p>',
        messageId: '<notice-auth@clearhub>',
      };

      // Control: the right password gets through, so the refusal below is the credentials, not the set-up.
      const good = channelFor(sink, { user, password: right });
      try {
        expect((await good.send(message)).status).toBe('sent');
      } finally {
        good.close();
      }

      // Without credentials the sink refuses the mail (530): a configuration error, not a failed notice.
      const anonymous = channelFor(sink);
      try {
        await expect(anonymous.send(message)).rejects.toMatchObject({
          name: 'IntegrationError',
          field: 'email.password',
        });
      } finally {
        anonymous.close();
      }

      const { logger, lines, settled } = memoryLogger();
      const bad = channelFor(sink, { user, password: wrong, logger });
      const errors: unknown[] = [];
      try {
        errors.push(await bad.verify().catch((e: unknown) => e));
        errors.push(await bad.send(message).catch((e: unknown) => e));
      } finally {
        bad.close();
      }
      await settled();

      for (const err of errors) {
        expect(err).toBeInstanceOf(IntegrationError);
        expect((err as IntegrationError).message).toMatch(/refused the login.*535/);
      }
      expect(lines.length).toBe(2);
      expect(JSON.parse(lines[1]!)).toMatchObject({
        channel: 'email',
        flow: 'send',
        messageId: '<notice-auth@clearhub>',
        status: 'config-error',
        code: '535',
      });
      const everything = [
        ...errors.map(
          (e) => `${inspect(e, { depth: null, showHidden: true })}\n${(e as Error).stack}\n${JSON.stringify(e)}`,
        ),
        ...lines,
      ].join('\n');
      for (const leak of leaks) expect(everything).not.toContain(leak);
      expect(await emlFiles(dir)).toHaveLength(1);
    });
  });

  test('a Message-ID that is not one and an attempt to override managed headers are input errors', async () => {
    await withSink('input', {}, async (sink) => {
      const channel = channelFor(sink);
      const base = { to: 'erika@kunde.example', subject: 'Mahnung', text: 't', html: '<p>t</p>' };
      try {
        await expect(channel.send({ ...base, messageId: 'notice 42' })).rejects.toBeInstanceOf(IntegrationError);
        await expect(
          channel.send({ ...base, messageId: '<notice-42@clearhub>', headers: { 'Message-ID': '<other@x>' } }),
        ).rejects.toMatchObject({ name: 'IntegrationError', field: 'headers.Message-ID' });
      } finally {
        channel.close();
      }
      expect(sink.count()).toBe(0);
    });
  });
});
