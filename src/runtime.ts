import { constants, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CompiledQuery } from 'kysely';
import { createEmailChannel, type EmailChannel } from './channels/email';
import { channelsFromConfig, letterPdfOptions, smsProviderFromConfig, underHome } from './channels/from-config';
import type { NoticeSettings } from './channels/from-store';
import { type SmsReceiptEndpoint, smsReceiptsUrl } from './channels/sms/receipts';
import { renderNotice } from './channels/templates';
import { loadTenantConfig } from './config/load';
import { TENANT_ID, type TenantConfig } from './config/schema';
import { lenientEnv, secret } from './config/secrets';
import { IntegrationError } from './domain/errors';
import { dunningEligibility } from './dunning/eligibility';
import { createNotices, runIdOf } from './dunning/run';
import { type SendOptions, sendPendingNotices } from './dunning/send';
import type { DunningStrategy } from './dunning/strategy';
import { methodById } from './gateway/catalogue';
import type { GatewayContext, TenantGateway } from './gateway/checkout';
import { levelEligibility, withdrawnBy } from './gateway/eligibility';
import { payLinkUrl } from './gateway/paylink';
import type { PaymentProvider } from './gateway/providers/types';
import { createProviders } from './gateway/registry';
import { PaymentRouter } from './gateway/router';
import { syncDuePayments } from './gateway/status-sync';
import { consumeWebhooks, sweepWebhookEvents } from './gateway/webhooks';
import { createQueue } from './queue';
import type { QueueDriver } from './queue/types';
import type { TargetResolver, WriteBackTarget } from './routing/deliver';
import type { RetryPolicy } from './routing/relay';
import { openStore, type Store } from './store/db';
import { storeChecks } from './store/health';
import type { SourceConnector } from './sync/connector';
import { createSourceConnector, loadCompiledMapping } from './sync/registry';
import { closeCleared, readCheckpoint, recordsPerTransaction, type SyncResult, syncSource } from './sync/sync';

/** Where a Clearhub installation keeps its tenants and data; the repository root holds profiles, mappings, templates. */
export interface RuntimeOptions {
  home: string;
  databaseUrl?: string;
  redisUrl?: string;
  queuePrefix?: string;
  /**
   * Consulted before the registry when a source's connector is created: return a connector to use it instead (the
   * demo puts the sap-rfc connector on its in-process fake SAP this way), or undefined for the configured one.
   */
  connectorOverride?: (src: TenantConfig['sources'][number], home: string) => SourceConnector | undefined;
  /** Receives one structured line per external call of the connectors that report them (with the tenant added). */
  callLog?: (line: object) => void;
}

/**
 * The composition root: opens the store and the queue and knows the tenants configured under `<home>/config/tenants`.
 * The CLI, the API server and the workers all start from here; nothing in it assumes a single process.
 */
export class Runtime {
  private readonly tenantCache = new Map<string, TenantConfig>();
  private readonly connectorCache = new Map<string, SourceConnector>();
  private readonly gatewayCache = new Map<string, TenantGateway>();

  private constructor(
    readonly home: string,
    readonly store: Store,
    readonly queue: QueueDriver,
    private readonly connectorOverride?: RuntimeOptions['connectorOverride'],
    private readonly callLog?: RuntimeOptions['callLog'],
    /** The embedded store's folder (`pglite:<dir>`), where its maintenance is recorded. */
    private readonly embeddedDir?: string,
  ) {}

  static async open(opts: RuntimeOptions): Promise<Runtime> {
    const home = resolve(opts.home);
    const url = opts.databaseUrl || process.env.DATABASE_URL || `pglite:${join(home, '.clearhub', 'db')}`;
    const store = await openStore(url);
    await store.migrate();
    const redisUrl = opts.redisUrl ?? (process.env.REDIS_URL || undefined);
    const lock = Number(process.env.CLEARHUB_QUEUE_LOCK_MS);
    const queue = createQueue({
      redisUrl,
      prefix: opts.queuePrefix ?? process.env.CLEARHUB_QUEUE_PREFIX,
      ...(Number.isFinite(lock) && lock > 0 ? { lockDurationMs: lock } : {}),
    });
    const embedded = url.startsWith('pglite:') && url !== 'pglite:memory' ? url.slice('pglite:'.length) : undefined;
    return new Runtime(home, store, queue, opts.connectorOverride, opts.callLog, embedded);
  }

