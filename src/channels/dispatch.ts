/**
 * Delivers a notice over its channels in order of preference, falling back to the next when one bounces or fails,
 * and never twice over a channel that already took it: what earlier attempts (this process or the delivery record)
 * say decides which channels are left.
 */
import { IntegrationError } from '../domain/errors';
import {
  type ChannelName,
  type ChannelSendResult,
  type ChannelSet,
  isChannelName,
  type OutboundNotice,
} from './channel';

/** One attempt as it is recorded (deliveries.ts). */
export interface DeliveryAttempt {
  channel: string;
  status: 'sent' | 'delivered' | 'bounced' | 'failed';
  providerMessageId?: string;
  recipient?: string;
  code?: string;
  reason?: string;
}

/**
 * What became of a notice. `sent`: one channel took it. `bounced` / `failed`: every channel of the plan was tried
 * and none took it (the last attempt says which). `deferred`: a channel had transient trouble; the notice stays
 * pending and the next attempt resumes after the channels that already refused it.
 */
export interface DeliveryOutcome {
  status: 'sent' | 'bounced' | 'failed' | 'deferred';
  /** The channel that took it (sent) or was tried last. */
  channel?: string;
  providerMessageId?: string;
  recipient?: string;
  reason?: string;
  /** The attempts made now, to be recorded; earlier ones are not repeated. */
  attempts: DeliveryAttempt[];
  /** The transient error, for `deferred`. */
  error?: Error;
}

/**
 * Tries the plan's channels in order.
 * @param previous attempts recorded earlier for this notice: a channel that took it is not called again (the
 *   outcome is `sent` at once); channels that refused it are skipped.
 * @throws {IntegrationError} from a channel: its configuration is wrong for every notice; nothing is recorded.
 */
export async function deliverNotice(
  notice: OutboundNotice,
  plan: readonly string[],
  channels: ChannelSet,
  previous: readonly DeliveryAttempt[] = [],
): Promise<DeliveryOutcome> {
  const took = previous.find((a) => a.status === 'sent' || a.status === 'delivered');
  if (took) {
    return {
      status: 'sent',
      channel: took.channel,
      providerMessageId: took.providerMessageId,
      recipient: took.recipient,
      attempts: [],
    };
  }
  const refused = new Set(previous.map((a) => a.channel));
  const attempts: DeliveryAttempt[] = [];
  let last: DeliveryAttempt | undefined = previous.at(-1);
  for (const name of plan) {
    if (refused.has(name)) continue;
    const channel = isChannelName(name) ? channels[name as ChannelName] : undefined;
    if (!channel) {
      const attempt: DeliveryAttempt = {
        channel: name,
        status: 'failed',
        reason: isChannelName(name) ? `channel ${name} is not configured` : `unknown channel "${name}"`,
      };
      attempts.push(attempt);
      last = attempt;
      continue;
    }
    let r: ChannelSendResult;
    try {
      r = await channel.send(notice);
    } catch (err) {
      if (err instanceof IntegrationError) throw err;
      // Transient: the channel may still take it (or already has: indeterminate). Falling back now could reach the
      // debtor twice, so the notice waits for the next attempt.
      return {
        status: 'deferred',
        channel: name,
        attempts,
        error: err instanceof Error ? err : new Error(String(err)),
      };
    }
    const attempt: DeliveryAttempt = {
      channel: name,
      status: r.status,
      providerMessageId: r.providerMessageId,
      recipient: r.recipient,
      code: r.code,
      reason: r.reason,
    };
    attempts.push(attempt);
    last = attempt;
    if (r.status === 'sent') {
      return {
        status: 'sent',
        channel: name,
        providerMessageId: r.providerMessageId,
        recipient: r.recipient,
        attempts,
      };
    }
  }
  if (!last) {
    return { status: 'failed', reason: 'the notice names no channel', attempts };
  }
  return {
    status: last.status === 'bounced' ? 'bounced' : 'failed',
    channel: last.channel,
    recipient: last.recipient,
    reason: attempts.length > 0 || previous.length > 0 ? summary([...previous, ...attempts]) : last.reason,
    attempts,
  };
}

/** `email: bounced (550 …); letter: debtor has no postal address`. */
function summary(attempts: readonly DeliveryAttempt[]): string {
  return attempts.map((a) => `${a.channel}: ${a.reason ?? a.status}`).join('; ');
}
