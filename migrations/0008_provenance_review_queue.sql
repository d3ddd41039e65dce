-- 0008: where each transaction came from, and the review queue.
--
-- Provenance: how a transaction arrived (source) and who sent it: the API
-- key, or the signed-in user. Rows stored before this step came through the
-- API or the demo seed; they are marked api, with no sender known.
ALTER TABLE transactions ADD COLUMN source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'upload', 'replay', 'seed', 'web'));
ALTER TABLE transactions ADD COLUMN submitted_by_key TEXT;
ALTER TABLE transactions ADD COLUMN submitted_by_user TEXT;

-- The review queue: what needs an analyst. review_priority is set at scoring,
-- from the prediction, and never changes (like the prediction it comes from);
-- it is NULL for a transaction that does not need review. A transaction needs
-- review when its score reached the review threshold of the model that scored
-- it, its band is medium or above, or the watchlist knew one of its accounts.
-- Lower comes first: the integer part is the band (0 critical, 1 high,
-- 2 medium, 3 low), the fraction (1 - score) / 2, so the queue reads highest
-- band, then highest score, then (by id) oldest first, and a band filter is a
-- range of it. The review indexes hold only the undecided part of the review
-- set, so a decision takes a row out of them; the risk indexes hold the
-- whole set (decided too), for the band filters and counts of the view of
-- all transactions (every band but low is in the set). The rest of the
-- table (the low band, most of it) enters none of them.
ALTER TABLE transactions ADD COLUMN review_priority DOUBLE PRECISION;
UPDATE transactions SET review_priority = (
    SELECT CASE p.band WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END + (1 - p.score) / 2
    FROM predictions p
    WHERE p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id)
WHERE id IN (SELECT transaction_id FROM predictions
    WHERE band <> 'low' OR score >= threshold OR CAST(explanation AS TEXT) LIKE '%"watch":%');
CREATE INDEX transactions_review_idx ON transactions (tenant_id, review_priority, id) WHERE label = '' AND review_priority IS NOT NULL;
CREATE INDEX transactions_review_time_idx ON transactions (tenant_id, id) WHERE label = '' AND review_priority IS NOT NULL;
CREATE INDEX transactions_risk_idx ON transactions (tenant_id, review_priority, id) WHERE review_priority IS NOT NULL;
CREATE INDEX transactions_risk_time_idx ON transactions (tenant_id, id) WHERE review_priority IS NOT NULL;