  /**
   * Vacuums and analyses the embedded store when it was last done more than `everyMs` ago (recorded beside it, as
   * PGlite keeps no statistics across restarts). PGlite has no autovacuum: without this, dead rows of every update
   * (outbox, items, deliveries) pile up and the planner never learns the tables' sizes. A server's autovacuum does it
   * there, so this does nothing on PostgreSQL. @returns whether it ran
   */
  async maintainEmbeddedStore(everyMs = 3_600_000): Promise<boolean> {
    if (this.store.dialect !== 'pglite' || !this.embeddedDir) return false;
    const marker = `${this.embeddedDir.replace(/[/\\]+$/, '')}.maintained`; // beside the folder, named after it
    const last = statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (Date.now() - last < everyMs) return false;
    await this.store.db.executeQuery(CompiledQuery.raw('VACUUM (ANALYZE)'));
    writeFileSync(marker, `${new Date().toISOString()}\n`);
    return true;
  }

  tenantsDir(): string {
    return join(this.home, 'config', 'tenants');
  }

  tenantIds(): string[] {
    const dir = this.tenantsDir();
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
  }

  /** The tenant's validated configuration (`--tenant` may be omitted when exactly one tenant exists). */
  tenant(id?: string): TenantConfig {
    // A named tenant is looked up by its file: the folder is listed only to find the one tenant when none is named
    // (the workers ask for a tenant on every job; listing the folder each time cost the demo 2 s).
    const cached = id === undefined ? undefined : this.tenantCache.get(id);
    if (cached) return cached;
    // Ids come from URLs too: one that no tenant file can carry is no tenant, and never part of a path.
    if (id !== undefined && !TENANT_ID.test(id)) throw new IntegrationError(`no tenant "${id}"`, 'tenant');
    const ids = id === undefined ? this.tenantIds() : [];
    const tenantId = id ?? (ids.length === 1 ? ids[0] : undefined);
    if (!tenantId) {
      throw new IntegrationError(
        ids.length === 0
          ? 'no tenant configured; run `clearhub init --profile telco-de --tenant <id> ...` first'
          : `several tenants (${ids.join(', ')}); say which with --tenant`,
        'tenant',
      );
    }
    const known = this.tenantCache.get(tenantId);
    if (known) return known;
    const file = join(this.tenantsDir(), `${tenantId}.yaml`);
    if (!existsSync(file)) throw new IntegrationError(`no tenant "${tenantId}" (looked for ${file})`, 'tenant');
    // Secrets are resolved when the part that needs them starts (a sync needs no SMTP password): an unset variable
    // becomes a marker here, and `secret()` turns it into a clear error naming the variable.
    const cfg = loadTenantConfig(file, { env: lenientEnv(), tenantId });
    this.tenantCache.set(tenantId, cfg);
    return cfg;
  }

  /** Makes sure the tenant's row exists (tenancy is enforced by the store, not by the YAML). */
  async registerTenant(cfg: TenantConfig, profile?: string): Promise<void> {
    await this.store.db
      .insertInto('tenants')
      .values({
        tenant_id: cfg.tenant.id,
        name: cfg.tenant.name,
        country: cfg.tenant.country,
        currency: cfg.tenant.currency,
        profile: profile ?? null,
      })
      .onConflict((oc) =>
        oc
          .column('tenant_id')
          .doUpdateSet({ name: cfg.tenant.name, country: cfg.tenant.country, currency: cfg.tenant.currency }),
      )
      .execute();
  }

  private source(cfg: TenantConfig, name: string) {
    const src = cfg.sources.find((s) => s.name === name);
    if (!src) throw new IntegrationError(`tenant ${cfg.tenant.id} has no source "${name}"`, 'source');
    return src;
  }

