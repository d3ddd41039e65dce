-- 0002: the analyst's label on each transaction (its latest decision, '' while
-- undecided) and the indexes the queue's keyset pages walk.
ALTER TABLE transactions ADD COLUMN label TEXT NOT NULL DEFAULT '';
CREATE INDEX transactions_tenant_id_idx ON transactions (tenant_id, id);
CREATE INDEX transactions_label_idx ON transactions (tenant_id, label, id);
CREATE INDEX predictions_tenant_band_score_idx ON predictions (tenant_id, band, score, id);
