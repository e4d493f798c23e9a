package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/store"
)

// cmdRunExport is `payrun run export RUN --out DIR` (CONTRACT.md §4): it
// acts as the user of PAYRUN_TOKEN, who needs the cashier role; only
// released (or already exported) runs export (else exit 3).
func cmdRunExport(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("run export")
	out := fs.String("out", "", "output directory (required)")
	perFile := fs.Int("max-transactions", export.DefaultMaxTransactionsPerFile, "split pain.001 files after this many transactions")
	bookingsJSON := fs.Bool("bookings-json", false, "also write the bookings as JSON Lines (as the municipality setting bookings_jsonl does)")
	runArg, rest := "", args
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		runArg, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return badInput(err)
	}
	if runArg == "" && fs.NArg() == 1 {
		runArg = fs.Arg(0)
	}
	runID, err := strconv.ParseInt(runArg, 10, 64)
	if err != nil || runID <= 0 || *out == "" {
		return badInput(errors.New("usage: payrun run export RUN --out DIR"))
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	user, err := cashier(ctx, env, db)
	if err != nil {
		return err
	}
	m, err := export.Run(ctx, db, runID, *out, export.Options{
		Municipality: user.Municipality, ActorID: user.ID, Actor: user.Login,
		MaxTransactionsPerFile: *perFile, BookingsJSON: *bookingsJSON, Log: env.Log,
	})
	if err != nil {
		return err
	}
	return env.print(m, exportSummary(*out, m))
}

// cashier resolves PAYRUN_TOKEN to its user and checks the cashier role.
func cashier(ctx context.Context, env *Env, db *store.DB) (store.TokenUser, error) {
	token := env.Getenv("PAYRUN_TOKEN")
	if token == "" {
		return store.TokenUser{}, fmt.Errorf("PAYRUN_TOKEN is not set: %w", payrun.ErrUnauthorized)
	}
	u, err := db.UserByToken(ctx, store.TokenHash(token))
	if err != nil {
		return store.TokenUser{}, err
	}
	for _, g := range u.Roles {
		if g.Role == payrun.RoleCashier {
			return u, nil
		}
	}
	return store.TokenUser{}, fmt.Errorf("%s/%s lacks the cashier role: %w", u.Municipality, u.Login, payrun.ErrForbidden)
}

// exportSummary is the text output of an export.
func exportSummary(dir string, m export.Manifest) string {
	s := fmt.Sprintf("run %s (%s, %s) exported to %s, execution date %s\n", m.Run, m.Municipality, m.Period, dir, m.ExecutionDate)
	for _, f := range m.Files {
		n := fmt.Sprintf("%d transactions", f.Transactions)
		if f.Lines > 0 {
			n = fmt.Sprintf("%d lines", f.Lines)
		}
		s += fmt.Sprintf("  %-14s %s  %s %s\n", f.Kind, filepath.Join(dir, f.Name), n, f.Total)
	}
	return s + "  manifest       " + filepath.Join(dir, export.ManifestName) + "\n"
}

// demoExport exports a signed demo run of municipality into
// out/<municipality>/ as the demo cashier (user id cashierID, login) and
// prints where. cmd_demo.go calls it after the runs are signed.
func demoExport(ctx context.Context, env *Env, db *store.DB, municipality string, runID, cashierID int64, login string) error {
	dir := filepath.Join("out", municipality)
	m, err := export.Run(ctx, db, runID, dir, export.Options{
		Municipality: municipality, ActorID: cashierID, Actor: login, Log: env.Log,
	})
	if err != nil {
		return fmt.Errorf("demo: export run %d of %s: %w", runID, municipality, err)
	}
	_, err = fmt.Fprint(env.Stdout, exportSummary(dir, m))
	return err
}