  connector(cfg: TenantConfig, sourceName: string) {
    const key = `${cfg.tenant.id}/${sourceName}`;
    let c = this.connectorCache.get(key);
    if (!c) {
      const src = this.source(cfg, sourceName);
      const tenant = cfg.tenant.id;
      const log = this.callLog ? (line: object) => this.callLog?.({ tenant, ...line }) : undefined;
      c = this.connectorOverride?.(src, this.home) ?? createSourceConnector(src, this.home, log);
      this.connectorCache.set(key, c);
    }
    return c;
  }

  /** Resolves the connector an outbox row is delivered to. */
  readonly resolveTarget: TargetResolver = async (tenantId, source): Promise<WriteBackTarget> =>
    this.connector(this.tenant(tenantId), source);

  retryPolicy(cfg?: TenantConfig): RetryPolicy {
    const wb = cfg?.writeBack;
    return {
      attempts: wb?.attempts ?? 8,
      backoffBaseMs: wb?.backoffBaseMs ?? 1000,
      backoffMaxMs: wb?.backoffMaxMs ?? 300_000,
    };
  }

  /** Pulls every active source of the tenant (or one) and upserts what it maps. */
  async sync(
    tenantId?: string,
    only?: string,
    onProgress?: (source: string, n: number) => void,
    opts: { full?: boolean } = {},
  ): Promise<Record<string, SyncResult>> {
    const cfg = this.tenant(tenantId);
    await this.registerTenant(cfg);
    const out: Record<string, SyncResult> = {};
    for (const src of cfg.sources) {
      if (src.disabled || (only && src.name !== only)) continue;
      const connector = this.connector(cfg, src.name);
      const map = loadCompiledMapping(src.mapping);
      const since = opts.full ? undefined : await readCheckpoint(this.store, cfg.tenant.id, src.name);
      out[src.name] = await syncSource(this.store, {
        tenantId: cfg.tenant.id,
        source: src.name,
        debtorMatch: src.debtorMatch,
        batches: connector.pull({ since, signal: new AbortController().signal }),
        map,
        onProgress: (n) => onProgress?.(src.name, n),
        minRecordsPerTransaction: recordsPerTransaction(src),
      });
      if (connector.cleared) {
        const clearedSince = opts.full
          ? undefined
          : await readCheckpoint(this.store, cfg.tenant.id, `${src.name}:cleared`);
        const { closed } = await closeCleared(this.store, {
          tenantId: cfg.tenant.id,
          source: src.name,
          batches: connector.cleared({ since: clearedSince, signal: new AbortController().signal }),
        });
        out[src.name] = { ...out[src.name]!, closedInSource: closed };
      }
    }
    return out;
  }

  /** Checks every configured source: its mapping loads, and the connector's own checks (reachable, auth, rights). */
  async doctor(
    tenantId?: string,
  ): Promise<{ source: string; kind: string; check: string; ok: 'ok' | 'WARN' | 'FAIL' | '-'; detail: string }[]> {
    const cfg = this.tenant(tenantId);
    const rows: Awaited<ReturnType<Runtime['doctor']>> = (await storeChecks(this.store, this.embeddedDir)).map((c) => ({
      source: 'store',
      kind: this.store.dialect,
      ...c,
    }));
    for (const src of cfg.sources) {
      if (src.disabled) {
        rows.push({
          source: src.name,
          kind: src.kind,
          check: 'enabled',
          ok: '-',
          detail: 'disabled in the tenant file',
        });
        continue;
      }
      try {
        loadCompiledMapping(src.mapping);
        rows.push({ source: src.name, kind: src.kind, check: 'mapping', ok: 'ok', detail: src.mapping });
      } catch (err) {
        rows.push({ source: src.name, kind: src.kind, check: 'mapping', ok: 'FAIL', detail: (err as Error).message });
      }
      try {
        const report = await this.connector(cfg, src.name).check();
        for (const c of report.checks)
          rows.push({ source: src.name, kind: src.kind, check: c.name, ok: c.ok ? 'ok' : 'FAIL', detail: c.detail });
      } catch (err) {
        rows.push({ source: src.name, kind: src.kind, check: 'connector', ok: 'FAIL', detail: (err as Error).message });
      }
    }
    // The payment gateway: every configured provider starts (its credentials are in the environment) or says why not.
    if (cfg.gateway) {
      try {
        const t = this.tenantGateway(cfg.tenant.id);
        for (const name of Object.keys(cfg.gateway.providers)) {
          const down = t.unavailable?.find((u) => u.provider === name);
          rows.push({
            source: `gateway:${name}`,
            kind: 'provider',
            check: 'configured',
            // Like a disabled source: off until its variables are set, and the reason names them.
            ok: down ? '-' : 'ok',
            detail: down
              ? `off: ${down.reason}`
              : t.router.provider(name).capabilities.webhooks
                ? `webhooks to /v1/webhooks/${name}/${cfg.tenant.id}`
                : 'no webhooks (outcomes come from bank statements)',
          });
        }
      } catch (err) {
        if (!(err instanceof IntegrationError)) throw err;
        rows.push({ source: 'gateway', kind: 'gateway', check: 'configured', ok: '-', detail: `off: ${err.message}` });
      }
    }
    rows.push(...(await this.channelChecks(cfg)));
    return rows;
  }

