package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// ExportRun is what the exporter needs to know about one run.
type ExportRun struct {
	ID           int64
	Municipality string
	Kind         payrun.RunKind
	Period       payrun.Month
	State        payrun.RunState
	Instant      bool
	// ReleasedAt is the time of the second signature (the release); the
	// exporter writes it as CreDtTm so that re-exports are byte-identical.
	// Zero when the run is not released yet.
	ReleasedAt time.Time
	// ExecutionDate as stored at the first export; nil before.
	ExecutionDate *payrun.Date

	MunicipalityName string
	DebtorName       string
	DebtorIBAN       string
	DebtorBIC        string
	Settings         ExportSettings
}

// ExportSettings are the municipality settings (municipalities.settings)
// the export reads.
type ExportSettings struct {
	// ExecutionDaysBefore: bank business days before the 1st of the period
	// (CONTRACT.md §4; default 1).
	ExecutionDaysBefore int `json:"execution_days_before"`
	// NRWHolidays adds Corpus Christi and All Saints' Day to the calendar.
	NRWHolidays bool `json:"nrw_holidays"`
	// BookingLayout names the municipality's booking CSV layout.
	BookingLayout string `json:"booking_layout"`
	// CardAccountHolder is the account holder of the payment cards' account
	// (the card provider); when set, card loads name it as creditor and the
	// beneficiary as ultimate creditor.
	CardAccountHolder string `json:"card_account_holder"`
	// BookingCSV configures the booking CSV layout (separator, decimal
	// comma, encoding, columns, CRLF); the exporter parses it.
	BookingCSV json.RawMessage `json:"booking_csv"`
}

// LoadExportRun reads run runID of municipality. It returns an error
// wrapping payrun.ErrNotFound when the run does not exist in that
// municipality (row-level security hides other tenants' runs).
func (db *DB) LoadExportRun(ctx context.Context, municipality string, runID int64) (ExportRun, error) {
	var r ExportRun
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var period time.Time
		var exec, released *time.Time
		var settings []byte
		var name, iban, bic *string
		err := tx.QueryRow(ctx, `
			SELECT r.id, r.municipality, r.kind, r.period, r.state, r.instant, r.execution_date,
			       (SELECT s.signed_at FROM signatures s
			         WHERE s.municipality = r.municipality AND s.run_id = r.id AND s.seq = 2),
			       m.name, m.debtor_name, m.debtor_iban, m.debtor_bic, m.settings
			  FROM runs r JOIN municipalities m ON m.key = r.municipality
			 WHERE r.municipality = $1 AND r.id = $2`, municipality, runID).
			Scan(&r.ID, &r.Municipality, &r.Kind, &period, &r.State, &r.Instant, &exec,
				&released, &r.MunicipalityName, &name, &iban, &bic, &settings)
		if err != nil {
			return err
		}
		r.Period = payrun.DateOf(period).Month()
		if exec != nil {
			d := payrun.DateOf(*exec)
			r.ExecutionDate = &d
		}
		if released != nil {
			r.ReleasedAt = released.UTC().Truncate(time.Second)
		}
		r.DebtorName, r.DebtorIBAN, r.DebtorBIC = deref(name), deref(iban), deref(bic)
		if r.DebtorName == "" {
			r.DebtorName = r.MunicipalityName
		}
		if err := json.Unmarshal(settings, &r.Settings); err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		return nil
	})
	if err != nil {
		return ExportRun{}, fmt.Errorf("store: run %d of %s: %w", runID, municipality, err)
	}
	return r, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ExportChannel says how a (case, payee) group is paid.
type ExportChannel string

// The export channels: SEPA credit transfer (also card loads and landlords)
// or cash payout.
const (
	ExportSEPA ExportChannel = "sepa"
	ExportCash ExportChannel = "cash"
)

// ExportGroup is one transaction of the export: the payment lines of one
// (case, payee role) of a run summed over all months, with the payee of the
// decision of the latest month.
type ExportGroup struct {
	CaseID  string
	Role    payrun.PayeeRole
	Amount  payrun.Cents
	Months  []payrun.Month // distinct, ascending
	Laws    []payrun.Law   // distinct, ascending
	Channel payrun.Channel // the decision's payee channel
	// Payee of the decision: for the landlord role the landlord's account.
	PayeeName, PayeeIBAN, PayeeBIC string
	// Beneficiary is the decision's payee name (the ultimate creditor of a
	// landlord transaction).
	Beneficiary       string
	LandlordReference string
}

