package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// cmdReportFlueAG is `payrun report fluag --municipality KEY --from YYYY-MM
// --to YYYY-MM`: AsylbLG person-months per month by category (§ 4 FlüAG
// NRW), counted from the imported decisions. CSV (booking.WriteFlueAGCSV,
// default layout) on stdout, or with --json one array of rows.
func cmdReportFlueAG(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("report fluag")
	municipality := fs.String("municipality", "", "municipality key (required)")
	fromArg := fs.String("from", "", "first month YYYY-MM (required)")
	toArg := fs.String("to", "", "last month YYYY-MM (required)")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	usage := errors.New("usage: payrun report fluag --municipality KEY --from YYYY-MM --to YYYY-MM")
	if *municipality == "" || *fromArg == "" || *toArg == "" || fs.NArg() > 0 {
		return badInput(usage)
	}
	from, err := payrun.ParseMonth(*fromArg)
	if err != nil {
		return badInput(fmt.Errorf("--from: %w", err))
	}
	to, err := payrun.ParseMonth(*toArg)
	if err != nil {
		return badInput(fmt.Errorf("--to: %w", err))
	}
	if to < from {
		return badInput(fmt.Errorf("--to %s is before --from %s", to, from))
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	r := booking.NewFlueAGReport()
	if err := db.ReportFlueAG(ctx, *municipality, from, to, r); err != nil {
		return err
	}
	rows := r.Rows()
	if env.JSON {
		type row struct {
			Municipality string       `json:"municipality"`
			Month        payrun.Month `json:"month"`
			AsylbLG3     int          `json:"asylblg_3"`
			AsylbLG2     int          `json:"asylblg_2"`
			AsylbLG1a    int          `json:"asylblg_1a"`
			Total        int          `json:"total"`
		}
		out := make([]row, len(rows))
		for i, x := range rows {
			out[i] = row{x.Municipality, x.Month, x.AsylbLG3, x.AsylbLG2, x.AsylbLG1a, x.Total}
		}
		return json.NewEncoder(env.Stdout).Encode(out)
	}
	if err := booking.WriteFlueAGCSV(env.Stdout, rows, booking.DefaultCSVLayout()); err != nil {
		return fmt.Errorf("report fluag: write csv: %w", err)
	}
	return nil
}

// cmdReport46a is `payrun report 46a --municipality KEY --year YYYY`: the
// quarterly net expenditure of cost bearer bund_46a (§ 46a SGB XII) from the
// journals of the municipality's exported runs, each counted in the quarter
// of its run's period. CSV (booking.WriteReport46aCSV, default layout) on
// stdout, or with --json one array of rows (amounts as strings).
func cmdReport46a(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("report 46a")
	municipality := fs.String("municipality", "", "municipality key (required)")
	yearArg := fs.String("year", "", "calendar year YYYY (required)")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *municipality == "" || *yearArg == "" || fs.NArg() > 0 {
		return badInput(errors.New("usage: payrun report 46a --municipality KEY --year YYYY"))
	}
	year, err := strconv.Atoi(*yearArg)
	if err != nil || year < 1900 || year > 9999 {
		return badInput(fmt.Errorf("--year %q: want a year YYYY", *yearArg))
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	r := booking.NewReport46a()
	if err := db.Report46a(ctx, *municipality, payrun.MonthOf(year, time.January), payrun.MonthOf(year, time.December), r); err != nil {
		return err
	}
	rows := r.Rows()
	if env.JSON {
		type row struct {
			Municipality  string       `json:"municipality"`
			Year          int          `json:"year"`
			Quarter       int          `json:"quarter"`
			CallOffFrom   string       `json:"call_off_from"`
			CallOffTo     string       `json:"call_off_to"`
			Expenses      payrun.Cents `json:"expenses"`
			Overpayments  payrun.Cents `json:"overpayments"`
			OffsetRevenue payrun.Cents `json:"offset_revenue"`
			Net           payrun.Cents `json:"net"`
		}
		out := make([]row, len(rows))
		for i, q := range rows {
			out[i] = row{q.Municipality, q.Year, q.Quarter, q.CallOffFrom.String(), q.CallOffTo.String(),
				q.Expenses, q.Overpayments, q.OffsetRevenue, q.Net}
		}
		return json.NewEncoder(env.Stdout).Encode(out)
	}
	if err := booking.WriteReport46aCSV(env.Stdout, rows, booking.DefaultCSVLayout()); err != nil {
		return fmt.Errorf("report 46a: write csv: %w", err)
	}
	return nil
}
