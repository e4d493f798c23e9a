package export_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

const (
	mun       = "luenen"
	debtorBIC = "WELADED1LUN"
)

// iban returns a valid German IBAN with account number n.
func iban(bank string, n int) string {
	bban := fmt.Sprintf("%s%010d", bank, n)
	v, _ := new(big.Int).SetString(bban+"131400", 10)
	rem := new(big.Int).Mod(v, big.NewInt(97)).Int64()
	return fmt.Sprintf("DE%02d%s", 98-rem, bban)
}

// bundle is one test's database with a municipality, its account rules and
// three users.
type bundle struct {
	db                         *store.DB
	checker, approver, cashier int64
}

func exec1(tb testing.TB, db *store.DB, scope, sql string, args ...any) {
	tb.Helper()
	err := db.WithTx(context.Background(), scope, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), sql, args...)
		return err
	})
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func setup(tb testing.TB) *bundle {
	tb.Helper()
	db := storetest.NewDB(tb)
	b := &bundle{db: db}
	exec1(tb, db, "*", `INSERT INTO municipalities (key, name, kind, debtor_name, debtor_iban, debtor_bic, settings)
		VALUES ('kreis', 'Kreis Unna', 'county', NULL, NULL, NULL, '{}'),
		       ($1, 'Stadt Lünen', 'municipality', 'Stadt Lünen Stadtkasse', $2, $3, '{"execution_days_before": 2}')`,
		mun, iban("44050199", 1), debtorBIC)
	ctx := context.Background()
	err := db.WithTx(ctx, "*", func(tx pgx.Tx) error {
		for _, u := range []struct {
			login, role string
			id          *int64
		}{{"anna", "checker", &b.checker}, {"bernd", "approver", &b.approver}, {"carla", "cashier", &b.cashier}} {
			if err := tx.QueryRow(ctx, `INSERT INTO users (municipality, login) VALUES ($1, $2) RETURNING id`, mun, u.login).Scan(u.id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO user_roles (municipality, user_id, role) VALUES ($1, $2, $3)`, mun, *u.id, u.role); err != nil {
				return err
			}
		}
		// County defaults for every law (its cost bearer), component and kind.
		_, err := tx.Exec(ctx, `INSERT INTO account_rules (municipality, law, component, cost_bearer, kind, account)
			SELECT NULL, l.law, '*', l.cb, k.kind, k.acct
			  FROM (VALUES ('asylblg_3','fluag'),('asylblg_2','fluag'),('asylblg_1a','fluag'),
			               ('sgb12_3','municipality'),('sgb12_4','bund_46a')) l(law, cb),
			       (VALUES ('expense','53310000'),('payable','35110000'),('receivable','17810000'),('revenue','44810000')) k(kind, acct)`)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// payee of a case in the test runs.
type payee struct {
	channel  payrun.Channel
	name     string
	landlord string // landlord name; "" for none
}

// line of a test run.
type line struct {
	caseID    string
	month     payrun.Month
	role      payrun.PayeeRole
	component payrun.Component
	kind      payrun.LineKind
	amount    payrun.Cents
	law       payrun.Law
	reclaim   string
}

var period = payrun.MonthOf(2026, time.December)

// releasedAt is only a wish: the database stamps signatures with now().
var releasedAt = time.Date(2026, 11, 20, 9, 30, 15, 0, time.UTC)

// wantExec is the execution date the export must choose for a run of
// period released at t: 2 bank days before 1 Dec 2026 (Mon 30 Nov, Fri
// 27 Nov), or, when released later, the release day's next business day
// (instant: the release day).
func wantExec(t time.Time, instant bool) string {
	d := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	y, m, dd := t.In(berlin).Date()
	rel := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	if !rel.After(d) {
		return d.Format(time.DateOnly)
	}
	if !instant {
		for rel.Weekday() == time.Saturday || rel.Weekday() == time.Sunday || (rel.Month() == 12 && (rel.Day() == 24 || rel.Day() == 25 || rel.Day() == 26 || rel.Day() == 31)) {
			rel = rel.AddDate(0, 0, 1)
		}
	}
	return rel.Format(time.DateOnly)
}

var berlin, _ = time.LoadLocation("Europe/Berlin")

// releaseTime reads the run's second signature time.
func releaseTime(tb testing.TB, db *store.DB, run int64) time.Time {
	tb.Helper()
	var t time.Time
	err := db.WithTx(context.Background(), mun, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT signed_at FROM signatures WHERE run_id = $1 AND seq = 2", run).Scan(&t)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t.UTC().Truncate(time.Second)
}

// newRun inserts a run in state with its decisions (one per case) and
// lines, signed as far as the state requires, and returns its id.
func (b *bundle) newRun(tb testing.TB, state payrun.RunState, instant bool, payees map[string]payee, lines []line) int64 {
	tb.Helper()
	ctx := context.Background()
	var id int64
	err := b.db.WithTx(ctx, mun, func(tx pgx.Tx) error {
		ids := make([]string, 0, len(payees))
		for c := range payees {
			ids = append(ids, c)
		}
		sort.Strings(ids)
		for i, caseID := range ids {
			p := payees[caseID]
			did := fmt.Sprintf("D-%s", caseID)
			var piban any = iban("37040044", 1000+i)
			if p.channel == payrun.ChannelCash {
				piban = nil
			}
			var lname, liban, payTo any = nil, nil, "beneficiary"
			if p.landlord != "" {
				lname, liban, payTo = p.landlord, iban("30050110", 5000+i), "landlord"
			}
			sum := sha256.Sum256([]byte(did))
			if _, err := tx.Exec(ctx, `INSERT INTO decisions (municipality, decision_id, case_id, law, valid_from,
					pay_to, payee_channel, payee_name, payee_iban, landlord_name, landlord_iban, landlord_reference,
					persons, content_sha256, import_id)
				VALUES ($1, $2, $3, 'asylblg_3', '2026-01-01', $4, $5, $6, $7, $8, $9, $10, '[{"person_id":"p1"}]', $11, 1)
				ON CONFLICT DO NOTHING`,
				mun, did, caseID, payTo, string(p.channel), p.name, piban, lname, liban, nilIfEmpty(p.landlord, "Whg. 3 OG"), sum[:]); err != nil {
				return err
			}
		}
		var total payrun.Cents
		for _, l := range lines {
			if l.kind == payrun.LinePayment {
				total += l.amount
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO runs (municipality, kind, period, instant, line_count, total, created_by)
			VALUES ($1, 'monthly', $2, $3, $4, $5::numeric / 100, $6) RETURNING id`,
			mun, period.First().Time(time.UTC), instant, len(lines), int64(total), b.checker).Scan(&id); err != nil {
			return err
		}
		// The lines go through a staging table and are packed per case by
		// SQL (the format of migration 0095), independently of the run
		// builder's Go packer.
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE test_lines (case_id text, month date, payee_role text, component text,
			kind text, amount numeric(14,2), law text, cost_bearer text, decision_id text, reclaim_id text) ON COMMIT DROP`); err != nil {
			return err
		}
		var batch pgx.Batch
		for _, l := range lines {
			law := l.law
			if law == "" {
				law = payrun.LawAsylbLG3
			}
			batch.Queue(`INSERT INTO test_lines VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8, $9, $10)`,
				l.caseID, l.month.First().Time(time.UTC), string(l.role), string(l.component),
				string(l.kind), l.amount.String(), string(law), string(law.CostBearer()), "D-"+l.caseID, l.reclaim)
		}
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return err
		}
		// one chunk of all the run's cases (migration 0135)
		if _, err := tx.Exec(ctx, `INSERT INTO run_chunks (municipality, run_id, first_case, last_case, cases, line_count, lines, offsets)
			SELECT $1, $2, min(case_id), max(case_id), count(*), sum(n),
			       string_agg(case_id || E'\t' || packed, E'\n' ORDER BY case_id COLLATE "C"),
			       coalesce(string_agg(case_id || E'\t' || offs, E'\n' ORDER BY case_id COLLATE "C") FILTER (WHERE offs <> ''), '')
			FROM (SELECT case_id, count(*) AS n,
			             string_agg(line, ';' ORDER BY o) AS packed,
			             coalesce(string_agg(line, ';' ORDER BY o) FILTER (WHERE component = 'offset'), '') AS offs
			      FROM (SELECT case_id, component, concat_ws('|', to_char(month, 'YYYY-MM'), payee_role, component, kind, amount::text,
			                   law, cost_bearer, decision_id, reclaim_id) AS line,
			                   row_number() OVER (PARTITION BY case_id ORDER BY month, payee_role,
			                       array_position(ARRAY['regular', 'extra', 'child_supplement', 'rent', 'heating', 'income', 'offset'], component),
			                       reclaim_id COLLATE "C", kind, amount) AS o
			            FROM test_lines) t
			      GROUP BY case_id) x
			HAVING count(*) > 0`, mun, id); err != nil {
			return err
		}
		// The lifecycle as the database enforces it: digest, signature 1,
		// established, signature 2, released.
		digest := sha256.Sum256([]byte(fmt.Sprint("run", id)))
		if _, err := tx.Exec(ctx, `UPDATE runs SET digest = $2 WHERE id = $1`, id, digest[:]); err != nil {
			return err
		}
		steps := map[payrun.RunState]int{payrun.RunEstablished: 1, payrun.RunReleased: 2}[state]
		for s := 1; s <= steps; s++ {
			user, role, at, next := b.checker, "checker", releasedAt.Add(-time.Hour), payrun.RunEstablished
			if s == 2 {
				user, role, at, next = b.approver, "approver", releasedAt, payrun.RunReleased
			}
			if _, err := tx.Exec(ctx, `INSERT INTO signatures (municipality, run_id, seq, user_id, role, digest, signed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, mun, id, s, user, role, digest[:], at); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE runs SET state = $2 WHERE id = $1`, id, string(next)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("new run: %v", err)
	}
	return id
}

func nilIfEmpty(s, v string) any {
	if s == "" {
		return nil
	}
	return v
}

// paymentSum is Σ payment lines of a run, read from the database.
func paymentSum(tb testing.TB, db *store.DB, run int64) payrun.Cents {
	tb.Helper()
	var c payrun.Cents
	err := db.WithTx(context.Background(), mun, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT coalesce(sum(amount) * 100, 0)::bigint FROM run_lines
			WHERE run_id = $1 AND kind = 'payment'`, run).Scan(&c)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Schemas beside the repository (../shared/xsd from the module root).
const (
	isoSchema  = "../../../shared/xsd/pain.001.001.09.xsd"
	gbicSchema = "../../../shared/xsd/pain.001.001.09_GBIC_5.xsd"
)

// validateXSD validates files with xmllint against the ISO and the DK
// GBIC_5 schema. It skips (saying why) when the shared folder is absent.
func validateXSD(tb testing.TB, files ...string) {
	tb.Helper()
	lint, err := exec.LookPath("xmllint")
	if err != nil {
		tb.Fatalf("xmllint not found: install libxml2-utils (make deps): %v", err)
	}
	for _, s := range []string{isoSchema, gbicSchema} {
		abs, _ := filepath.Abs(s)
		if _, err := os.Stat(abs); errors.Is(err, os.ErrNotExist) {
			tb.Skipf("schema %s not found (../shared/xsd beside the repository; the GBIC schemas are not in the repo): XSD validation skipped", abs)
		}
		out, err := exec.Command(lint, append([]string{"--noout", "--schema", abs}, files...)...).CombinedOutput()
		if err != nil {
			tb.Fatalf("xmllint --schema %s: %v\n%s", s, err, out)
		}
	}
}
