package web

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/calc"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/sepa/bankday"
)

// runRow is a run as the pages list it.
type runRow struct {
	ID            int64
	Kind          payrun.RunKind
	Period        payrun.Month
	State         payrun.RunState
	Digest        string
	Lines, Cases  int64
	Payments      int64 // payment groups (case, payee) with a positive sum
	Total         payrun.Cents
	ExecutionDate *payrun.Date
	CreatedAt     time.Time
	settings      calendarSettings // of the municipality, for the planned execution date
}

// calendarSettings are the municipality settings of the execution date
// (the same keys payrun/export reads).
type calendarSettings struct {
	ExecutionDaysBefore int  `json:"execution_days_before"`
	NRWHolidays         bool `json:"nrw_holidays"`
}

// Due is the execution date of an exported run; before the export the
// date the export would set today: the configured number of bank business
// days before the 1st of the period (as payrun/export does), or the next
// business day from today when that has passed.
func (r runRow) Due() payrun.Date {
	if r.ExecutionDate != nil {
		return *r.ExecutionDate
	}
	cal := bankday.Calendar{NRW: r.settings.NRWHolidays}
	n := r.settings.ExecutionDaysBefore
	if n < 1 {
		n = 1
	}
	planned := payrun.DateOf(cal.ExecutionDate(r.Period.First().Time(time.UTC), n))
	today := payrun.DateOf(time.Now().In(berlin()))
	for planned < today || !cal.IsBusinessDay(planned.Time(time.UTC)) {
		planned = max(planned+1, today)
	}
	return planned
}

const runRowSQL = `SELECT r.id, r.kind, (extract(year FROM r.period)::int * 12 + extract(month FROM r.period)::int - 1),
	r.state, coalesce(encode(r.digest, 'hex'), ''), r.line_count, r.cases_computed, (r.total * 100)::bigint,
	(r.execution_date - DATE '1970-01-01'), r.created_at, m.settings,
	r.payments
	FROM runs r JOIN municipalities m ON m.key = r.municipality WHERE r.municipality = $1 `

func scanRun(row pgx.Row) (runRow, error) {
	var r runRow
	var period int32
	var exec *int32
	var settings []byte
	err := row.Scan(&r.ID, &r.Kind, &period, &r.State, &r.Digest, &r.Lines, &r.Cases, &r.Total, &exec, &r.CreatedAt, &settings, &r.Payments)
	if err == nil && len(settings) > 0 {
		if jerr := json.Unmarshal(settings, &r.settings); jerr != nil {
			return r, fmt.Errorf("web: settings of the municipality of run %d: %w", r.ID, jerr)
		}
	}
	r.Period = payrun.Month(period)
	if exec != nil {
		d := payrun.Date(*exec)
		r.ExecutionDate = &d
	}
	return r, err
}

func (p *Pages) runList(ctx context.Context, m string) ([]runRow, error) {
	var out []runRow
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, runRowSQL+`ORDER BY r.period DESC, r.id DESC LIMIT 200`, m)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("web: runs of %s: %w", m, err)
	}
	return out, nil
}

// runByID returns run id of m; payrun.ErrNotFound also for another
// municipality's run (row-level security hides it).
func (p *Pages) runByID(ctx context.Context, m string, id int64) (runRow, error) {
	var r runRow
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		var err error
		r, err = scanRun(tx.QueryRow(ctx, runRowSQL+`AND r.id = $2`, m, id))
		return err
	})
	if err != nil {
		return runRow{}, fmt.Errorf("web: run %d: %w", id, err)
	}
	return r, nil
}

// previousRun is the latest live or proposed monthly run of the month
// before r's period.
func (p *Pages) previousRun(ctx context.Context, m string, r runRow) (*runRow, error) {
	var out *runRow
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		prev, err := scanRun(tx.QueryRow(ctx, runRowSQL+`AND r.kind = 'monthly' AND r.state <> 'cancelled'
			AND r.period = (make_date($2, $3, 1) - interval '1 month')::date ORDER BY r.id DESC LIMIT 1`,
			m, r.Period.Year(), int(r.Period.Mon())))
		if err == pgx.ErrNoRows {
			return nil
		}
		out = &prev
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("web: previous run of %d: %w", r.ID, err)
	}
	return out, nil
}

type sum struct {
	Key    string
	Label  string
	Lines  int64
	Amount payrun.Cents
}

type totals struct {
	ByLaw, ByComponent, ByBearer, ByAccount []sum
	Overpayments                            payrun.Cents
}

