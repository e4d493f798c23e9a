package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// warningSQL computes a run's risk warnings with set-based SQL over its
// payment groups per (case, payee), as the transactions of the export:
// run_pay, staged by the run's build (Σ of the payment lines that name a
// decision when positive; the IBAN of the latest such decision; last
// month's sum when the build found the amount jumped, see
// WarningRules.jump: the reader has the live lines of that month at hand,
// decoding them again in SQL cost seconds per 100,000 cases). Parameters:
// $1 municipality, $2 run, $3 the municipality's payment threshold
// (numeric, NULL when unset).
const warningSQL = `
WITH pay AS MATERIALIZED (
    SELECT case_id, payee_role, cents::numeric / 100 AS amount, iban, jump_from FROM run_pay
), shared AS MATERIALIZED (
    -- more than one case (min <> max lets PostgreSQL hash instead of sort)
    SELECT iban FROM pay WHERE payee_role = 'beneficiary' AND iban IS NOT NULL
    GROUP BY iban HAVING min(case_id) <> max(case_id)
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
       'last month ' || (p.jump_from::numeric / 100)::numeric(16, 2)::text
FROM pay p WHERE p.jump_from IS NOT NULL
UNION ALL
SELECT $1::text, $2::bigint, 'above_threshold', p.case_id, p.payee_role, p.iban, p.amount, 'threshold ' || $3::numeric::text
FROM pay p WHERE $3::numeric IS NOT NULL AND p.amount > $3::numeric`

// computeWarnings writes the run's warnings and counts them per kind into
// s.Warnings.
func computeWarnings(ctx context.Context, tx pgx.Tx, s *RunSummary) error {
	var threshold *string
	if err := tx.QueryRow(ctx, "SELECT nullif((settings->>'payment_threshold')::numeric, 0)::text FROM municipalities WHERE key = $1",
		s.Municipality).Scan(&threshold); err != nil {
		return fmt.Errorf("threshold: %w", err)
	}
	if _, err := tx.Exec(ctx, warningSQL, s.Municipality, s.ID, threshold); err != nil {
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
