import { newId } from '../../src/domain/ids';

describe('newId', () => {
  it('makes UUIDv7 text that sorts in creation order and never repeats, also past the random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => newId()); // far more ids than one pool of random bytes holds
    for (const id of [ids[0]!, ids[9_999]!, ids[19_999]!]) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    const ms = Number.parseInt(ids[0]!.replace('-', '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    // The random tails are not a counter: consecutive ids differ in most of their last 12 hex digits.
    const tails = ids.slice(0, 100).map((id) => id.slice(-12));
    expect(new Set(tails).size).toBe(100);
  });
});
