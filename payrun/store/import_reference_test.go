package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// The importer's set-based checks are compared with a plain Go model of the
// rules (one FieldError per bad line and field; repeats skipped, other
// content refused; supersedes must name an earlier decision of the case;
// effective periods of a case must not overlap without supersession), and
// the stored decisions, cases (recompute_from) and reclaims with the
// model's, over random imports into fresh and filled databases, with the
// key tracker's hashes working or all colliding.

type refKey struct{ municipality, id string }

type refDB struct {
	decisions map[refKey]payrun.Decision
	cases     map[refKey]*payrun.Month // nil: NULL
	reclaims  map[refKey]string        // case_id/amount
}

func newRefDB() *refDB {
	return &refDB{decisions: map[refKey]payrun.Decision{}, cases: map[refKey]*payrun.Month{}, reclaims: map[refKey]string{}}
}

func decisionSHA(tb testing.TB, d payrun.Decision) [32]byte {
	b, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	return sha256.Sum256(b)
}

type lineField struct {
	line  int
	field string
}

// importModel applies file to db as the importer must and returns the
// errors (nil: imported).
func (db *refDB) importModel(tb testing.TB, file []payrun.Decision) []lineField {
	var errs []lineField
	type row struct {
		d    payrun.Decision
		line int
	}
	first := map[refKey]int{}
	var firsts []row
	for i, d := range file {
		k := refKey{d.Municipality, d.DecisionID}
		if f, ok := first[k]; ok {
			if decisionSHA(tb, d) != decisionSHA(tb, file[f]) {
				errs = append(errs, lineField{i + 1, "decision_id"})
			}
			continue
		}
		first[k] = i
		firsts = append(firsts, row{d, i + 1})
	}
	var news []row
	for _, r := range firsts {
		if s, ok := db.decisions[refKey{r.d.Municipality, r.d.DecisionID}]; ok {
			if decisionSHA(tb, s) != decisionSHA(tb, r.d) {
				errs = append(errs, lineField{r.line, "decision_id"})
			}
			continue
		}
		news = append(news, r)
	}
	for _, n := range news {
		for j, old := range n.d.Supersedes {
			found := false
			for _, m := range news {
				found = found || (m.d.Municipality == n.d.Municipality && m.d.DecisionID == old && m.d.CaseID == n.d.CaseID && m.line < n.line)
			}
			if s, ok := db.decisions[refKey{n.d.Municipality, old}]; ok && s.CaseID == n.d.CaseID {
				found = true
			}
			if !found {
				errs = append(errs, lineField{n.line, fmt.Sprintf("supersedes[%d]", j)})
			}
		}
	}
	// overlaps, per case of the new rows
	cases := map[refKey]bool{}
	for _, n := range news {
		cases[refKey{n.d.Municipality, n.d.CaseID}] = true
	}
	cand := slices.Clone(news)
	for _, s := range db.decisions {
		if cases[refKey{s.Municipality, s.CaseID}] {
			cand = append(cand, row{s, 0})
		}
	}
	effTo := func(c row) payrun.Date {
		end := payrun.NoDate
		if c.d.ValidTo != nil {
			end = *c.d.ValidTo
		}
		for _, o := range cand {
			if o.d.Municipality == c.d.Municipality && o.d.CaseID == c.d.CaseID && slices.Contains(o.d.Supersedes, c.d.DecisionID) {
				end = min(end, o.d.ValidFrom-1)
			}
		}
		return end
	}
	for _, x := range cand {
		if x.line == 0 {
			continue
		}
		for _, y := range cand {
			if y.d.Municipality != x.d.Municipality || y.d.CaseID != x.d.CaseID || y.d.DecisionID == x.d.DecisionID {
				continue
			}
			if y.line != 0 && y.line >= x.line {
				continue
			}
			xe, ye := effTo(x), effTo(y)
			if x.d.ValidFrom <= xe && y.d.ValidFrom <= ye && x.d.ValidFrom <= ye && y.d.ValidFrom <= xe &&
				!slices.Contains(x.d.Supersedes, y.d.DecisionID) && !slices.Contains(y.d.Supersedes, x.d.DecisionID) {
				errs = append(errs, lineField{x.line, "valid_from"})
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	firstMonth := map[refKey]payrun.Month{}
	for _, n := range news {
		db.decisions[refKey{n.d.Municipality, n.d.DecisionID}] = n.d
		k := refKey{n.d.Municipality, n.d.CaseID}
		if m, ok := firstMonth[k]; !ok || n.d.ValidFrom.Month() < m {
			firstMonth[k] = n.d.ValidFrom.Month()
		}
		if o := n.d.Offset; o != nil {
			rk := refKey{n.d.Municipality, o.ReclaimID}
			if _, ok := db.reclaims[rk]; !ok {
				db.reclaims[rk] = n.d.CaseID + "/" + o.Remaining.String()
			}
		}
	}
	for k, m := range firstMonth {
		cur, ok := db.cases[k]
		switch {
		case !ok:
			db.cases[k] = &m
		case cur != nil && *cur > m:
			db.cases[k] = &m
		}
	}
	return nil
}

// refScenario generates two files for the cases of scenario s: decisions
// mostly chained by supersession, with overlaps, unknown references,
// repeats and changed repeats sprinkled in.
func refScenario(rng *rand.Rand, s int, base payrun.Decision) (first, second []payrun.Decision) {
	m := []string{"luenen", "unna"}[rng.IntN(2)]
	n := 0
	gen := func(c int, prev *payrun.Decision) payrun.Decision {
		n++
		d := base
		d.Municipality = m
		d.CaseID = fmt.Sprintf("S%d-C%d", s, c)
		d.DecisionID = fmt.Sprintf("S%d-D%d", s, n)
		d.ValidFrom = payrun.NewDate(2026, time.January, 1) + payrun.Date(rng.IntN(200))
		d.ValidTo = nil
		d.Supersedes = nil
		d.Offset = nil
		if prev != nil {
			d.ValidFrom = prev.ValidFrom + payrun.Date(rng.IntN(90)) - 20
			if rng.IntN(100) >= 15 {
				d.Supersedes = []string{prev.DecisionID}
			}
		}
		if rng.IntN(100) < 25 {
			to := d.ValidFrom + payrun.Date(rng.IntN(120))
			d.ValidTo = &to
		}
		if other := rng.IntN(n + 3); rng.IntN(100) < 8 && other != n-1 {
			d.Supersedes = append(d.Supersedes, fmt.Sprintf("S%d-D%d", s, other+1))
		}
		if rng.IntN(100) < 20 {
			d.Offset = &payrun.Offset{ReclaimID: fmt.Sprintf("S%d-R%d", s, c), Monthly: 1000, Remaining: payrun.Cents(rng.IntN(50000))}
		}
		h := *d.Housing
		h.Rent = payrun.Cents(30000 + rng.IntN(1000))
		d.Housing = &h
		return d
	}
	last := map[int]*payrun.Decision{}
	file := func(lines int) []payrun.Decision {
		var out []payrun.Decision
		for range lines {
			c := rng.IntN(4)
			d := gen(c, last[c])
			last[c] = &d
			out = append(out, d)
		}
		return out
	}
	first = file(1 + rng.IntN(6))
	second = file(rng.IntN(6))
	// repeats of earlier lines, some changed
	repeat := func(dst []payrun.Decision, src []payrun.Decision) []payrun.Decision {
		d := src[rng.IntN(len(src))]
		if rng.IntN(100) < 25 {
			h := *d.Housing
			h.Rent++
			d.Housing = &h
		}
		return slices.Insert(dst, rng.IntN(len(dst)+1), d)
	}
	for range rng.IntN(4) {
		second = repeat(second, append(slices.Clone(first), second...))
	}
	if rng.IntN(100) < 30 {
		first = repeat(first, first)
	}
	if rng.IntN(100) < 20 {
		rng.Shuffle(len(second), func(i, j int) { second[i], second[j] = second[j], second[i] })
	}
	return first, second
}

func importLines(ctx context.Context, db *store.DB, ds []payrun.Decision) (store.ImportResult, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, d := range ds {
		if err := enc.Encode(d); err != nil {
			return store.ImportResult{}, err
		}
	}
	return db.Import(ctx, &buf, store.ImportOptions{Actor: "test"})
}

func fieldErrors(tb testing.TB, err error) []lineField {
	tb.Helper()
	if err == nil {
		return nil
	}
	var list payrun.ErrorList
	if !errors.As(err, &list) {
		tb.Fatalf("import: %v", err)
	}
	var out []lineField
	for _, e := range list {
		var fe *payrun.FieldError
		if errors.As(e, &fe) {
			out = append(out, lineField{fe.Line, fe.Field})
		}
	}
	return out
}

func sortedLF(l []lineField) []lineField {
	l = slices.Clone(l)
	slices.SortFunc(l, func(a, b lineField) int {
		if a.line != b.line {
			return a.line - b.line
		}
		return strings.Compare(a.field, b.field)
	})
	return slices.Compact(l)
}

// compareState fails unless the database holds what the model holds.
func compareState(t *testing.T, db *store.DB, ref *refDB) {
	t.Helper()
	ctx := context.Background()
	got := map[string]string{}
	want := map[string]string{}
	err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT 'd ' || municipality || ' ' || decision_id, encode(content_sha256, 'hex') FROM decisions
			UNION ALL SELECT 'c ' || municipality || ' ' || case_id, coalesce(recompute_from::text, 'NULL') FROM cases
			UNION ALL SELECT 'r ' || municipality || ' ' || reclaim_id, case_id || '/' || amount FROM reclaims`)
		if err != nil {
			return err
		}
		var k, v string
		_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error { got[k] = v; return nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, d := range ref.decisions {
		sum := decisionSHA(t, d)
		want["d "+k.municipality+" "+k.id] = fmt.Sprintf("%x", sum[:])
	}
	for k, m := range ref.cases {
		v := "NULL"
		if m != nil {
			v = m.First().String()
		}
		want["c "+k.municipality+" "+k.id] = v
	}
	for k, v := range ref.reclaims {
		want["r "+k.municipality+" "+k.id] = v
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: database %q, model %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: in the database (%q), not in the model", k, v)
		}
	}
}

func TestImportMatchesModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var base payrun.Decision
	if err := json.Unmarshal([]byte(good1), &base); err != nil {
		t.Fatal(err)
	}
	for round := range 8 {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			t.Parallel()
			modelRound(t, ctx, rand.New(rand.NewPCG(7, uint64(round))), round, base)
		})
	}
}

// modelRound imports 25 scenarios into one database; from round 4 on the
// tables are emptied before each scenario, so that every first file is a
// bulk load. In odd rounds every key of the tracker collides; rounds 6
// and 7 parse tiny batches (out of order).
func modelRound(t *testing.T, ctx context.Context, rng *rand.Rand, round int, base payrun.Decision) {
	db := setup(t)
	store.TuneImport(db, round >= 6, round%2 == 1)
	ref := newRefDB()
	imported, refused := 0, 0
	for s := range 25 {
		if round >= 4 {
			if err := db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `DELETE FROM reclaims; DELETE FROM decisions; DELETE FROM cases`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			ref = newRefDB()
		}
		first, second := refScenario(rng, round*100+s, base)
		for fi, file := range [][]payrun.Decision{first, second} {
			wantErrs := sortedLF(ref.importModel(t, file))
			_, err := importLines(ctx, db, file)
			gotErrs := sortedLF(fieldErrors(t, err))
			if !slices.Equal(gotErrs, wantErrs) {
				var lines []string
				for i, d := range file {
					b, _ := json.Marshal(d)
					lines = append(lines, fmt.Sprintf("%d: %s", i+1, b))
				}
				t.Fatalf("round %d scenario %d file %d: errors %v, model %v\n%s\n%v", round, s, fi, gotErrs, wantErrs, strings.Join(lines, "\n"), err)
			}
			if err == nil {
				imported++
			} else {
				refused++
			}
		}
	}
	compareState(t, db, ref)
	t.Logf("round %d: %d files imported, %d refused", round, imported, refused)
}