  /**
   * The tenant's channels, for `doctor`: the SMTP server answers and takes the login, the SMS account URL and token
   * are usable, the letter folder can be written, the letter fonts are fonts. Nothing is sent.
   */
  private async channelChecks(cfg: TenantConfig): Promise<Awaited<ReturnType<Runtime['doctor']>>> {
    const rows: Awaited<ReturnType<Runtime['doctor']>> = [];
    const row = (channel: string, check: string, ok: 'ok' | 'FAIL', detail: string) =>
      rows.push({ source: `channel:${channel}`, kind: 'channel', check, ok, detail });
    const failure = (err: unknown) => (err as Error).message;
    const smtp = cfg.channels.email.smtp;
    try {
      const email = this.emailChannel(cfg);
      try {
        await email.verify();
      } finally {
        email.close();
      }
      row('email', 'smtp', 'ok', `${smtp.host}:${smtp.port} answered${smtp.user ? ' and took the login' : ''}`);
    } catch (err) {
      row('email', 'smtp', 'FAIL', `${smtp.host}:${smtp.port}: ${failure(err)}`);
    }
    if (cfg.channels.sms) {
      try {
        smsProviderFromConfig(cfg.channels.sms, { secret });
        row('sms', 'account', 'ok', `${new URL(cfg.channels.sms.endpoint).host}, sender ${cfg.channels.sms.sender}`);
      } catch (err) {
        row('sms', 'account', 'FAIL', failure(err));
      }
    }
    if (cfg.channels.letter) {
      const dir = underHome(this.home, cfg.channels.letter.outDir);
      // The letter channel creates the folder with its first batch: the nearest existing folder must be writable.
      let existing = dir;
      while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
      try {
        await access(existing, constants.W_OK | constants.X_OK);
        row('letter', 'outDir', 'ok', existing === dir ? `${dir}: writable` : `${dir}: will be created`);
      } catch (err) {
        row('letter', 'outDir', 'FAIL', `${dir}: ${failure(err)}`);
      }
    }
    if (cfg.channels.fonts) {
      try {
        const { fonts } = letterPdfOptions(cfg.channels, this.home);
        row('letter', 'fonts', 'ok', `${fonts!.regular}, ${fonts!.bold}`);
      } catch (err) {
        row('letter', 'fonts', 'FAIL', failure(err));
      }
    }
    return rows;
  }

  /**
   * `POST /v1/items`: records a push source sends, mapped by its mapping and upserted like one pulled batch;
   * rejected records are quarantined and reported by position.
   */
  async pushItems(input: { tenantId: string; source: string; records: Record<string, string>[] }) {
    const cfg = this.tenant(input.tenantId);
    const src = cfg.sources.find((s) => s.name === input.source && s.kind === 'push' && !s.disabled);
    if (!src)
      throw new IntegrationError(`tenant ${input.tenantId} has no enabled push source "${input.source}"`, 'source');
    const map = loadCompiledMapping(src.mapping);
    const rejected: { index: number; reason: string }[] = [];
    input.records.forEach((r, index) => {
      const m = map(r, { line: index + 1 });
      if (!m.ok && !m.skipped) rejected.push({ index, reason: m.reason });
    });
    async function* one() {
      yield { records: input.records.map((record, i) => ({ record, line: i + 1, file: 'POST /v1/items' })) };
    }
    const r = await syncSource(this.store, {
      tenantId: cfg.tenant.id,
      source: src.name,
      debtorMatch: src.debtorMatch,
      batches: one(),
      map,
    });
    return { inserted: r.inserted, updated: r.updated, unchanged: r.unchanged, quarantined: r.quarantined, rejected };
  }

