-- 0003: the queue pages by id (0002), so these two indexes only slow every insert.
DROP INDEX transactions_received_idx;
DROP INDEX predictions_band_idx;
