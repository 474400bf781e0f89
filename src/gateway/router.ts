/**
 * The router (DESIGN §6): picks the provider for a payment by the tenant's preference and each provider's health,
 * and fails over to the next one only when the first certainly did not take the money.
 *
 * Certainly not taken: the provider's circuit is open (nothing was sent), the request was refused before it was
 * processed (`IntegrationError`: bad credentials, a request the provider rejects), or the connection failed before
 * the request left (`ConnectorError` that is not indeterminate). A decline is an answer, not a failure: it goes back
 * to the payer, who may choose another method. An indeterminate outcome (timeout, 5xx) stops the router: the money
 * may have moved, so the caller records the payment as pending and a status sync or the webhook settles it.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { ConnectorError, IntegrationError } from '../domain/errors';
import type { CreatePaymentInput, PaymentProvider, ProviderPayment } from './providers/types';

export interface RouteCandidate {
  provider: string;
  providerType: string;
}

export interface RouterAttempt {
  provider: string;
  outcome: 'answered' | 'circuit_open' | 'refused' | 'unreachable' | 'indeterminate' | 'not_configured';
  detail?: string;
  at: string;
}

export type RouteResult =
  | { kind: 'answered'; provider: string; payment: ProviderPayment; attempts: RouterAttempt[] }
  | { kind: 'indeterminate'; provider: string; error: ConnectorError; attempts: RouterAttempt[] }
  | { kind: 'unavailable'; attempts: RouterAttempt[]; error: Error };

export interface RouterOptions {
  /** Consecutive transport failures that open a provider's circuit. @defaultValue 5 */
  breakerThreshold?: number;
  /** How long an open circuit waits before it lets one request try. @defaultValue 30000 */
  halfOpenAfterMs?: number;
}

export class PaymentRouter {
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(
    private readonly providers: ReadonlyMap<string, PaymentProvider>,
    private readonly options: RouterOptions = {},
  ) {}

  provider(name: string): PaymentProvider {
    const p = this.providers.get(name);
    if (!p)
      throw new IntegrationError(`provider ${name} is not configured for this tenant`, `gateway.providers.${name}`);
    return p;
  }

  has(name: string): boolean {
    return this.providers.has(name);
  }

  /** Whether the provider's circuit lets requests through now. */
  healthy(name: string): boolean {
    const s = this.breaker(name).state;
    return s !== CircuitState.Open && s !== CircuitState.Isolated;
  }

  /**
   * Creates the payment at the first candidate that answers. Each provider gets its own idempotency key derived
   * from the caller's (`<key>:<provider>`), so a retry of the whole call repeats exactly what was sent before.
   */
  async create(
    candidates: readonly RouteCandidate[],
    input: Omit<CreatePaymentInput, 'providerType'>,
  ): Promise<RouteResult> {
    const attempts: RouterAttempt[] = [];
    const at = () => new Date().toISOString();
    let lastError: Error | undefined;
    for (const c of candidates) {
      const provider = this.providers.get(c.provider);
      if (!provider) {
        attempts.push({ provider: c.provider, outcome: 'not_configured', at: at() });
        continue;
      }
      try {
        const payment = await this.breaker(c.provider).execute(() =>
          provider.create({
            ...input,
            providerType: c.providerType,
            idempotencyKey: `${input.idempotencyKey}:${c.provider}`,
          }),
        );
        attempts.push({ provider: c.provider, outcome: 'answered', detail: payment.status, at: at() });
        return { kind: 'answered', provider: c.provider, payment, attempts };
      } catch (err) {
        lastError = err as Error;
        if (err instanceof BrokenCircuitError) {
          attempts.push({ provider: c.provider, outcome: 'circuit_open', at: at() });
          continue;
        }
        if (err instanceof ConnectorError && err.indeterminate) {
          attempts.push({ provider: c.provider, outcome: 'indeterminate', detail: err.message, at: at() });
          return { kind: 'indeterminate', provider: c.provider, error: err, attempts };
        }
        if (err instanceof IntegrationError) {
          attempts.push({ provider: c.provider, outcome: 'refused', detail: err.message, at: at() });
          continue;
        }
        if (err instanceof ConnectorError) {
          attempts.push({ provider: c.provider, outcome: 'unreachable', detail: err.message, at: at() });
          continue;
        }
        // Anything else (a bug, an unexpected SDK error): we cannot know whether the request left.
        const wrapped = new ConnectorError(`${c.provider}: ${(err as Error).message}`, {
          indeterminate: true,
          cause: err,
        });
        attempts.push({ provider: c.provider, outcome: 'indeterminate', detail: wrapped.message, at: at() });
        return { kind: 'indeterminate', provider: c.provider, error: wrapped, attempts };
      }
    }
    // Made only when needed: capturing an error's stack costs tens of microseconds on every call.
    return {
      kind: 'unavailable',
      attempts,
      error: lastError ?? new IntegrationError('no provider carries this method', 'method'),
    };
  }

  private breaker(name: string): CircuitBreakerPolicy {
    let b = this.breakers.get(name);
    if (!b) {
      // Only transport failures count against a provider's health; a refused request or a decline does not.
      b = circuitBreaker(
        handleWhen((e) => e instanceof ConnectorError),
        {
          halfOpenAfter: this.options.halfOpenAfterMs ?? 30_000,
          breaker: new ConsecutiveBreaker(this.options.breakerThreshold ?? 5),
        },
      );
      this.breakers.set(name, b);
    }
    return b;
  }
}