// exportGroupsCTE groups a run's payment lines by (case, payee role) and
// joins the decision of the latest month. $1 municipality, $2 run id.
// Groups whose total is not positive are dropped (never paid); the
// reconciliation against all payment lines catches any such loss.
const exportGroupsCTE = `
WITH g AS (
	SELECT case_id, payee_role,
	       (sum(amount) * 100)::bigint AS cents,
	       array_agg(DISTINCT month ORDER BY month) AS months,
	       array_agg(DISTINCT law ORDER BY law) AS laws,
	       (array_agg(decision_id ORDER BY month DESC, decision_id DESC)
	         FILTER (WHERE decision_id IS NOT NULL))[1] AS decision_id
	  FROM run_lines
	 WHERE municipality = $1 AND run_id = $2 AND kind = 'payment'
	 GROUP BY case_id, payee_role
	HAVING sum(amount) > 0
), j AS (
	SELECT g.*, d.decision_id IS NOT NULL AS found,
	       coalesce(d.payee_channel, '') AS payee_channel,
	       CASE WHEN g.payee_role = 'beneficiary' AND d.payee_channel = 'cash' THEN 'cash' ELSE 'sepa' END AS channel,
	       coalesce(d.payee_name, '') AS payee_name, coalesce(d.payee_iban, '') AS payee_iban,
	       coalesce(d.payee_bic, '') AS payee_bic,
	       coalesce(d.landlord_name, '') AS landlord_name, coalesce(d.landlord_iban, '') AS landlord_iban,
	       coalesce(d.landlord_bic, '') AS landlord_bic, coalesce(d.landlord_reference, '') AS landlord_reference
	  FROM g LEFT JOIN decisions d ON d.municipality = $1 AND d.decision_id = g.decision_id
)`

// exportOrder is the one order of transactions in files, in both passes.
const exportOrder = ` ORDER BY case_id COLLATE "C", payee_role COLLATE "C"`

// ExportTotals are the first-pass aggregates of a run's export.
type ExportTotals struct {
	// Chunks are the SEPA files: transactions and sum of each, in order.
	Chunks []ChunkTotal
	// CashTxs and CashSum are the cash payouts.
	CashTxs int
	CashSum payrun.Cents
	// PaymentLines and PaymentSum are over every payment line of the run.
	PaymentLines int64
	PaymentSum   payrun.Cents
}

// ChunkTotal is the count and sum of one file's transactions.
type ChunkTotal struct {
	Txs int
	Sum payrun.Cents
}

