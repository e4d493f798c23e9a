package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// cmdRunCreate is `payrun run create --municipality KEY --period YYYY-MM`:
// it computes (or recomputes) the municipality's proposed run and prints its
// id. A run with nothing to pay is not created; the command says so and
// exits 0.
//
// PAYRUN_TEST_CRASH_AFTER=N (tests only) makes the process kill itself with
// SIGKILL once N lines are written, before the transaction commits.
func cmdRunCreate(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("run create")
	municipality := fs.String("municipality", "", "municipality key (required)")
	periodArg := fs.String("period", "", "period YYYY-MM (required)")
	batch := fs.Int("batch", 1000, "cases per fetch, compute and COPY batch (bounds memory)")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *municipality == "" || *periodArg == "" || fs.NArg() > 0 {
		return badInput(errors.New("usage: payrun run create --municipality KEY --period YYYY-MM"))
	}
	period, err := payrun.ParseMonth(*periodArg)
	if err != nil {
		return badInput(err)
	}
	crashAfter, err := crashAfterLines(env)
	if err != nil {
		return badInput(err)
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	start := time.Now()
	s, err := runs.Create(ctx, db, *municipality, period, runs.Options{
		Actor: "cli", BatchCases: *batch,
		AfterBatchFunc: func(lines int64) {
			if crashAfter > 0 && lines >= crashAfter {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		},
	})
	if errors.Is(err, payrun.ErrNothingToPay) {
		return env.print(map[string]any{"id": nil, "nothing_to_pay": true},
			fmt.Sprintf("nothing to pay for %s in %s: no run created", *municipality, period))
	}
	if err != nil {
		return err
	}
	env.Log.Info("run created", zapRun(s, time.Since(start))...)
	if env.JSON {
		return env.print(map[string]any{"id": s.ID, "refreshed": s.Refreshed, "kind": s.Kind, "lines": s.Lines,
			"total": s.Total, "digest": fmt.Sprintf("%x", s.Digest)}, "")
	}
	_, err = fmt.Fprintln(env.Stdout, s.ID)
	return err
}

func crashAfterLines(env *Env) (int64, error) {
	v := env.Getenv("PAYRUN_TEST_CRASH_AFTER")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("PAYRUN_TEST_CRASH_AFTER=%q: want a positive number of lines", v)
	}
	return n, nil
}

// runArg reads the RUN argument of `run show|sign|cancel RUN [flags]`.
func runArg(args []string) (int64, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return 0, nil, errors.New("missing RUN (the run's id)")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, nil, fmt.Errorf("RUN %q: want a run id", args[0])
	}
	return id, args[1:], nil
}

