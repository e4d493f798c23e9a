package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/payrun/payrun/payrun"
)

const nDecCols = 17

// decCols names the columns of the run_decisions cursor, for errors.
var decCols = [nDecCols]string{"case_id", "decision_id", "supersedes", "law", "valid_from", "valid_to", "rent",
	"heating", "pay_to", "countable_income", "payee_channel", "payee_iban", "landlord_iban", "reclaim_id",
	"offset_monthly", "offset_remaining", "persons"}

// decisionsSelectSQL streams every decision of the municipality ($1) in
// case order (byte order, the order of the cases cursor); the decisions of
// a case are put in order of valid_from and decision id in Go. An empty
// supersedes list comes as NULL (most decisions: no array to decode). The
// index on (municipality, case_id) gives the order (its case_id in "C",
// migration 0130): PostgreSQL sends the first rows at once, with no sort
// of the municipality's decisions and no index descent per case (a query
// per batch of case ids cost three times as much).
const decisionsSelectSQL = `SELECT d.case_id, d.decision_id, nullif(d.supersedes, '{}'), d.law,
       (d.valid_from - DATE '1970-01-01'), (d.valid_to - DATE '1970-01-01'),
       (d.rent * 100)::bigint, (d.heating * 100)::bigint, d.pay_to, (d.countable_income * 100)::bigint,
       d.payee_channel, d.payee_iban, d.landlord_iban,
       d.reclaim_id, (d.offset_monthly * 100)::bigint, (d.offset_remaining * 100)::bigint, d.persons::text
FROM decisions d WHERE d.municipality = $1
ORDER BY d.case_id COLLATE "C"`

// decisionsCursorSQL declares the run_decisions cursor over decisionsSelectSQL.
const decisionsCursorSQL = "DECLARE run_decisions NO SCROLL CURSOR FOR\n" + decisionsSelectSQL

// decodeDecision decodes one row of the run_decisions cursor from its raw
// values into d, a zero Decision (pgx's Scan would allocate every text column; the case id
// of the previous row and the enumerations are not copied again).
func decodeDecision(tm *pgtype.Map, fds []pgconn.FieldDescription, raw [][]byte, prevCase string, d *payrun.Decision) error {
	if len(raw) != len(decCols) {
		return fmt.Errorf("%d columns", len(raw))
	}
	var ints [nDecCols]int64
	var null [nDecCols]bool
	for _, i := range [...]int{4, 5, 6, 7, 9, 14, 15} {
		if raw[i] == nil {
			null[i] = true
			continue
		}
		v, err := rawInt(&fds[i], raw[i])
		if err != nil {
			return fmt.Errorf("column %s: %w", decCols[i], err)
		}
		ints[i] = v
	}
	for _, i := range [...]int{0, 1, 3, 4, 6, 7, 9, 10, 16} {
		if raw[i] == nil {
			return fmt.Errorf("column %s: NULL", decCols[i])
		}
	}
	d.CaseID, d.DecisionID = reuse(prevCase, raw[0]), string(raw[1])
	if raw[2] != nil {
		if err := tm.Scan(fds[2].DataTypeOID, fds[2].Format, raw[2], &d.Supersedes); err != nil {
			return fmt.Errorf("decision %s: supersedes: %w", d.DecisionID, err)
		}
	}
	d.Law, d.ValidFrom = payrun.Law(known(raw[3], rawLaws)), payrun.Date(ints[4])
	if !null[5] {
		t := payrun.Date(ints[5])
		d.ValidTo = &t
	}
	if raw[8] != nil || ints[6] != 0 || ints[7] != 0 {
		h := &payrun.Housing{Rent: payrun.Cents(ints[6]), Heating: payrun.Cents(ints[7]), PayTo: payrun.PayToBeneficiary}
		if raw[8] != nil {
			h.PayTo = payrun.PayTo(known(raw[8], rawPayTo))
		}
		d.Housing = h
	}
	d.CountableIncome = payrun.Cents(ints[9])
	// Names, BICs and the landlord's reference are not read: the
	// calculation does not use them, the warnings need the IBANs only, and
	// the export reads the payees itself (StreamExportPayees).
	d.Payee = payrun.Payee{Channel: payrun.Channel(known(raw[10], rawChannels))}
	if raw[11] != nil {
		d.Payee.IBAN = string(raw[11])
	}
	if raw[12] != nil {
		d.Landlord = &payrun.Landlord{IBAN: string(raw[12])}
	}
	if raw[13] != nil && !null[14] && !null[15] {
		d.Offset = &payrun.Offset{ReclaimID: string(raw[13]), Monthly: payrun.Cents(ints[14]), Remaining: payrun.Cents(ints[15])}
	}
	var err error
	if d.Persons, err = parsePersons(raw[16]); err != nil {
		return fmt.Errorf("decision %s: persons: %w", d.DecisionID, err)
	}
	return nil
}