// runTotals sums the payment lines by law, component, cost bearer and
// account (the account rule of the municipality, else the county default),
// from one pass over the run's lines grouped by law, component, cost bearer
// and kind.
func (p *Pages) runTotals(ctx context.Context, m string, id int64) (totals, error) {
	var t totals
	chart, err := p.cfg.DB.LoadChart(ctx, m)
	if err != nil {
		return totals{}, fmt.Errorf("web: totals of run %d: %w", id, err)
	}
	var groups []lineGroup
	names := map[string]string{}
	err = p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT account, name FROM accounts WHERE municipality = $1`, m)
		if err != nil {
			return err
		}
		var acc, name string
		if _, err := pgx.ForEachRow(rows, []any{&acc, &name}, func() error { names[acc] = name; return nil }); err != nil {
			return err
		}
		gs, err := store.RunLineGroups(ctx, tx, m, id)
		for _, g := range gs {
			groups = append(groups, lineGroup{law: g.Law, comp: g.Component, bearer: g.CostBearer, kind: g.Kind,
				lines: g.Lines, amount: g.Amount})
		}
		return err
	})
	if err != nil {
		return totals{}, fmt.Errorf("web: totals of run %d: %w", id, err)
	}
	var payments []lineGroup
	for _, g := range groups {
		if g.kind == payrun.LineOverpayment {
			t.Overpayments += g.amount
		} else {
			payments = append(payments, g)
		}
	}
	t.ByLaw = sumBy(payments, func(g lineGroup) (string, string) { return string(g.law), lawName(g.law) })
	t.ByComponent = sumBy(payments, func(g lineGroup) (string, string) { return string(g.comp), componentName(g.comp) })
	t.ByBearer = sumBy(payments, func(g lineGroup) (string, string) { return string(g.bearer), bearerName(g.bearer) })
	t.ByAccount = sumBy(payments, func(g lineGroup) (string, string) {
		key := "ohne Kontierungsregel"
		kind, _ := booking.RequiredKinds(payrun.LinePayment, g.comp)
		if a, err := chart.Resolve(g.law, g.comp, g.bearer, kind); err == nil {
			key = strings.TrimSpace(a.Account + " " + names[a.Account])
		}
		return key, key
	})
	return t, nil
}

// lineGroup is the count and Σ of a run's lines of one law, component,
// cost bearer and kind.
type lineGroup struct {
	law    payrun.Law
	comp   payrun.Component
	bearer payrun.CostBearer
	kind   payrun.LineKind
	lines  int64
	amount payrun.Cents
}

// sumBy adds up groups by the key (and label) of each, sorted by key.
func sumBy(groups []lineGroup, key func(lineGroup) (string, string)) []sum {
	byKey := map[string]*sum{}
	for _, g := range groups {
		k, label := key(g)
		if byKey[k] == nil {
			byKey[k] = &sum{Key: k, Label: label}
		}
		byKey[k].Lines += g.lines
		byKey[k].Amount += g.amount
	}
	out := make([]sum, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

type signatureRow struct {
	Seq      int
	Login    string
	Name     string
	Role     payrun.Role
	Digest   string
	SignedAt time.Time
}

type warningRow struct {
	Kind   string
	CaseID string
	Payee  payrun.PayeeRole
	IBAN   string
	Amount payrun.Cents
	Detail string
}

// maxWarningRows is how many warnings the run page lists one by one.
const maxWarningRows = 100

// warningSums counts run id's warnings per kind as the run counted them
// (runs.warnings) with the number and sum of those listed in run_warnings.
func warningSums(ctx context.Context, tx pgx.Tx, m string, id int64) ([]warningSum, error) {
	var counts map[string]int64
	if err := tx.QueryRow(ctx, `SELECT warnings FROM runs WHERE municipality = $1 AND id = $2`, m, id).Scan(&counts); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT kind, count(*), (sum(amount) * 100)::bigint FROM run_warnings
		WHERE municipality = $1 AND run_id = $2 GROUP BY kind`, m, id)
	if err != nil {
		return nil, err
	}
	listed := map[string]warningSum{}
	var w warningSum
	if _, err := pgx.ForEachRow(rows, []any{&w.Kind, &w.Listed, &w.Amount}, func() error {
		listed[w.Kind] = w
		return nil
	}); err != nil {
		return nil, err
	}
	var out []warningSum
	for _, k := range warningKinds {
		s := listed[k]
		s.Kind, s.Count = k, max(counts[k], s.Listed)
		if s.Count > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

func (p *Pages) runSignaturesWarnings(ctx context.Context, m string, id int64) (detailsView, error) {
	var d detailsView
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.seq, u.login, u.display_name, s.role, encode(s.digest, 'hex'), s.signed_at
			FROM signatures s JOIN users u ON u.municipality = s.municipality AND u.id = s.user_id
			WHERE s.municipality = $1 AND s.run_id = $2 ORDER BY s.seq`, m, id)
		if err != nil {
			return err
		}
		var s signatureRow
		if _, err = pgx.ForEachRow(rows, []any{&s.Seq, &s.Login, &s.Name, &s.Role, &s.Digest, &s.SignedAt}, func() error {
			d.Signatures = append(d.Signatures, s)
			return nil
		}); err != nil {
			return err
		}
		if d.Sums, err = warningSums(ctx, tx, m, id); err != nil {
			return err
		}
		for _, s := range d.Sums {
			d.Listed += s.Listed
		}
		rows, err = tx.Query(ctx, `SELECT kind, case_id, payee_role, coalesce(iban, ''), (amount * 100)::bigint, detail
			FROM run_warnings WHERE municipality = $1 AND run_id = $2 ORDER BY kind, case_id LIMIT $3`, m, id, maxWarningRows)
		if err != nil {
			return err
		}
		var w warningRow
		_, err = pgx.ForEachRow(rows, []any{&w.Kind, &w.CaseID, &w.Payee, &w.IBAN, &w.Amount, &w.Detail}, func() error {
			d.Warnings = append(d.Warnings, w)
			return nil
		})
		return err
	})
	if err != nil {
		return detailsView{}, fmt.Errorf("web: signatures of run %d: %w", id, err)
	}
	return d, nil
}

const pageSize = 50

type paymentRow struct {
	CaseID string
	Month  payrun.Month
	Payee  payrun.PayeeRole
	Law    payrun.Law
	Amount payrun.Cents
}

type paymentPage struct {
	Query      string
	Page       int
	Total      int64
	Rows       []paymentRow
	Prev, Next int
}

// payments lists the run's payment lines summed per case, month and payee,
// filtered by a case id substring, pageSize per page.
func (p *Pages) payments(ctx context.Context, m string, id int64, query string, page int) (paymentPage, error) {
	pp := paymentPage{Query: query, Page: page}
	pattern := "%" + escapeLike(query) + "%"
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT case_id, (extract(year FROM month)::int * 12 + extract(month FROM month)::int - 1),
			payee_role, min(law), (sum(amount) * 100)::bigint, count(*) OVER ()
			FROM run_lines WHERE municipality = $1 AND run_id = $2 AND kind = 'payment' AND case_id ILIKE $3
			GROUP BY case_id, month, payee_role ORDER BY case_id COLLATE "C", month, payee_role LIMIT $4 OFFSET $5`,
			m, id, pattern, pageSize, (page-1)*pageSize)
		if err != nil {
			return err
		}
		var r paymentRow
		var month int32
		_, err = pgx.ForEachRow(rows, []any{&r.CaseID, &month, &r.Payee, &r.Law, &r.Amount, &pp.Total}, func() error {
			r.Month = payrun.Month(month)
			pp.Rows = append(pp.Rows, r)
			return nil
		})
		return err
	})
	if err != nil {
		return paymentPage{}, fmt.Errorf("web: payments of run %d: %w", id, err)
	}
	if page > 1 {
		pp.Prev = page - 1
	}
	if int64(page*pageSize) < pp.Total {
		pp.Next = page + 1
	}
	return pp, nil
}

