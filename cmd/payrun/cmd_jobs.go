package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/payrun/payrun/scheduler"
)

// cmdJobs lists the scheduler's job history (latest first).
func cmdJobs(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("jobs")
	var o scheduler.ListOptions
	var kind string
	fs.StringVar(&o.Municipality, "municipality", "", "only this municipality")
	fs.StringVar(&o.State, "state", "", "only jobs in this state: pending, running, succeeded, failed")
	fs.StringVar(&kind, "kind", "", "only this kind: monthly_run, supplementary_run, export, reminders")
	fs.IntVar(&o.Limit, "limit", 50, "at most this many jobs")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	o.Kind = scheduler.Kind(kind)
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	js, err := scheduler.ListJobs(ctx, db, o)
	if err != nil {
		return err
	}
	if env.JSON {
		return env.print(js, "")
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMUNICIPALITY\tKIND\tSCHEDULED\tSTATE\tATTEMPTS\tFINISHED\tOUTCOME\tERROR")
	for _, j := range js {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.Municipality, j.Kind,
			j.ScheduledFor.Local().Format(time.DateTime), j.State, j.Attempts, j.MaxAttempts,
			jobTime(j.FinishedAt), j.Outcome, jobShort(j.Error, 80))
	}
	return tw.Flush()
}

func jobTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func jobShort(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
