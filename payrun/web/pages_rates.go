package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
	"github.com/payrun/payrun/payrun/store"
)

// rateInput is the form for a new rate, as typed (German formats).
type rateInput struct {
	Table, ValidFrom, Level, Amount string
}

// rateImpact is one municipality's total for the preview month with the
// current rates and with the new rate.
type rateImpact struct {
	Municipality, Name string
	Cases              int
	Before, After      payrun.Cents
}

func (i rateImpact) Diff() payrun.Cents { return i.After - i.Before }

type ratesData struct {
	Rows    []rateRow
	Tables  []payrun.RateTable // the tables the user may change
	Form    rateInput
	Error   string
	Saved   string
	Preview *ratePreview
}

type ratePreview struct {
	Rate    payrun.Rate
	Month   payrun.Month
	Impacts []rateImpact
	Before  payrun.Cents
	After   payrun.Cents
	Old     *payrun.Cents // the amount the new rate replaces in that month
}

func (p ratePreview) Diff() payrun.Cents { return p.After - p.Before }

// Later: the rate starts after the preview month, which does not change.
func (p ratePreview) Later() bool { return p.Rate.ValidFrom > p.Month.Last() }

// parseRate checks the form: a table the user owns (else ErrForbidden), a
// date dd.mm.yyyy (or yyyy-mm-dd), a needs level 1–6 and an amount
// 1.234,56 (or 1234.56).
func parseRate(in rateInput, u *sessionUser) (payrun.Rate, string, error) {
	t := payrun.RateTable(in.Table)
	if !t.Valid() {
		return payrun.Rate{}, "Bitte wählen Sie eine Tabelle.", nil
	}
	if !u.Has(t.OwnerRole()) {
		return payrun.Rate{}, "", fmt.Errorf("web: table %s belongs to %s: %w", t, t.OwnerRole(), payrun.ErrForbidden)
	}
	from, err := parseGermanDate(in.ValidFrom)
	if err != nil {
		return payrun.Rate{}, "Bitte geben Sie „Gültig ab“ als Datum TT.MM.JJJJ an, z. B. 01.01.2027.", nil
	}
	level, err := strconv.Atoi(strings.TrimSpace(in.Level))
	if err != nil || level < 1 || level > 6 {
		return payrun.Rate{}, "Bitte geben Sie die Regelbedarfsstufe als Zahl von 1 bis 6 an.", nil
	}
	amount, err := parseGermanAmount(in.Amount)
	if err != nil || amount <= 0 {
		return payrun.Rate{}, "Bitte geben Sie den Betrag in Euro an, z. B. 563,00.", nil
	}
	return payrun.Rate{Table: t, NeedsLevel: level, ValidFrom: from, Amount: amount}, "", nil
}

func parseGermanDate(s string) (payrun.Date, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("02.01.2006", s); err == nil {
		return payrun.ParseDate(t.Format("2006-01-02"))
	}
	return payrun.ParseDate(s)
}

// parseGermanAmount reads "1.234,56", "563,00", "563" or "1234.56" (a dot
// followed by exactly two digits at the end is a decimal point).
func parseGermanAmount(s string) (payrun.Cents, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "€"))
	if strings.Contains(s, ",") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", ".")
	} else if i := strings.LastIndexByte(s, '.'); i >= 0 && len(s)-i != 3 {
		s = strings.ReplaceAll(s, ".", "")
	}
	return payrun.ParseCents(s)
}

func (u *sessionUser) ownedTables() []payrun.RateTable {
	var out []payrun.RateTable
	for _, t := range payrun.RateTables {
		if u.Has(t.OwnerRole()) {
			out = append(out, t)
		}
	}
	return out
}

func formInput(r *http.Request) rateInput {
	return rateInput{Table: r.PostFormValue("tabelle"), ValidFrom: r.PostFormValue("gueltig_ab"),
		Level: r.PostFormValue("stufe"), Amount: r.PostFormValue("betrag")}
}

// ratesPage renders the rate list with d's form, preview or message.
func (p *Pages) ratesPage(w http.ResponseWriter, r *http.Request, u *sessionUser, status int, d ratesData) {
	rows, err := p.rateRows(r.Context(), u)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	d.Rows, d.Tables = rows, u.ownedTables()
	p.render(w, status, "rates.html", view{Title: "Regelsätze", User: u, CSRF: u.csrf, Data: d})
}

// ratePreviewPage computes how next month's totals change per
// municipality with the new rate, and asks for confirmation.
func (p *Pages) ratePreviewPage(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	if !u.CanEditRates() {
		p.fail(w, r, u, payrun.ErrForbidden)
		return
	}
	in := formInput(r)
	rate, msg, err := parseRate(in, u)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	if msg != "" {
		p.ratesPage(w, r, u, http.StatusUnprocessableEntity, ratesData{Form: in, Error: msg})
		return
	}
	pv, err := p.previewRate(r.Context(), rate)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	p.ratesPage(w, r, u, http.StatusOK, ratesData{Form: in, Preview: pv})
}

