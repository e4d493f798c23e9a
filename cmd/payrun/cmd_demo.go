package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// cmdDemo is the main job on a fresh database: migrate, load the fixtures
// with generated cases, create the coming month's run of every municipality,
// sign it with two different demo users, export it into out/<municipality>/
// and print a summary.
//
// Without PAYRUN_DATABASE_URL it uses the embedded cluster under
// PAYRUN_HOME/demo and resets its schema every time, so running it twice
// works. With PAYRUN_DATABASE_URL it refuses to wipe that database unless
// --reset is given.
func cmdDemo(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("demo")
	n := fs.Int("cases", 3000, "number of generated cases")
	seed := fs.Int64("seed", 1, "seed of the case generator")
	reset := fs.Bool("reset", false, "with PAYRUN_DATABASE_URL: drop and recreate that database's schema")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	external := env.ExternalDatabase()
	if external && !*reset {
		return badInput(errors.New("demo wipes its database: with PAYRUN_DATABASE_URL set, pass --reset to confirm"))
	}
	if !external {
		env.Home = filepath.Join(env.Home, "demo")
	}
	start := time.Now()
	owner, err := env.OwnerURL(ctx)
	if err != nil {
		return err
	}
	if owner == "" {
		return badInput(errors.New("demo resets the schema: set PAYRUN_OWNER_DATABASE_URL to the schema owner's URL"))
	}
	if err := store.ResetSchema(ctx, owner); err != nil {
		return err
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	res, err := loadFixtures(ctx, db, *n, *seed)
	if err != nil {
		return err
	}
	counts, err := db.DecisionCounts(ctx, store.AllMunicipalities)
	if err != nil {
		return err
	}
	now := time.Now
	period := payrun.DateOf(now()).Month() + 1
	fmt.Fprintf(env.Stdout, "payrun demo: runs for %s, four-eyes signatures, export into out/\n", period)
	demo, err := demoRuns(ctx, env, db, period, now)
	if err != nil {
		return err
	}
	summary := demoSummary{Fixtures: res, Counts: counts, Runs: demo, Seconds: time.Since(start).Seconds()}
	if env.JSON {
		return env.print(summary, "")
	}
	return printDemo(env, summary)
}

type demoSummary struct {
	Fixtures fixturesResult        `json:"fixtures"`
	Counts   []store.DecisionCount `json:"decisions"`
	Runs     []demoRun             `json:"runs"`
	Seconds  float64               `json:"seconds"`
}

func printDemo(env *Env, s demoSummary) error {
	f := s.Fixtures
	fmt.Fprintf(env.Stdout, "payrun demo: %d municipalities, %d rates, %d accounts, %d users; %d decisions imported\n\n",
		f.Municipalities, f.Rates, f.Accounts, f.NewUsers, f.Import.New)
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "municipality\tlaw\tcases\tdecisions\t")
	var cases, decisions int64
	for _, c := range s.Counts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", c.Municipality, c.Law, c.Cases, c.Decisions)
		cases += c.Cases
		decisions += c.Decisions
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t\n", cases, decisions)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout)
	tw = tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "municipality\trun\tperiod\tcases\tlines\ttotal\testablished by\treleased by\t")
	var total payrun.Cents
	for _, r := range s.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t\n", r.Municipality, r.Run, r.Period, r.Cases, r.Lines, r.Total, r.Checker, r.Approver)
		total += r.Total
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%s\t\t\t\n", total)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(env.Stdout, "\ndone in %.1fs; the bank files, booking files and cash lists are under out/<municipality>/\n", s.Seconds)
	return err
}
