import { canonical, FormError, parseForm } from '../simulators/stripe/form';

describe("the Stripe simulator's form parser", () => {
  test('reads the bracket syntax the SDK writes', () => {
    const body =
      'amount=12345&currency=eur&allowed_payment_method_types[0]=card&metadata[clearhub_payment_id]=p-1' +
      '&metadata[note]=a%20b%26c&expand[0]=latest_charge&expand[1]=latest_charge.refunds' +
      '&payment_method_options[card][request_three_d_secure]=any&return_url=https%3A%2F%2Fshop.example%2Fr%3Fo%3D7';
    expect(parseForm(body)).toEqual({
      amount: '12345',
      currency: 'eur',
      allowed_payment_method_types: ['card'],
      metadata: { clearhub_payment_id: 'p-1', note: 'a b&c' },
      expand: ['latest_charge', 'latest_charge.refunds'],
      payment_method_options: { card: { request_three_d_secure: 'any' } },
      return_url: 'https://shop.example/r?o=7',
    });
  });

  test('takes encoded brackets, `[]` appends and `+` for spaces, as qs does', () => {
    expect(parseForm('expand%5B%5D=a&expand%5B%5D=b&description=two+words')).toEqual({
      expand: ['a', 'b'],
      description: 'two words',
    });
  });

  test('arrays come out in index order; sparse or non-numeric keys stay an object', () => {
    expect(parseForm('x[1]=b&x[0]=a')).toEqual({ x: ['a', 'b'] });
    expect(parseForm('x[a]=1&x[0]=2')).toEqual({ x: { a: '1', 0: '2' } });
  });

  test('refuses prototype keys and broken names', () => {
    expect(() => parseForm('__proto__[admin]=1')).toThrow(FormError);
    expect(() => parseForm('metadata[constructor][x]=1')).toThrow(FormError);
    expect(() => parseForm('a[b=1')).toThrow(FormError);
    expect(() => parseForm('a=%E0%A4%A')).toThrow(FormError);
  });

  test('canonical text ignores parameter order, not values', () => {
    expect(canonical(parseForm('a=1&b[x]=2&b[y]=3'))).toBe(canonical(parseForm('b[y]=3&a=1&b[x]=2')));
    expect(canonical(parseForm('a=1'))).not.toBe(canonical(parseForm('a=2')));
    expect(canonical(parseForm('e[0]=x&e[1]=y'))).not.toBe(canonical(parseForm('e[0]=y&e[1]=x')));
  });
});
