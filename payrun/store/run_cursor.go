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
			r                            decRow
			validTo                      *int32
			rent, heating                int64
			payTo, iban, bic             *string
			llName, llIBAN, llBIC, llRef *string
			reclaim                      *string
			offMonthly, offRemaining     *int64
			persons                      []byte
			law, channel                 string
			validFrom                    int32
		)
		d := &r.d
		if err := rows.Scan(&r.caseID, &r.from, &d.DecisionID, &d.Supersedes, &law, &validFrom, &validTo,
			&rent, &heating, &payTo, &d.CountableIncome, &channel, &d.Payee.Name, &iban, &bic,
			&llName, &llIBAN, &llBIC, &llRef, &reclaim, &offMonthly, &offRemaining, &persons); err != nil {
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
		d.Payee.Channel, d.Payee.IBAN, d.Payee.BIC = payrun.Channel(channel), orEmpty(iban), bic
		if llIBAN != nil {
			d.Landlord = &payrun.Landlord{Name: orEmpty(llName), IBAN: *llIBAN, BIC: llBIC, Reference: orEmpty(llRef)}
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

// paidCursor reads the run_paid cursor batch by batch.
type paidCursor struct {
	tx    pgx.Tx
	batch int
	buf   []paidRow
	pos   int
	done  bool
}

func (c *paidCursor) fill(ctx context.Context) error {
	c.buf, c.pos = c.buf[:0], 0
	if c.done {
		return nil
	}
	rows, err := c.tx.Query(ctx, fmt.Sprintf("FETCH %d FROM run_paid", c.batch))
	if err != nil {
		return fmt.Errorf("fetch paid: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r paidRow
		var month int32
		var payee, comp string
		if err := rows.Scan(&r.caseID, &month, &payee, &comp, &r.p.ReclaimID, &r.p.Amount); err != nil {
			return fmt.Errorf("scan paid: %w", err)
		}
		r.p.Month, r.p.Payee, r.p.Component = payrun.Month(month), payrun.PayeeRole(payee), payrun.Component(comp)
		c.buf = append(c.buf, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("fetch paid: %w", err)
	}
	if len(c.buf) < c.batch {
		c.done = true
	}
	return nil
}

// casePaid appends the paid sums of caseID to out. Cases are asked for in
// ascending order; rows of cases never asked for are skipped.
func (c *paidCursor) casePaid(ctx context.Context, caseID string, out []PaidAmount) ([]PaidAmount, error) {
	for {
		for c.pos < len(c.buf) && c.buf[c.pos].caseID < caseID {
			c.pos++
		}
		for c.pos < len(c.buf) && c.buf[c.pos].caseID == caseID {
			out = append(out, c.buf[c.pos].p)
			c.pos++
		}
		if c.pos < len(c.buf) || c.done {
			return out, nil
		}
		if err := c.fill(ctx); err != nil {
			return out, err
		}
		if len(c.buf) == 0 {
			return out, nil
		}
	}
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