// cmdRunShow is `payrun run show RUN`: totals by law, component and kind,
// signatures, warnings and the first lines.
func cmdRunShow(ctx context.Context, env *Env, args []string) error {
	id, rest, err := runArg(args)
	if err != nil {
		return badInput(err)
	}
	fs := env.flagSet("run show")
	nLines := fs.Int("lines", 20, "how many lines to show")
	nWarn := fs.Int("warnings", 20, "how many warnings to list")
	if err := fs.Parse(rest); err != nil {
		return badInput(err)
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	m, err := db.RunMunicipality(ctx, id)
	if err != nil {
		return err
	}
	d, err := db.RunDetails(ctx, m, id, *nLines, *nWarn)
	if err != nil {
		return err
	}
	if env.JSON {
		return env.print(d, "")
	}
	return printRun(env, &d)
}

func printRun(env *Env, d *store.RunDetails) error {
	w := env.Stdout
	fmt.Fprintf(w, "run %d  %s  %s %s  %s\n", d.ID, d.Municipality, d.Kind, d.Period, d.State)
	fmt.Fprintf(w, "  %d lines over %d cases, payments %s, overpayments %s, largest payment %s\n",
		d.Lines, d.Cases, d.Total, d.Overpayments, d.MaxPayment)
	fmt.Fprintf(w, "  digest %s\n", d.Digest)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nlaw\tcomponent\tkind\tlines\tamount")
	for _, t := range d.Totals {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", t.Law, t.Component, t.Kind, t.Lines, t.Amount)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nsignatures:")
	if len(d.Signatures) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, s := range d.Signatures {
		fmt.Fprintf(w, "  %d %s (%s) at %s over %s\n", s.Seq, s.Login, s.Role, s.SignedAt.Format(time.RFC3339), s.Digest)
	}
	printWarnings(env, d)
	fmt.Fprintln(w, "\nfirst lines:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range d.FirstLines {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.CaseID, l.Month, l.Payee, l.Component, l.Kind, l.Amount, l.Law)
	}
	return tw.Flush()
}

func printWarnings(env *Env, d *store.RunDetails) {
	w := env.Stdout
	var total int64
	for _, n := range d.RunHeader.Warnings {
		total += n
	}
	fmt.Fprintf(w, "\nwarnings: %d", total)
	for _, k := range []string{"above_threshold", "amount_jump", "shared_iban", "first_iban"} {
		if n := d.RunHeader.Warnings[k]; n > 0 {
			fmt.Fprintf(w, "  %s %d", k, n)
		}
	}
	fmt.Fprintln(w)
	listed := false
	for _, x := range d.Warnings {
		fmt.Fprintf(w, "  %-15s %s %s %s %s  %s\n", x.Kind, x.CaseID, x.Payee, x.IBAN, x.Amount, x.Detail)
		listed = listed || x.Kind == "first_iban"
	}
	if d.RunHeader.Warnings["first_iban"] > 0 && !listed && d.NewIBANsUnlisted {
		fmt.Fprintln(w, "  first_iban      the municipality's first run: every IBAN is new, counted but not listed one by one")
	}
}

// cmdRunSign is `payrun run sign RUN [--digest HEX]` as the user of
// PAYRUN_TOKEN. It shows what is signed (count, total, digest, warnings)
// and signs over that digest; with --digest, only if the run still has the
// digest the signer saw before (else exit 3: the run changed).
func cmdRunSign(ctx context.Context, env *Env, args []string) error {
	id, rest, err := runArg(args)
	if err != nil {
		return badInput(err)
	}
	fs := env.flagSet("run sign")
	seen := fs.String("digest", "", "the digest shown before (hex); refuse if the run changed since")
	if err := fs.Parse(rest); err != nil {
		return badInput(err)
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	u, err := runs.Authenticate(ctx, db, env.Getenv("PAYRUN_TOKEN"))
	if err != nil {
		return err
	}
	d, err := db.RunDetails(ctx, u.Municipality, id, 0, 10)
	if err != nil {
		return err
	}
	digest := d.Digest
	if *seen != "" {
		digest = strings.ToLower(*seen)
	}
	if !env.JSON {
		fmt.Fprintf(env.Stdout, "signing run %d (%s %s %s, %s) as %s: %d lines, payments %s, overpayments %s, largest payment %s\n  digest %s\n",
			d.ID, d.Municipality, d.Kind, d.Period, d.State, u.Login, d.Lines, d.Total, d.Overpayments, d.MaxPayment, digest)
		printWarnings(env, &d)
	}
	s, err := runs.Sign(ctx, db, env.Getenv("PAYRUN_TOKEN"), id, digest, time.Now())
	if err != nil {
		return err
	}
	return env.print(s, fmt.Sprintf("signature %d (%s) by %s: run %d is %s", s.Seq, s.Role, s.Login, s.Run, s.State))
}

// cmdRunCancel is `payrun run cancel RUN` as the user of PAYRUN_TOKEN
// (checker, approver or admin).
func cmdRunCancel(ctx context.Context, env *Env, args []string) error {
	id, rest, err := runArg(args)
	if err != nil {
		return badInput(err)
	}
	if len(rest) > 0 {
		return badInput(errors.New("usage: payrun run cancel RUN"))
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	if err := runs.Cancel(ctx, db, env.Getenv("PAYRUN_TOKEN"), id, time.Now()); err != nil {
		return err
	}
	return env.print(map[string]any{"id": id, "state": payrun.RunCancelled}, fmt.Sprintf("run %d cancelled", id))
}

func zapRun(s store.RunSummary, took time.Duration) []zap.Field {
	return []zap.Field{zap.Int64("run", s.ID), zap.String("municipality", s.Municipality), zap.Stringer("period", s.Period),
		zap.String("kind", string(s.Kind)), zap.Bool("refreshed", s.Refreshed), zap.Int64("cases", s.Cases),
		zap.Int64("lines", s.Lines), zap.Stringer("total", s.Total), zap.Duration("took", took)}
}
