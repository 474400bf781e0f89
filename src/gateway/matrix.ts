/**
 * The capability matrix (method × provider) for the README, generated from the catalogue and from what each of our
 * provider implementations takes, so the table cannot drift from the code: `clearhub methods --matrix` prints it and a
 * test compares it with the README.
 */
import { CATALOGUE_PROVIDERS, listMethods, type PaymentMethodEntry } from './catalogue';
import { SUPPORTED_TYPES as PAYPAL_TYPES } from './providers/paypal/transformers';

/** Types a provider implementation refuses although the catalogue lists them for it (not built yet). */
function implemented(provider: string, type: string): boolean {
  if (provider === 'paypal') return (PAYPAL_TYPES as readonly string[]).includes(type);
  return true;
}

function cell(m: PaymentMethodEntry, provider: (typeof CATALOGUE_PROVIDERS)[number]): string {
  const p = m.providers[provider];
  if (!p) return '';
  if (p.preview) return `(${p.type}: preview)`;
  if (!implemented(provider, p.type)) return `(${p.type}: not yet)`;
  return `\`${p.type}\``;
}

export function capabilityMatrix(): string {
  const cols = CATALOGUE_PROVIDERS;
  const head = `| method | flow | refund | recurring | ${cols.join(' | ')} |`;
  const rule = `|${' --- |'.repeat(4 + cols.length)}`;
  const rows = listMethods()
    .filter((m) => !m.deprecated)
    .map((m) => `| ${m.id} | ${m.flow} | ${m.refund} | ${m.recurring} | ${cols.map((c) => cell(m, c)).join(' | ')} |`);
  const deprecated = listMethods()
    .filter((m) => m.deprecated)
    .map((m) => m.id);
  return [
    head,
    rule,
    ...rows,
    '',
    `Known but never offered (deprecated): ${deprecated.join(', ')}. A cell is the type string the provider's API takes; "preview" types are gated by the provider, "not yet" ones our provider refuses today.`,
  ].join('\n');
}
