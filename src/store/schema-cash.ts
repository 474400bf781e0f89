/** Tables of cash application (statement import, matching, returns); created by migrations/0003-cash.ts. */
// biome-ignore lint/suspicious/noEmptyInterface: filled as the cash tables arrive
export interface CashTables {}
