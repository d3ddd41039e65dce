-- 0021: an upload's file is stored in upload_chunks, 1 MiB a row, only
-- until its job ends (store.FinishUpload and CancelUpload delete them), so
-- compressing it saves no lasting space. PostgreSQL's default compression
-- (pglz) cost more than the rest of accepting a 200,000-row CSV: on the
-- 2-core VM the upload's submit took 0.58 s with it, 0.25-0.29 s without
-- (issue 15, docs/performance.md). EXTERNAL keeps the bytes out of line,
-- uncompressed. A catalog change: no rows are rewritten.
ALTER TABLE upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
