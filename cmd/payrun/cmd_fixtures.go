package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun/store"
)

func cmdFixturesGenerate(_ context.Context, env *Env, args []string) error {
	fs := env.flagSet("fixtures generate")
	n := fs.Int("cases", 1000, "number of cases")
	seed := fs.Int64("seed", 1, "seed of the generator")
	m := fs.String("municipality", "", "municipality key (one of "+fmt.Sprint(fixtures.MunicipalityKeys)+")")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *n < 0 {
		return badInput(errors.New("--cases must not be negative"))
	}
	if !slices.Contains(fixtures.MunicipalityKeys, *m) {
		return badInput(fmt.Errorf("--municipality %q: want one of %v", *m, fixtures.MunicipalityKeys))
	}
	w := bufio.NewWriterSize(env.Stdout, 1<<16)
	if err := writeCases(w, *seed, *n, *m); err != nil {
		return err
	}
	return w.Flush()
}

// writeCases streams the generated decisions as JSON Lines (the bytes
// json.Encoder writes, without its reflection).
func writeCases(w io.Writer, seed int64, n int, municipality string) error {
	var b []byte
	for d := range fixtures.Generate(seed, n, municipality) {
		b = append(store.AppendDecisionJSON(b[:0], &d), '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func cmdFixturesLoad(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("fixtures load")
	n := fs.Int("cases", 3000, "number of generated cases, spread over the six municipalities")
	seed := fs.Int64("seed", 1, "seed of the generator")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *n < 0 {
		return badInput(errors.New("--cases must not be negative"))
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := loadFixtures(ctx, db, *n, *seed)
	if err != nil {
		return err
	}
	return env.print(res, fmt.Sprintf("fixtures loaded in %s: %d municipalities, %d rates, %d accounts, %d new users; cases: %d lines, %d new decisions, %d unchanged",
		time.Since(start).Round(time.Millisecond), res.Municipalities, res.Rates, res.Accounts, res.NewUsers,
		res.Import.Lines, res.Import.New, res.Import.Unchanged))
}

// fixturesResult counts what loadFixtures wrote.
type fixturesResult struct {
	Municipalities int                `json:"municipalities"`
	Rates          int                `json:"rates"`
	Accounts       int                `json:"accounts"`
	NewUsers       int                `json:"new_users"`
	Import         store.ImportResult `json:"import"`
}

// loadFixtures loads the fixtures and n generated cases (spread over the six
// municipalities, through the importer). Safe to run twice: everything is
// upserted, existing users are kept, and re-imported decisions are no-ops.
func loadFixtures(ctx context.Context, db *store.DB, n int, seed int64) (fixturesResult, error) {
	var res fixturesResult
	ms, err := fixtures.Municipalities()
	if err != nil {
		return res, err
	}
	if err := db.UpsertMunicipalities(ctx, ms); err != nil {
		return res, err
	}
	rates, err := fixtures.Rates()
	if err != nil {
		return res, err
	}
	sup, err := fixtures.ChildSupplements()
	if err != nil {
		return res, err
	}
	if err := db.UpsertRates(ctx, rates, sup, "fixtures"); err != nil {
		return res, err
	}
	accounts, err := fixtures.Accounts()
	if err != nil {
		return res, err
	}
	if err := db.UpsertAccounts(ctx, accounts); err != nil {
		return res, err
	}
	rules, err := fixtures.AccountRules()
	if err != nil {
		return res, err
	}
	if err := db.UpsertAccountRules(ctx, rules); err != nil {
		return res, err
	}
	res.Municipalities, res.Rates, res.Accounts = len(ms), len(rates), len(accounts)
	if res.NewUsers, err = loadUsers(ctx, db); err != nil {
		return res, err
	}
	res.Import, err = importGenerated(ctx, db, n, seed)
	return res, err
}

func loadUsers(ctx context.Context, db *store.DB) (int, error) {
	created := 0
	for _, u := range fixtures.Users() {
		// MinCost: demo-only passwords, documented as such.
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
		if err != nil {
			return created, err
		}
		ok, err := db.EnsureUser(ctx, u.User, string(hash), u.Token, time.Now())
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
	}
	return created, nil
}

// importGenerated pipes the generated cases of every municipality into the
// importer (streaming: no slice of n decisions).
func importGenerated(ctx context.Context, db *store.DB, n int, seed int64) (store.ImportResult, error) {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<16)
		keys := fixtures.MunicipalityKeys
		var err error
		for i, m := range keys {
			share := n / len(keys)
			if i < n%len(keys) {
				share++
			}
			if err = writeCases(bw, seed, share, m); err != nil {
				break
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	res, err := db.Import(ctx, pr, store.ImportOptions{Actor: "fixtures", Source: fmt.Sprintf("fixtures generate --cases %d --seed %d", n, seed)})
	pr.CloseWithError(io.ErrClosedPipe)
	return res, err
}
