import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { capabilityMatrix } from '../../src/gateway/matrix';

test("the README's method × provider matrix is the one the code generates", () => {
  const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
  const between = readme.split('<!-- methods-matrix:start -->')[1]?.split('<!-- methods-matrix:end -->')[0];
  expect(between?.trim()).toBe(capabilityMatrix().trim());
  // Spot checks a reader relies on: cards through Stripe and Adyen, deprecated methods never in a row.
  expect(between).toMatch(/^\| card \| card \| .*`card`.*`scheme`/m);
  expect(between).not.toMatch(/^\| (sofort|giropay) \|/m);
});
