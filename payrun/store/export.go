package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
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

	// Lines and Total (Σ payment lines) as stored when the run was built:
	// the export reconciles what it streams against them.
	Lines int64
	Total payrun.Cents
	// Journal is the journal stored at the first export (its rules book a
	// re-export); nil before. LegacyJournal: the run's journal rows were
	// stored in booking_lines before migration 0085 (no Journal then).
	Journal       *StoredJournal
	LegacyJournal bool
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
	// BookingsJSONL adds the journal as JSON Lines to the export's files
	// (the pull API serves the same records without it).
	BookingsJSONL bool `json:"bookings_jsonl"`
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
			       m.name, m.debtor_name, m.debtor_iban, m.debtor_bic, m.settings,
			       r.line_count, (r.total * 100)::bigint
			  FROM runs r JOIN municipalities m ON m.key = r.municipality
			 WHERE r.municipality = $1 AND r.id = $2`, municipality, runID).
			Scan(&r.ID, &r.Municipality, &r.Kind, &period, &r.State, &r.Instant, &exec,
				&released, &r.MunicipalityName, &name, &iban, &bic, &settings, &r.Lines, &r.Total)
		if err != nil {
			return err
		}
		if r.Journal, r.LegacyJournal, err = loadJournal(ctx, tx, municipality, runID); err != nil {
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

// MarkRunExported records an export of run runID in one transaction: the
// first export moves the run from released to exported, stores its
// execution date and its journal j (the rules, record count and pages the
// bookings pull API needs; a run that has a journal keeps it); a re-export
// of an exported run (same files) only adds the exports row. Both append
// an audit event with the manifest's hash. A run in any other state gives
// an error wrapping payrun.ErrRunState.
func (db *DB) MarkRunExported(ctx context.Context, municipality string, runID int64, exec payrun.Date,
	manifest []byte, actorID int64, actor string, j *Journal) error {
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
		if j != nil {
			if err := storeJournal(ctx, tx, municipality, runID, j); err != nil {
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

// ExportLine is one run line as the export reads it: the journal's line
// (Seq is its 1-based position in journal order) and the decision it was
// computed from ("" when none).
type ExportLine struct {
	booking.Line
	DecisionID string
}

// StreamExportLines calls fn for every line of run runID in journal order
// (case, payee, month, component, kind, reclaim, amount; byte order),
// which is also the order of the payment files' transactions (case,
// payee). It holds one read-only transaction open while streaming; fn may
// write files (the run is released, its lines are frozen). The *ExportLine
// is reused: fn copies what it keeps. Equal case and decision ids of
// consecutive lines share one string.
func (db *DB) StreamExportLines(ctx context.Context, municipality string, runID int64, fn func(*ExportLine) error) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		// The run's rows come in case order from an index (migration 0130).
		// They were written minutes ago: the statistics may not know them
		// yet (autovacuum analyzes later), and PostgreSQL, expecting a few
		// rows, would sort them instead. Should a sort be needed anyway,
		// it stays in memory.
		if _, err := tx.Exec(ctx, "SET LOCAL enable_sort = off; SET LOCAL work_mem = '256MB'"); err != nil {
			return err
		}
		var r packedReader
		var l ExportLine
		return r.each(ctx, tx, runPackedSQL, []any{municipality, runID}, func(_ string, lines []RunLine) error {
			sortLines(lines, journalLess)
			for i := range lines {
				rl := &lines[i]
				l.CaseID, l.Month, l.Payee, l.Component, l.Kind = rl.CaseID, rl.Month, rl.Payee, rl.Component, rl.Kind
				l.Amount, l.Law, l.CostBearer, l.ReclaimID, l.DecisionID = rl.Amount, rl.Law, rl.CostBearer, rl.ReclaimID, rl.DecisionID
				l.Seq++
				if err := fn(&l); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: lines of run %d: %w", runID, err)
	}
	return nil
}

// ExportPayee is the payee of one decision.
type ExportPayee struct {
	CaseID, DecisionID string
	Channel            payrun.Channel
	// Name, IBAN, BIC of the beneficiary's account (IBAN empty for cash).
	Name, IBAN, BIC string
	// Landlord's account and reference, when the decision has one.
	LandlordName, LandlordIBAN, LandlordBIC, LandlordReference string
}

// decodePayee decodes one row of exportPayeesSQL (all text, none NULL)
// into p: the text fields are substrings of one string per row (one
// allocation instead of nine), the channel one of its constants. buf is
// scratch space, returned for reuse.
func decodePayee(raw [][]byte, buf []byte, p *ExportPayee) ([]byte, error) {
	if len(raw) != 10 {
		return buf, fmt.Errorf("payee row: %d columns", len(raw))
	}
	buf = buf[:0]
	var ends [10]int
	for i, v := range raw {
		if v == nil {
			return buf, fmt.Errorf("payee row: column %d is NULL", i+1)
		}
		if i != 2 {
			buf = append(buf, v...)
		}
		ends[i] = len(buf)
	}
	row := string(buf)
	field := func(i int) string {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return row[start:ends[i]]
	}
	p.CaseID, p.DecisionID, p.Channel = field(0), field(1), payrun.Channel(known(raw[2], rawChannels))
	p.Name, p.IBAN, p.BIC = field(3), field(4), field(5)
	p.LandlordName, p.LandlordIBAN, p.LandlordBIC, p.LandlordReference = field(6), field(7), field(8), field(9)
	return buf, nil
}

// exportPayeesSQL selects the payees of municipality $1's decisions in
// case order from the index on (municipality, case_id) (migration 0130),
// the decisions of a case sorted by id.
const exportPayeesSQL = `
			SELECT case_id, decision_id, payee_channel, payee_name, coalesce(payee_iban, ''), coalesce(payee_bic, ''),
			       coalesce(landlord_name, ''), coalesce(landlord_iban, ''), coalesce(landlord_bic, ''),
			       coalesce(landlord_reference, '')
			  FROM decisions WHERE municipality = $1
			 ORDER BY case_id COLLATE "C", decision_id COLLATE "C"`

// StreamExportPayees calls fn for the payee of every decision of
// municipality in case order (byte order; decisions of a case in decision
// id order): the export merges them with its lines. The *ExportPayee is
// fn's to keep.
func (db *DB) StreamExportPayees(ctx context.Context, municipality string, fn func(*ExportPayee) error) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '128MB'"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, exportPayeesSQL, municipality)
		if err != nil {
			return err
		}
		defer rows.Close()
		var buf []byte
		for rows.Next() {
			p := new(ExportPayee)
			var err error
			if buf, err = decodePayee(rows.RawValues(), buf, p); err != nil {
				return err
			}
			if err := fn(p); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("store: payees of %s: %w", municipality, err)
	}
	return nil
}
