package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// demoRun is what the demo did for one municipality.
type demoRun struct {
	Municipality string       `json:"municipality"`
	Run          int64        `json:"run"`
	Period       payrun.Month `json:"period"`
	Cases        int64        `json:"cases"`
	Lines        int64        `json:"lines"`
	Total        payrun.Cents `json:"total"`
	Checker      string       `json:"checker"`
	Approver     string       `json:"approver"`
}

// demoRuns creates the run of every fixture municipality for period, signs
// it with the demo checker and a demo approver (four-eyes), and exports it
// into out/<municipality>/ as the demo cashier.
func demoRuns(ctx context.Context, env *Env, db *store.DB, period payrun.Month, now func() time.Time) ([]demoRun, error) {
	var out []demoRun
	for _, m := range fixtures.MunicipalityKeys {
		r, err := demoRunOne(ctx, env, db, m, period, now)
		if errors.Is(err, payrun.ErrNothingToPay) {
			fmt.Fprintf(env.Stdout, "%s: nothing to pay for %s, no run\n", m, period)
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func demoRunOne(ctx context.Context, env *Env, db *store.DB, m string, period payrun.Month, now func() time.Time) (demoRun, error) {
	s, err := runs.Create(ctx, db, m, period, runs.Options{Actor: "demo", Now: now})
	if err != nil {
		return demoRun{}, err
	}
	r := demoRun{Municipality: m, Run: s.ID, Period: period, Cases: s.Cases, Lines: s.Lines, Total: s.Total}
	digest := hex.EncodeToString(s.Digest)
	first, err := runs.Sign(ctx, db, demoToken(m, "pruefer"), s.ID, digest, now())
	if err != nil {
		return r, fmt.Errorf("demo: establish run %d of %s: %w", s.ID, m, err)
	}
	r.Checker = first.Login
	// The approver with a limit of its own signs when the run's largest
	// payment is within it; otherwise the deputy (the municipality's
	// threshold applies), then the head of office with the higher limit.
	for _, login := range []string{"anordner", "anordner2", "leitung"} {
		second, err := runs.Sign(ctx, db, demoToken(m, login), s.ID, digest, now())
		if err == nil {
			r.Approver = second.Login
			break
		}
		if !errors.Is(err, payrun.ErrForbidden) {
			return r, fmt.Errorf("demo: release run %d of %s: %w", s.ID, m, err)
		}
		env.Log.Sugar().Infof("demo: %s may not release run %d of %s: %v", login, s.ID, m, err)
	}
	if r.Approver == "" {
		return r, fmt.Errorf("demo: no demo approver may release run %d of %s", s.ID, m)
	}
	cashier, err := runs.Authenticate(ctx, db, demoToken(m, "kasse"))
	if err != nil {
		return r, err
	}
	return r, demoExport(ctx, env, db, m, s.ID, cashier.ID, cashier.Login)
}

// demoToken is the deterministic demo-only API token of a fixture user.
func demoToken(municipality, login string) string {
	for _, u := range fixtures.Users() {
		if u.Municipality == municipality && u.Login == login {
			return u.Token
		}
	}
	return ""
}
