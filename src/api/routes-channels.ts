import { z } from 'zod';
import { receiveSmsReceipt } from '../channels/sms/receipts';
import { classifyError } from '../domain/errors';
import { problems } from './problems';
import { defineRoute, type Route, type RouteDeps } from './routes';
import { named, responseSchemas } from './schemas';

const ReceiptParams = z.strictObject({ tenant: z.string().min(2).max(40) });

const ReceiptAck = named(
  responseSchemas,
  'SmsReceiptAck',
  z.object({
    matched: z.boolean().describe('False when no sent text has this message id (nothing changed)'),
    noticeStatus: z.enum(['pending', 'sent', 'bounced', 'failed']).optional(),
    fallback: z.boolean().describe("The notice went back in line for its plan's next channel"),
  }),
);

/** Delivery receipts of the notice channels. */
export function channelRoutes(deps: RouteDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/channels/sms/receipts/:tenant',
      operationId: 'receiveSmsReceipt',
      summary:
        "An SMS provider's delivery receipt (Twilio status callback): verified by its signature; an undelivered text " +
        "sends the notice on to the plan's next channel",
      tag: 'channels',
      auth: false,
      params: ReceiptParams,
      raw: { limit: '64kb', contentTypes: ['application/x-www-form-urlencoded'] },
      responses: {
        200: { description: 'Applied, or a repeat that changed nothing', schema: ReceiptAck },
        400: { description: 'The signature does not verify; nothing changed' },
        404: { description: 'The tenant has no SMS channel with receipts' },
      },
      handle: async ({ params, body, requestHeaders }) => {
        const endpoint = deps.services.smsReceipts?.(params.tenant);
        if (!endpoint) throw problems.notFound(`tenant ${params.tenant} takes no SMS receipts`);
        try {
          const r = await receiveSmsReceipt(deps.store, params.tenant, endpoint, {
            headers: requestHeaders,
            body: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
          });
          return {
            status: 200,
            json: {
              matched: r.matched,
              fallback: r.fallback,
              ...(r.noticeStatus ? { noticeStatus: r.noticeStatus } : {}),
            },
          };
        } catch (err) {
          // A receipt that does not verify is the sender's mistake (or a forgery), not a field of ours to correct.
          if (classifyError(err) === 'integration')
            throw problems.badRequest(`receipt rejected: ${(err as Error).message}`);
          throw err;
        }
      },
    }),
  ];
}