  strategy(cfg: TenantConfig): DunningStrategy {
    const s = cfg.dunning.strategy;
    return { name: s.name, version: s.version, levels: s.levels, minTotalMinor: cfg.dunning.minTotalMinor ?? 0 };
  }

  emailChannel(cfg: TenantConfig): EmailChannel {
    const e = cfg.channels.email;
    return createEmailChannel({
      host: e.smtp.host,
      port: e.smtp.port,
      secure: e.smtp.secure,
      user: secret(e.smtp.user, 'channels.email.smtp.user'),
      password: secret(e.smtp.password, 'channels.email.smtp.password'),
      from: e.from,
      replyTo: e.replyTo,
      pool: true,
    });
  }

  /** One dunning run for a date: create the notices, then send them. Re-running the same date adds nothing. */
  async dunningRun(opts: {
    tenantId?: string;
    asOf: string;
    send: boolean;
    onProgress?: (phase: 'decide' | 'send', n: number) => void;
  }) {
    const cfg = this.tenant(opts.tenantId);
    await this.registerTenant(cfg);
    const strategy = this.strategy(cfg);
    const levelWriteBackSources = new Set(cfg.sources.filter((s) => s.writeBackDunningLevel).map((s) => s.name));
    const created = await createNotices(this.store, {
      tenantId: cfg.tenant.id,
      strategy,
      asOf: opts.asOf,
      levelWriteBackSources,
      onProgress: (n) => opts.onProgress?.('decide', n),
    });
    if (!opts.send) return { created, sent: null };
    const email = this.emailChannel(cfg);
    try {
      const templatesDir = resolveTemplatesDir(cfg.templates.dir);
      const letter = letterPdfOptions(cfg.channels, this.home);
      const sent = await sendPendingNotices(this.store, {
        tenantId: cfg.tenant.id,
        tenantName: cfg.tenant.name,
        runId: runIdOf(opts.asOf),
        asOf: opts.asOf,
        languages: cfg.tenant.languages,
        defaultLanguage: cfg.tenant.defaultLanguage,
        levelNames: new Map(strategy.levels.map((l) => [l.level, l.name])),
        render: (locale, template, view) => renderNotice(templatesDir, locale, template, view, letter),
        email,
        // SMS and letter from the tenant's channels section; a notice whose first channel fails falls back to them.
        channels: channelsFromConfig(cfg.channels, {
          home: this.home,
          templatesDir,
          secret,
          ...(this.callLog ? { smsLogger: this.smsCallLog(cfg.tenant.id) } : {}),
          ...(cfg.gateway ? { smsStatusCallbackUrl: smsReceiptsUrl(cfg.gateway.publicUrl, cfg.tenant.id) } : {}),
        }),
        settings: this.noticeSettings(cfg),
        onProgress: (n) => opts.onProgress?.('send', n),
        ...this.payLinks(cfg),
      });
      return { created, sent };
    } finally {
      email.close();
    }
  }

  /**
   * The payment gateway over every configured tenant: each tenant's providers, router and eligibility are built on
   * first use from its `gateway` section (secrets resolved then: an unset variable is a clear error naming it).
   */
  gateway(): GatewayContext {
    return { store: this.store, tenant: (id) => this.tenantGateway(id) };
  }

  /**
   * Where a tenant's SMS provider posts delivery receipts and the provider that verifies them: below the tenant's
   * `gateway.publicUrl`, the address Clearhub is reached at. Undefined without an SMS channel or without that address.
   */
  smsReceiptEndpoint(tenantId: string): SmsReceiptEndpoint | undefined {
    // The id comes from a URL: only known tenants (a configured one, or one in the folder now).
    if (!this.tenantCache.has(tenantId) && !this.tenantIds().includes(tenantId)) return undefined;
    const cfg = this.tenant(tenantId);
    if (!cfg.channels.sms || !cfg.gateway) return undefined;
    const url = smsReceiptsUrl(cfg.gateway.publicUrl, tenantId);
    return { url, provider: smsProviderFromConfig(cfg.channels.sms, { secret, smsStatusCallbackUrl: url }) };
  }

