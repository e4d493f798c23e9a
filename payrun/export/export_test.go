package export_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/sepa"
)

// mixedRun is a run with every kind of transaction: SEPA beneficiaries with
// arrears, a landlord, a card, a cash payee, an offset against a reclaim,
// an overpayment-only case, and a case whose name needs cleaning.
func mixedRun(tb testing.TB, b *bundle, state payrun.RunState) int64 {
	p := func(c payrun.Channel, name, landlord string) payee { return payee{c, name, landlord} }
	payees := map[string]payee{
		"LUE-000001": p(payrun.ChannelSEPA, "Jürgen Müller-Lüdenscheidt", ""),
		"LUE-000002": p(payrun.ChannelSEPA, "Ayşe Yılmaz", "Wohnungsbau Lünen GmbH & Co. KG"),
		"LUE-000003": p(payrun.ChannelCard, "Olena Kovalenko", ""),
		"LUE-000004": p(payrun.ChannelCash, "Ahmad Rahimi", ""),
		"LUE-000005": p(payrun.ChannelSEPA, "Grete Schäfer <&>", ""),
		"LUE-000006": p(payrun.ChannelSEPA, "Ohne Zahlung", ""),
	}
	pay, over := payrun.LinePayment, payrun.LineOverpayment
	ben, ll := payrun.PayeeBeneficiary, payrun.PayeeLandlord
	c := payrun.MustCents
	lines := []line{
		{"LUE-000001", period - 2, ben, payrun.CompRegular, pay, c("50.00"), "", ""},
		{"LUE-000001", period - 1, ben, payrun.CompRegular, pay, c("50.00"), "", ""},
		{"LUE-000001", period, ben, payrun.CompRegular, pay, c("460.00"), "", ""},
		{"LUE-000001", period, ben, payrun.CompExtra, pay, c("78.20"), "", ""},
		{"LUE-000002", period, ben, payrun.CompRegular, pay, c("441.00"), "", ""},
		{"LUE-000002", period, ll, payrun.CompRent, pay, c("520.00"), "", ""},
		{"LUE-000002", period, ll, payrun.CompHeating, pay, c("95.50"), "", ""},
		{"LUE-000003", period, ben, payrun.CompRegular, pay, c("441.00"), "", ""},
		{"LUE-000003", period, ben, payrun.CompIncome, pay, c("-120.33"), "", ""},
		{"LUE-000004", period, ben, payrun.CompRegular, pay, c("397.00"), payrun.LawAsylbLG1a, ""},
		{"LUE-000005", period, ben, payrun.CompRegular, pay, c("563.00"), payrun.LawSGB12Ch4, ""},
		{"LUE-000005", period, ben, payrun.CompOffset, pay, c("-56.30"), payrun.LawSGB12Ch4, "R-77"},
		{"LUE-000006", period - 1, ben, payrun.CompRegular, over, c("-80.00"), "", ""},
	}
	return b.newRun(tb, state, false, payees, lines)
}

func opts(b *bundle) export.Options {
	return export.Options{Municipality: mun, ActorID: b.cashier, Actor: "carla"}
}

