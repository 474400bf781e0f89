import type { Channel, ChannelSendResult, ChannelSet, OutboundNotice } from '../../src/channels/channel';
import { channelPlan } from '../../src/channels/channel';
import { deliverNotice } from '../../src/channels/dispatch';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { goldenView } from '../integration/channels-fixtures';

const notice: OutboundNotice = {
  tenantId: 't1',
  view: goldenView('de', 'firm'),
  rendered: { subject: 's', text: 't', html: '<p>h</p>', sms: 'sms', title: 'Mahnung' },
};

/** A channel that answers from a script and counts its calls. */
function fake(name: Channel['name'], answer: () => Promise<Omit<ChannelSendResult, 'channel'>>) {
  const calls: string[] = [];
  const channel: Channel = {
    name,
    async send(n) {
      calls.push(n.view.noticeId);
      return { channel: name, ...(await answer()) };
    },
  };
  return { channel, calls };
}

describe('delivering a notice over its channels', () => {
  it('reads a plan from the notices.channel column', () => {
    expect(channelPlan('email,letter')).toEqual(['email', 'letter']);
    expect(channelPlan('sms > email')).toEqual(['sms', 'email']);
    expect(channelPlan('email')).toEqual(['email']);
  });

  it('stops at the first channel that takes the notice', async () => {
    const email = fake('email', async () => ({ status: 'sent', providerMessageId: '<m@x>', recipient: 'a@b.example' }));
    const letter = fake('letter', async () => ({ status: 'sent' }));
    const out = await deliverNotice(notice, ['email', 'letter'], { email: email.channel, letter: letter.channel });
    expect(out).toMatchObject({ status: 'sent', channel: 'email', providerMessageId: '<m@x>' });
    expect(letter.calls).toHaveLength(0);
    expect(out.attempts).toHaveLength(1);
  });

  it('falls back from a bounced e-mail and an SMS without a number to the letter', async () => {
    const email = fake('email', async () => ({ status: 'bounced', reason: '550 mailbox unavailable' }));
    const sms = fake('sms', async () => ({ status: 'failed', reason: 'debtor has no mobile number' }));
    const letter = fake('letter', async () => ({ status: 'sent', providerMessageId: 'batch-1/1' }));
    const channels: ChannelSet = { email: email.channel, sms: sms.channel, letter: letter.channel };
    const out = await deliverNotice(notice, ['email', 'sms', 'letter'], channels);
    expect(out).toMatchObject({ status: 'sent', channel: 'letter', providerMessageId: 'batch-1/1' });
    expect(out.attempts.map((a) => `${a.channel}:${a.status}`)).toEqual(['email:bounced', 'sms:failed', 'letter:sent']);
  });

  it('reports bounced when the last channel bounced, with every reason', async () => {
    const email = fake('email', async () => ({ status: 'failed', reason: 'no address' }));
    const sms = fake('sms', async () => ({ status: 'bounced', reason: 'landline' }));
    const out = await deliverNotice(notice, ['email', 'sms'], { email: email.channel, sms: sms.channel });
    expect(out.status).toBe('bounced');
    expect(out.reason).toBe('email: no address; sms: landline');
  });

  it('records a channel the tenant has not configured and moves on', async () => {
    const email = fake('email', async () => ({ status: 'sent' }));
    const out = await deliverNotice(notice, ['webhook', 'fax', 'email'], { email: email.channel });
    expect(out.status).toBe('sent');
    expect(out.attempts.map((a) => a.reason ?? a.status)).toEqual([
      'channel webhook is not configured',
      'unknown channel "fax"',
      'sent',
    ]);
  });

  it('defers on transient trouble instead of reaching the debtor on a second channel', async () => {
    const email = fake('email', async () => {
      throw new ConnectorError('SMTP 421', { indeterminate: true });
    });
    const letter = fake('letter', async () => ({ status: 'sent' }));
    const out = await deliverNotice(notice, ['email', 'letter'], { email: email.channel, letter: letter.channel });
    expect(out.status).toBe('deferred');
    expect(letter.calls).toHaveLength(0);
  });

  it('lets a configuration error through: every notice would fail the same way', async () => {
    const email = fake('email', async () => {
      throw new IntegrationError('the SMTP server refused the login', 'email.password');
    });
    await expect(deliverNotice(notice, ['email', 'letter'], { email: email.channel })).rejects.toBeInstanceOf(
      IntegrationError,
    );
  });

  it('never sends again over a channel that took the notice, and resumes after those that refused it', async () => {
    const email = fake('email', async () => ({ status: 'sent' }));
    const letter = fake('letter', async () => ({ status: 'sent', providerMessageId: 'b/1' }));
    const channels = { email: email.channel, letter: letter.channel };
    const again = await deliverNotice(notice, ['email', 'letter'], channels, [
      { channel: 'email', status: 'sent', providerMessageId: '<ntc@clearhub>' },
    ]);
    expect(again).toMatchObject({
      status: 'sent',
      channel: 'email',
      providerMessageId: '<ntc@clearhub>',
      attempts: [],
    });
    expect(email.calls).toHaveLength(0);
    const resumed = await deliverNotice(notice, ['email', 'letter'], channels, [
      { channel: 'email', status: 'bounced', reason: '550' },
    ]);
    expect(resumed).toMatchObject({ status: 'sent', channel: 'letter' });
    expect(email.calls).toHaveLength(0);
  });
});
