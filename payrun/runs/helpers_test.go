package runs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/calc"
	"github.com/payrun/payrun/payrun/pgserver/pgtest"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

var period = payrun.MonthOf(2026, time.December)

// bundle is one test's database with the fixtures loaded.
type bundle struct {
	db         *store.DB
	url        string                       // application role
	decisions  map[string][]payrun.Decision // per municipality/case_id, as imported
	extraRates []payrun.Rate                // rate rows added after the fixtures
}

func token(m, login string) string { return "demo-" + m + "-" + login }

// setup loads municipalities, rates, users and n generated cases of each of
// the given municipalities.
func setup(tb testing.TB, n int, municipalities ...string) *bundle {
	tb.Helper()
	ctx := context.Background()
	u := storetest.NewURL(tb)
	db, err := store.Open(ctx, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	b := &bundle{db: db, url: u, decisions: map[string][]payrun.Decision{}}
	storetest.LoadReference(tb, db)
	for _, du := range fixtures.Users() {
		if _, err := db.EnsureUser(ctx, du.User, "", du.Token, time.Now()); err != nil {
			tb.Fatal(err)
		}
	}
	for _, m := range municipalities {
		chef := payrun.User{Municipality: m, Login: "chef", DisplayName: "Kämmerin", Roles: []payrun.RoleGrant{{Role: payrun.RoleApprover, Limit: 10_000_000_00}}}
		if _, err := db.EnsureUser(ctx, chef, "", token(m, "chef"), time.Now()); err != nil {
			tb.Fatal(err)
		}
		var ds []payrun.Decision
		for d := range fixtures.Generate(1, n, m) {
			ds = append(ds, d)
		}
		b.importDecisions(tb, ds...)
	}
	return b
}

func (b *bundle) importDecisions(tb testing.TB, ds ...payrun.Decision) {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range ds {
		must(tb, enc.Encode(&ds[i]))
		k := ds[i].Municipality + "/" + ds[i].CaseID
		b.decisions[k] = append(b.decisions[k], ds[i])
	}
	if _, err := b.db.Import(context.Background(), &buf, store.ImportOptions{Actor: "test"}); err != nil {
		tb.Fatalf("import: %v", err)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// adminConn connects as the superuser to the test's database.
func (b *bundle) adminConn(tb testing.TB) *pgx.Conn {
	tb.Helper()
	au, err := url.Parse(pgtest.AdminURL(tb))
	must(tb, err)
	du, err := url.Parse(b.url)
	must(tb, err)
	au.Path = du.Path
	c, err := pgx.Connect(context.Background(), au.String())
	must(tb, err)
	tb.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// create creates the run of m for period and fails the test on error.
func (b *bundle) create(tb testing.TB, m string) store.RunSummary {
	tb.Helper()
	s, err := runsCreate(b.db, m)
	if err != nil {
		tb.Fatalf("create %s: %v", m, err)
	}
	return s
}

// sign signs run id as login of m over its current digest.
func (b *bundle) sign(tb testing.TB, m, login string, id int64) error {
	tb.Helper()
	d, err := b.db.RunDetails(context.Background(), m, id, 0, 0)
	must(tb, err)
	_, err = runsSign(b.db, token(m, login), id, d.Digest)
	return err
}

// key of a netting cell.
type cell struct {
	caseID    string
	month     payrun.Month
	payee     payrun.PayeeRole
	component payrun.Component
	reclaim   string
}

// livePaid returns Σ live lines per cell of m.
func (b *bundle) livePaid(tb testing.TB, m string) map[cell]payrun.Cents {
	tb.Helper()
	out := map[cell]payrun.Cents{}
	ctx := context.Background()
	must(tb, b.db.WithTx(ctx, m, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT l.case_id, (extract(year FROM l.month)::int * 12 + extract(month FROM l.month)::int - 1),
			l.payee_role, l.component, coalesce(l.reclaim_id, ''), (sum(l.amount) * 100)::bigint
			FROM run_lines l JOIN runs r ON r.municipality = l.municipality AND r.id = l.run_id
			WHERE r.state IN ('established', 'released', 'exported') GROUP BY 1, 2, 3, 4, 5`)
		if err != nil {
			return err
		}
		var c cell
		var month int32
		var amount payrun.Cents
		_, err = pgx.ForEachRow(rows, []any{&c.caseID, &month, &c.payee, &c.component, &c.reclaim, &amount}, func() error {
			c.month = payrun.Month(month)
			out[c] += amount
			return nil
		})
		return err
	}))
	return out
}

// checkExactlyOnce recomputes, independently of the run code, what is due
// for every case of m and month up to through, and compares it with Σ live
// lines per cell: equal for every cell (never more, never less).
func (b *bundle) checkExactlyOnce(tb testing.TB, m string, through payrun.Month) {
	tb.Helper()
	rates, err := fixtures.Rates()
	must(tb, err)
	sup, err := fixtures.ChildSupplements()
	must(tb, err)
	r, err := calc.NewRates(append(rates, b.extraRates...), sup)
	must(tb, err)
	c := calc.NewCalculator(r, calc.Policy{})
	due := map[cell]payrun.Cents{}
	for k, ds := range b.decisions {
		if ds[0].Municipality != m {
			continue
		}
		_ = k
		first := ds[0].ValidFrom.Month()
		for _, d := range ds {
			first = min(first, d.ValidFrom.Month())
		}
		in := &calc.CaseInput{Decisions: ds, From: first, Through: through}
		for mo := first; mo <= through; mo++ {
			amts, err := c.Due(in, mo)
			must(tb, err)
			for _, a := range amts {
				due[cell{ds[0].CaseID, mo, a.Payee, a.Component, a.ReclaimID}] += a.Amount
			}
		}
	}
	paid := b.livePaid(tb, m)
	bad := 0
	for k, v := range paid {
		if due[k] != v {
			bad++
			if bad <= 10 {
				tb.Errorf("%s %+v: live lines %s, due %s", m, k, v, due[k])
			}
		}
	}
	for k, v := range due {
		if _, ok := paid[k]; !ok && v != 0 {
			bad++
			if bad <= 10 {
				tb.Errorf("%s %+v: due %s, nothing paid", m, k, v)
			}
		}
	}
	if bad > 0 {
		tb.Errorf("%s: %d cells differ (of %d due)", m, bad, len(due))
	}
}