func readManifest(tb testing.TB, dir string) export.Manifest {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if err != nil {
		tb.Fatal(err)
	}
	var m export.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestExportReconciles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := mixedRun(t, b, payrun.RunReleased)
	dir := t.TempDir()
	o := opts(b)
	o.BookingsJSON = true
	m, err := export.Run(context.Background(), b.db, run, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if disk := readManifest(t, dir); disk.Run != m.Run || len(disk.Files) != len(m.Files) {
		t.Fatalf("manifest on disk %+v differs from returned %+v", disk, m)
	}
	if m.Municipality != mun || m.Period != "2026-12" {
		t.Errorf("manifest head %+v", m)
	}
	rel := releaseTime(t, b.db, run)
	exec := wantExec(rel, false)
	if m.ExecutionDate != exec {
		t.Errorf("execution date %s, want %s (2 bank days before 2026-12-01, not before the release %s)", m.ExecutionDate, exec, rel)
	}
	var painSum, cashSum payrun.Cents
	var painFiles []string
	kinds := map[string]int{}
	for _, f := range m.Files {
		kinds[f.Kind]++
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: sha256 in manifest does not match the file", f.Name)
		}
		switch f.Kind {
		case export.KindPain001:
			painSum += payrun.MustCents(f.Total)
			painFiles = append(painFiles, filepath.Join(dir, f.Name))
			rep, err := sepa.Check(bytes.NewReader(data))
			if err != nil || !rep.OK() {
				t.Fatalf("%s: sepa.Check: %v %v", f.Name, err, rep.Problems)
			}
			if rep.Transactions != f.Transactions || rep.CtrlSum != int64(payrun.MustCents(f.Total)) {
				t.Errorf("%s: file has %d / %d, manifest %d / %s", f.Name, rep.Transactions, rep.CtrlSum, f.Transactions, f.Total)
			}
			checkPainContent(t, string(data), rel.Format(time.RFC3339), exec)
		case export.KindCash:
			cashSum += payrun.MustCents(f.Total)
			if f.Transactions != 1 || !strings.Contains(string(data), "Ahmad Rahimi;397.00;LUE-000004;2026-12-31") {
				t.Errorf("cash list:\n%s", data)
			}
		case export.KindBookingsJSON:
			checkJournal(t, data, paymentSum(t, b.db, run))
		}
	}
	if kinds[export.KindPain001] != 1 || kinds[export.KindCash] != 1 || kinds[export.KindBookings] != 1 || kinds[export.KindBookingsJSON] != 1 {
		t.Errorf("file kinds %v", kinds)
	}
	want := paymentSum(t, b.db, run)
	if painSum+cashSum != want {
		t.Errorf("Σ pain.001 %s + cash %s ≠ Σ payment lines %s", painSum, cashSum, want)
	}
	// 538.20+100 arrears, 441, 615.50 landlord, 320.67 card, 506.70 offset; cash 397.
	if painSum != payrun.MustCents("2522.07") || cashSum != payrun.MustCents("397.00") {
		t.Errorf("pain %s cash %s", painSum, cashSum)
	}
	validateXSD(t, painFiles...)
	var state string
	_ = b.db.WithTx(context.Background(), mun, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT state || ' ' || execution_date::text FROM runs WHERE id = $1", run).Scan(&state)
	})
	if state != "exported "+exec {
		t.Errorf("run after export: %q", state)
	}
}

// checkPainContent checks what a reader of the file relies on.
func checkPainContent(t *testing.T, x, created, exec string) {
	t.Helper()
	for _, want := range []string{
		"<Nm>Jürgen Müller-Lüdenscheidt</Nm>",
		"AsylbLG Par.3 12/2026 Nachzahlung 10-11/2026 Fall LUE-000001",
		"<Cd>RENT</Cd>", "<Nm>Wohnungsbau Lünen GmbH &amp; Co. KG</Nm>",
		"<UltmtCdtr>", "Miete Whg. 3 OG Fall LUE-000002",
		"Kartenaufladung", "<Cd>SSBE</Cd>",
		"<CreDtTm>" + created + "</CreDtTm>", "<Dt>" + exec + "</Dt>",
		"-LUE-000002-L</EndToEndId>", "-LUE-000002-B</EndToEndId>",
		"<InstdAmt Ccy=\"EUR\">506.70</InstdAmt>",
	} {
		if !strings.Contains(x, want) {
			t.Errorf("pain.001 lacks %q", want)
		}
	}
	for _, bad := range []string{"LUE-000004", "LUE-000006", "<&>"} {
		if strings.Contains(x, bad) {
			t.Errorf("pain.001 contains %q", bad)
		}
	}
}

