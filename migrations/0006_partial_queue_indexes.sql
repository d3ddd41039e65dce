-- 0006: the queue's label and band indexes hold only the rows their filters
-- look for. A new transaction is undecided and most are in the low band; the
-- queue finds those through (tenant_id, id) and (tenant_id, score, id), so
-- entries for them in these two indexes only cost every insert. The score
-- index gains the band as a last key column, so that a score-ordered page of
-- the low band skips the other bands inside the index, without reading their
-- rows. store.ListQueue repeats the partial indexes' conditions in its queries
-- so that a planner can use them with parameters.
-- Measured on PostgreSQL under batch scoring: 82-90 -> 70-76 us of database
-- CPU per transaction.
DROP INDEX transactions_label_idx;
CREATE INDEX transactions_label_idx ON transactions (tenant_id, label, id) WHERE label <> '';
DROP INDEX predictions_tenant_band_score_idx;
CREATE INDEX predictions_tenant_band_score_idx ON predictions (tenant_id, band, score, id) WHERE band <> 'low';
DROP INDEX predictions_score_idx;
CREATE INDEX predictions_score_idx ON predictions (tenant_id, score, id, band);
