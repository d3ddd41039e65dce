-- 0017: an index on the transaction type.
--
-- A type is one of five values, and the rare ones (DEBIT, 0.6% of PaySim)
-- gather at the low end of the score and amount orders: investigate reads
-- every row of a rare type and sorts them (store.fewRows). Without this
-- index that read was a sequential scan of the tenant (0.3-0.4 s at a
-- million rows); with it, an index-only range that holds the order
-- columns (amount, score) as well. It also serves "type X, newest first"
-- backwards along the id.
CREATE INDEX transactions_type_idx ON transactions (tenant_id, type, id) INCLUDE (amount, score);