  /**
   * Every notice of a tenant with a gateway carries its debtor's pay link (signed, expiring, in the notice's
   * language). Without a usable gateway (no section, or its pay-link secret unset) notices go out without one.
   */
  private payLinks(cfg: TenantConfig): { viewModel?: SendOptions['viewModel'] } {
    if (!cfg.gateway) return {};
    let t: TenantGateway;
    try {
      t = this.tenantGateway(cfg.tenant.id);
    } catch (err) {
      if (err instanceof IntegrationError) return {};
      throw err;
    }
    const link = { publicUrl: t.publicUrl, secret: t.payLinkSecret, ttlDays: t.payLinkTtlDays };
    return {
      viewModel: (view, n) => ({
        ...view,
        payLink: payLinkUrl(link, {
          tenantId: t.tenantId,
          debtorId: n.debtorId,
          noticeId: n.noticeId,
          lang: view.locale,
        }),
      }),
    };
  }

  /**
   * What notices print about the creditor: the tenant's name, and for transfers the account of its bank-transfer
   * provider (the same account the checkout's bank instructions name), when that provider is configured and usable.
   */
  private noticeSettings(cfg: TenantConfig): Partial<NoticeSettings> {
    const bt = cfg.gateway?.providers['bank-transfer'];
    let account: { iban: string; bic?: string; beneficiary?: string } | undefined;
    if (bt) {
      try {
        const iban = secret(String(bt.iban ?? ''), 'gateway.providers.bank-transfer.iban');
        if (iban) {
          account = {
            iban: iban.replace(/\s+/g, ''),
            ...(typeof bt.bic === 'string' ? { bic: bt.bic } : {}),
            ...(typeof bt.creditorName === 'string' ? { beneficiary: bt.creditorName } : {}),
          };
        }
      } catch (err) {
        if (!(err instanceof IntegrationError)) throw err;
      }
    }
    return { creditor: { name: cfg.tenant.name, addressLines: [] }, ...(account ? { bankAccount: account } : {}) };
  }

  /** SMS provider call lines go where the connectors' call lines go. */
  private smsCallLog(tenant: string) {
    const log = (message: string, meta: object) => this.callLog?.({ tenant, message, ...meta });
    return { info: log, warn: log };
  }

  /** Tenants with a `gateway` section. */
  gatewayTenantIds(): string[] {
    return this.tenantIds().filter((id) => this.tenant(id).gateway);
  }

  /** The one tenant using `provider`, for webhooks sent to `/v1/webhooks/{provider}` without a tenant. */
  webhookTenant(provider: string): string {
    const users = this.gatewayTenantIds().filter((id) => this.tenant(id).gateway?.providers[provider]);
    if (users.length === 1) return users[0]!;
    throw new IntegrationError(
      users.length === 0
        ? `no tenant uses ${provider}`
        : `several tenants use ${provider} (${users.join(', ')}); point each account's webhook at /v1/webhooks/${provider}/<tenant>`,
      'provider',
      { notFound: true },
    );
  }

  /**
   * Background work of the gateway for a worker: processes stored webhook events from the queue, and every
   * `everyMs` asks providers about payments whose outcome is unknown and re-queues events stranded between commit
   * and enqueue.
   */
  async startGatewayWorker(opts: { concurrency?: number; everyMs?: number } = {}): Promise<{ close(): Promise<void> }> {
    const ctx = this.gateway();
    const consumer = await consumeWebhooks(ctx, this.queue, opts.concurrency ?? 4);
    let stopped = false;
    const tick = async () => {
      for (const id of this.gatewayTenantIds()) {
        if (stopped) return;
        await syncDuePayments(ctx, id).catch(() => undefined);
      }
      await sweepWebhookEvents(ctx, this.queue).catch(() => undefined);
    };
    const timer = setInterval(() => void tick(), opts.everyMs ?? 15_000);
    timer.unref();
    return {
      close: async () => {
        stopped = true;
        clearInterval(timer);
        await consumer.close();
      },
    };
  }

