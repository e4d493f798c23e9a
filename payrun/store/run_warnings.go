package store

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// A run's risk warnings, one per payment group (case, payee with a positive
// Σ of the payment lines that name a decision; the IBAN of the latest such
// decision), found in Go while the run is computed (warningSet) and
// inserted by the writer with each batch's chunk of lines:
//
//   - first_iban: no live run paid the IBAN before (the new IBANs of the
//     runs that got a first signature, migration 0140, read once per run
//     into a compact sorted set; the run stores its own new IBANs as one
//     row when it is finished). On a municipality's first run (no IBAN paid
//     before) every IBAN is new: the run counts them (runs.warnings) but
//     writes no row per payee, which nobody could review (170,000 alike
//     hints) and which cost ≈ 0.8 s per 170,000 cases;
//   - shared_iban: the beneficiary's IBAN is paid for several cases in the
//     run;
//   - amount_jump: the payee got more than WarningRules allow against the
//     month before the period (the reader streams that month's lines);
//   - above_threshold: more than the municipality's payment threshold.
//
// Until migration 0135 a staging table of every group and one set-based
// statement computed them at the end: ≈ 0.8 s of PostgreSQL per 170,000
// cases. A lookup of each group's IBAN in SQL per batch depended on the
// statistics of paid_ibans, which lag behind a first signature of 170,000
// IBANs: PostgreSQL then scanned all of them for every batch.

// Warning kinds.
const (
	warnFirstIBAN  = "first_iban"
	warnSharedIBAN = "shared_iban"
	warnJump       = "amount_jump"
	warnThreshold  = "above_threshold"
)

// warningSet finds a run's warnings (the compute stage's goroutine).
type warningSet struct {
	threshold     payrun.Cents // flag amounts above; 0: no threshold
	thresholdText string       // as the municipality's settings give it
	paid          ibanSet      // IBANs live runs paid
	firstRun      bool         // no IBAN paid before: first_iban counted, not listed
	// the first payment group of each beneficiary IBAN, and whether the
	// IBAN was found shared (its first group flagged)
	firstUse map[string]*ibanUse
	counts   map[string]int64
	newIBANs []string // of the first_iban warnings
}

type ibanUse struct {
	caseID string
	amount payrun.Cents
	iban   *string
	shared bool
}

// warnRows are warnings as the column arrays of their insert (a batch's).
type warnRows struct {
	kind, caseID, payee, detail []string
	iban                        []*string
	cents                       []int64
}

func (r *warnRows) reset() {
	r.kind, r.caseID, r.payee, r.detail = r.kind[:0], r.caseID[:0], r.payee[:0], r.detail[:0]
	r.iban, r.cents = r.iban[:0], r.cents[:0]
}

// load reads the municipality's payment threshold (none when unset or 0)
// and the IBANs its live runs paid.
func (w *warningSet) load(ctx context.Context, tx pgx.Tx, municipality string) error {
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
	if err := w.paid.load(ctx, tx, municipality); err != nil {
		return fmt.Errorf("paid IBANs: %w", err)
	}
	w.firstRun = len(w.paid.spans) == 0
	return nil
}

// add checks one payment group and adds its warnings to out.
func (w *warningSet) add(r *payRow, out *warnRows) {
	if r.jumpFrom != nil {
		w.flag(out, warnJump, r.caseID, r.payee, r.iban, r.amount, "last month "+r.jumpFrom.String())
	}
	if w.thresholdText != "" && r.amount > w.threshold {
		w.flag(out, warnThreshold, r.caseID, r.payee, r.iban, r.amount, "threshold "+w.thresholdText)
	}
	if r.iban == nil {
		return
	}
	if !w.paid.has(*r.iban) {
		w.newIBANs = append(w.newIBANs, *r.iban)
		if w.firstRun {
			w.count(warnFirstIBAN)
		} else {
			w.flag(out, warnFirstIBAN, r.caseID, r.payee, r.iban, r.amount, "no live run paid this IBAN before")
		}
	}
	if r.payee != payrun.PayeeBeneficiary {
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
			w.flag(out, warnSharedIBAN, u.caseID, payrun.PayeeBeneficiary, u.iban, u.amount, detail)
		}
		w.flag(out, warnSharedIBAN, r.caseID, r.payee, r.iban, r.amount, detail)
	}
}

