import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime';
import { makeHome } from '../helpers/tenant';

describe('Runtime: which tenants exist', () => {
  const env = makeHome({ smtpPort: 1 });
  const tenants = join(env.home, 'config', 'tenants');
  let rt: Runtime;

  beforeAll(async () => {
    rt = await Runtime.open({ home: env.home, databaseUrl: 'pglite:memory', redisUrl: '' });
  });
  afterAll(async () => {
    await rt.close();
  });

  test('the one tenant is found without naming it, and by its id', () => {
    expect(rt.tenant().tenant.id).toBe(env.tenant);
    expect(rt.tenant(env.tenant).tenant.id).toBe(env.tenant);
  });

  test('a tenant added while the process runs is found by its id', () => {
    const file = join(tenants, 'second.yaml');
    writeFileSync(
      file,
      readFileSync(join(tenants, `${env.tenant}.yaml`), 'utf8').replace(`id: ${env.tenant}`, 'id: second'),
    );
    expect(rt.tenant('second').tenant.id).toBe('second');
    expect(() => rt.tenant()).toThrow(/several tenants \(acme, second\)/);
  });

  test('an id that no tenant file can carry is no tenant, even when a file outside the folder would match it', () => {
    // config/evil.yaml is a valid tenant file one folder up: an id from a URL must never reach it.
    copyFileSync(join(tenants, `${env.tenant}.yaml`), join(env.home, 'config', 'evil.yaml'));
    expect(() => rt.tenant('../evil')).toThrow('no tenant "../evil"');
    expect(() => rt.tenant('ACME')).toThrow('no tenant "ACME"');
    expect(() => rt.tenant('nobody')).toThrow(/no tenant "nobody" \(looked for .*nobody\.yaml\)/);
  });
});