// LoadExportTotals computes the totals of the SEPA files of a run split
// after perFile transactions, of its cash payouts and of all its payment
// lines, by SQL aggregates (nothing is loaded per transaction).
func (db *DB) LoadExportTotals(ctx context.Context, municipality string, runID int64, perFile int) (ExportTotals, error) {
	if perFile < 1 {
		return ExportTotals{}, errors.New("store: export totals: perFile must be positive")
	}
	var t ExportTotals
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, exportGroupsCTE+`, n AS (
			SELECT cents, row_number() OVER (`+exportOrder+`) AS rn FROM j WHERE channel = 'sepa')
			SELECT (rn - 1) / $3 AS chunk, count(*), sum(cents)::bigint FROM n GROUP BY 1 ORDER BY 1`,
			municipality, runID, perFile)
		if err != nil {
			return err
		}
		for rows.Next() {
			var chunk int64
			var c ChunkTotal
			if err := rows.Scan(&chunk, &c.Txs, &c.Sum); err != nil {
				return err
			}
			t.Chunks = append(t.Chunks, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, exportGroupsCTE+`
			SELECT count(*), coalesce(sum(cents), 0)::bigint FROM j WHERE channel = 'cash'`,
			municipality, runID).Scan(&t.CashTxs, &t.CashSum); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			SELECT count(*), coalesce(sum(amount) * 100, 0)::bigint FROM run_lines
			 WHERE municipality = $1 AND run_id = $2 AND kind = 'payment'`,
			municipality, runID).Scan(&t.PaymentLines, &t.PaymentSum)
	})
	if err != nil {
		return ExportTotals{}, fmt.Errorf("store: export totals of run %d: %w", runID, err)
	}
	return t, nil
}

// StreamExportGroups calls fn for every transaction of the channel in the
// export order (the order LoadExportTotals counts chunks in). It holds one
// read-only transaction open while streaming; fn may write to files (the
// run is released, its lines are frozen). A group without a decision is an
// error.
func (db *DB) StreamExportGroups(ctx context.Context, municipality string, runID int64, ch ExportChannel, fn func(*ExportGroup) error) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, exportGroupsCTE+`
			SELECT case_id, payee_role, cents, months, laws, found, payee_channel, payee_name, payee_iban, payee_bic,
			       landlord_name, landlord_iban, landlord_bic, landlord_reference
			  FROM j WHERE channel = $3`+exportOrder, municipality, runID, string(ch))
		if err != nil {
			return err
		}
		defer rows.Close()
		var g ExportGroup
		var months []time.Time
		var laws []string
		for rows.Next() {
			var found bool
			var llName, llIBAN, llBIC string
			if err := rows.Scan(&g.CaseID, &g.Role, &g.Amount, &months, &laws, &found, &g.Channel,
				&g.PayeeName, &g.PayeeIBAN, &g.PayeeBIC, &llName, &llIBAN, &llBIC, &g.LandlordReference); err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("case %s payee %s: payment lines without a decision", g.CaseID, g.Role)
			}
			g.Beneficiary = g.PayeeName
			if g.Role == payrun.PayeeLandlord {
				g.PayeeName, g.PayeeIBAN, g.PayeeBIC = llName, llIBAN, llBIC
			}
			g.Months = g.Months[:0]
			for _, m := range months {
				g.Months = append(g.Months, payrun.DateOf(m).Month())
			}
			g.Laws = g.Laws[:0]
			for _, l := range laws {
				g.Laws = append(g.Laws, payrun.Law(l))
			}
			if err := fn(&g); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("store: export of run %d: %w", runID, err)
	}
	return nil
}

// MarkRunExported records an export of run runID in one transaction: the
// first export moves the run from released to exported and stores its
// execution date; a re-export of an exported run (same files) only adds
// the exports row. Both append an audit event with the manifest's hash. A
// run in any other state gives an error wrapping payrun.ErrRunState.
func (db *DB) MarkRunExported(ctx context.Context, municipality string, runID int64, exec payrun.Date,
	manifest []byte, actorID int64, actor string) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var state payrun.RunState
		if err := tx.QueryRow(ctx, `SELECT state FROM runs WHERE municipality = $1 AND id = $2 FOR UPDATE`,
			municipality, runID).Scan(&state); err != nil {
			return err
		}
		action := "run.exported"
		switch state {
		case payrun.RunReleased:
		case payrun.RunExported:
			action = "run.reexported"
		default:
			return fmt.Errorf("run is %s: %w", state, payrun.ErrRunState)
		}
		// The exports row first: the state guard lets a run become
		// exported only when it has one.
		if _, err := tx.Exec(ctx, `INSERT INTO exports (municipality, run_id, manifest, exported_by)
			VALUES ($1, $2, $3, $4)`, municipality, runID, manifest, actorID); err != nil {
			return err
		}
		if state == payrun.RunReleased {
			if _, err := tx.Exec(ctx, `UPDATE runs SET state = 'exported', execution_date = $3
				WHERE municipality = $1 AND id = $2`, municipality, runID, exec.Time(time.UTC)); err != nil {
				return err
			}
		}
		sum := sha256.Sum256(manifest)
		details, _ := json.Marshal(map[string]any{"run": runID, "execution_date": exec.String(),
			"manifest_sha256": hex.EncodeToString(sum[:])})
		_, err := tx.Exec(ctx, `INSERT INTO audit_events (municipality, actor, action, details)
			VALUES ($1, $2, $3, $4)`, municipality, actor, action, details)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mark run %d exported: %w", runID, err)
	}
	return nil
}
