-- One interval of one replica is billed once, to one account. Before this index a namespace whose
-- account label changed could have the same interval billed under two accounts: the row recorded
-- first stays, the later ones go.
DELETE FROM "usage_ledger" AS l USING "usage_ledger" AS k
WHERE l."replica" = k."replica" AND l."interval_start" = k."interval_start"
  AND (l."record_time", l."account_id") > (k."record_time", k."account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "usage_ledger_replica_interval_idx" ON "usage_ledger" USING btree ("replica","interval_start");