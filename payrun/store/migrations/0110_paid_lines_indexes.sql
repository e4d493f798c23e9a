-- 0110: indexes for netting that do not grow with the history.
--
-- Run creation reads what live runs paid per case, in case order. It read
-- every packed row of every live run of the municipality and joined each
-- with its case (a month of history per 170,000 cases cost ≈ 2 s, a year
-- would cost twenty). It needs only
--   * the rows of the live runs whose period reaches the earliest month the
--     run computes (or the month before the period, for the amount-jump
--     warning): a run's lines never lie after its period;
--   * of older live runs, the rows with offset lines (what a reclaim has
--     taken so far).
-- The first come in case order from an index on (municipality, case_id,
-- run_id) (the run is checked in the index, without visiting the rows of
-- other runs), the second from a partial index over the rows with offsets.
-- The new index replaces run_case_lines_case on (municipality, case_id),
-- which every query by case still uses as its prefix.

CREATE INDEX run_case_lines_case_run ON run_case_lines (municipality, case_id, run_id);
DROP INDEX run_case_lines_case;
CREATE INDEX run_case_lines_offsets ON run_case_lines (municipality, case_id, run_id)
    WHERE strpos(lines, '|offset|') > 0;
