package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// maxPrintedErrors bounds the error lines import prints.
const maxPrintedErrors = 100

func cmdImport(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("import")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if fs.NArg() != 1 {
		return badInput(errors.New("usage: payrun import FILE.jsonl"))
	}
	name := fs.Arg(0)
	f, err := os.Open(name)
	if err != nil {
		return badInput(fmt.Errorf("import: %w", err))
	}
	defer f.Close()
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := db.Import(ctx, f, store.ImportOptions{Actor: operator(), Source: name})
	if err != nil {
		return importError(env, err)
	}
	return env.print(res, fmt.Sprintf("imported %s: %d lines, %d new decisions, %d unchanged (%s)",
		name, res.Lines, res.New, res.Unchanged, time.Since(start).Round(time.Millisecond)))
}

// importError prints one line per bad input line and returns an exit-2
// error summarising them.
func importError(env *Env, err error) error {
	var list payrun.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	for i, e := range list {
		if i == maxPrintedErrors {
			fmt.Fprintf(env.Stderr, "… and %d more\n", len(list)-i)
			break
		}
		fmt.Fprintln(env.Stderr, e)
	}
	return badInput(fmt.Errorf("import: %d errors, nothing imported", len(list)))
}

// operator names the person running an operator command, for audit events.
func operator() string {
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}
