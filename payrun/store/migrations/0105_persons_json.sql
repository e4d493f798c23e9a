-- 0105: decisions.persons as json (the text as imported) instead of jsonb.
--
-- Nothing queries inside persons in SQL: the import writes it (the
-- decision's canonical JSON), run creation, the case page and the reports
-- read it whole and decode it in Go. As jsonb every read rendered the binary
-- form back to text (≈ 0.85 s of PostgreSQL's time per 190,000 decisions,
-- on every run), and every import built the binary form. json stores the
-- validated text and hands it back as it is. The check keeps its meaning.

ALTER TABLE decisions DROP CONSTRAINT decisions_persons_check;
ALTER TABLE decisions ALTER COLUMN persons TYPE json USING persons::json;
ALTER TABLE decisions ADD CONSTRAINT decisions_persons_check
    CHECK (json_typeof(persons) = 'array' AND json_array_length(persons) > 0);