// count counts a warning of kind.
func (w *warningSet) count(kind string) {
	if w.counts == nil {
		w.counts = map[string]int64{}
	}
	w.counts[kind]++
}

// flag counts a warning and adds its row to out.
func (w *warningSet) flag(out *warnRows, kind, caseID string, payee payrun.PayeeRole, iban *string, amount payrun.Cents, detail string) {
	w.count(kind)
	out.kind, out.caseID, out.payee = append(out.kind, kind), append(out.caseID, caseID), append(out.payee, string(payee))
	out.iban, out.cents, out.detail = append(out.iban, iban), append(out.cents, int64(amount)), append(out.detail, detail)
}

// warningsSQL inserts warnRows ($3 … $8) of run $2 of municipality $1.
const warningsSQL = `INSERT INTO run_warnings (municipality, run_id, kind, case_id, payee_role, iban, amount, detail)
    SELECT $1, $2, w.kind, w.case_id, w.payee_role, w.iban, w.cents::numeric / 100, w.detail
    FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[])
         AS w(kind, case_id, payee_role, iban, cents, detail)`

// ibanSet is a sorted set of IBANs in one byte slice (no pointers for the
// garbage collector to trace, ≈ 30 bytes per IBAN).
type ibanSet struct {
	text  []byte
	spans [][2]uint32 // start and end in text, in byte order of the IBANs
}

// load reads the IBANs live runs of municipality paid: the new IBANs of
// the runs that got a first signature (migration 0140).
func (s *ibanSet) load(ctx context.Context, tx pgx.Tx, municipality string) error {
	rows, err := tx.Query(ctx, `SELECT n.ibans FROM run_new_ibans n WHERE n.municipality = $1
		AND EXISTS (SELECT 1 FROM signatures g WHERE g.municipality = n.municipality AND g.run_id = n.run_id AND g.seq = 1)`,
		municipality)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		for iban := range bytes.SplitSeq(rows.RawValues()[0], []byte{'\n'}) {
			s.add(iban)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.sort()
	return nil
}

// add appends iban; sort puts the set in order before has is used.
func (s *ibanSet) add(iban []byte) {
	start := uint32(len(s.text))
	s.text = append(s.text, iban...)
	s.spans = append(s.spans, [2]uint32{start, uint32(len(s.text))})
}

func (s *ibanSet) sort() {
	sort.Slice(s.spans, func(i, j int) bool { return bytes.Compare(s.item(i), s.item(j)) < 0 })
}

func (s *ibanSet) item(i int) []byte { return s.text[s.spans[i][0]:s.spans[i][1]] }

// has reports whether iban is in s.
func (s *ibanSet) has(iban string) bool {
	n := len(s.spans)
	i := sort.Search(n, func(i int) bool { return string(s.item(i)) >= iban })
	return i < n && string(s.item(i)) == iban
}

// storeNewIBANs stores the run's new IBANs (distinct, byte order, one per
// line) as its row of run_new_ibans.
func (w *warningSet) storeNewIBANs(ctx context.Context, tx pgx.Tx, s *RunSummary) error {
	if len(w.newIBANs) == 0 {
		return nil
	}
	sort.Strings(w.newIBANs)
	var b []byte
	for i, iban := range w.newIBANs {
		if i > 0 && iban == w.newIBANs[i-1] {
			continue
		}
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, iban...)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO run_new_ibans (municipality, run_id, ibans) VALUES ($1, $2, $3)`,
		s.Municipality, s.ID, string(b)); err != nil {
		return fmt.Errorf("run %d: new IBANs: %w", s.ID, err)
	}
	return nil
}
