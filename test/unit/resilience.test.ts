import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { createSourcePolicy } from '../../src/sync/resilience';

describe('source resilience policy', () => {
  test('a read that fails transiently is retried until it succeeds', async () => {
    const p = createSourcePolicy('sap', { retries: 3, backoffBaseMs: 1, backoffMaxMs: 2 });
    let calls = 0;
    const v = await p.read(async () => {
      if (++calls < 3) throw new ConnectorError('503');
      return 'ok';
    });
    expect(v).toBe('ok');
    expect(calls).toBe(3);
  });

  test('a wrong credential is not retried', async () => {
    const p = createSourcePolicy('sap', { retries: 3, backoffBaseMs: 1 });
    let calls = 0;
    await expect(
      p.read(async () => {
        calls++;
        throw new IntegrationError('401: user CLEARHUB rejected', 'auth.user');
      }),
    ).rejects.toThrow(IntegrationError);
    expect(calls).toBe(1);
  });

  test('a write that times out is an indeterminate connector error, and is not retried here', async () => {
    const p = createSourcePolicy('sap', { timeoutMs: 20 });
    let calls = 0;
    const err = await p
      .write(async (signal) => {
        calls++;
        await new Promise((r) => setTimeout(r, 200));
        return signal.aborted;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(true);
    expect((err as ConnectorError).message).toMatch(/no answer within 20 ms/);
    expect(calls).toBe(1);
  });

  test('after repeated failures the breaker opens and calls fail fast without reaching the system', async () => {
    const p = createSourcePolicy('sap', { retries: 0, breakerThreshold: 2, breakerHalfOpenAfterMs: 60_000 });
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new ConnectorError('503');
    };
    await expect(p.read(failing)).rejects.toThrow('503');
    await expect(p.read(failing)).rejects.toThrow('503');
    await expect(p.read(failing)).rejects.toThrow(/circuit open/);
    expect(calls).toBe(2);
    expect(p.state).toBe('open');
  });
});
