/**
 * The hosted pay page as a payer meets it: a real app (PGlite store, memory queue, webhook consumer) behind a
 * recording proxy, the Stripe simulator with its hosted Checkout page, our bank transfer provider, and Debian's
 * Chromium on a phone-sized screen. The payer opens the pay link from a notice, chooses items and a method, pays on
 * Stripe's page or reads the transfer instructions and the GiroCode; declines, expired and tampered links, labels and
 * keyboard use are checked as a user would notice them. Screenshots are kept under `test-artifacts/pay-page/`.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import type { TenantGateway } from '../../src/gateway/checkout';
import { payLinkUrl } from '../../src/gateway/paylink';
import { recordPayment } from '../../src/gateway/payments';
import { isCreditorReference } from '../../src/gateway/providers/bank-transfer/transformers';
import { consumeWebhooks } from '../../src/gateway/webhooks';
import { createQueue } from '../../src/queue';
import type { Consumer, QueueDriver } from '../../src/queue/types';
import { openStore, type Store, truncateAll } from '../../src/store/db';
import {
  artifactsDir,
  CHROMIUM,
  hasChromium,
  hasZbar,
  keepScreenshot,
  launchChromium,
  type RecordingProxy,
  readQr,
  seedDebtorAcrossSources,
  startRecordingProxy,
} from '../helpers/browser';
import { gatewayFor, PAYLINK_SECRET } from '../helpers/gateway';
import { type StripeSimulator, startStripeSimulator } from '../simulators/stripe/server';

const TENANT = 'acme';
const SHOTS = 'pay-page';
const PHONE = { width: 390, height: 844 };
const CARD = '4242 4242 4242 4242';

/** Text as a reader sees it: the no-break spaces Intl puts between amount and currency read as spaces. */
const norm = (t: string | null | undefined): string => (t ?? '').replace(/[\u00a0\u202f]/g, ' ').trim();

/** A table row as the checks read it inside the page: each cell's parts (label, source line) or its text. */
interface Row {
  querySelectorAll(selector: 'td'): ArrayLike<{
    textContent: string | null;
    children: ArrayLike<{ textContent: string | null }>;
  }>;
}

/** The little of the DOM the checks read inside the page (this project compiles without the DOM library). */
interface Control {
  tagName: string;
  type?: string;
  textContent: string | null;
  outerHTML: string;
  labels?: ArrayLike<{ textContent: string | null }> | null;
  getAttribute(name: string): string | null;
}

