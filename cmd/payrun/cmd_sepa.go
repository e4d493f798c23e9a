package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/payrun/payrun/sepa"
)

// sepaProblemsError marks a checked file with problems (exit 2, printed
// already).
type sepaProblemsError struct{ n int }

func (e sepaProblemsError) Error() string { return fmt.Sprintf("sepa check: %d problem(s)", e.n) }
func (e sepaProblemsError) ExitCode() int { return exitInput }

// cmdSepaCheck runs the DK business-rule checker on a pain.001.001.09 file:
// exit 0 when valid, 2 when the file has problems (listed), 1 when it
// cannot be read.
func cmdSepaCheck(_ context.Context, env *Env, args []string) error {
	fs := env.flagSet("sepa check")
	fs.Usage = func() { fmt.Fprintln(env.Stderr, "usage: payrun sepa check [--json] FILE.xml") }
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return badInput(errors.New("sepa check: want exactly one FILE.xml"))
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("sepa check: %w", err)
	}
	defer f.Close()
	rep, err := sepa.Check(f)
	if err != nil {
		return fmt.Errorf("sepa check %s: %w", name, err)
	}
	if env.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("sepa check: %w", err)
		}
	} else {
		printSepaReport(env, name, rep)
	}
	if !rep.OK() {
		return sepaProblemsError{len(rep.Problems) + rep.Omitted}
	}
	return nil
}

func printSepaReport(env *Env, name string, rep *sepa.Report) {
	for _, p := range rep.Problems {
		fmt.Fprintln(env.Stdout, p.String())
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(env.Stdout, "… and %d more problems\n", rep.Omitted)
	}
	status := "ok"
	if !rep.OK() {
		status = fmt.Sprintf("%d problem(s)", len(rep.Problems)+rep.Omitted)
	}
	fmt.Fprintf(env.Stdout, "%s: MsgId %s, %d PmtInf, %d transactions, total %s (declared %d / %s): %s\n",
		name, rep.MsgID, rep.PaymentInfos, rep.Transactions, sepa.FormatAmount(rep.CtrlSum),
		rep.DeclaredTransactions, sepa.FormatAmount(rep.DeclaredCtrlSum), status)
}
