/**
 * Contract test: Clearhub's reduced WSDL for SAP's JournalEntryCreateRequestConfirmation_In must be a faithful
 * subset of SAP's own (../shared/contracts/sap/soap): same names, namespace, types, facets and element order for
 * everything we declare, and nothing SAP requires left out. Skips when the reference contracts are absent.
 */
import { OPERATION, SFIN_NS, SOAP_ACTION } from '../../connectors/sap-soap/transformers';
import { readText, readXsd, realWsdlPath, reducedWsdlPath, type XsdModel } from '../simulators/sap-soap/xsd';

/** Everything in `ours` that SAP's schema does not say the same way. */
function differences(ours: XsdModel, sap: XsdModel): string[] {
  const out: string[] = [];
  for (const [name, type] of ours.elements) {
    if (sap.elements.get(name) !== type)
      out.push(`global element ${name}: ours ${type}, SAP ${sap.elements.get(name)}`);
  }
  for (const [name, def] of ours.simple) {
    if (sap.simple.get(name) !== def) out.push(`simpleType ${name}: ours "${def}", SAP "${sap.simple.get(name)}"`);
  }
  for (const [name, c] of ours.complex) {
    const s = sap.complex.get(name);
    if (!s) {
      out.push(`complexType ${name}: not in SAP's schema`);
      continue;
    }
    if (c.base !== s.base) out.push(`complexType ${name}: base ours ${c.base}, SAP ${s.base}`);
    let last = -1;
    for (const e of c.elements) {
      const i = s.elements.findIndex((x) => x.name === e.name);
      const x = s.elements[i];
      if (!x) {
        out.push(`${name}/${e.name}: not in SAP's schema`);
        continue;
      }
      if (x.type !== e.type) out.push(`${name}/${e.name}: type ours ${e.type}, SAP ${x.type}`);
      if (x.minOccurs !== e.minOccurs || x.maxOccurs !== e.maxOccurs) {
        out.push(`${name}/${e.name}: occurs ours ${e.minOccurs}..${e.maxOccurs}, SAP ${x.minOccurs}..${x.maxOccurs}`);
      }
      if (i < last) out.push(`${name}/${e.name}: out of SAP's order`);
      last = Math.max(last, i);
    }
    for (const x of s.elements) {
      if (x.minOccurs !== '0' && !c.elements.some((e) => e.name === x.name)) {
        out.push(`${name}/${x.name}: required by SAP, missing in ours`);
      }
    }
    for (const a of c.attributes) if (!s.attributes.includes(a)) out.push(`${name}/@${a}: not so in SAP's schema`);
    for (const a of s.attributes) {
      if (a.endsWith(':required') && !c.attributes.includes(a)) out.push(`${name}/@${a}: required by SAP, missing`);
    }
  }
  return out;
}

const real = realWsdlPath();
if (!real) {
  // One line, as shared/contracts/README.md asks.
  console.log('sap-soap WSDL contract: ../shared/contracts/sap/soap not found (set CLEARHUB_CONTRACTS); skipped');
}
const describeReal = real ? describe : describe.skip;

describeReal("sap-soap reduced WSDL against SAP's WSDL", () => {
  const sapText = real ? readText(real) : '';
  const oursText = readText(reducedWsdlPath);

  it('declares every type and element it uses exactly as SAP does', () => {
    const ours = readXsd(oursText);
    expect(ours.complex.size).toBeGreaterThan(10);
    expect(ours.simple.size).toBeGreaterThan(20);
    expect(differences(ours, readXsd(sapText))).toEqual([]);
  });

  it("has SAP's namespace, operation and SOAPAction", () => {
    for (const text of [sapText, oursText]) {
      expect(text).toContain(`targetNamespace="${SFIN_NS}"`);
      expect(text).toContain(`<wsdl:operation name="${OPERATION}">`);
      expect(text).toContain(`soapAction="${SOAP_ACTION}"`);
      expect(text).toContain('element="tns:JournalEntryBulkCreateRequest"');
      expect(text).toContain('element="tns:JournalEntryBulkCreateConfirmation"');
    }
  });

  it('notices a renamed or retyped element (the check itself can fail)', () => {
    const ours = readXsd(oursText);
    const renamed = sapText.replace(
      '<xsd:element name="DocumentReferenceID" minOccurs="0" type="DocumentReferenceID"/>',
      '<xsd:element name="DocumentReferenceIdentifier" minOccurs="0" type="DocumentReferenceID"/>',
    );
    expect(renamed).not.toBe(sapText);
    expect(differences(ours, readXsd(renamed))).toContain(
      "JournalEntryCreateRequestJournalEntry/DocumentReferenceID: not in SAP's schema",
    );
    const retyped = sapText.replace(
      /(<xsd:simpleType name="ReferenceKey">[\s\S]*?<xsd:maxLength value=")12(")/,
      (_all, head: string, tail: string) => `${head}10${tail}`,
    );
    expect(retyped).not.toBe(sapText);
    expect(differences(ours, readXsd(retyped)).some((d) => d.startsWith('simpleType ReferenceKey:'))).toBe(true);
  });
});
