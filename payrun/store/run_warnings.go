package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// warningSQL computes a run's risk warnings with set-based SQL over its
// payment groups per (case, payee), as the transactions of the export:
// run_pay, staged by the run's build (Σ of the payment lines that name a
// decision when positive; the IBAN of the latest such decision). Parameters: $1
// municipality, $2 run, $3 the month before the period, $4 jump factor, $5
// jump minimum (numeric), $6 the municipality's payment threshold (numeric,
// NULL when unset).
const warningSQL = `
WITH pay AS MATERIALIZED (
    SELECT case_id, payee_role, cents::numeric / 100 AS amount, iban FROM run_pay
), last_month AS MATERIALIZED (
    -- the packed lines (migration 0095) of the cases with a line in month $3
    SELECT p.case_id, f[2] AS payee_role, sum(f[5]::numeric) AS amount
    FROM run_case_lines p
    JOIN runs r ON r.municipality = p.municipality AND r.id = p.run_id AND r.state IN ('established', 'released', 'exported')
    CROSS JOIN LATERAL (SELECT string_to_array(t, '|') AS f FROM string_to_table(p.lines, ';') AS t) u
    WHERE p.municipality = $1 AND p.first_month <= $3 AND p.last_month >= $3 AND f[1] = to_char($3::date, 'YYYY-MM')
      AND EXISTS (SELECT 1 FROM pay x WHERE x.case_id = p.case_id AND x.payee_role = f[2])
    GROUP BY p.case_id, f[2]
), shared AS MATERIALIZED (
    SELECT iban FROM pay WHERE payee_role = 'beneficiary' AND iban IS NOT NULL
    GROUP BY iban HAVING count(DISTINCT case_id) > 1
)
INSERT INTO run_warnings (municipality, run_id, kind, case_id, payee_role, iban, amount, detail)
SELECT $1::text, $2::bigint, 'first_iban', p.case_id, p.payee_role, p.iban, p.amount, 'no live run paid this IBAN before'
FROM pay p WHERE p.iban IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM paid_ibans i WHERE i.municipality = $1 AND i.iban = p.iban)
UNION ALL
SELECT $1::text, $2::bigint, 'shared_iban', p.case_id, p.payee_role, p.iban, p.amount, 'IBAN paid for several cases in this run'
FROM pay p JOIN shared s ON s.iban = p.iban WHERE p.payee_role = 'beneficiary'
UNION ALL
SELECT $1::text, $2::bigint, 'amount_jump', p.case_id, p.payee_role, p.iban, p.amount,
       'last month ' || coalesce(m.amount, 0)::text
FROM pay p LEFT JOIN last_month m ON m.case_id = p.case_id AND m.payee_role = p.payee_role
WHERE m.amount IS NOT NULL AND p.amount > $4 * m.amount AND p.amount > m.amount + $5
UNION ALL
SELECT $1::text, $2::bigint, 'above_threshold', p.case_id, p.payee_role, p.iban, p.amount, 'threshold ' || $6::numeric::text
FROM pay p WHERE $6::numeric IS NOT NULL AND p.amount > $6::numeric`

// computeWarnings writes the run's warnings and counts them per kind into
// s.Warnings.
func computeWarnings(ctx context.Context, tx pgx.Tx, s *RunSummary, rules WarningRules) error {
	factor := rules.JumpFactor
	if factor <= 0 {
		factor = 2
	}
	jumpMin := rules.JumpMin
	if jumpMin <= 0 {
		jumpMin = 500_00
	}
	var threshold *string
	if err := tx.QueryRow(ctx, "SELECT nullif((settings->>'payment_threshold')::numeric, 0)::text FROM municipalities WHERE key = $1",
		s.Municipality).Scan(&threshold); err != nil {
		return fmt.Errorf("threshold: %w", err)
	}
	if _, err := tx.Exec(ctx, warningSQL, s.Municipality, s.ID, (s.Period - 1).First().Time(utc),
		factor, CentsNumeric(jumpMin), threshold); err != nil {
		return fmt.Errorf("run %d: warnings: %w", s.ID, err)
	}
	rows, err := tx.Query(ctx, "SELECT kind, count(*) FROM run_warnings WHERE municipality = $1 AND run_id = $2 GROUP BY kind",
		s.Municipality, s.ID)
	if err != nil {
		return fmt.Errorf("run %d: count warnings: %w", s.ID, err)
	}
	s.Warnings = map[string]int64{}
	var kind string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &n}, func() error {
		s.Warnings[kind] = n
		return nil
	})
	return err
}