func escapeLike(s string) string {
	out := make([]rune, 0, len(s))
	for _, c := range s {
		if c == '%' || c == '_' || c == '\\' {
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return string(out)
}

// caseInput loads what calc needs to explain a case: its decisions, the
// live lines of runs before run id (what was paid before this run), the
// rates and the municipality's policy.
func (p *Pages) caseInput(ctx context.Context, m string, id int64, caseID string) (*calc.CaseInput, *calc.Calculator, error) {
	in := &calc.CaseInput{OffsetTaken: map[string]payrun.Cents{}}
	var policy calc.Policy
	var rates []payrun.Rate
	var supp []payrun.ChildSupplement
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		var settings []byte
		if err := tx.QueryRow(ctx, `SELECT settings FROM municipalities WHERE key = $1`, m).Scan(&settings); err != nil {
			return err
		}
		var s struct {
			Calc calc.Policy `json:"calc"`
		}
		if err := json.Unmarshal(settings, &s); err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		policy = s.Calc
		if err := loadDecisions(ctx, tx, m, caseID, in); err != nil {
			return err
		}
		if err := loadPaid(ctx, tx, m, id, caseID, in); err != nil {
			return err
		}
		var err error
		rates, supp, err = loadRates(ctx, tx)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("web: case %s: %w", caseID, err)
	}
	if len(in.Decisions) == 0 {
		return nil, nil, fmt.Errorf("web: case %s: %w", caseID, payrun.ErrNotFound)
	}
	r, err := calc.NewRates(rates, supp)
	if err != nil {
		return nil, nil, fmt.Errorf("web: rates: %w", err)
	}
	return in, calc.NewCalculator(r, policy), nil
}

func loadDecisions(ctx context.Context, tx pgx.Tx, m, caseID string, in *calc.CaseInput) error {
	rows, err := tx.Query(ctx, `SELECT decision_id, supersedes, law, (valid_from - DATE '1970-01-01'), (valid_to - DATE '1970-01-01'),
		(rent * 100)::bigint, (heating * 100)::bigint, pay_to, (countable_income * 100)::bigint,
		payee_channel, payee_name, payee_iban, payee_bic, landlord_name, landlord_iban, landlord_bic, landlord_reference,
		reclaim_id, (offset_monthly * 100)::bigint, (offset_remaining * 100)::bigint, persons::text
		FROM decisions WHERE municipality = $1 AND case_id = $2 ORDER BY valid_from, decision_id COLLATE "C"`, m, caseID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d                            payrun.Decision
			validTo                      *int32
			rent, heating                int64
			payTo, iban, bic             *string
			llName, llIBAN, llBIC, llRef *string
			reclaim                      *string
			offMonthly, offRemaining     *int64
			persons, law, channel        string
			validFrom                    int32
		)
		if err := rows.Scan(&d.DecisionID, &d.Supersedes, &law, &validFrom, &validTo, &rent, &heating, &payTo, &d.CountableIncome,
			&channel, &d.Payee.Name, &iban, &bic, &llName, &llIBAN, &llBIC, &llRef, &reclaim, &offMonthly, &offRemaining, &persons); err != nil {
			return err
		}
		d.Municipality, d.CaseID, d.Law, d.ValidFrom = m, caseID, payrun.Law(law), payrun.Date(validFrom)
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
		d.Payee.Channel, d.Payee.BIC = payrun.Channel(channel), bic
		if iban != nil {
			d.Payee.IBAN = *iban
		}
		if llIBAN != nil {
			d.Landlord = &payrun.Landlord{IBAN: *llIBAN, BIC: llBIC}
			if llName != nil {
				d.Landlord.Name = *llName
			}
			if llRef != nil {
				d.Landlord.Reference = *llRef
			}
		}
		if reclaim != nil && offMonthly != nil && offRemaining != nil {
			d.Offset = &payrun.Offset{ReclaimID: *reclaim, Monthly: payrun.Cents(*offMonthly), Remaining: payrun.Cents(*offRemaining)}
		}
		if err := json.Unmarshal([]byte(persons), &d.Persons); err != nil {
			return fmt.Errorf("decision %s: persons: %w", d.DecisionID, err)
		}
		in.Decisions = append(in.Decisions, d)
	}
	return rows.Err()
}

