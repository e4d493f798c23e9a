package store

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
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
	firstUse      ibanUses     // the first beneficiary payment group of each IBAN
	counts        map[string]int64
	fresh         ibanSet // the IBANs of the first_iban warnings
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
		w.fresh.add([]byte(*r.iban))
		if w.firstRun {
			w.count(warnFirstIBAN)
		} else {
			w.flag(out, warnFirstIBAN, r.caseID, r.payee, r.iban, r.amount, "no live run paid this IBAN before")
		}
	}
	if r.payee != payrun.PayeeBeneficiary {
		return
	}
	i, found := w.firstUse.find(*r.iban, r.caseID, r.amount)
	if !found {
		return
	}
	first := &w.firstUse.uses[i]
	if string(w.firstUse.caseOf(first)) == r.caseID {
		return
	}
	const detail = "IBAN paid for several cases in this run"
	if !first.shared {
		first.shared = true
		w.flag(out, warnSharedIBAN, string(w.firstUse.caseOf(first)), payrun.PayeeBeneficiary, r.iban, first.amount, detail)
	}
	w.flag(out, warnSharedIBAN, r.caseID, r.payee, r.iban, r.amount, detail)
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
	if len(w.fresh.spans) == 0 {
		return nil
	}
	w.fresh.sort()
	b := make([]byte, 0, len(w.fresh.text)+len(w.fresh.spans))
	var prev []byte
	for i := range w.fresh.spans {
		iban := w.fresh.item(i)
		if i > 0 && bytes.Equal(iban, prev) {
			continue
		}
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b, prev = append(b, iban...), iban
	}
	if _, err := tx.Exec(ctx, `INSERT INTO run_new_ibans (municipality, run_id, ibans) VALUES ($1, $2, $3)`,
		s.Municipality, s.ID, b); err != nil {
		return fmt.Errorf("run %d: new IBANs: %w", s.ID, err)
	}
	return nil
}

// ibanUses remembers the first beneficiary payment group of each IBAN of
// a run. It holds no pointers for the garbage collector to trace (a run of
// a municipality of 800,000 cases keeps as many): a map from a hash of the
// IBAN to an entry in a flat slice, the IBANs and case ids in one byte
// slice; entries with equal hashes are chained.
type ibanUses struct {
	seed  maphash.Seed
	hash  func(string) uint64 // tests: a hash with collisions; nil: maphash
	index map[uint64]int32
	text  []byte
	uses  []ibanUseAt
}

type ibanUseAt struct {
	start, ibanEnd, caseEnd uint32 // text[start:ibanEnd] the IBAN, text[ibanEnd:caseEnd] the case id
	next                    int32  // the next entry with the same hash, -1: none
	amount                  payrun.Cents
	shared                  bool
}

// find returns the entry of the first group paid to iban, found; or, when
// there is none, records caseID's group of amount as that.
func (u *ibanUses) find(iban, caseID string, amount payrun.Cents) (i int32, found bool) {
	if u.index == nil {
		u.seed, u.index = maphash.MakeSeed(), map[uint64]int32{}
	}
	var h uint64
	if u.hash != nil {
		h = u.hash(iban)
	} else {
		h = maphash.String(u.seed, iban)
	}
	head, ok := u.index[h]
	if !ok {
		head = -1
	}
	for i := head; i >= 0; i = u.uses[i].next {
		if e := &u.uses[i]; string(u.text[e.start:e.ibanEnd]) == iban {
			return i, true
		}
	}
	start := uint32(len(u.text))
	u.text = append(u.text, iban...)
	ibanEnd := uint32(len(u.text))
	u.text = append(u.text, caseID...)
	u.uses = append(u.uses, ibanUseAt{start: start, ibanEnd: ibanEnd, caseEnd: uint32(len(u.text)), next: head, amount: amount})
	u.index[h] = int32(len(u.uses) - 1)
	return 0, false
}

// caseOf is the case id of entry e.
func (u *ibanUses) caseOf(e *ibanUseAt) []byte { return u.text[e.ibanEnd:e.caseEnd] }
