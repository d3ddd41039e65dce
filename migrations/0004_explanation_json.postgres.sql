-- 0004: predictions keep the frozen explanation as json, the text exactly as
-- written. jsonb parsed every explanation into a tree on insert, and its
-- binary form (about 2 KB) pushed each row over the TOAST threshold, so every
-- insert also compressed it: together about a fifth of the database's work
-- when scoring in batches. Sentinel only ever reads the explanation whole.
ALTER TABLE predictions ALTER COLUMN explanation TYPE json USING explanation::json;
