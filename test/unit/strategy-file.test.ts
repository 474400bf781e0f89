import { ConfigError } from '../../src/config/yaml-errors';
import { parseStrategy } from '../../src/dunning/strategy-file';

const OPTS = { currency: 'EUR', timezone: 'Europe/Berlin' };

/** A valid strategy; tests replace one line and look for the error there. */
const GOOD = `strategy: test
version: 1
agencies:
  - name: inkasso
segments:
  - name: vip
    when: '"vip" in debtor.tags and account.totalOverdue > 500.00'
    levels:
      - level: 1
        name: reminder
        when:
          daysPastDue: 3
          condition: >-
            item.amount >= 10.00
            and debtor.type == "B2C"
        channel: email
        template: reminder
        tone: friendly
        fee: '0.00'
  - name: rest
    when: 'true'
    levels:
      - level: 1
        name: reminder
        when: { daysPastDue: 3 }
        channel: email
        template: reminder
        tone: friendly
`;

function problems(text: string, file = 'config/strategies/test.v1.yaml'): string[] {
  try {
    parseStrategy(file, text, OPTS);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  throw new Error('the strategy loaded');
}

/** 1-based line and column of `needle` (its `nth` occurrence) in `text`. */
function pos(text: string, needle: string, nth = 0): string {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

test('the example loads: two segments, the first with a level condition', () => {
  const s = parseStrategy('config/strategies/test.v1.yaml', GOOD, OPTS);
  expect(s.segments.map((x) => x.name)).toEqual(['vip', 'rest']);
  expect([...s.uses].sort()).toEqual(['account.totalOverdue', 'debtor.tags', 'debtor.type', 'item.amount']);
});

test('an unknown fact in a quoted segment condition is reported at its own column', () => {
  const text = GOOD.replace('debtor.tags and', 'debtor.tag and');
  expect(problems(text)).toEqual([
    `config/strategies/test.v1.yaml:${pos(text, 'tag and')}: segments[0].when: unknown fact debtor.tag (did you mean debtor.tags?); debtor has type, tags, tenureDays, language, country, channels, consent`,
  ]);
});

test('a type error on the second line of a folded condition points at that line', () => {
  const text = GOOD.replace('debtor.type == "B2C"', 'debtor.type == "Consumer"');
  const [p] = problems(text);
  expect(p).toBe(
    `config/strategies/test.v1.yaml:${pos(text, '"Consumer"')}: segments[0].levels[0].when.condition: "Consumer" is not a possible value here; expected one of "B2B", "B2C"`,
  );
});

test('a segment condition cannot look at a single item', () => {
  const text = GOOD.replace("when: 'true'", "when: 'item.daysPastDue > 30'");
  expect(problems(text)[0]).toBe(
    `config/strategies/test.v1.yaml:${pos(text, 'item.daysPastDue')}: segments[1].when: a segment condition cannot use item facts; it can use debtor, account, history, calendar (put conditions on single items into a level)`,
  );
});

test('money: more decimals than the currency has, and amounts written as YAML numbers, are refused', () => {
  const text = GOOD.replace("fee: '0.00'", "fee: '2.505'");
  expect(problems(text)).toEqual([
    `config/strategies/test.v1.yaml:${pos(text, "'2.505'")}: segments[0].levels[0].fee: "2.505" has more decimals than EUR allows (2): for 2505 write 2505 (no thousands separator)`,
  ]);
  const float = GOOD.replace("fee: '0.00'", 'fee: 2.50');
  expect(problems(float)[0]).toMatch(/test\.v1\.yaml:\d+:\d+: segments\[0\]\.levels\[0\]\.fee: expected string/);
});

test('unknown keys list the allowed ones; enums list their values', () => {
  const text = GOOD.replace('tone: friendly', 'tone: cheerful').replace('template: reminder', 'templat: reminder');
  const p = problems(text);
  expect(p).toContain(
    `config/strategies/test.v1.yaml:${pos(text, 'cheerful')}: segments[0].levels[0].tone: expected one of friendly, neutral, firm, final`,
  );
  expect(p.find((x) => x.includes('"templat"'))).toMatch(/unknown key "templat"; allowed: level, name, when, channel/);
});

test('no strategy can loosen the German pack: quiet hours, contact cap, Sundays', () => {
  const text = GOOD.replace(
    'agencies:',
    `guardrails:
  quietHours: { from: '22:00', to: '07:00' }
  maxContactsPerWeek: 7
  businessDays: [Sat, Sun]
agencies:`,
  );
  expect(problems(text)).toEqual([
    `config/strategies/test.v1.yaml:${pos(text, "'22:00'")}: guardrails.quietHours.from: quiet hours must start by 20:00 in the evening: the German pack keeps 20:00–08:00 free of contact; a strategy may only widen it`,
    `config/strategies/test.v1.yaml:${pos(text, "'07:00'")}: guardrails.quietHours.to: quiet hours must last until at least 08:00: the German pack keeps 20:00–08:00 free of contact; a strategy may only widen it`,
    `config/strategies/test.v1.yaml:${pos(text, 'Sun]')}: guardrails.businessDays[1]: Sun is not allowed: the German pack allows no contact on Sundays`,
    `config/strategies/test.v1.yaml:${pos(text, '7\n')}: guardrails.maxContactsPerWeek: at most 3 contacts per debtor per week are allowed by the German pack`,
  ]);
});

test('semantic mistakes: levels out of order, an unknown agency, a file named after another version', () => {
  const text = GOOD.replace(
    `      - level: 1
        name: reminder
        when: { daysPastDue: 3 }
        channel: email`,
    `      - level: 2
        name: reminder
        when: { daysPastDue: 3 }
        actions: { handOff: collectors }
        channel: email
        template: reminder
        tone: friendly
      - level: 1
        name: again
        when: { daysPastDue: 1 }
        channel: letter`,
  );
  const p = problems(text, 'config/strategies/test.v2.yaml');
  expect(p).toEqual([
    `config/strategies/test.v2.yaml:2:10: version: the file of strategy test version 1 must be named test.v1.yaml`,
    `config/strategies/test.v2.yaml:${pos(text, 'collectors')}: segments[1].levels[0].actions.handOff: no agency "collectors"; agencies: inkasso`,
    `config/strategies/test.v2.yaml:${pos(text, '1\n        name: again')}: segments[1].levels[1].level: must be greater than 2: levels ascend`,
    `config/strategies/test.v2.yaml:${pos(text, '1 }', 0)}: segments[1].levels[1].when.daysPastDue: must be greater than the previous level's 3: levels are reached in order`,
  ]);
});