if (!hasChromium) {
  test.skip(`pay page in Chromium: ${CHROMIUM} is missing, so the browser tests are skipped`, () => {});
} else {
  describe('the pay page in Chromium on a phone', () => {
    let browser: Browser;
    let store: Store;
    let sim: StripeSimulator;
    let server: Server;
    let proxy: RecordingProxy;
    let queue: QueueDriver;
    let consumer: Consumer;
    let tenant: TenantGateway;
    let debtorId: string;
    let itemIds: Record<string, string>;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      browser = await launchChromium();
      store = await openStore('pglite:memory');
      await store.migrate();
    });
    afterAll(async () => {
      await browser?.close();
      await store?.close();
    });

    beforeEach(async () => {
      await truncateAll(store);
      sim = await startStripeSimulator({ retryDelaysMs: [50, 100, 200] });
      const gw = gatewayFor(store, {
        tenantId: TENANT,
        providers: {
          stripe: {
            secretKey: sim.secretKey,
            webhookSecret: sim.webhookSecret,
            host: sim.host,
            port: sim.port,
            protocol: 'http',
            timeoutMs: 3000,
          },
          'bank-transfer': { creditorName: 'ACME Mobile GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
        },
        methods: [
          { method: 'card', provider: 'stripe' },
          { method: 'sepa_credit_transfer', provider: 'bank-transfer' },
        ],
      });
      tenant = gw.tenant;
      queue = createQueue({});
      consumer = await consumeWebhooks(gw.ctx, queue, 2);
      const app = createApp({
        store,
        services: {
          recordPayment: (i) => recordPayment(store, i),
          gateway: { ctx: gw.ctx, queue, webhookTenant: () => TENANT },
        },
        logger: createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
      });
      server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      proxy = await startRecordingProxy((server.address() as AddressInfo).port);
      // Everything from outside (the browser, Stripe's redirects and webhooks) reaches us through the proxy.
      tenant.publicUrl = proxy.url;
      sim.webhooks.setUrl(`${proxy.url}/v1/webhooks/stripe/${TENANT}`);
      ({ debtorId, itemIds } = await seedDebtorAcrossSources(store, TENANT, {
        externalId: 'K-100',
        name: 'Erika Mustermann',
        language: 'de',
        sources: {
          mobilfunk: [
            ['M-1', 'RE-2026-0815', 4_990, '2026-09-01'],
            ['M-2', 'RE-2026-0916', 2_990, '2026-10-01'],
          ],
          hardware: [['H-1', 'HW-7781', 19_900, '2026-09-15']],
        },
      }));
      context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, hasTouch: true, isMobile: true });
      page = await context.newPage();
    });

    afterEach(async () => {
      await context?.close();
      await consumer?.close();
      await queue?.close();
      server?.closeAllConnections();
      await new Promise((r) => server?.close(r));
      await proxy?.close();
      await sim?.close();
    });

    const link = (lang: 'de' | 'en', o: { from?: Date; ttlDays?: number } = {}) =>
      payLinkUrl(
        { publicUrl: proxy.url, secret: PAYLINK_SECRET, ttlDays: o.ttlDays ?? 30 },
        { tenantId: TENANT, debtorId, noticeId: 'N-1', lang },
        o.from,
      );

    const openOf = async (sourceKey: string) =>
      (
        await store.db
          .selectFrom('items')
          .select('open_minor')
          .where('tenant_id', '=', TENANT)
          .where('item_id', '=', itemIds[sourceKey]!)
          .executeTakeFirstOrThrow()
      ).open_minor;

    /** Waits (no time limit of its own beyond the deadline) until the check holds. */
    const until = async (what: string, check: () => Promise<boolean>) => {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    /** Every webhook the simulator sent has arrived and been processed (none left `received`). */
    const webhooksSettled = async () => {
      await sim.webhooks.idle();
      await until('the webhook events to be processed', async () => {
        const rows = await store.db
          .selectFrom('webhook_events')
          .select('status')
          .where('tenant_id', '=', TENANT)
          .execute();
        return rows.length > 0 && rows.every((r) => r.status !== 'received');
      });
      return store.db
        .selectFrom('webhook_events')
        .select(['type', 'status', 'note'])
        .where('tenant_id', '=', TENANT)
        .orderBy('received_at')
        .execute();
    };

    /** The rows of the items table as the payer reads them: document, its source below it, due date, amount. */
    const itemRows = async () =>
      (
        await page
          .locator('tbody tr')
          .evaluateAll((rows) =>
            rows.map((row) =>
              Array.from((row as unknown as Row).querySelectorAll('td')).flatMap((td) =>
                td.children.length ? Array.from(td.children, (c) => c.textContent) : [td.textContent],
              ),
            ),
          )
      ).map((cells) => cells.map(norm).filter(Boolean));

    test('German: pays two of three items from two sources by card on Stripe’s page; the third stays open', async () => {
      const answer = await page.goto(link('de'));
      expect(answer?.status()).toBe(200);
      expect(await page.getAttribute('html', 'lang')).toBe('de');
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Offene Rechnungen bezahlen');
      expect(await itemRows()).toEqual([
        ['RE-2026-0815', 'mobilfunk', '1.9.2026', '49,90 €'],
        ['HW-7781', 'hardware', '15.9.2026', '199,00 €'],
        ['RE-2026-0916', 'mobilfunk', '1.10.2026', '29,90 €'],
      ]);
      expect(norm(await page.locator('#total').textContent())).toBe('278,80 €');
      await keepScreenshot(page, SHOTS, 'de-1-overview');

      await page.getByRole('checkbox', { name: 'HW-7781' }).uncheck();
      await page.getByRole('radio', { name: 'Karte' }).check();
      await page.getByRole('button', { name: 'Jetzt bezahlen' }).click();
      await page.waitForURL(`${sim.url}/c/pay/**`);
      // Stripe's page, in German, for the two chosen items only.
      expect(await page.getAttribute('html', 'lang')).toBe('de');
      expect(norm(await page.locator('#amount').textContent())).toBe('79,80 €');
      await page.getByLabel('Kartennummer').fill(CARD);
      await page.getByLabel('Ablaufdatum').fill('12 / 34');
      await page.getByLabel('Prüfnummer').fill('123');
      await page.getByLabel('Name auf der Karte').fill('Erika Mustermann');
      await keepScreenshot(page, SHOTS, 'de-2-stripe-card-form');
      await page.getByRole('button', { name: /Bezahlen/ }).click();

      await page.waitForURL(`${proxy.url}/pay/**`);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Vielen Dank für Ihre Zahlung');
      expect(norm(await page.getByRole('status').textContent())).toContain('79,80 €');
      await keepScreenshot(page, SHOTS, 'de-3-thank-you');

      expect([await openOf('M-1'), await openOf('M-2'), await openOf('H-1')]).toEqual([0, 0, 19_900]);
      const events = await webhooksSettled();
      expect(events.filter((e) => e.type === 'payment.succeeded').map((e) => e.status)).toEqual([
        'processed',
        'processed',
      ]);
      expect(events.every((e) => e.status === 'processed')).toBe(true);
      const payments = await store.db.selectFrom('payments').selectAll().where('tenant_id', '=', TENANT).execute();
      expect(payments.map((p) => [p.state, p.amount_minor, p.allocated_minor])).toEqual([['succeeded', 7_980, 7_980]]);

      // No card number ever reached our server: not in any request (pages, returns, webhooks), not in the store.
      const received = proxy.received();
      expect(received).toContain('POST /pay/');
      expect(received).toContain('POST /v1/webhooks/stripe/');
      for (const form of ['4242424242424242', '4242 4242 4242 4242', '4242+4242+4242+4242']) {
        expect(received).not.toContain(form);
      }
      const stored = JSON.stringify(
        await Promise.all(
          ['payments', 'webhook_deliveries', 'webhook_events', 'events', 'checkout_sessions'].map((t) =>
            store.db
              .selectFrom(t as 'payments')
              .selectAll()
              .execute(),
          ),
        ),
      );
      expect(stored).not.toContain('4242424242424242');

      // Back to the link: only the item left out is open.
      await page.getByRole('link', { name: 'Zurück zur Übersicht' }).click();
      expect(await itemRows()).toEqual([['HW-7781', 'hardware', '15.9.2026', '199,00 €']]);
    });

    test('German: bank transfer shows IBAN, amount, RF reference and a GiroCode a banking app can read', async () => {
      await page.goto(link('de'));
      await page.getByRole('radio', { name: 'Überweisung' }).check();
      await page.getByRole('button', { name: 'Jetzt bezahlen' }).click();
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Bitte überweisen Sie');
      const pairs = await page
        .locator('dl dt')
        .evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent ?? null]));
      const details: Record<string, string> = Object.fromEntries(pairs.map(([k, v]) => [norm(k), norm(v)]));
      expect(details).toMatchObject({
        Empfänger: 'ACME Mobile GmbH',
        IBAN: 'DE89 3704 0044 0532 0130 00',
        BIC: 'COBADEFFXXX',
        Betrag: '278,80 €',
      });
      const shown = String(details.Verwendungszweck);
      expect(shown).toMatch(/^RF\d{2}( [0-9A-Z]{1,4})+$/);
      const reference = shown.replace(/ /g, '');
      expect(isCreditorReference(reference)).toBe(true);
      await keepScreenshot(page, SHOTS, 'de-4-bank-transfer');

      // Reloading the instructions shows the same transfer; it does not start a second payment.
      await page.reload();
      expect(norm(await page.locator('dl').textContent())).toContain(shown);
      expect(
        await store.db.selectFrom('payments').select('payment_id').where('tenant_id', '=', TENANT).execute(),
      ).toHaveLength(1);

      const qr = page.getByRole('img', { name: 'GiroCode' });
      await expect(qr.isVisible()).resolves.toBe(true);
      if (!hasZbar) {
        console.log('pay page: GiroCode not decoded, zbarimg is not installed (zbar-tools)');
        return;
      }
      const png = await qr.screenshot();
      const lines = readQr(png, join(artifactsDir(SHOTS), 'de-5-girocode.png')).split('\n');
      expect(lines).toEqual([
        'BCD',
        '002',
        '1',
        'SCT',
        'COBADEFFXXX',
        'ACME Mobile GmbH',
        'DE89370400440532013000',
        'EUR278.80',
        '',
        reference,
        '',
      ]);
    });

    test('English: a declined card shows Stripe’s message; going back leads to our failure page and on to the items', async () => {
      await page.goto(link('en'));
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Pay your open invoices');
      expect(norm(await page.locator('#total').textContent())).toBe('€278.80');
      await page.getByRole('radio', { name: 'Card' }).check();
      await page.getByRole('button', { name: 'Pay now' }).click();
      await page.waitForURL(`${sim.url}/c/pay/**`);
      await page.getByLabel('Card number').fill('4000 0000 0000 9995');
      await page.getByLabel('Expiry date').fill('12 / 34');
      await page.getByLabel('Security code').fill('123');
      await page.getByLabel('Name on card').fill('Erika Mustermann');
      await page.getByRole('button', { name: /Pay/ }).click();
      await expect(page.getByRole('alert').textContent()).resolves.toBe('Your card has insufficient funds.');
      await keepScreenshot(page, SHOTS, 'en-1-stripe-declined');

      await page.getByRole('link', { name: 'Back' }).click();
      await page.waitForURL(`${proxy.url}/pay/**`);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'The payment did not go through',
      );
      expect(norm(await page.getByRole('alert').textContent())).toContain('Nothing was charged');
      await keepScreenshot(page, SHOTS, 'en-2-failed');
      await page.getByRole('link', { name: 'Back to the overview' }).click();
      expect((await itemRows()).map((r) => r[0])).toEqual(['RE-2026-0815', 'HW-7781', 'RE-2026-0916']);
      expect([await openOf('M-1'), await openOf('M-2'), await openOf('H-1')]).toEqual([4_990, 2_990, 19_900]);
      await webhooksSettled();
      const payments = await store.db.selectFrom('payments').select('state').where('tenant_id', '=', TENANT).execute();
      expect(payments.map((p) => p.state)).toEqual(['canceled']);
      // Stripe's session is expired: the page can no longer take a card for the abandoned payment.
      const session = String(
        (await store.db.selectFrom('payments').select('provider_reference').executeTakeFirstOrThrow())
          .provider_reference,
      );
      expect(sim.checkoutSession(session)?.status).toBe('expired');
    });

    test('an expired link says so with 410, a tampered one with 404; neither shows anything of the debtor', async () => {
      const old = link('de', { from: new Date(Date.now() - 40 * 86_400_000) });
      const expired = await page.goto(old);
      expect(expired?.status()).toBe(410);
      expect(norm(await page.getByRole('alert').textContent())).toContain('Dieser Link ist abgelaufen');
      expect(await page.content()).not.toContain('RE-2026-0815');
      await keepScreenshot(page, SHOTS, 'de-6-expired-link');

      const good = link('en');
      const [body, sig] = good.split('/pay/')[1]!.split('.') as [string, string];
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, d: 'someone-else' })).toString('base64url');
      const tampered = await page.goto(`${proxy.url}/pay/${forged}.${sig}`);
      expect(tampered?.status()).toBe(404);
      expect(norm(await page.getByRole('alert').textContent())).toContain('This link is not valid');
      expect(await page.content()).not.toContain('Mustermann');
    });

    test('accessible as a user notices: language, headings, every field labelled, keyboard alone chooses and pays by card', async () => {
      await page.goto(link('de'));
      expect(await page.getAttribute('html', 'lang')).toBe('de');
      expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1);
      expect(norm(await page.locator('table caption').textContent())).toBe('Offene Posten');
      // Every visible form control has a name a screen reader announces.
      const unnamed = await page.locator('input:not([type=hidden]), select, textarea, button').evaluateAll((els) =>
        els
          .filter((e) => {
            const el = e as unknown as Control;
            const label = Array.from(el.labels ?? [], (l) => l.textContent?.trim()).join('');
            return !label && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' && el.textContent?.trim());
          })
          .map((e) => (e as unknown as Control).outerHTML),
      );
      expect(unnamed).toEqual([]);
      expect(await page.getByRole('checkbox').count()).toBe(3);
      expect(await page.getByRole('radio').count()).toBe(2);
      expect(await page.getByRole('group', { name: 'Zahlungsart' }).count()).toBe(1);

      // Keyboard only: Tab to the last item, Space unchecks it, Tab into the methods, arrows and Space pick the card,
      // Tab to the button, Enter pays.
      const focused = () =>
        page.evaluate(() => {
          const doc = (globalThis as unknown as { document: { activeElement: Control | null } }).document;
          const el = doc.activeElement;
          return el
            ? `${el.tagName.toLowerCase()}:${el.type ?? ''}:${el.labels?.[0]?.textContent?.trim() ?? el.textContent?.trim()}`
            : '';
        });
      const tabTo = async (want: string) => {
        for (let i = 0; i < 20; i++) {
          await page.keyboard.press('Tab');
          if ((await focused()) === want) return;
        }
        throw new Error(`Tab never reached ${want}; last focus ${await focused()}`);
      };
      await tabTo('input:checkbox:RE-2026-0916');
      await page.keyboard.press('Space');
      expect(await page.getByRole('checkbox', { name: 'RE-2026-0916' }).isChecked()).toBe(false);
      await tabTo('input:radio:Karte');
      await page.keyboard.press('ArrowDown');
      expect(await page.getByRole('radio', { name: 'Überweisung' }).isChecked()).toBe(true);
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('Space');
      expect(await page.getByRole('radio', { name: 'Karte' }).isChecked()).toBe(true);
      await keepScreenshot(page, SHOTS, 'de-7-keyboard');
      await tabTo('button:submit:Jetzt bezahlen');
      await page.keyboard.press('Enter');
      await page.waitForURL(`${sim.url}/c/pay/**`);
      expect(norm(await page.locator('#amount').textContent())).toBe('248,90 €');
    });
  });
}
