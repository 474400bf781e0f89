/** Tables and columns of the rules engine's dunning (migrations/0004-dunning.ts). */
import type { ColumnType, Generated } from 'kysely';

type Json<T> = ColumnType<T, string, string>;
type JsonDefault<T> = ColumnType<T, string | undefined, string>;

// The columns 0004 adds to tables other rooms own are declared by merging into those tables' interfaces, so each
// room's schema file stays its own.
declare module './schema' {
  interface NoticesTable {
    /** `dunning` or `thanks` (the thank-you after payment); one of each per debtor and run. */
    kind: Generated<'dunning' | 'thanks'>;
    as_of: string | null;
    segment: string | null;
    tone: string | null;
    /** `du` or `Sie`. */
    address_form: string | null;
    /** §288 BGB interest on the notice's items. */
    interest_minor: Generated<number>;
    /** §288 (5) BGB lump sum (business debtors, once per item). */
    lump_sum_minor: Generated<number>;
    /** The first moment the guardrails allow the notice to go out (business day, outside quiet hours). */
    scheduled_at: string | null;
    actions: JsonDefault<NoticeActions>;
  }
}

declare module './schema-gateway' {
  interface HoldsTable {
    /** Promise to pay: the amount promised. */
    amount_minor: number | null;
    currency: string | null;
    /** Promise or plan: the items it covers (the debtor's open items when it was made). */
    item_ids: Json<string[]> | null;
    /** How it ended: kept, broken, released (by hand or resolved), returned (by the agency). */
    outcome: 'kept' | 'broken' | 'released' | 'returned' | null;
    resolution: string | null;
  }
}

/** What a notice's level did besides asking for money. */
export interface NoticeActions {
  withdrawPaymentMethods?: string[];
  restrictedContracts?: string[];
  handOff?: string;
  final?: 'stop' | 'agency';
  /** Promises and plans this notice resumed after they were broken. */
  resumedAfter?: string[];
}

export interface PlanInstalmentsTable {
  tenant_id: string;
  hold_id: string;
  seq: number;
  due_on: string;
  amount_minor: number;
}

export interface NoticeItemsTable {
  tenant_id: string;
  notice_id: string;
  item_id: string;
  debtor_id: string;
  level_before: number;
  level: number;
  days_past_due: number;
  open_minor: number;
  interest_minor: Generated<number>;
  interest_from: string | null;
  interest_to: string | null;
  interest_rate_bp: number | null;
  lump_sum_minor: Generated<number>;
}

export interface ProposalNoticesTable {
  tenant_id: string;
  run_id: string;
  debtor_id: string;
  segment: string;
  debtor_type: 'B2B' | 'B2C';
  currency: string;
  locale: string;
  /** Channels the debtor can be reached on when the proposal was made. */
  reachable: Json<string[]>;
  hold_updates: JsonDefault<{ holdId: string; outcome: 'kept' | 'broken' }[]>;
  held: Generated<boolean>;
  held_reason: string | null;
}

export interface ProposalLinesTable {
  tenant_id: string;
  run_id: string;
  debtor_id: string;
  item_id: string;
  source: string;
  source_key: string;
  external_id: string;
  document_number: string;
  contract_ref: string | null;
  due_date: string;
  level_before: number;
  level: number;
  days_past_due: number;
  open_minor: number;
  interest_minor: Generated<number>;
  interest_from: string | null;
  interest_to: string | null;
  interest_rate_bp: number | null;
  lump_sum_minor: Generated<number>;
  dropped: Generated<boolean>;
}

export interface DunningActionsTable {
  tenant_id: string;
  action_id: string;
  debtor_id: string;
  notice_id: string;
  kind: 'withdraw_method' | 'restrict_contract';
  value: string;
  created_at: Generated<string>;
  lifted_at: string | null;
}

export type AgencyClaimStatus =
  | 'pending'
  | 'exported'
  | 'accepted'
  | 'collecting'
  | 'collected'
  | 'partially_collected'
  | 'returned'
  | 'closed';

export interface AgencyClaimsTable {
  tenant_id: string;
  claim_id: string;
  agency: string;
  run_id: string;
  notice_id: string;
  debtor_id: string;
  item_id: string;
  currency: string;
  amount_minor: number;
  interest_minor: Generated<number>;
  fees_minor: Generated<number>;
  status: Generated<AgencyClaimStatus>;
  collected_minor: Generated<number>;
  file: string | null;
  exported_at: string | null;
  status_at: string | null;
  note: string | null;
  created_at: Generated<string>;
}

export interface DunningStrategiesTable {
  tenant_id: string;
  name: string;
  version: number;
  origin: string;
  currency: string;
  timezone: string;
  /** The tenant's sources that want level write-backs, as configured when the strategy was last registered. */
  write_back_sources: JsonDefault<string[]>;
  body: string;
  checksum: string;
  registered_at: Generated<string>;
}

/**
 * The level the dunning run gave an item and the date of its last notice (migrations/0008-item-dunning.ts). An item's
 * level is the higher of this and `items.dunning_level` (the level its source reports): see {@link itemLevelSql}.
 */
export interface ItemDunningTable {
  tenant_id: string;
  item_id: string;
  /** The item's debtor (kept in step with `items.debtor_id` by a trigger): a run reads a page of debtors as a range. */
  debtor_id: string;
  level: number;
  last_dunned_on: string;
}

/**
 * An item's dunning level in SQL: the higher of what its source reports (`items.dunning_level`) and what the dunning
 * run gave it (`item_dunning`). `items` is the name or alias of the items row in the query.
 *
 * @example sql<number>`${sql.raw(itemLevelSql('items'))}`.as('dunning_level')
 */
export const itemLevelSql = (items = 'items'): string =>
  `GREATEST(${items}.dunning_level, COALESCE((SELECT d.level FROM item_dunning d WHERE d.tenant_id = ${items}.tenant_id AND d.item_id = ${items}.item_id), 0))`;

export interface DunningTables {
  item_dunning: ItemDunningTable;
  plan_instalments: PlanInstalmentsTable;
  notice_items: NoticeItemsTable;
  proposal_notices: ProposalNoticesTable;
  proposal_lines: ProposalLinesTable;
  dunning_actions: DunningActionsTable;
  agency_claims: AgencyClaimsTable;
  dunning_strategies: DunningStrategiesTable;
}

declare module './schema' {
  interface DunningRunsTable {
    /** `proposal`: stopped at a proposal list for review; `execute`: notices created. */
    mode: Generated<'execute' | 'proposal'>;
    approved_at: string | null;
    /** Sources that get level write-backs from this run (an approval uses the ones the proposal was made for). */
    write_back_sources: JsonDefault<string[]>;
  }
}