func loadPaid(ctx context.Context, tx pgx.Tx, m string, id int64, caseID string, in *calc.CaseInput) error {
	rows, err := tx.Query(ctx, `SELECT (extract(year FROM l.month)::int * 12 + extract(month FROM l.month)::int - 1),
		l.payee_role, l.component, coalesce(l.reclaim_id, ''), (sum(l.amount) * 100)::bigint
		FROM run_lines l JOIN runs r ON r.municipality = l.municipality AND r.id = l.run_id
		WHERE l.municipality = $1 AND l.case_id = $2 AND l.chunk_first <= $2 AND l.chunk_last >= $2 AND r.id < $3 AND r.state IN ('established', 'released', 'exported')
		GROUP BY 1, 2, 3, 4`, m, caseID, id)
	if err != nil {
		return err
	}
	var a calc.Amount
	var month int32
	_, err = pgx.ForEachRow(rows, []any{&month, &a.Payee, &a.Component, &a.ReclaimID, &a.Amount}, func() error {
		a.Month = payrun.Month(month)
		in.Paid = append(in.Paid, a)
		if a.Component == payrun.CompOffset && a.ReclaimID != "" {
			in.OffsetTaken[a.ReclaimID] -= a.Amount
		}
		return nil
	})
	return err
}

func loadRates(ctx context.Context, tx pgx.Tx) ([]payrun.Rate, []payrun.ChildSupplement, error) {
	var rates []payrun.Rate
	rows, err := tx.Query(ctx, `SELECT rate_table, needs_level, (valid_from - DATE '1970-01-01'), (amount * 100)::bigint FROM rates ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, nil, err
	}
	var r payrun.Rate
	var from int32
	if _, err = pgx.ForEachRow(rows, []any{&r.Table, &r.NeedsLevel, &from, &r.Amount}, func() error {
		r.ValidFrom = payrun.Date(from)
		rates = append(rates, r)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	var supp []payrun.ChildSupplement
	rows, err = tx.Query(ctx, `SELECT (valid_from - DATE '1970-01-01'), (amount * 100)::bigint FROM child_supplements ORDER BY 1`)
	if err != nil {
		return nil, nil, err
	}
	var s payrun.ChildSupplement
	_, err = pgx.ForEachRow(rows, []any{&from, &s.Amount}, func() error {
		s.ValidFrom = payrun.Date(from)
		supp = append(supp, s)
		return nil
	})
	return rates, supp, err
}