  private tenantGateway(id: string): TenantGateway {
    const cached = this.gatewayCache.get(id);
    if (cached) return cached;
    // The id comes from a URL (a provider's webhook, anyone may post one): an unknown tenant is not found, and the
    // answer names no file of this server.
    if (!this.tenantCache.has(id) && !this.tenantIds().includes(id)) {
      throw new IntegrationError(`no tenant "${id}"`, 'tenant', { notFound: true });
    }
    const cfg = this.tenant(id);
    const g = cfg.gateway;
    if (!g) throw new IntegrationError(`tenant ${id} has no gateway section; nothing can be paid online`, 'gateway');
    // The built-in level rule plus what the dunning strategy's actions withdrew (until the dunned items are paid).
    const eligibility = levelEligibility(this.store, g.withdraw, dunningEligibility(this.store));
    const providerCtx = {
      tenantId: id,
      store: this.store,
      invoiceEligible: async (e: { debtorId?: string; amountMinor: number; currency: string; country?: string }) => {
        if (!e.debtorId) return true;
        const withdrawn = await eligibility({
          tenantId: id,
          debtorId: e.debtorId,
          amountMinor: e.amountMinor,
          currency: e.currency,
          country: e.country ?? cfg.tenant.country,
        });
        const invoice = methodById('invoice');
        return !invoice || !withdrawnBy(invoice, withdrawn);
      },
      ...(this.callLog ? { log: (line: object) => this.callLog?.({ tenant: id, ...line }) } : {}),
    };
    // A provider whose credentials are not in the environment is left out (and said so), not the whole gateway:
    // the other methods stay payable while someone sets the missing variable.
    const providers = new Map<string, PaymentProvider>();
    const unavailable: { provider: string; reason: string }[] = [];
    for (const [name, raw] of Object.entries(g.providers)) {
      try {
        const options = resolveSecrets(raw, `gateway.providers.${name}`) as Record<string, unknown>;
        for (const [n, p] of createProviders({ [name]: options }, providerCtx)) providers.set(n, p);
      } catch (err) {
        if (!(err instanceof IntegrationError)) throw err;
        unavailable.push({ provider: name, reason: err.message });
      }
    }
    const t: TenantGateway = {
      tenantId: id,
      name: cfg.tenant.name,
      country: cfg.tenant.country,
      currency: cfg.tenant.currency,
      languages: cfg.tenant.languages,
      defaultLanguage: cfg.tenant.defaultLanguage,
      methods: cfg.paymentMethods,
      router: new PaymentRouter(providers),
      eligibility,
      unavailable,
      sessionTtlMinutes: g.sessionTtlMinutes,
      publicUrl: g.publicUrl,
      payLinkSecret: secret(g.payLinkSecret, 'gateway.payLinkSecret')!,
      payLinkTtlDays: g.payLinkTtlDays,
    };
    this.gatewayCache.set(id, t);
    return t;
  }

  async close(): Promise<void> {
    for (const t of this.gatewayCache.values()) {
      for (const name of ['stripe', 'adyen', 'paypal', 'sepa-direct-debit', 'bank-transfer', 'invoice']) {
        if (t.router.has(name)) await t.router.provider(name).close?.();
      }
    }
    for (const c of this.connectorCache.values()) await c.close?.();
    this.connectorCache.clear();
    await this.queue.close();
    await this.store.close();
  }
}

/** Templates named in a tenant are looked up relative to the package root unless absolute. */
export function resolveTemplatesDir(dir: string): string {
  return resolve(packageRoot(), dir);
}

/** The directory holding Clearhub's package.json, whether running from src (tests) or dist/src (built). */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config', 'profiles'))) return dir;
    dir = resolve(dir, '..');
  }
  return resolve(__dirname, '..');
}

/** Resolves every `${env:…}` marker below `value`; an unset one is an error naming its field. */
function resolveSecrets(value: unknown, field: string): unknown {
  if (typeof value === 'string') return secret(value, field);
  if (Array.isArray(value)) return value.map((v, i) => resolveSecrets(v, `${field}.${i}`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveSecrets(v, `${field}.${k}`)]));
  }
  return value;
}
