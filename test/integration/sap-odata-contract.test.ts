/**
 * Contract drift: the reduced EDMX files we test against (test/fixtures/sap-odata) must agree with SAP's published
 * metadata in ../shared/contracts/sap/odata (or $CLEARHUB_CONTRACTS/sap/odata) on every entity set, key, property
 * and navigation the connector and the mapping use: a renamed or retyped property fails here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from '@sap-ux/edmx-parser';
import {
  CLEARED_FIELDS,
  ITEM_FIELDS,
  PARTNER_RECORD_FIELDS,
  PARTNER_SELECT,
} from '../../connectors/sap-odata/transformers';
import { loadMappingFile } from '../../src/mapping';

const CONTRACTS = resolve(process.env.CLEARHUB_CONTRACTS ?? join(__dirname, '../../../shared/contracts'), 'sap/odata');
const OURS = join(__dirname, '../fixtures/sap-odata');
const SERVICES = ['API_OPLACCTGDOCITEMCUBE_SRV', 'API_BUSINESS_PARTNER'] as const;
const available = SERVICES.every((s) => existsSync(join(CONTRACTS, `${s}.edmx`)));

interface Prop {
  type: string;
  maxLength?: number;
  precision?: number;
  scale?: number;
}
interface TypeInfo {
  keys: string[];
  props: Map<string, Prop>;
  navs: Map<string, string>; // nav name → target entity type name (unqualified)
}
interface Model {
  sets: Map<string, string>; // set → entity type name
  types: Map<string, TypeInfo>;
}

function load(file: string): Model {
  const m = parse(readFileSync(file, 'utf8'));
  const short = (fq: string) => fq.slice(fq.lastIndexOf('.') + 1);
  const ends = new Map<string, string>(); // `${assoc}|${role}` → type
  for (const a of m.schema.associations)
    for (const e of a.associationEnd) ends.set(`${a.fullyQualifiedName}|${e.role}`, short(e.type));
  const types = new Map<string, TypeInfo>();
  for (const t of m.schema.entityTypes) {
    types.set(t.name, {
      keys: t.keys.map((k) => k.name),
      props: new Map(
        t.entityProperties.map((p) => [
          p.name,
          { type: p.type, maxLength: p.maxLength, precision: p.precision, scale: p.scale } as Prop,
        ]),
      ),
      navs: new Map(
        t.navigationProperties.map((n) => {
          const v2 = n as unknown as { relationship?: string; toRole?: string };
          return [n.name, ends.get(`${v2.relationship}|${v2.toRole}`) ?? '?'];
        }),
      ),
    });
  }
  return { sets: new Map(m.schema.entitySets.map((s) => [s.name, short(s.entityTypeName)])), types };
}

describe('reduced EDMX covers what the connector and mapping use', () => {
  const cube = load(join(OURS, 'API_OPLACCTGDOCITEMCUBE_SRV.edmx'));
  const bp = load(join(OURS, 'API_BUSINESS_PARTNER.edmx'));
  const itemType = cube.types.get(cube.sets.get('A_OperationalAcctgDocItemCube')!)!;

  it('every item property read or mapped exists in our cube EDMX', () => {
    const mapping = loadMappingFile(join(__dirname, '../../mappings/sap-fi-ar-odata.v1.yaml'));
    const fromMapping = new Set<string>(mapping.key);
    const collect = (spec: unknown) => {
      if (!spec || typeof spec !== 'object') return;
      const s = spec as {
        from?: string;
        concat?: string[];
        sign?: { negateWhen?: { field: string }; negativeWhen?: { field: string } };
      };
      if (s.from) fromMapping.add(s.from);
      for (const c of s.concat ?? []) fromMapping.add(c);
      const sign = s.sign?.negateWhen ?? s.sign?.negativeWhen;
      if (sign) fromMapping.add(sign.field);
    };
    for (const v of Object.values(mapping.item)) collect(v);
    for (const v of Object.values(mapping.debtor)) Array.isArray(v) ? v.forEach(collect) : collect(v);
    for (const w of mapping.when ?? []) fromMapping.add(w.field);
    const partnerFields = new Set<string>(PARTNER_RECORD_FIELDS);
    const itemFields = [...fromMapping].filter((f) => !partnerFields.has(f));
    for (const f of [...ITEM_FIELDS, ...CLEARED_FIELDS, ...itemFields])
      expect([f, itemType.props.has(f)]).toEqual([f, true]);
    for (const f of itemFields) expect([f, (ITEM_FIELDS as readonly string[]).includes(f)]).toEqual([f, true]);
  });

  it('every business-partner path selected exists in our BP EDMX', () => {
    for (const path of PARTNER_SELECT) {
      let type = bp.types.get(bp.sets.get('A_BusinessPartner')!)!;
      const parts = path.split('/');
      for (const nav of parts.slice(0, -1)) type = bp.types.get(type.navs.get(nav)!)!;
      expect([path, type?.props.has(parts.at(-1)!)]).toEqual([path, true]);
    }
  });
});

(available ? describe : describe.skip)('reduced EDMX agrees with SAP’s published metadata', () => {
  it.each(SERVICES)('%s: same entity sets, keys, property names and Edm types, navigations', (service) => {
    const ours = load(join(OURS, `${service}.edmx`));
    const sap = load(join(CONTRACTS, `${service}.edmx`));
    const problems: string[] = [];
    for (const [set, typeName] of ours.sets) {
      const sapType = sap.sets.get(set);
      if (sapType !== typeName) {
        problems.push(`${set}: SAP has ${sapType ? `type ${sapType}` : 'no such entity set'}, we have ${typeName}`);
        continue;
      }
      const o = ours.types.get(typeName)!;
      const s = sap.types.get(sapType)!;
      if (o.keys.join(',') !== s.keys.join(',')) problems.push(`${typeName} key: SAP ${s.keys}, ours ${o.keys}`);
      for (const [name, p] of o.props) {
        const q = s.props.get(name);
        if (!q) problems.push(`${typeName}.${name}: not in SAP's metadata (renamed or removed?)`);
        else if (JSON.stringify(p) !== JSON.stringify(q)) {
          problems.push(`${typeName}.${name}: SAP ${JSON.stringify(q)}, ours ${JSON.stringify(p)}`);
        }
      }
      for (const [nav, target] of o.navs) {
        if (s.navs.get(nav) !== target) problems.push(`${typeName}.${nav}: SAP → ${s.navs.get(nav)}, ours → ${target}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

if (!available) {
  test.skip(`SAP contracts not found in ${CONTRACTS} (set CLEARHUB_CONTRACTS): contract comparison skipped`, () => {});
}
