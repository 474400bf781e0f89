import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { initTenant } from '../../src/config/init';
import { recordPayment } from '../../src/gateway/payments';
import type { Store } from '../../src/store/db';

/** A fresh installation directory with one tenant from a golden profile, its e-mail pointed at a local sink. */
export function makeHome(opts: { tenant?: string; profile?: string; smtpPort: number; writeBackAttempts?: number }): {
  home: string;
  tenant: string;
  inbound: string;
  outbound: string;
} {
  const home = mkdtempSync(join(tmpdir(), 'clearhub-home-'));
  const tenant = opts.tenant ?? 'acme';
  const file = initTenant({
    profile: opts.profile ?? 'telco-de',
    tenant,
    name: 'ACME Mobile',
    country: 'DE',
    currency: 'EUR',
    home,
  });
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['channels', 'email', 'smtp', 'host'], '127.0.0.1');
  doc.setIn(['channels', 'email', 'smtp', 'port'], opts.smtpPort);
  doc.setIn(['channels', 'email', 'smtp', 'secure'], false);
  doc.deleteIn(['channels', 'email', 'smtp', 'user']);
  doc.deleteIn(['channels', 'email', 'smtp', 'password']);
  if (opts.writeBackAttempts) {
    doc.setIn(['writeBack', 'attempts'], opts.writeBackAttempts);
    doc.setIn(['writeBack', 'backoffBaseMs'], 20);
    doc.setIn(['writeBack', 'backoffMaxMs'], 50);
  }
  writeFileSync(file, doc.toString());
  const inbound = join(home, 'data', tenant, 'billing', 'in');
  const outbound = join(home, 'data', tenant, 'billing', 'out');
  mkdirSync(inbound, { recursive: true });
  mkdirSync(outbound, { recursive: true });
  return { home, tenant, inbound, outbound };
}

export const HEADER =
  'customer_no,customer_name,customer_type,email,phone,language,country,document_no,contract_no,document_date,due_date,currency,amount,open_amount,dunning_level,dunning_block';

/** A cash payment of 10.00 at the counter from every debtor the sync linked: each pays an item, a write-back each. */
export async function payEveryDebtor(store: Store, tenantId: string): Promise<void> {
  const links = await store.db.selectFrom('debtor_links').select('debtor_id').execute();
  for (const [i, l] of links.entries()) {
    await recordPayment(store, {
      tenantId,
      idempotencyKey: `till-${i}`,
      debtorId: l.debtor_id,
      amountMinor: 10_00,
      currency: 'EUR',
      method: 'cash',
    });
  }
}