// saveRate stores the confirmed rate and an audit event in one
// transaction; only the table's owner role may save, and an existing row
// of the same table, level and date is not overwritten.
func (p *Pages) saveRate(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	if !u.CanEditRates() {
		p.fail(w, r, u, payrun.ErrForbidden)
		return
	}
	in := formInput(r)
	rate, msg, err := parseRate(in, u)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	if msg != "" {
		p.ratesPage(w, r, u, http.StatusUnprocessableEntity, ratesData{Form: in, Error: msg})
		return
	}
	errExists := errors.New("rate exists")
	ctx := r.Context()
	err = p.cfg.DB.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO rates (rate_table, needs_level, valid_from, amount, created_by) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (rate_table, needs_level, valid_from) DO NOTHING`,
			string(rate.Table), rate.NeedsLevel, rate.ValidFrom.Time(time.UTC), store.Amount(rate.Amount), u.Login)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errExists
		}
		details, _ := json.Marshal(map[string]any{"table": rate.Table, "needs_level": rate.NeedsLevel,
			"valid_from": rate.ValidFrom.String(), "amount": rate.Amount.String()})
		_, err = tx.Exec(ctx, `INSERT INTO audit_events (municipality, actor, action, details) VALUES ($1, $2, $3, $4)`,
			u.Municipality, u.Login, "rate.added", details)
		return err
	})
	switch {
	case errors.Is(err, errExists):
		p.ratesPage(w, r, u, http.StatusConflict, ratesData{Form: in,
			Error: "Für diese Tabelle, Stufe und dieses Datum gibt es schon einen Satz. Bestehende Sätze werden hier nicht überschrieben."})
		return
	case err != nil:
		p.fail(w, r, u, fmt.Errorf("web: save rate: %w", err))
		return
	}
	p.log.Info("rate added", zap.String("login", u.Login), zap.String("table", string(rate.Table)),
		zap.Int("level", rate.NeedsLevel), zap.String("valid_from", rate.ValidFrom.String()))
	p.ratesPage(w, r, u, http.StatusOK, ratesData{Saved: fmt.Sprintf("Gespeichert: %s, Stufe %d, gültig ab %s, %s.",
		rate.Table, rate.NeedsLevel, germanDate(rate.ValidFrom), euro(rate.Amount))})
}

// previewRate computes next month's due amounts (calc.Due, before netting
// against earlier payments) of every case of every municipality with the
// current rates and with rate added.
func (p *Pages) previewRate(ctx context.Context, rate payrun.Rate) (*ratePreview, error) {
	next := payrun.MonthOf(p.now().Year(), p.now().Month()) + 1
	pv := &ratePreview{Rate: rate, Month: next}
	first, last := next.First(), next.Last()
	err := p.cfg.DB.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rates, supp, err := loadRates(ctx, tx)
		if err != nil {
			return err
		}
		before, err := calc.NewRates(rates, supp)
		if err != nil {
			return err
		}
		changed := make([]payrun.Rate, 0, len(rates)+1)
		for _, x := range rates {
			if x.Table == rate.Table && x.NeedsLevel == rate.NeedsLevel {
				if x.ValidFrom == rate.ValidFrom {
					continue
				}
				if x.ValidFrom <= last { // rows are ordered by valid_from: the last one applies
					a := x.Amount
					pv.Old = &a
				}
			}
			changed = append(changed, x)
		}
		after, err := calc.NewRates(append(changed, rate), supp)
		if err != nil {
			return err
		}
		type muni struct {
			key, name string
			policy    calc.Policy
		}
		var ms []muni
		rows, err := tx.Query(ctx, `SELECT key, name, settings FROM municipalities ORDER BY name`)
		if err != nil {
			return err
		}
		var m muni
		var settings []byte
		if _, err := pgx.ForEachRow(rows, []any{&m.key, &m.name, &settings}, func() error {
			var s struct {
				Calc calc.Policy `json:"calc"`
			}
			if err := json.Unmarshal(settings, &s); err != nil {
				return fmt.Errorf("settings of %s: %w", m.key, err)
			}
			m.policy = s.Calc
			ms = append(ms, m)
			return nil
		}); err != nil {
			return err
		}
		for _, m := range ms {
			rows, err := tx.Query(ctx, `SELECT DISTINCT case_id FROM decisions WHERE municipality = $1
				AND valid_from <= $2 AND (valid_to IS NULL OR valid_to >= $3) ORDER BY 1`, m.key, last.Time(time.UTC), first.Time(time.UTC))
			if err != nil {
				return err
			}
			cases, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if len(cases) == 0 {
				continue
			}
			im := rateImpact{Municipality: m.key, Name: m.name, Cases: len(cases)}
			cb, ca := calc.NewCalculator(before, m.policy), calc.NewCalculator(after, m.policy)
			for _, c := range cases {
				in := &calc.CaseInput{OffsetTaken: map[string]payrun.Cents{}}
				if err := loadDecisions(ctx, tx, m.key, c, in); err != nil {
					return err
				}
				for i, cl := range []*calc.Calculator{cb, ca} {
					due, err := cl.Due(in, next)
					if err != nil {
						return fmt.Errorf("case %s: %w", c, err)
					}
					for _, a := range due {
						if i == 0 {
							im.Before += a.Amount
						} else {
							im.After += a.Amount
						}
					}
				}
			}
			pv.Impacts = append(pv.Impacts, im)
			pv.Before += im.Before
			pv.After += im.After
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: rate preview: %w", err)
	}
	return pv, nil
}
