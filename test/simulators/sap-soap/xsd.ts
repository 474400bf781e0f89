/**
 * XSD helpers for the sap-soap tests: take the inline schema out of a WSDL, validate a document against it with
 * xmllint (libxml2-utils), find SAP's reference WSDL, and read a schema's named types for the contract test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..', '..');

/** `CLEARHUB_CONTRACTS` or `../shared/contracts` beside the repository (shared/contracts/README.md). */
export function contractsDir(): string {
  return process.env.CLEARHUB_CONTRACTS ?? resolve(REPO, '..', 'shared', 'contracts');
}

/** SAP's WSDL when the reference contracts are present, else undefined. */
export function realWsdlPath(): string | undefined {
  const p = join(contractsDir(), 'sap', 'soap', 'JOURNALENTRYCREATEREQUESTCONFI.wsdl');
  return existsSync(p) ? p : undefined;
}

export const reducedWsdlPath = join(REPO, 'connectors', 'sap-soap', 'wsdl', 'journal-entry-create.wsdl');

/** The prefix a document binds to the XML Schema namespace (SAP and we use `xsd`). */
function xsdPrefix(text: string): string {
  const m = /xmlns:([A-Za-z_][\w.-]*)="http:\/\/www\.w3\.org\/2001\/XMLSchema"/.exec(text);
  if (!m) throw new Error('no XML Schema namespace declared');
  return m[1]!;
}

/**
 * The `<schema>` element of a WSDL as a stand-alone XSD document. libxml2 holds decimals in 24 digits, so
 * min/max facets with more digits (SAP's ±9999999999999999999999.999999 on amounts) cannot be compiled; they are
 * dropped here. Our amounts are safe integers of minor units, far inside those bounds.
 */
export function schemaFromWsdl(wsdlText: string): string {
  const p = xsdPrefix(wsdlText);
  return rawSchema(wsdlText).replace(
    new RegExp(`<${p}:(?:min|max)(?:In|Ex)clusive value="([^"]*)"\\s*/>`, 'g'),
    (all, v: string) => (v.replace(/[^0-9]/g, '').length > 24 ? '' : all),
  );
}

/** The `<schema>` element of a WSDL as a stand-alone XSD document, unchanged. */
export function rawSchema(wsdlText: string): string {
  const p = xsdPrefix(wsdlText);
  const start = wsdlText.indexOf(`<${p}:schema`);
  const endTag = `</${p}:schema>`;
  const end = wsdlText.indexOf(endTag);
  if (start < 0 || end < 0) throw new Error('no inline schema in the WSDL');
  let schema = wsdlText.slice(start, end + endTag.length);
  schema = schema.replace(`<${p}:schema`, `<${p}:schema xmlns:${p}="http://www.w3.org/2001/XMLSchema"`);
  return `<?xml version="1.0" encoding="utf-8"?>\n${schema}`;
}

/** Validates `xml` against `xsd` with xmllint; returns xmllint's complaint, or undefined when valid. */
export function xmllintErrors(xml: string, xsd: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-xsd-'));
  try {
    writeFileSync(join(dir, 'schema.xsd'), xsd);
    writeFileSync(join(dir, 'doc.xml'), xml);
    execFileSync('xmllint', ['--noout', '--schema', join(dir, 'schema.xsd'), join(dir, 'doc.xml')], {
      stdio: 'pipe',
    });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return e.stderr?.toString('utf8') || e.message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hasXmllint = (): boolean => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};

/** A declared child element of a complex type. */
export interface XsdElement {
  name: string;
  type: string;
  minOccurs: string;
  maxOccurs: string;
}

/** Named types of a schema, as far as the contract test compares them. */
export interface XsdModel {
  /** complexType name → its element children in order, and its attributes and base. */
  complex: Map<string, { elements: XsdElement[]; attributes: string[]; base?: string }>;
  /** simpleType name → base and facets, normalised to one string (`xsd:token maxLength=10 minLength=1`). */
  simple: Map<string, string>;
  /** global element name → type. */
  elements: Map<string, string>;
}

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/** Reads the named types of a WSDL's inline schema (SAP's generated layout: no nested named types). */
export function readXsd(wsdlText: string): XsdModel {
  const p = xsdPrefix(wsdlText);
  const schema = rawSchema(wsdlText).replace(new RegExp(`<${p}:annotation>[\\s\\S]*?</${p}:annotation>`, 'g'), '');
  const model: XsdModel = { complex: new Map(), simple: new Map(), elements: new Map() };
  const body = schema.replace(/<\?xml[^>]*>/, '');
  for (const m of body.matchAll(new RegExp(`<${p}:complexType name="([^"]+)">([\\s\\S]*?)</${p}:complexType>`, 'g'))) {
    const inner = m[2]!;
    const elements = [...inner.matchAll(new RegExp(`<${p}:element\\s[^>]*>`, 'g'))].map((e) => ({
      name: attr(e[0], 'name') ?? '',
      type: attr(e[0], 'type') ?? '',
      minOccurs: attr(e[0], 'minOccurs') ?? '1',
      maxOccurs: attr(e[0], 'maxOccurs') ?? '1',
    }));
    const attributes = [...inner.matchAll(new RegExp(`<${p}:attribute\\s[^>]*>`, 'g'))].map(
      (a) => `${attr(a[0], 'name')}:${attr(a[0], 'type') ?? '(inline)'}:${attr(a[0], 'use') ?? 'optional'}`,
    );
    const base = new RegExp(`<${p}:extension base="([^"]+)"`).exec(inner)?.[1];
    model.complex.set(m[1]!, { elements, attributes, ...(base ? { base } : {}) });
  }
  for (const m of body.matchAll(new RegExp(`<${p}:simpleType name="([^"]+)">([\\s\\S]*?)</${p}:simpleType>`, 'g'))) {
    const inner = m[2]!;
    const base = new RegExp(`<${p}:restriction base="([^"]+)"`).exec(inner)?.[1] ?? '?';
    const facets = [...inner.matchAll(new RegExp(`<${p}:(\\w+) value="([^"]*)"`, 'g'))]
      .map((f) => `${f[1]}=${f[2]}`)
      .sort();
    model.simple.set(m[1]!, [base.replace(/^\w+:/, 'xsd:'), ...facets].join(' '));
  }
  for (const m of body.matchAll(new RegExp(`<${p}:schema[^>]*>([\\s\\S]*)</${p}:schema>`, 'g'))) {
    // global elements: direct children, i.e. element tags outside complex types
    const outside = m[1]!.replace(new RegExp(`<${p}:complexType[\\s\\S]*?</${p}:complexType>`, 'g'), '');
    for (const e of outside.matchAll(new RegExp(`<${p}:element\\s[^>]*>`, 'g'))) {
      model.elements.set(attr(e[0], 'name') ?? '', attr(e[0], 'type') ?? '');
    }
  }
  return model;
}

export const readText = (p: string): string => readFileSync(p, 'utf8');