// checkJournal checks the JSON Lines journal: debits = credits, and
// Σ payments = Σ net expense + Σ new receivables − Σ offset revenue.
func checkJournal(t *testing.T, data []byte, payments payrun.Cents) {
	t.Helper()
	net := map[string]payrun.Cents{}
	var debit, credit payrun.Cents
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e struct {
			Record      string       `json:"record"`
			AccountKind string       `json:"account_kind"`
			Side        string       `json:"side"`
			Amount      payrun.Cents `json:"amount"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("journal line %s: %v", sc.Bytes(), err)
		}
		if e.Record != "booking" {
			continue
		}
		if e.Side == "debit" {
			debit += e.Amount
			net[e.AccountKind] += e.Amount
		} else {
			credit += e.Amount
			net[e.AccountKind] -= e.Amount
		}
	}
	if debit != credit || debit == 0 {
		t.Errorf("journal debits %s, credits %s", debit, credit)
	}
	// net: debit − credit per kind.
	if got := net["expense"] + net["receivable"] - (-net["revenue"]); got != payments {
		t.Errorf("net expense %s + receivables %s − offset revenue %s = %s, payments %s",
			net["expense"], net["receivable"], -net["revenue"], got, payments)
	}
}

func TestReexportIsByteIdentical(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := mixedRun(t, b, payrun.RunReleased)
	d1, d2 := t.TempDir(), t.TempDir()
	m1, err := export.Run(context.Background(), b.db, run, d1, opts(b))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := export.Run(context.Background(), b.db, run, d2, opts(b))
	if err != nil {
		t.Fatalf("re-export of an exported run: %v", err)
	}
	// Re-export into the same directory rewrites the same bytes too.
	if _, err := export.Run(context.Background(), b.db, run, d1, opts(b)); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(m1.Files, export.File{Name: export.ManifestName}) {
		a, err1 := os.ReadFile(filepath.Join(d1, f.Name))
		c, err2 := os.ReadFile(filepath.Join(d2, f.Name))
		if err1 != nil || err2 != nil || !bytes.Equal(a, c) {
			t.Errorf("%s differs between exports (%v, %v)", f.Name, err1, err2)
		}
	}
	if len(m1.Files) != len(m2.Files) {
		t.Errorf("manifests differ: %d vs %d files", len(m1.Files), len(m2.Files))
	}
	entries, _ := os.ReadDir(d1)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}

func TestOnlyReleasedRunsExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, st := range []payrun.RunState{payrun.RunProposed, payrun.RunEstablished} {
		run := mixedRun(t, b, st)
		dir := t.TempDir()
		_, err := export.Run(context.Background(), b.db, run, dir, opts(b))
		if !errors.Is(err, payrun.ErrRunState) {
			t.Errorf("%s run: err = %v, want ErrRunState", st, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s run: files written: %v", st, entries)
		}
		// Cancel it so that the next proposed run can exist.
		exec1(t, b.db, mun, "UPDATE runs SET state = 'cancelled' WHERE id = $1", run)
	}
	// Another municipality's user does not find the run.
	run := mixedRun(t, b, payrun.RunReleased)
	o := opts(b)
	o.Municipality = "kreis"
	if _, err := export.Run(context.Background(), b.db, run, t.TempDir(), o); !errors.Is(err, payrun.ErrNotFound) {
		t.Errorf("other tenant: err = %v, want ErrNotFound", err)
	}
}

// bigRun has n beneficiary cases of 61,234.56 € each (one month) and one
// instant flag.
func bigRun(tb testing.TB, b *bundle, n int, instant bool) int64 {
	payees := map[string]payee{}
	var lines []line
	for i := range n {
		id := "BIG-" + strings.Repeat("0", 3) + string(rune('A'+i))
		payees[id] = payee{payrun.ChannelSEPA, "Empfänger " + id, ""}
		lines = append(lines, line{id, period, payrun.PayeeBeneficiary, payrun.CompRegular, payrun.LinePayment,
			payrun.MustCents("61234.56"), "", ""})
	}
	return b.newRun(tb, payrun.RunReleased, instant, payees, lines)
}

func TestSplitMillionRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := bigRun(t, b, 20, false) // 1,224,691.20 €
	dir := t.TempDir()
	o := opts(b)
	o.MaxTransactionsPerFile = 12
	m, err := export.Run(context.Background(), b.db, run, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	var counts []int
	var sum payrun.Cents
	for _, f := range m.Files {
		if f.Kind == export.KindPain001 {
			files = append(files, filepath.Join(dir, f.Name))
			counts = append(counts, f.Transactions)
			sum += payrun.MustCents(f.Total)
		}
	}
	if !slices.Equal(counts, []int{12, 8}) {
		t.Errorf("split into %v transactions, want [12 8]", counts)
	}
	if sum != payrun.MustCents("1224691.20") || sum != paymentSum(t, b.db, run) {
		t.Errorf("total %s", sum)
	}
	data, _ := os.ReadFile(files[0])
	if !strings.Contains(string(data), "<CtrlSum>734814.72</CtrlSum>") {
		t.Errorf("first file's CtrlSum wrong:\n%.600s", data)
	}
	validateXSD(t, files...)
}

func TestInstantRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := bigRun(t, b, 2, true)
	dir := t.TempDir()
	m, err := export.Run(context.Background(), b.db, run, dir, opts(b))
	if err != nil {
		t.Fatal(err)
	}
	f := m.Files[0]
	data, _ := os.ReadFile(filepath.Join(dir, f.Name))
	if f.Kind != export.KindPain001 || !strings.Contains(f.Name, "-inst-") || !strings.Contains(string(data), "<Cd>INST</Cd>") {
		t.Errorf("instant file %s:\n%.900s", f.Name, data)
	}
	if m.ExecutionDate != wantExec(releaseTime(t, b.db, run), true) {
		t.Errorf("execution date %s", m.ExecutionDate)
	}
	validateXSD(t, filepath.Join(dir, f.Name))
}

func TestCrashLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := bigRun(t, b, 5, false)
	dir := t.TempDir()
	o := opts(b)
	o.MaxTransactionsPerFile = 2
	crash := errors.New("injected crash")
	calls := 0
	o.AfterFile = func(string) error {
		calls++
		if calls == 1 {
			return crash
		}
		return nil
	}
	if _, err := export.Run(context.Background(), b.db, run, dir, o); !errors.Is(err, crash) {
		t.Fatalf("err = %v, want the injected crash", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("files left after a failed export: %v", names)
	}
	// A stale temp file of a real crash does not disturb the retry.
	if err := os.WriteFile(filepath.Join(dir, ".tmp-luenen-x.xml"), []byte("<half"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.AfterFile = nil
	m, err := export.Run(context.Background(), b.db, run, dir, o)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(m.Files)+1 || len(m.Files) != 4 { // 3 pain.001, 1 bookings
		t.Errorf("after retry: %d entries, manifest %d files", len(entries), len(m.Files))
	}
}

func TestCheckAccounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keys := []export.AccountKey{{payrun.LawSGB12Ch4, payrun.CompRent, payrun.BearerBund, payrun.LinePayment}}
	if err := export.CheckAccounts(context.Background(), b.db, mun, keys); err != nil {
		t.Fatalf("default rules: %v", err)
	}
	exec1(t, b.db, "*", `DELETE FROM account_rules WHERE law = 'sgb12_4' AND kind = 'payable'`)
	err := export.CheckAccounts(context.Background(), b.db, mun, keys)
	if err == nil {
		t.Fatal("no error for a missing payable rule")
	}
	for _, w := range []string{"sgb12_4", "rent", "bund_46a", "payable"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	// The municipality's own rule fills the gap (component-specific).
	exec1(t, b.db, mun, `INSERT INTO account_rules (municipality, law, component, cost_bearer, kind, account)
		VALUES ($1, 'sgb12_4', 'rent', 'bund_46a', 'payable', '35120000')`, mun)
	if err := export.CheckAccounts(context.Background(), b.db, mun, keys); err != nil {
		t.Errorf("with the municipality's rule: %v", err)
	}
}

// TestBookingsJSONOptIn: the bookings JSON Lines file is written only when
// asked for (export option or municipality setting bookings_jsonl); the
// other files are the same bytes either way.
func TestBookingsJSONOptIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := mixedRun(t, b, payrun.RunReleased)
	kinds := func(m export.Manifest) map[string]string {
		k := map[string]string{}
		for _, f := range m.Files {
			k[f.Kind] = f.SHA256
		}
		return k
	}
	plain, err := export.Run(context.Background(), b.db, run, t.TempDir(), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kinds(plain)[export.KindBookingsJSON]; ok || len(plain.Files) != 3 {
		t.Fatalf("default export has %d files, JSON: %v", len(plain.Files), ok)
	}
	o := opts(b)
	o.BookingsJSON = true
	withOpt, err := export.Run(context.Background(), b.db, run, t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, b.db, mun, `UPDATE municipalities SET settings = settings || '{"bookings_jsonl": true}' WHERE key = $1`, mun)
	dir := t.TempDir()
	withSetting, err := export.Run(context.Background(), b.db, run, dir, opts(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []export.Manifest{withOpt, withSetting} {
		k := kinds(m)
		if k[export.KindBookingsJSON] == "" || len(m.Files) != 4 {
			t.Errorf("JSON asked for: files %v", k)
		}
		for kind, sum := range kinds(plain) {
			if k[kind] != sum {
				t.Errorf("%s differs with the JSON file", kind)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 5 {
		t.Errorf("%d files in the directory, want 4 and the manifest", len(entries))
	}
}
