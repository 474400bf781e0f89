/**
 * SMS delivery receipts over HTTP: the provider posts each message's final status to
 * `POST /v1/channels/sms/receipts/{tenant}`; a verified receipt updates the notice's delivery, and an undelivered
 * text puts the notice back in line for the next channel of its plan (deliveries.ts).
 */

import type { Store } from '../../store/db';
import { applyDeliveryReceipt, type ReceiptResult } from '../deliveries';
import { smsReceiptToDelivery } from './channel';
import type { SmsProvider } from './provider';

/** Where a tenant's SMS provider posts receipts, and the provider that verifies them. */
export interface SmsReceiptEndpoint {
  provider: SmsProvider;
  /** The URL exactly as the provider is told it (Twilio signs the URL it posts to, not the one a proxy forwards). */
  url: string;
}

/** The receipt URL of a tenant below the address Clearhub is reached at (`gateway.publicUrl`). */
export function smsReceiptsUrl(publicUrl: string, tenantId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/channels/sms/receipts/${encodeURIComponent(tenantId)}`;
}

/**
 * Verifies one receipt with the provider's signature scheme and applies it.
 * @throws IntegrationError when the signature does not verify (nothing changes).
 */
export async function receiveSmsReceipt(
  store: Store,
  tenantId: string,
  endpoint: SmsReceiptEndpoint,
  req: { headers: Readonly<Record<string, string>>; body: Buffer },
): Promise<ReceiptResult> {
  const receipt = endpoint.provider.parseReceipt({ url: endpoint.url, headers: req.headers, body: req.body });
  return applyDeliveryReceipt(store, tenantId, smsReceiptToDelivery(receipt));
}
