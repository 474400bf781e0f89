/** Commands routed back to the system an item came from (DESIGN §1, write-back). */
export type WriteBackCommand =
  | {
      kind: 'payment';
      itemId: string;
      sourceKey: string;
      externalId: string;
      documentNumber: string;
      paymentId: string;
      amountMinor: number;
      currency: string;
      /** Whether this allocation closed the item in our books. */
      cleared: boolean;
      valueDate: string;
    }
  | {
      kind: 'reversal';
      itemId: string;
      sourceKey: string;
      externalId: string;
      documentNumber: string;
      paymentId: string;
      amountMinor: number;
      currency: string;
      reason: string;
    }
  | {
      kind: 'dunning_level';
      itemId: string;
      sourceKey: string;
      externalId: string;
      documentNumber: string;
      level: number;
      noticeId: string;
      dunnedOn: string;
    };

export type WriteBackKind = WriteBackCommand['kind'];

export interface WriteBackResult {
  /** `duplicate` when the source already had this command (detected by the idempotency key). */
  status: 'delivered' | 'duplicate';
  /** The source's reference for what it posted (a document number, a file name). */
  sourceReference?: string;
}
