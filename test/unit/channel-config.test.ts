import { existsSync } from 'node:fs';
import { channelsFromConfig, letterPdfOptions } from '../../src/channels/from-config';
import { IntegrationError } from '../../src/domain/errors';

const email = { from: 'billing@acme.example', smtp: { host: 'smtp.acme.example', port: 587, secure: false } };
const opts = {
  home: '/srv/clearhub',
  templatesDir: '/srv/clearhub/config/templates',
  secret: (v: string | undefined) => v,
};

describe('channels from the tenant configuration', () => {
  it('builds SMS from a Twilio-compatible account URL and the letter channel from its folder', () => {
    const set = channelsFromConfig(
      {
        email,
        sms: {
          sender: 'ACME',
          endpoint: `https://api.twilio.com/2010-04-01/Accounts/AC${'1'.repeat(32)}`,
          apiKey: 'token-0123456789abcdef',
        },
        letter: { outDir: 'data/acme/print', returnAddress: ['ACME GmbH', 'Hafenstr. 1', '20457 Hamburg'] },
      },
      opts,
    );
    expect(set.sms?.name).toBe('sms');
    expect(set.letter?.name).toBe('letter');
    expect(set.email).toBeUndefined(); // the runtime builds and verifies e-mail itself
  });

  it('names the field when the SMS endpoint is not an account URL or the token is missing', () => {
    const bad = () =>
      channelsFromConfig(
        { email, sms: { sender: 'ACME', endpoint: 'https://sms.example.com/send', apiKey: 'x'.repeat(20) } },
        opts,
      );
    expect(bad).toThrow(IntegrationError);
    expect(bad).toThrow(/channels\.sms\.endpoint/);
    const noToken = () =>
      channelsFromConfig(
        { email, sms: { sender: 'ACME', endpoint: `https://api.twilio.com/2010-04-01/Accounts/AC${'1'.repeat(32)}` } },
        opts,
      );
    expect(noToken).toThrow(/channels\.sms\.apiKey/);
  });

  it('checks the letter fonts when the channels are built, naming the key of a file that is no font', () => {
    expect(letterPdfOptions({ email }, opts.home)).toEqual({});
    const missing = () =>
      channelsFromConfig(
        {
          email,
          letter: { outDir: 'print', returnAddress: ['ACME GmbH'] },
          fonts: { regular: 'fonts/Missing.ttf', bold: 'fonts/Missing-Bold.ttf' },
        },
        opts,
      );
    expect(missing).toThrow(IntegrationError);
    expect(missing).toThrow(/channels\.fonts\.regular.*\/srv\/clearhub\/fonts\/Missing\.ttf/);
    const notAFont = () => letterPdfOptions({ email, fonts: { regular: __filename, bold: __filename } }, opts.home);
    expect(notAFont).toThrow(/channels\.fonts\.regular/);
  });

  const dejavu = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  (existsSync(dejavu) ? it : it.skip)('takes absolute font paths as they are', () => {
    const fonts = { regular: dejavu, bold: dejavu.replace('.ttf', '-Bold.ttf') };
    expect(letterPdfOptions({ email, fonts }, opts.home)).toEqual({ fonts });
  });
});
