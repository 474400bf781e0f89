/** Rows of the simulated S/4HANA system, in the shape the mock server stores them (V2 JSON: `/Date(ms)/`, strings). */

export const ITEMS_SERVICE = '/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV';
export const PARTNERS_SERVICE = '/sap/opu/odata/sap/API_BUSINESS_PARTNER';
/** Entity sets the simulated Gateway refuses to write (SAP marks them `sap:creatable/updatable="false"`). */
export const READ_ONLY_SETS = new Set(['A_OperationalAcctgDocItemCube']);

const v2Days = new Map<string, string>();

/** `YYYY-MM-DD` → `/Date(ms)/`; null stays null. */
export function v2(day: string | null | undefined): string | null {
  if (!day) return null;
  let d = v2Days.get(day);
  if (d === undefined) {
    d = `/Date(${Date.parse(`${day}T00:00:00Z`)})/`;
    if (v2Days.size < 10_000) v2Days.set(day, d);
  }
  return d;
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** An open item as tests describe it; everything but the document number has a default. */
export interface SimItem {
  document: string;
  companyCode?: string;
  fiscalYear?: string;
  item?: string;
  customer?: string;
  customerName?: string;
  /** Unsigned decimal text as SAP sends it ("1190.00"). */
  amount?: string;
  currency?: string;
  /** S debit, H credit. */
  debitCredit?: 'S' | 'H';
  docType?: string;
  reference?: string;
  documentDate?: string;
  postingDate?: string;
  netDueDate?: string | null;
  dunningLevel?: string;
  dunningBlock?: string;
  dunningArea?: string;
  lastDunningDate?: string | null;
  createdOn?: string;
  lastChangeDate?: string | null;
  accountType?: string;
}

export type Row = Record<string, string | boolean | null>;

export function itemRow(i: SimItem, today: string): Row {
  return {
    CompanyCode: i.companyCode ?? '1010',
    FiscalYear: i.fiscalYear ?? '2026',
    AccountingDocument: i.document,
    AccountingDocumentItem: i.item ?? '001',
    FinancialAccountType: i.accountType ?? 'D',
    Customer: i.customer ?? '10100001',
    CustomerName: i.customerName ?? '',
    AccountingDocumentType: i.docType ?? 'DR',
    DocumentReferenceID: i.reference ?? '',
    DocumentDate: v2(i.documentDate ?? '2026-09-01'),
    PostingDate: v2(i.postingDate ?? '2026-09-01'),
    NetDueDate: i.netDueDate === null ? null : v2(i.netDueDate ?? '2026-10-01'),
    TransactionCurrency: i.currency ?? 'EUR',
    // Signed as SAP books it: a credit (H) is negative ("-250.00" in SAP's own mock data of the cube).
    AmountInTransactionCurrency: signedAmount(i.amount ?? '100.00', i.debitCredit ?? 'S'),
    DebitCreditCode: i.debitCredit ?? 'S',
    DunningLevel: i.dunningLevel ?? '0',
    DunningBlockingReason: i.dunningBlock ?? '',
    DunningArea: i.dunningArea ?? '',
    LastDunningDate: v2(i.lastDunningDate ?? null),
    IsCleared: false,
    ClearingAccountingDocument: '',
    ClearingDocFiscalYear: '',
    ClearingDate: null,
    ClearingCreationDate: null,
    AccountingDocumentCreationDate: v2(i.createdOn ?? today),
    LastChangeDate: v2(i.lastChangeDate ?? null),
  };
}

/** A customer as tests describe it. */
export interface SimPartner {
  id: string;
  name: string;
  /** 1 person (B2C), 2 organisation (B2B). */
  category?: '1' | '2';
  language?: string;
  country?: string;
  email?: string;
  phone?: string;
  street?: string;
  houseNumber?: string;
  postalCode?: string;
  city?: string;
}

export function partnerRows(p: SimPartner): { bp: Row; address: Row; email?: Row; phone?: Row } {
  const addressId = `A${p.id}`.slice(0, 10);
  return {
    bp: {
      BusinessPartner: p.id,
      BusinessPartnerCategory: p.category ?? '2',
      BusinessPartnerFullName: p.name,
      CorrespondenceLanguage: p.language ?? 'DE',
    },
    address: {
      BusinessPartner: p.id,
      AddressID: addressId,
      StreetName: p.street ?? '',
      HouseNumber: p.houseNumber ?? '',
      PostalCode: p.postalCode ?? '',
      CityName: p.city ?? '',
      Country: p.country ?? 'DE',
    },
    email: p.email
      ? { AddressID: addressId, Person: '', OrdinalNumber: '1', IsDefaultEmailAddress: true, EmailAddress: p.email }
      : undefined,
    phone: p.phone
      ? {
          AddressID: addressId,
          Person: '',
          OrdinalNumber: '1',
          IsDefaultPhoneNumber: true,
          InternationalPhoneNumber: p.phone,
        }
      : undefined,
  };
}

export function dunningRow(customer: string, companyCode = '1010', dunningArea = ''): Row {
  return {
    Customer: customer,
    CompanyCode: companyCode,
    DunningArea: dunningArea,
    DunningBlock: '',
    DunningLevel: '0',
    LastDunnedOn: null,
  };
}

/** Bench data: item `i` (0-based) of a generated ledger, computed, never stored. */
export function generatedItem(i: number, customers: number, companyCode: string): Row {
  const doc = String(9_000_000_000 + i).slice(0, 10);
  const cents = 1000 + ((i * 7919) % 500_000);
  const day = 1 + (i % 28);
  const dd = `2026-10-${String(day).padStart(2, '0')}`;
  return {
    CompanyCode: companyCode,
    FiscalYear: '2026',
    AccountingDocument: doc,
    AccountingDocumentItem: '001',
    FinancialAccountType: 'D',
    Customer: String(10_000_000 + (i % customers)),
    CustomerName: '',
    AccountingDocumentType: 'DR',
    DocumentReferenceID: `INV-${i}`,
    DocumentDate: v2(`2026-09-${String(day).padStart(2, '0')}`),
    PostingDate: v2(`2026-09-${String(day).padStart(2, '0')}`),
    NetDueDate: v2(dd),
    TransactionCurrency: 'EUR',
    AmountInTransactionCurrency: signedAmount(
      `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
      i % 50 === 0 ? 'H' : 'S',
    ),
    DebitCreditCode: i % 50 === 0 ? 'H' : 'S',
    DunningLevel: String(i % 4),
    DunningBlockingReason: '',
    DunningArea: '',
    LastDunningDate: null,
    IsCleared: false,
    AccountingDocumentCreationDate: v2('2026-09-01'),
    LastChangeDate: null,
  };
}

export function generatedPartner(id: string): Record<string, unknown> {
  const n = Number(id) - 10_000_000;
  return {
    BusinessPartner: id,
    BusinessPartnerCategory: n % 3 === 0 ? '1' : '2',
    BusinessPartnerFullName: `Kunde ${n}`,
    CorrespondenceLanguage: 'DE',
    to_BusinessPartnerAddress: {
      results: [
        {
          StreetName: 'Lindenweg',
          HouseNumber: String(1 + (n % 120)),
          PostalCode: String(10_115 + (n % 80_000)).padStart(5, '0'),
          CityName: 'Berlin',
          Country: 'DE',
          to_EmailAddress: { results: [{ EmailAddress: `kunde${n}@example.org`, IsDefaultEmailAddress: true }] },
          to_PhoneNumber: { results: [] },
        },
      ],
    },
  };
}

/** An amount as SAP's cube writes it: negative for a credit (H), whatever sign it was given. */
function signedAmount(amount: string, debitCredit: string): string {
  const magnitude = amount.replace(/^-/, '');
  return debitCredit === 'H' && Number(magnitude) !== 0 ? `-${magnitude}` : magnitude;
}
