import { type Kysely, sql } from 'kysely';
import { splitSql } from './0001-initial';

/**
 * The levels the dunning run gives items, kept in a narrow table of their own instead of in the wide items row.
 *
 * An items row carries five indexes (key, source key, and the cash room's open-item indexes); a level change that
 * finds no room on the row's page writes a new row version and an entry in every one of them. A run that raises most
 * of a ledger at once (one just connected, never dunned) did that for ~800,000 rows. Here a level is one short row
 * with two indexes; `items.dunning_level` keeps the level the source reports (ingest raises it, never lowers it), and
 * an item's level is the higher of the two (`GREATEST(i.dunning_level, d.level)`), as is its last notice date.
 *
 * `debtor_id` is kept so a run reads a page of debtors' levels as one index range; when an item moves to another
 * debtor (a source re-assigns it), the trigger moves its level along.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
CREATE TABLE item_dunning (
  tenant_id      text NOT NULL,
  item_id        text NOT NULL,
  debtor_id      text NOT NULL,
  level          integer NOT NULL,
  last_dunned_on date NOT NULL,
  PRIMARY KEY (tenant_id, item_id)
) WITH (fillfactor = 80);
CREATE INDEX item_dunning_by_debtor ON item_dunning (tenant_id, debtor_id);

CREATE FUNCTION item_dunning_follow_debtor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE item_dunning SET debtor_id = NEW.debtor_id WHERE tenant_id = NEW.tenant_id AND item_id = NEW.item_id;
  RETURN NULL;
END $$;
CREATE TRIGGER items_debtor_moved AFTER UPDATE OF debtor_id ON items FOR EACH ROW
  WHEN (OLD.debtor_id IS DISTINCT FROM NEW.debtor_id) EXECUTE FUNCTION item_dunning_follow_debtor();
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql.raw('DROP TRIGGER IF EXISTS items_debtor_moved ON items').execute(db);
  await sql.raw('DROP FUNCTION IF EXISTS item_dunning_follow_debtor()').execute(db);
  await sql.raw('DROP TABLE IF EXISTS item_dunning').execute(db);
}
