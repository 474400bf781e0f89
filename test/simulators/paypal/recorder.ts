/**
 * A recording axios adapter for unit tests of the PayPal provider: the SDK's requests are kept (method, URL, headers,
 * body as sent) and answered from recorded payloads by `METHOD /path`, without a server. A route may answer with a
 * payload or throw (a transport error).
 */
import { type AxiosAdapter, AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

export type Reply = { status: number; body: unknown } | ((cfg: InternalAxiosRequestConfig) => never);

/** The token answer PayPal's OAuth endpoint gives (values made up). */
export const TOKEN_REPLY = {
  status: 200,
  body: {
    scope: 'https://uri.paypal.com/services/payments/payment',
    access_token: 'A21AAtest-access-token-0001',
    token_type: 'Bearer',
    app_id: 'APP-80W284485P519543T',
    expires_in: 32_400,
    nonce: '2026-11-29T12:00:00Zabc',
  },
};

export function recordingAdapter(routes: Record<string, Reply | Reply[]>) {
  const requests: RecordedRequest[] = [];
  const queues = new Map(Object.entries(routes).map(([k, v]) => [k, Array.isArray(v) ? [...v] : [v]]));
  const adapter: AxiosAdapter = async (cfg) => {
    const url = cfg.url ?? '';
    const method = (cfg.method ?? 'get').toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(cfg.headers?.toJSON?.() ?? cfg.headers ?? {})) {
      if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
    }
    const raw = cfg.data;
    let body: unknown = raw;
    if (typeof raw === 'string') {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    requests.push({ method, url, headers, body });
    const key = `${method} ${new URL(url).pathname}`;
    const queue = queues.get(key);
    const reply = queue && (queue.length > 1 ? queue.shift() : queue[0]);
    if (!reply) throw new Error(`no recorded answer for ${key}`);
    if (typeof reply === 'function') return reply(cfg);
    const res: AxiosResponse = {
      data: JSON.stringify(reply.body),
      status: reply.status,
      statusText: '',
      headers: { 'content-type': 'application/json' },
      config: cfg,
      request: {},
    };
    return res;
  };
  return { adapter, requests };
}

/** A transport failure as axios reports it (e.g. `ECONNABORTED` for a timeout). */
export function transportError(code: string, message = code): (cfg: InternalAxiosRequestConfig) => never {
  return (cfg) => {
    throw new AxiosError(message, code, cfg);
  };
}
