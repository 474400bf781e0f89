import { createTransport, type NodemailerError, type SMTPSentMessageInfo, type Transporter } from 'nodemailer';
import { ConnectorError, IntegrationError } from '../domain/errors';
import type { NoticeStatus } from '../domain/types';

/**
 * Options of {@link createEmailChannel}. Endpoints come from config, `user` and `password` from the environment.
 *
 * @example
 * const email = createEmailChannel({
 *   host: 'smtp.example.com', port: 587, user: 'dunning', password: process.env.SMTP_PASSWORD,
 *   from: '"Example Telco Billing" <billing@example.com>', pool: true,
 * });
 */
export interface EmailChannelOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. @defaultValue `false` */
  secure?: boolean;
  /** SMTP user; without it no AUTH is attempted. */
  user?: string;
  /** SMTP password. Never logged, never part of an error message (see {@link scrub}). */
  password?: string;
  /** The From header, e.g. `"Example Billing" <billing@example.com>`; its address is also the envelope sender. */
  from: string;
  replyTo?: string;
  /** Keep up to `maxConnections` SMTP connections open and reuse them: use it for runs that send many mails. @defaultValue `false` */
  pool?: boolean;
  /** Open connections of a pooled channel. @defaultValue `5` */
  maxConnections?: number;
  /** Overrides of the socket timeouts in milliseconds. @defaultValue `{ connectionMs: 10000, greetingMs: 10000, socketMs: 60000 }` */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
  /** Receives one structured line per SMTP call (winston's `Logger` fits). Give it a child logger carrying the tenant. */
  logger?: EmailChannelLogger;
}

export interface EmailChannelLogger {
  info(message: string, meta: EmailLogLine): unknown;
  warn(message: string, meta: EmailLogLine): unknown;
}

export interface EmailLogLine {
  channel: 'email';
  flow: 'send' | 'verify';
  /** Our Message-ID: the idempotency key of a notice e-mail. */
  messageId?: string;
  status: EmailSendStatus | 'ok' | 'retry' | 'config-error';
  ms: number;
  /** SMTP reply code (`'550'`) or, without a reply, the transport code (`'ECONNREFUSED'`). */
  code?: string;
}

export interface EmailAttachment {
  filename: string;
  content: Buffer | string;
  /** @defaultValue derived from the filename */
  contentType?: string;
  /** Content-ID of an inline image the HTML refers to as `cid:<cid>`. */
  cid?: string;
}

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  attachments?: readonly EmailAttachment[];
  /** Extra headers, e.g. `{ 'X-Clearhub-Notice': notice.noticeId }`. From, To, Subject and Message-ID cannot be overridden. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Our Message-ID, deterministic per notice so that a resend after an unknown outcome is recognisable as the same
   * mail. Angle brackets are added when missing.
   * @example `<notice-7f3a@clearhub>`
   */
  messageId: string;
}

export type EmailSendStatus = Extract<NoticeStatus, 'sent' | 'bounced' | 'failed'>;

/**
 * The outcome of one send. `bounced`: the server refused the recipient for good (5xx to RCPT TO). `failed`: the
 * message itself was refused for good (e.g. 5xx after DATA, an invalid address); retrying cannot help.
 * Transient trouble (connection, timeout, 4xx) is not a result: `send` throws a {@link ConnectorError}.
 */
export interface EmailSendResult {
  status: EmailSendStatus;
  /** Our Message-ID, with angle brackets. */
  messageId: string;
  /** The server's final reply, for the audit log. */
  response?: string;
  /** What went wrong, for `bounced` and `failed`. */
  error?: string;
}

export interface EmailChannel {
  /**
   * Sends one message.
   * @throws {ConnectorError} connection refused or lost, timeout, 4xx: retry. `indeterminate` when the connection
   *   broke after it was established, so the server may have taken the mail: resend with the same `messageId`.
   * @throws {IntegrationError} our input or configuration is wrong: bad Message-ID or header name, credentials
   *   missing or refused (530/535), sender refused (5xx to MAIL FROM other than 552).
   */
  send(msg: EmailMessage): Promise<EmailSendResult>;
  /** Connects and authenticates once; throws like {@link EmailChannel.send}. Call it before a run. */
  verify(): Promise<void>;
  /** Closes the connections; a pooled connection that is delivering a message finishes it first. */
  close(): void;
}