// decisionCursor merges the run_cases cursor (the cases to compute, with
// the first month of each) with the run_decisions cursor, both in case
// order, batch by batch.
type decisionCursor struct {
	tx    pgx.Tx
	batch int
	// cases: ids and first months of the current batch of run_cases
	ids       []string
	froms     []int32
	ci        int
	casesDone bool
	// decisions: the current batch of run_decisions
	buf      []payrun.Decision
	pos      int
	decsDone bool
}

// nextCases fetches the next batch of cases to compute into c.ids and
// c.froms; casesDone when the cursor is exhausted.
func (c *decisionCursor) nextCases(ctx context.Context) error {
	c.ids, c.froms, c.ci = c.ids[:0], c.froms[:0], 0
	rows, err := c.tx.Query(ctx, fmt.Sprintf("FETCH %d FROM run_cases", c.batch))
	if err != nil {
		return fmt.Errorf("fetch cases: %w", err)
	}
	var id string
	var from int32
	if _, err := pgx.ForEachRow(rows, []any{&id, &from}, func() error {
		c.ids, c.froms = append(c.ids, id), append(c.froms, from)
		return nil
	}); err != nil {
		return fmt.Errorf("fetch cases: %w", err)
	}
	if len(c.ids) < c.batch {
		c.casesDone = true
	}
	return nil
}

