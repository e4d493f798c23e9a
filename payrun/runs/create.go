package runs

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/calc"
	"github.com/payrun/payrun/payrun/store"
)

// Options tune Create.
type Options struct {
	// Actor names who creates the run in the audit trail (default "system").
	Actor string
	// CreatedBy is the creating user's id; 0: the municipality's system user.
	CreatedBy int64
	// BatchCases bounds memory: cases per fetch, compute and COPY (default 1000).
	BatchCases int
	// AfterBatchFunc is called after each COPY with the lines written so far.
	AfterBatchFunc func(lines int64)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Warnings are the thresholds of the risk warnings.
	Warnings store.WarningRules
}

// Create computes the proposed run of municipality for period: a new run,
// or the existing proposed run of the municipality recomputed under its id.
// It returns the run's summary, or an error wrapping payrun.ErrNothingToPay
// when no line results (then no run exists afterwards).
//
// Every line must have its accounts in the municipality's chart (its own
// account rules over the county defaults); the first line without one
// aborts the creation with an error wrapping booking.ErrMissingRule that
// names law, component, cost bearer and account kind, and no run is left.
func Create(ctx context.Context, db *store.DB, municipality string, period payrun.Month, opts Options) (store.RunSummary, error) {
	chart, err := db.LoadChart(ctx, municipality)
	if err != nil {
		return store.RunSummary{}, fmt.Errorf("runs: create %s %s: %w", municipality, period, err)
	}
	b := &builder{h: sha256.New(), chart: chart}
	s, err := db.BuildRun(ctx, municipality, period, store.BuildOptions{
		CreatedBy: opts.CreatedBy, Actor: opts.Actor, BatchCases: opts.BatchCases,
		AfterBatchFunc: opts.AfterBatchFunc, Now: opts.Now, Warnings: opts.Warnings,
	}, b)
	if err != nil {
		return store.RunSummary{}, fmt.Errorf("runs: create %s %s: %w", municipality, period, err)
	}
	return s, nil
}

// builder feeds the store's case stream through the calculation core and
// hashes the lines in the order they come (the canonical order: cases in
// byte order from the store, lines within a case in calc's order).
type builder struct {
	calc   *calc.Calculator
	period payrun.Month
	in     calc.CaseInput
	lines  []calc.Line
	h      hash.Hash
	buf    []byte
	chart  *booking.Chart
}

func (b *builder) Start(s *store.RunStart) error {
	var settings struct {
		Calc calc.Policy `json:"calc"`
	}
	if len(s.Settings) > 0 {
		if err := json.Unmarshal(s.Settings, &settings); err != nil {
			return fmt.Errorf("municipality %s settings: %w", s.Municipality, err)
		}
	}
	rates, err := calc.NewRates(s.Rates, s.ChildSupplements)
	if err != nil {
		return fmt.Errorf("rates: %w", err)
	}
	b.calc = calc.NewCalculator(rates, settings.Calc)
	b.period = s.Period
	b.in.OffsetTaken = map[string]payrun.Cents{}
	return nil
}

func (b *builder) Case(c *store.RunCase, out []store.RunLine) ([]store.RunLine, error) {
	if c.From > b.period {
		return out, nil
	}
	in := &b.in
	in.Decisions, in.From, in.Through = c.Decisions, c.From, b.period
	in.Paid = in.Paid[:0]
	clear(in.OffsetTaken)
	for _, p := range c.Paid {
		in.Paid = append(in.Paid, calc.Amount{Month: p.Month, Payee: p.Payee, Component: p.Component, Amount: p.Amount, ReclaimID: p.ReclaimID})
		if p.Component == payrun.CompOffset && p.ReclaimID != "" {
			in.OffsetTaken[p.ReclaimID] -= p.Amount
		}
	}
	var err error
	if b.lines, err = b.calc.Case(in, b.lines[:0]); err != nil {
		return out, err
	}
	for i := range b.lines {
		l := &b.lines[i]
		if err := b.checkAccounts(l); err != nil {
			return out, fmt.Errorf("case %s %s: %w", c.CaseID, l.Month, err)
		}
		out = append(out, store.RunLine{CaseID: c.CaseID, Month: l.Month, Payee: l.Payee, Component: l.Component,
			Kind: l.Kind, Amount: l.Amount, Law: l.Law, CostBearer: l.CostBearer, DecisionID: l.DecisionID, ReclaimID: l.ReclaimID})
		b.buf = AppendCanonicalLine(b.buf[:0], &out[len(out)-1])
		b.h.Write(b.buf)
	}
	return out, nil
}

func (b *builder) Digest() []byte { return b.h.Sum(nil) }

// checkAccounts resolves both accounts line l is booked on (array lookups,
// no allocation when they exist).
func (b *builder) checkAccounts(l *calc.Line) error {
	main, counter := booking.RequiredKinds(l.Kind, l.Component)
	if _, err := b.chart.Resolve(l.Law, l.Component, l.CostBearer, main); err != nil {
		return err
	}
	_, err := b.chart.Resolve(l.Law, l.Component, l.CostBearer, counter)
	return err
}
