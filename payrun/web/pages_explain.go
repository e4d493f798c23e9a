package web

import (
	"context"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
)

type explainData struct {
	Run    runRow
	CaseID string
	X      calc.Explanation
}

// explain renders calc.Explain for a case and month of a run in German.
func (p *Pages) explain(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	id, err := runID(r)
	if err == nil && !u.CanSeeRuns() {
		err = payrun.ErrNotFound
	}
	var d explainData
	if err == nil {
		d.Run, err = p.runByID(r.Context(), u.Municipality, id)
	}
	var month payrun.Month
	if err == nil {
		if month, err = payrun.ParseMonth(r.PathValue("month")); err != nil {
			err = fmt.Errorf("web: month %q: %w", r.PathValue("month"), payrun.ErrNotFound)
		}
	}
	d.CaseID = r.PathValue("case")
	if err == nil {
		err = p.inRun(r.Context(), u.Municipality, id, d.CaseID, month)
	}
	var in *calc.CaseInput
	var c *calc.Calculator
	if err == nil {
		in, c, err = p.caseInput(r.Context(), u.Municipality, id, d.CaseID)
	}
	if err == nil {
		first := month
		for _, dec := range in.Decisions {
			first = min(first, dec.ValidFrom.Month())
		}
		in.From, in.Through = first, month
		d.X, err = c.Explain(in, month)
	}
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	p.render(w, http.StatusOK, "explain.html", view{Title: "Berechnung " + d.CaseID, User: u, CSRF: u.csrf, Data: d})
}

// inRun checks that the run has lines for the case and month.
func (p *Pages) inRun(ctx context.Context, m string, id int64, caseID string, month payrun.Month) error {
	return p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		var one int
		return tx.QueryRow(ctx, `SELECT 1 FROM run_lines WHERE municipality = $1 AND run_id = $2 AND case_id = $3
			AND chunk_first <= $3 AND chunk_last >= $3
			AND month = make_date($4, $5, 1) LIMIT 1`, m, id, caseID, month.Year(), int(month.Mon())).Scan(&one)
	})
}

type rateRow struct {
	Table      payrun.RateTable
	Owner      payrun.Role
	NeedsLevel int
	ValidFrom  payrun.Date
	Amount     payrun.Cents
	Mine       bool
}

// rates lists the central rate tables by table, needs level and
// valid_from (roles rates_county and rates_hub).
func (p *Pages) rates(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	if !u.CanEditRates() {
		p.fail(w, r, u, payrun.ErrForbidden)
		return
	}
	p.ratesPage(w, r, u, http.StatusOK, ratesData{})
}

// rateRows lists every rate, marking the rows of the user's tables.
func (p *Pages) rateRows(ctx context.Context, u *sessionUser) ([]rateRow, error) {
	var rows []rateRow
	err := p.cfg.DB.WithTx(ctx, u.Municipality, func(tx pgx.Tx) error {
		q, err := tx.Query(ctx, `SELECT r.rate_table, o.owner_role, r.needs_level, (r.valid_from - DATE '1970-01-01'), (r.amount * 100)::bigint
			FROM rates r JOIN rate_table_owners o USING (rate_table) ORDER BY 1, 4 DESC, 3`)
		if err != nil {
			return err
		}
		var x rateRow
		var from int32
		_, err = pgx.ForEachRow(q, []any{&x.Table, &x.Owner, &x.NeedsLevel, &from, &x.Amount}, func() error {
			x.ValidFrom = payrun.Date(from)
			x.Mine = u.Has(x.Owner)
			rows = append(rows, x)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("web: rates: %w", err)
	}
	return rows, nil
}