const DEFAULT_TIMEOUTS = { connectionMs: 10_000, greetingMs: 10_000, socketMs: 60_000 };
const PROTECTED_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'subject', 'message-id', 'reply-to']);
const HEADER_NAME = /^[!-9;-~]+$/;
const MESSAGE_ID = /^<[^<>\s@]+@[^<>\s@]+>$/;

/** Transport codes that a retry can cure: the connection could not be made or was lost. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'EPROTOCOL',
  'EMAXLIMIT',
]);
/** Local refusals of one message: retrying the same message cannot help. */
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'ESTREAM', 'EMAXRECIPIENTS', 'EFILEACCESS', 'EURLACCESS']);
/** Replies about authentication (RFC 4954): required, too weak, invalid credentials, encryption required. */
const AUTH_REPLIES = new Set([530, 534, 535, 538]);
/** Socket errors that mean the connection was up and then broke. */
const BROKEN_AFTER_CONNECT = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Removes the SMTP password from text bound for logs, errors or results: the literal, its base64 form (AUTH LOGIN)
 * and the AUTH PLAIN token.
 */
export function scrub(text: string, credentials: { user?: string; password?: string }): string {
  const { user = '', password } = credentials;
  if (!password) return text;
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const forms = [
    password,
    b64(password),
    b64(`\u0000${user}\u0000${password}`),
    b64(`${user}\u0000${user}\u0000${password}`),
  ];
  let out = text;
  for (const form of forms) out = out.split(form).join('[redacted]');
  return out;
}

