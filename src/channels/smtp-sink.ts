import { writeFile } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerError } from 'smtp-server';

/**
 * Options of {@link startSmtpSink}.
 *
 * @example
 * const sink = await startSmtpSink({ dir: '.clearhub/outbox', rejectRecipients: (a) => a.endsWith('@bounce.test') });
 */
export interface SmtpSinkOptions {
  /** Where each received message is written as `<timestamp>-<n>.eml`; created when missing. */
  dir: string;
  /** @defaultValue `0` (a free port; read it from the result) */
  port?: number;
  /** @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Recipients for which this returns true get `550 5.1.1` to RCPT TO, like a mailbox that does not exist. */
  rejectRecipients?: (address: string) => boolean;
  /** Require these credentials (AUTH PLAIN or LOGIN); without it AUTH is optional and any login is accepted. */
  auth?: { user: string; password: string };
}

export interface SmtpSink {
  port: number;
  host: string;
  /** Stops listening, ends open sessions and waits until every accepted message is on disk. */
  close(): Promise<void>;
  /** Messages written to disk so far. */
  count(): number;
}

/**
 * A local SMTP server that writes what it receives to files, for `clearhub demo` and tests. Plain text only (no
 * TLS, STARTTLS disabled): bind it to a loopback address.
 */
export async function startSmtpSink(opts: SmtpSinkOptions): Promise<SmtpSink> {
  const host = opts.host ?? '127.0.0.1';
  await mkdir(opts.dir, { recursive: true });
  let seq = 0;
  let written = 0;
  const pending = new Set<Promise<unknown>>();

  const server = new SMTPServer({
    name: 'clearhub-smtp-sink',
    banner: 'Clearhub SMTP sink',
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: opts.auth === undefined,
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      const required = opts.auth;
      if (!required || (auth.username === required.user && auth.password === required.password)) {
        callback(null, { user: auth.username ?? 'anonymous' });
        return;
      }
      callback(null, { message: 'Authentication credentials invalid', responseCode: 535 });
    },
    onRcptTo(address, _session, callback) {
      if (opts.rejectRecipients?.(address.address)) {
        callback(smtpError(`5.1.1 <${address.address}>: Recipient address rejected: mailbox unavailable`, 550));
        return;
      }
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        seq += 1;
        const file = join(opts.dir, `${fileTimestamp(new Date())}-${String(seq).padStart(6, '0')}.eml`);
        // The callback form of writeFile: about twice as fast as fs/promises for many small files.
        const write = new Promise<NodeJS.ErrnoException | null>((resolve) =>
          writeFile(file, Buffer.concat(chunks), resolve),
        );
        pending.add(write);
        void write.then((err) => {
          pending.delete(write);
          if (err) {
            callback(smtpError(`4.3.0 could not store the message: ${err.message}`, 451));
            return;
          }
          written += 1;
          callback();
        });
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // A client that misbehaves must not crash the process that hosts the sink.
  server.on('error', () => {});
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    host,
    count: () => written,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...pending]);
    },
  };
}

function smtpError(message: string, responseCode: number): SMTPServerError {
  const err: SMTPServerError = new Error(message);
  err.responseCode = responseCode;
  return err;
}

/** `20260115T101502123Z`: sorts like the time it stands for and is safe in any file system. */
function fileTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:.]/g, '');
}
