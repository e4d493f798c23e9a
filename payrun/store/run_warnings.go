package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// A run's risk warnings, one per payment group (case, payee with a positive
// Σ of the payment lines that name a decision; the IBAN of the latest such
// decision):
//
//   - first_iban: no live run paid the IBAN before (paid_ibans). The writer
//     inserts these with each batch of lines (firstIBANSQL: an index probe
//     per group, no staging table);
//   - shared_iban: the beneficiary's IBAN is paid for several cases in the
//     run; amount_jump: the payee got more than WarningRules allow against
//     the month before the period (the reader streams that month's lines);
//     above_threshold: more than the municipality's payment threshold.
//     These are computed in Go while the run is built (warningSet) and
//     inserted when it is finished.
//
// Until migration 0135 a staging table of every group and one set-based
// statement computed all four: ≈ 0.8 s of PostgreSQL per 170,000 cases.

// firstIBANSQL inserts the first_iban warnings of a batch's payment groups
// with an IBAN ($3 … $6 column arrays) and returns nothing; its row count
// is the number of warnings. $1 municipality, $2 run.
const firstIBANSQL = `
INSERT INTO run_warnings (municipality, run_id, kind, case_id, payee_role, iban, amount, detail)
SELECT $1, $2, 'first_iban', p.case_id, p.payee_role, p.iban, p.cents::numeric / 100, 'no live run paid this IBAN before'
FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) AS p(case_id, payee_role, cents, iban)
WHERE NOT EXISTS (SELECT 1 FROM paid_ibans i WHERE i.municipality = $1 AND i.iban = p.iban)`

// Warning kinds.
const (
	warnFirstIBAN  = "first_iban"
	warnSharedIBAN = "shared_iban"
	warnJump       = "amount_jump"
	warnThreshold  = "above_threshold"
)

// warningSet collects the warnings a run's build finds in Go, as the column
// arrays of their insert.
type warningSet struct {
	threshold     payrun.Cents // flag amounts above; 0: no threshold
	thresholdText string       // as the municipality's settings give it
	// the first payment group of each beneficiary IBAN, and whether the
	// IBAN was found shared (its first group flagged)
	firstUse map[string]*ibanUse
	counts   map[string]int64

	kind, caseID, payee, detail []string
	iban                        []*string
	cents                       []int64
}

type ibanUse struct {
	caseID string
	amount payrun.Cents
	iban   *string
	shared bool
}

// loadThreshold reads the municipality's payment threshold (none when
// unset or 0).
func (w *warningSet) loadThreshold(ctx context.Context, tx pgx.Tx, municipality string) error {
	var text *string
	var cents int64
	err := tx.QueryRow(ctx, `SELECT t::text, floor(t * 100)::bigint
		FROM (SELECT nullif((settings->>'payment_threshold')::numeric, 0) AS t FROM municipalities WHERE key = $1) s`,
		municipality).Scan(&text, &cents)
	if err != nil {
		return fmt.Errorf("threshold: %w", err)
	}
	if text != nil {
		// amount > threshold ⇔ cents > ⌊threshold × 100⌋ (whole cents)
		w.threshold, w.thresholdText = payrun.Cents(cents), *text
	}
	return nil
}

// add checks one payment group.
func (w *warningSet) add(r *payRow) {
	if r.jumpFrom != nil {
		w.flag(warnJump, r.caseID, r.payee, r.iban, r.amount, "last month "+r.jumpFrom.String())
	}
	if w.thresholdText != "" && r.amount > w.threshold {
		w.flag(warnThreshold, r.caseID, r.payee, r.iban, r.amount, "threshold "+w.thresholdText)
	}
	if r.payee != payrun.PayeeBeneficiary || r.iban == nil {
		return
	}
	if w.firstUse == nil {
		w.firstUse = map[string]*ibanUse{}
	}
	u := w.firstUse[*r.iban]
	switch {
	case u == nil:
		w.firstUse[*r.iban] = &ibanUse{caseID: r.caseID, amount: r.amount, iban: r.iban}
	case u.caseID != r.caseID:
		const detail = "IBAN paid for several cases in this run"
		if !u.shared {
			u.shared = true
			w.flag(warnSharedIBAN, u.caseID, payrun.PayeeBeneficiary, u.iban, u.amount, detail)
		}
		w.flag(warnSharedIBAN, r.caseID, r.payee, r.iban, r.amount, detail)
	}
}

func (w *warningSet) flag(kind, caseID string, payee payrun.PayeeRole, iban *string, amount payrun.Cents, detail string) {
	if w.counts == nil {
		w.counts = map[string]int64{}
	}
	w.counts[kind]++
	w.kind, w.caseID, w.payee = append(w.kind, kind), append(w.caseID, caseID), append(w.payee, string(payee))
	w.iban, w.cents, w.detail = append(w.iban, iban), append(w.cents, int64(amount)), append(w.detail, detail)
}

// store inserts the warnings of w and sets s.Warnings to the count per
// kind, with firstIBAN first_iban warnings the writer inserted.
func (w *warningSet) store(ctx context.Context, tx pgx.Tx, s *RunSummary, firstIBAN int64) error {
	s.Warnings = map[string]int64{}
	for k, n := range w.counts {
		s.Warnings[k] = n
	}
	if firstIBAN > 0 {
		s.Warnings[warnFirstIBAN] = firstIBAN
	}
	if len(w.kind) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO run_warnings (municipality, run_id, kind, case_id, payee_role, iban, amount, detail)
		SELECT $1, $2, w.kind, w.case_id, w.payee_role, w.iban, w.cents::numeric / 100, w.detail
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
		     AS w(kind, case_id, payee_role, iban, cents, detail)`,
		s.Municipality, s.ID, w.kind, w.caseID, w.payee, w.iban, w.cents, w.detail)
	if err != nil {
		return fmt.Errorf("run %d: warnings: %w", s.ID, err)
	}
	return nil
}