// fill reads the next batch of decisions into c.buf (empty at the end).
func (c *decisionCursor) fill(ctx context.Context) error {
	c.buf, c.pos = c.buf[:0], 0
	if c.decsDone {
		return nil
	}
	n := 2 * c.batch
	rows, err := c.tx.Query(ctx, fmt.Sprintf("FETCH %d FROM run_decisions", n))
	if err != nil {
		return fmt.Errorf("read decisions: %w", err)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	if len(fds) != len(decCols) {
		return fmt.Errorf("read decisions: %d columns, want %d", len(fds), len(decCols))
	}
	tm := c.tx.Conn().TypeMap()
	var prevCase string
	for rows.Next() {
		c.buf = append(c.buf, payrun.Decision{})
		d := &c.buf[len(c.buf)-1]
		if err := decodeDecision(tm, fds, rows.RawValues(), prevCase, d); err != nil {
			return fmt.Errorf("read decisions: %w", err)
		}
		prevCase = d.CaseID
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read decisions: %w", err)
	}
	if len(c.buf) < n {
		c.decsDone = true
	}
	return nil
}

// nextCase fills rc with the next case to compute and its decisions in
// order of valid_from and decision id; false at the end.
func (c *decisionCursor) nextCase(ctx context.Context, rc *RunCase) (bool, error) {
	if c.ci >= len(c.ids) {
		if c.casesDone {
			return false, nil
		}
		if err := c.nextCases(ctx); err != nil {
			return false, err
		}
		if len(c.ids) == 0 {
			return false, nil
		}
	}
	rc.CaseID, rc.From = c.ids[c.ci], payrun.Month(c.froms[c.ci])
	c.ci++
	rc.Decisions = rc.Decisions[:0]
	for {
		for c.pos < len(c.buf) && c.buf[c.pos].CaseID < rc.CaseID {
			c.pos++ // a case not computed in this run
		}
		for c.pos < len(c.buf) && c.buf[c.pos].CaseID == rc.CaseID {
			rc.Decisions = append(rc.Decisions, c.buf[c.pos])
			c.pos++
		}
		if c.pos < len(c.buf) || c.decsDone {
			break
		}
		if err := c.fill(ctx); err != nil {
			return false, err
		}
	}
	insertionSort(rc.Decisions, decisionLess)
	return true, nil
}

// decisionLess orders a case's decisions by valid_from, then decision id.
func decisionLess(a, b *payrun.Decision) bool {
	if a.ValidFrom != b.ValidFrom {
		return a.ValidFrom < b.ValidFrom
	}
	return a.DecisionID < b.DecisionID
}

type paidRow struct {
	caseID string
	p      PaidAmount
}

// paidCursor reads the run_paid cursor: chunks of live runs (migration
// 0135) in order of their first case, the lines of recent runs and the
// offsets of older ones. Chunks of different runs overlap; casePaid looks
// into every chunk read that a case may be in. casePaid keeps the lines a
// run must net against and those of the month before the period (prev:
// the amount-jump warning).
type paidCursor struct {
	tx    pgx.Tx
	batch int // chunks per FETCH
	prev  payrun.Month
	open  []*paidChunk // chunks read, not yet passed
	spare []*paidChunk
	last  string // first case of the last chunk read
	done  bool
	lines []RunLine
}

// paidChunk is one chunk of the paid cursor, unpacked, and how far the
// cases asked for have passed it.
type paidChunk struct {
	rows []paidRow
	pos  int
}

// fill reads the next chunks into c.open.
func (c *paidCursor) fill(ctx context.Context) error {
	rows, err := c.tx.Query(ctx, fmt.Sprintf("FETCH %d FROM run_paid", c.batch))
	if err != nil {
		return fmt.Errorf("fetch paid: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		raw := rows.RawValues()
		if len(raw) != 2 || raw[0] == nil || raw[1] == nil {
			return fmt.Errorf("fetch paid: unexpected row")
		}
		n++
		c.last = string(raw[0])
		if err := c.addChunk(raw[1]); err != nil {
			return fmt.Errorf("fetch paid: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fetch paid: %w", err)
	}
	c.done = n < c.batch
	return nil
}

// addChunk unpacks a chunk's text into a paidChunk of c.open.
func (c *paidCursor) addChunk(text []byte) error {
	var ch *paidChunk
	if k := len(c.spare); k > 0 {
		ch, c.spare = c.spare[k-1], c.spare[:k-1]
	} else {
		ch = new(paidChunk)
	}
	ch.rows, ch.pos = ch.rows[:0], 0
	err := eachSection(text, "", func(caseID string, packed []byte) error {
		var err error
		if c.lines, err = unpackLines(caseID, packed, c.lines[:0]); err != nil {
			return err
		}
		for i := range c.lines {
			l := &c.lines[i]
			ch.rows = append(ch.rows, paidRow{caseID: caseID, p: PaidAmount{Month: l.Month, Payee: l.Payee,
				Component: l.Component, ReclaimID: l.ReclaimID, Amount: l.Amount}})
		}
		return nil
	})
	c.open = append(c.open, ch)
	return err
}

// casePaid sets rc.Paid to the paid sums of rc's case, one per (month,
// payee, component, reclaim), from its first month to compute on (rc.From;
// every month when -1) plus the offsets of every month, and rc.LastMonth to
// the sums of the month before the period. Cases are asked for in
// ascending order; rows of cases never asked for are skipped.
func (c *paidCursor) casePaid(ctx context.Context, rc *RunCase) error {
	rc.Paid, rc.LastMonth = rc.Paid[:0], [2]LastMonthSum{}
	// A chunk not read yet starts at c.last or later: while that is not
	// after the case, the case may be in it.
	for !c.done && c.last <= rc.CaseID {
		if err := c.fill(ctx); err != nil {
			return err
		}
	}
	kept := c.open[:0]
	for _, ch := range c.open {
		for ch.pos < len(ch.rows) && ch.rows[ch.pos].caseID < rc.CaseID {
			ch.pos++
		}
		for ch.pos < len(ch.rows) && ch.rows[ch.pos].caseID == rc.CaseID {
			c.addRow(rc, &ch.rows[ch.pos])
			ch.pos++
		}
		if ch.pos < len(ch.rows) {
			kept = append(kept, ch)
		} else {
			c.spare = append(c.spare, ch)
		}
	}
	clear(c.open[len(kept):])
	c.open = kept
	sortPaid(rc.Paid)
	return nil
}

// addRow adds one paid line of rc's case to rc.
func (c *paidCursor) addRow(rc *RunCase, r *paidRow) {
	if r.p.Month == c.prev {
		rc.LastMonth[payeeIndex(r.p.Payee)].add(r.p.Amount)
	}
	if rc.From < 0 || r.p.Month >= rc.From || r.p.Component == payrun.CompOffset {
		rc.Paid = addPaid(rc.Paid, &r.p)
	}
}

// payeeIndex is 0 for the beneficiary and 1 for the landlord (the index of
// RunCase.LastMonth and of a case's payee groups).
func payeeIndex(p payrun.PayeeRole) int {
	if p == payrun.PayeeLandlord {
		return 1
	}
	return 0
}

// sortPaid sorts a case's paid sums by month, payee, component, reclaim.
func sortPaid(out []PaidAmount) {
	less := func(a, b *PaidAmount) bool {
		switch {
		case a.Month != b.Month:
			return a.Month < b.Month
		case a.Payee != b.Payee:
			return a.Payee < b.Payee
		case a.Component != b.Component:
			return a.Component < b.Component
		}
		return a.ReclaimID < b.ReclaimID
	}
	insertionSort(out, less)
}

// addPaid adds p to the entry of out with p's month, payee, component and
// reclaim, or appends it.
func addPaid(out []PaidAmount, p *PaidAmount) []PaidAmount {
	for i := range out {
		o := &out[i]
		if o.Month == p.Month && o.Payee == p.Payee && o.Component == p.Component && o.ReclaimID == p.ReclaimID {
			o.Amount += p.Amount
			return out
		}
	}
	return append(out, *p)
}