/** Creates the e-mail channel on a nodemailer SMTP transport (pooled when `pool` is set). */
export function createEmailChannel(opts: EmailChannelOptions): EmailChannel {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  const credentials = { user: opts.user, password: opts.password };
  const clean = (text: string) => scrub(text, credentials);
  const common = {
    host: opts.host,
    port: opts.port,
    secure: opts.secure ?? false,
    auth: opts.user === undefined ? undefined : { user: opts.user, pass: opts.password },
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.connectionMs,
    // nodemailer's own logger would print the AUTH exchange; ours logs one line per call instead.
    logger: false,
    debug: false,
    // Attachments are content only: a path or URL in a message must never make us read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  const transporter: Transporter<SMTPSentMessageInfo> = opts.pool
    ? createTransport({ ...common, pool: true, maxConnections: opts.maxConnections ?? 5 })
    : createTransport(common);

  const log = (line: EmailLogLine) => {
    if (!opts.logger) return;
    const ok = line.status === 'sent' || line.status === 'ok';
    if (ok) opts.logger.info(`email ${line.flow}`, line);
    else opts.logger.warn(`email ${line.flow}`, line);
  };

  return {
    async send(msg) {
      const messageId = normaliseMessageId(msg.messageId);
      const headers = checkHeaders(msg.headers);
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      try {
        const info = await transporter.sendMail({
          from: opts.from,
          replyTo: opts.replyTo,
          to: msg.to,
          subject: msg.subject,
          text: msg.text,
          html: msg.html,
          messageId,
          headers,
          attachments: msg.attachments?.map((a) => ({
            filename: a.filename,
            content: a.content,
            contentType: a.contentType,
            cid: a.cid,
          })),
        });
        log({ channel: 'email', flow: 'send', messageId, status: 'sent', ms: ms(), code: replyCode(info.response) });
        return { status: 'sent', messageId, response: clean(info.response) };
      } catch (err) {
        const outcome = classify(err, clean);
        log({
          channel: 'email',
          flow: 'send',
          messageId,
          status: outcomeStatus(outcome),
          ms: ms(),
          code: outcome.code,
        });
        if (outcome.kind === 'result') {
          return { status: outcome.status, messageId, response: outcome.response, error: outcome.message };
        }
        throw outcome.error;
      }
    },

    async verify() {
      const started = performance.now();
      try {
        await transporter.verify();
        log({ channel: 'email', flow: 'verify', status: 'ok', ms: Math.round(performance.now() - started) });
      } catch (err) {
        const outcome = classify(err, clean);
        const ms = Math.round(performance.now() - started);
        log({ channel: 'email', flow: 'verify', status: outcomeStatus(outcome), ms, code: outcome.code });
        if (outcome.kind === 'result') {
          throw new ConnectorError(`SMTP verify failed: ${outcome.message}`, { code: outcome.code });
        }
        throw outcome.error;
      }
    },

    close() {
      transporter.close();
    },
  };
}

type Outcome =
  | { kind: 'result'; status: 'bounced' | 'failed'; code?: string; message: string; response?: string }
  | { kind: 'throw'; error: ConnectorError | IntegrationError; code?: string };

function outcomeStatus(outcome: Outcome): EmailLogLine['status'] {
  if (outcome.kind === 'result') return outcome.status;
  return outcome.error instanceof IntegrationError ? 'config-error' : 'retry';
}

/**
 * Maps a nodemailer error to a result or to one of our errors. Only scrubbed text leaves this function: the
 * nodemailer error itself is not attached as `cause`.
 */
function classify(err: unknown, clean: (text: string) => string): Outcome {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as NodemailerError;
  const rc = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const code = rc === undefined ? (e.originalCode ?? e.code) : String(rc);
  const message = clean(e.message ?? 'unknown error');
  const response = e.response === undefined ? undefined : clean(e.response);

  if (e.code === 'ECONFIG') {
    return { kind: 'throw', code, error: new IntegrationError(`SMTP configuration rejected: ${message}`, 'email') };
  }
  const authFailure = e.code === 'EAUTH' || e.code === 'ENOAUTH' || (rc !== undefined && AUTH_REPLIES.has(rc));
  if (authFailure && e.permanent !== false) {
    const error = new IntegrationError(
      `the SMTP server refused the login (${message}); check the SMTP user and password`,
      'email.password',
    );
    return { kind: 'throw', code, error };
  }
  if (rc !== undefined && e.permanent === true) {
    if (e.command === 'RCPT TO') return { kind: 'result', status: 'bounced', code, message, response };
    // The sender is the same for every message: its refusal is our configuration, except a size refusal.
    if (e.command === 'MAIL FROM' && rc !== 552) {
      const error = new IntegrationError(`the SMTP server refused the sender (${message})`, 'email.from');
      return { kind: 'throw', code, error };
    }
    return { kind: 'result', status: 'failed', code, message, response };
  }
  if (rc === undefined && e.code !== undefined && MESSAGE_CODES.has(e.code)) {
    return { kind: 'result', status: 'failed', code, message };
  }
  // Everything else is transient: 4xx, 503, connection trouble, timeouts, and what we do not know.
  const indeterminate =
    rc === undefined &&
    (e.code === 'ECONNECTION' ||
      (e.code === 'ETIMEDOUT' && e.timeoutType === 'SOCKET_TIMEOUT') ||
      (e.code === 'ESOCKET' && e.originalCode !== undefined && BROKEN_AFTER_CONNECT.has(e.originalCode)));
  const known = rc !== undefined || (e.code !== undefined && TRANSIENT_CODES.has(e.code));
  const text = known ? `SMTP ${code ?? 'error'}: ${message}` : `unexpected e-mail error: ${message}`;
  const error = new ConnectorError(text, { code, indeterminate });
  return { kind: 'throw', code, error };
}

function normaliseMessageId(id: string): string {
  const bracketed = id.startsWith('<') ? id : `<${id}>`;
  if (!MESSAGE_ID.test(bracketed)) {
    throw new IntegrationError(
      `"${id}" is not a Message-ID; expected <left@right>, e.g. <notice-42@clearhub>`,
      'messageId',
    );
  }
  return bracketed;
}

function checkHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  for (const name of Object.keys(headers)) {
    if (!HEADER_NAME.test(name)) throw new IntegrationError(`"${name}" is not a valid header name`, 'headers');
    if (PROTECTED_HEADERS.has(name.toLowerCase())) {
      throw new IntegrationError(`${name} is set by the channel and cannot be overridden`, `headers.${name}`);
    }
  }
  return { ...headers };
}

function replyCode(response: string | undefined): string | undefined {
  return response?.match(/^\d{3}/)?.[0];
}
