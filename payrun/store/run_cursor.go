package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// decRow is one row of the run_decisions cursor.
type decRow struct {
	caseID string
	from   int32 // recompute_from as a Month, -1 when NULL
	d      payrun.Decision
}

// decisionCursor reads the run_decisions cursor batch by batch and groups
// its rows by case.
type decisionCursor struct {
	tx    pgx.Tx
	batch int
	buf   []decRow
	pos   int
	done  bool
}

func (c *decisionCursor) fill(ctx context.Context) error {
	c.buf, c.pos = c.buf[:0], 0
	if c.done {
		return nil
	}
	rows, err := c.tx.Query(ctx, fmt.Sprintf("FETCH %d FROM run_decisions", c.batch))
	if err != nil {
		return fmt.Errorf("fetch decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                        decRow
			validTo                  *int32
			rent, heating            int64
			payTo, iban, llIBAN      *string
			reclaim                  *string
			offMonthly, offRemaining *int64
			persons                  []byte
			law, channel             string
			validFrom                int32
		)
		d := &r.d
		if err := rows.Scan(&r.caseID, &r.from, &d.DecisionID, &d.Supersedes, &law, &validFrom, &validTo,
			&rent, &heating, &payTo, &d.CountableIncome, &channel, &iban, &llIBAN,
			&reclaim, &offMonthly, &offRemaining, &persons); err != nil {
			return fmt.Errorf("scan decision: %w", err)
		}
		d.CaseID, d.Law, d.ValidFrom = r.caseID, payrun.Law(law), payrun.Date(validFrom)
		if validTo != nil {
			t := payrun.Date(*validTo)
			d.ValidTo = &t
		}
		if payTo != nil || rent != 0 || heating != 0 {
			h := &payrun.Housing{Rent: payrun.Cents(rent), Heating: payrun.Cents(heating), PayTo: payrun.PayToBeneficiary}
			if payTo != nil {
				h.PayTo = payrun.PayTo(*payTo)
			}
			d.Housing = h
		}
		// Names, BICs and the landlord's reference are not read: the
		// calculation does not use them, the warnings need the IBANs only,
		// and the export reads the payees itself (StreamExportPayees).
		d.Payee.Channel, d.Payee.IBAN = payrun.Channel(channel), orEmpty(iban)
		if llIBAN != nil {
			d.Landlord = &payrun.Landlord{IBAN: *llIBAN}
		}
		if reclaim != nil && offMonthly != nil && offRemaining != nil {
			d.Offset = &payrun.Offset{ReclaimID: *reclaim, Monthly: payrun.Cents(*offMonthly), Remaining: payrun.Cents(*offRemaining)}
		}
		var err error
		if d.Persons, err = parsePersons(persons); err != nil {
			return fmt.Errorf("decision %s: persons: %w", d.DecisionID, err)
		}
		c.buf = append(c.buf, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fetch decisions: %w", err)
	}
	if len(c.buf) < c.batch {
		c.done = true
	}
	return nil
}

// nextCase fills rc with the next case's decisions; false at the end.
func (c *decisionCursor) nextCase(ctx context.Context, rc *RunCase) (bool, error) {
	if c.pos >= len(c.buf) {
		if err := c.fill(ctx); err != nil {
			return false, err
		}
		if len(c.buf) == 0 {
			return false, nil
		}
	}
	first := &c.buf[c.pos]
	rc.CaseID, rc.From = first.caseID, payrun.Month(first.from)
	rc.Decisions = rc.Decisions[:0]
	for {
		for c.pos < len(c.buf) && c.buf[c.pos].caseID == rc.CaseID {
			rc.Decisions = append(rc.Decisions, c.buf[c.pos].d)
			c.pos++
		}
		if c.pos < len(c.buf) || c.done {
			return true, nil
		}
		if err := c.fill(ctx); err != nil {
			return false, err
		}
		if len(c.buf) == 0 {
			return true, nil
		}
	}
}

type paidRow struct {
	caseID string
	p      PaidAmount
}

// paidCursor reads the run_paid cursor (packed lines of live runs, in case
// order) batch by batch; fill keeps the lines a run must net against.
type paidCursor struct {
	tx    pgx.Tx
	batch int
	buf   []paidRow
	pos   int
	done  bool
	pr    packedReader
}

func (c *paidCursor) fill(ctx context.Context) error {
	c.buf, c.pos = c.buf[:0], 0
	if c.done {
		return nil
	}
	rows := 0
	err := c.pr.each(ctx, c.tx, fmt.Sprintf("FETCH %d FROM run_paid", c.batch), nil,
		func(caseID string, lines []RunLine, raw [][]byte) error {
			rows++
			if len(raw) != 3 {
				return fmt.Errorf("paid row with %d columns", len(raw))
			}
			from, err := rawInt(&c.pr.fds[2], raw[2])
			if err != nil {
				return fmt.Errorf("paid row: from: %w", err)
			}
			for i := range lines {
				l := &lines[i]
				if from < 0 || int64(l.Month) >= from || l.Component == payrun.CompOffset {
					c.buf = append(c.buf, paidRow{caseID: caseID, p: PaidAmount{Month: l.Month, Payee: l.Payee,
						Component: l.Component, ReclaimID: l.ReclaimID, Amount: l.Amount}})
				}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("fetch paid: %w", err)
	}
	if rows < c.batch {
		c.done = true
	}
	return nil
}

// casePaid appends the paid sums of caseID to out, one per (month, payee,
// component, reclaim). Cases are asked for in ascending order; rows of
// cases never asked for are skipped.
func (c *paidCursor) casePaid(ctx context.Context, caseID string, out []PaidAmount) ([]PaidAmount, error) {
	for {
		for c.pos < len(c.buf) && c.buf[c.pos].caseID < caseID {
			c.pos++
		}
		for c.pos < len(c.buf) && c.buf[c.pos].caseID == caseID {
			out = addPaid(out, &c.buf[c.pos].p)
			c.pos++
		}
		if c.pos < len(c.buf) || c.done {
			sortPaid(out)
			return out, nil
		}
		if err := c.fill(ctx); err != nil {
			return out, err
		}
	}
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
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(&out[j], &out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
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

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
