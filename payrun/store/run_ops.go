package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrun/payrun/payrun"
)

// translateRunErr maps the SQLSTATEs raised by the run triggers (migration
// 0020) to payrun's sentinels, keeping the trigger's message.
func translateRunErr(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	var sentinel error
	switch pgErr.Code {
	case "PR001":
		sentinel = payrun.ErrSameSigner
	case "PR003":
		sentinel = payrun.ErrForbidden
	case "PR009":
		sentinel = payrun.ErrRunState
	case "PR010":
		sentinel = payrun.ErrRunChanged
	case "23505":
		if pgErr.ConstraintName == "signatures_municipality_run_id_user_id_key" {
			sentinel = payrun.ErrSameSigner
		}
	}
	if sentinel == nil {
		return err
	}
	return &translated{fmt.Errorf("%s", pgErr.Message), sentinel}
}

// TokenUser is the user an API token belongs to, with the user's roles.
type TokenUser struct {
	payrun.User
	Disabled bool
}

// UserByToken looks up the user whose API token has sha256 hash (see
// TokenHash). Tokens are unique across municipalities, so the lookup runs in
// the operator scope. It returns an error wrapping payrun.ErrUnauthorized
// for an unknown or revoked token or a disabled user.
func (db *DB) UserByToken(ctx context.Context, hash []byte) (TokenUser, error) {
	var u TokenUser
	err := db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		var revoked *time.Time
		var disabled *time.Time
		err := tx.QueryRow(ctx, `SELECT u.municipality, u.id, u.login, u.display_name, u.system, u.disabled_at, t.revoked_at
			FROM api_tokens t JOIN users u ON u.municipality = t.municipality AND u.id = t.user_id
			WHERE t.token_sha256 = $1`, hash).Scan(&u.Municipality, &u.ID, &u.Login, &u.DisplayName, &u.System, &disabled, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("unknown token: %w", payrun.ErrUnauthorized)
		} else if err != nil {
			return err
		}
		if revoked != nil {
			return fmt.Errorf("token of %s/%s was revoked: %w", u.Municipality, u.Login, payrun.ErrUnauthorized)
		}
		u.Disabled = disabled != nil
		if u.Disabled {
			return fmt.Errorf("user %s/%s is disabled: %w", u.Municipality, u.Login, payrun.ErrUnauthorized)
		}
		rows, err := tx.Query(ctx, `SELECT role, coalesce(limit_cents, 0) FROM user_roles
			WHERE municipality = $1 AND user_id = $2 ORDER BY role`, u.Municipality, u.ID)
		if err != nil {
			return err
		}
		var g payrun.RoleGrant
		_, err = pgx.ForEachRow(rows, []any{&g.Role, &g.Limit}, func() error {
			u.Roles = append(u.Roles, g)
			return nil
		})
		return err
	})
	if err != nil {
		return TokenUser{}, fmt.Errorf("store: token: %w", err)
	}
	return u, nil
}

// RunHeader is a run's row.
type RunHeader struct {
	ID            int64            `json:"id"`
	Municipality  string           `json:"municipality"`
	Kind          payrun.RunKind   `json:"kind"`
	Period        payrun.Month     `json:"period"`
	State         payrun.RunState  `json:"state"`
	Digest        string           `json:"digest"` // hex; "" while being rebuilt
	Lines         int64            `json:"lines"`
	Cases         int64            `json:"cases"`
	Total         payrun.Cents     `json:"total"`
	Overpayments  payrun.Cents     `json:"overpayments"`
	MaxPayment    payrun.Cents     `json:"max_payment"`
	Warnings      map[string]int64 `json:"warnings"`
	CreatedAt     time.Time        `json:"created_at"`
	ExecutionDate *payrun.Date     `json:"execution_date,omitempty"`
}

const runHeaderSQL = `SELECT id, municipality, kind, ` + "(extract(year FROM period)::int * 12 + extract(month FROM period)::int - 1)" + `,
	state, coalesce(encode(digest, 'hex'), ''), line_count, cases_computed, (total * 100)::bigint,
	(overpayments * 100)::bigint, (max_payment * 100)::bigint, warnings, created_at, (execution_date - DATE '1970-01-01')
	FROM runs WHERE municipality = $1 AND id = $2`

func scanRunHeader(row pgx.Row) (RunHeader, error) {
	var h RunHeader
	var exec *int32
	var period int32
	err := row.Scan(&h.ID, &h.Municipality, &h.Kind, &period, &h.State, &h.Digest, &h.Lines, &h.Cases,
		&h.Total, &h.Overpayments, &h.MaxPayment, &h.Warnings, &h.CreatedAt, &exec)
	h.Period = payrun.Month(period)
	if exec != nil {
		d := payrun.Date(*exec)
		h.ExecutionDate = &d
	}
	return h, err
}

// RunMunicipality returns the municipality of run id (run ids are unique
// across municipalities), looked up in the operator scope;
// payrun.ErrNotFound when there is no such run.
func (db *DB) RunMunicipality(ctx context.Context, id int64) (string, error) {
	var m string
	err := db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT municipality FROM runs WHERE id = $1", id).Scan(&m)
	})
	if err != nil {
		return "", fmt.Errorf("store: run %d: %w", id, err)
	}
	return m, nil
}

// RunTotal is a sum of a run's lines per law, component and kind.
type RunTotal struct {
	Law       payrun.Law       `json:"law"`
	Component payrun.Component `json:"component"`
	Kind      payrun.LineKind  `json:"kind"`
	Lines     int64            `json:"lines"`
	Amount    payrun.Cents     `json:"amount"`
}

// RunSignature is one signature of a run.
type RunSignature struct {
	Seq      int         `json:"seq"`
	Login    string      `json:"login"`
	Role     payrun.Role `json:"role"`
	Digest   string      `json:"digest"`
	SignedAt time.Time   `json:"signed_at"`
}

// RunWarning is one risk warning of a run.
type RunWarning struct {
	Kind   string           `json:"kind"`
	CaseID string           `json:"case_id"`
	Payee  payrun.PayeeRole `json:"payee"`
	IBAN   string           `json:"iban,omitempty"`
	Amount payrun.Cents     `json:"amount"`
	Detail string           `json:"detail"`
}

// RunDetails is what `run show` prints.
type RunDetails struct {
	RunHeader
	Totals     []RunTotal     `json:"totals"`
	Signatures []RunSignature `json:"signatures"`
	Warnings   []RunWarning   `json:"warning_list"`
	// NewIBANsUnlisted: the run counted first_iban warnings without
	// listing them (a municipality's first run: every IBAN is new)
	NewIBANsUnlisted bool      `json:"new_ibans_unlisted"`
	FirstLines       []RunLine `json:"first_lines"`
}

// RunDetails reads run id of municipality with its totals, signatures, up
// to maxWarnings warnings and its first maxLines lines (in digest order).
func (db *DB) RunDetails(ctx context.Context, municipality string, id int64, maxLines, maxWarnings int) (RunDetails, error) {
	var d RunDetails
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var err error
		if d.RunHeader, err = scanRunHeader(tx.QueryRow(ctx, runHeaderSQL, municipality, id)); err != nil {
			return err
		}
		if d.Totals, err = runTotals(ctx, tx, municipality, id); err != nil {
			return err
		}
		if d.Signatures, err = runSignatures(ctx, tx, municipality, id); err != nil {
			return err
		}
		if d.RunHeader.Warnings[warnFirstIBAN] > 0 {
			if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM run_warnings
				WHERE municipality = $1 AND run_id = $2 AND kind = 'first_iban')`, municipality, id).Scan(&d.NewIBANsUnlisted); err != nil {
				return err
			}
		}
		if d.Warnings, err = runWarnings(ctx, tx, municipality, id, maxWarnings); err != nil {
			return err
		}
		d.FirstLines, err = runFirstLines(ctx, tx, municipality, id, maxLines)
		return err
	})
	if err != nil {
		return RunDetails{}, fmt.Errorf("store: run %d: %w", id, err)
	}
	return d, nil
}

// RunForSigning reads run id of municipality with its signatures only: what
// a signature needs to decide which one it is (no sums over the lines).
func (db *DB) RunForSigning(ctx context.Context, municipality string, id int64) (RunDetails, error) {
	var d RunDetails
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var err error
		if d.RunHeader, err = scanRunHeader(tx.QueryRow(ctx, runHeaderSQL, municipality, id)); err != nil {
			return err
		}
		d.Signatures, err = runSignatures(ctx, tx, municipality, id)
		return err
	})
	if err != nil {
		return RunDetails{}, fmt.Errorf("store: run %d: %w", id, err)
	}
	return d, nil
}

func runTotals(ctx context.Context, tx pgx.Tx, municipality string, id int64) ([]RunTotal, error) {
	groups, err := RunLineGroups(ctx, tx, municipality, id)
	if err != nil {
		return nil, err
	}
	var out []RunTotal
	for _, g := range groups { // sorted by law, component, cost bearer, kind
		i := slices.IndexFunc(out, func(t RunTotal) bool { return t.Law == g.Law && t.Component == g.Component && t.Kind == g.Kind })
		if i < 0 {
			out = append(out, RunTotal{Law: g.Law, Component: g.Component, Kind: g.Kind})
			i = len(out) - 1
		}
		out[i].Lines += g.Lines
		out[i].Amount += g.Amount
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := &out[a], &out[b]
		if x.Law != y.Law {
			return x.Law < y.Law
		}
		if x.Component != y.Component {
			return x.Component < y.Component
		}
		return x.Kind < y.Kind
	})
	return out, nil
}

// LineGroup is Σ of a run's lines with one law, component, cost bearer and
// kind.
type LineGroup struct {
	Law        payrun.Law
	Component  payrun.Component
	CostBearer payrun.CostBearer
	Kind       payrun.LineKind
	Lines      int64
	Amount     payrun.Cents
}

// RunLineGroups sums the lines of run id per law, component, cost bearer
// and kind, sorted by them. It unpacks the run's chunks in Go: the
// run_lines view decodes them in SQL, about five times slower (2.5 s for a
// run of 170,000 cases, on every view of the run's page).
func RunLineGroups(ctx context.Context, tx pgx.Tx, municipality string, id int64) ([]LineGroup, error) {
	type key struct {
		law    payrun.Law
		comp   payrun.Component
		bearer payrun.CostBearer
		kind   payrun.LineKind
	}
	sums := map[key]*LineGroup{}
	var r packedReader
	err := r.each(ctx, tx, `SELECT lines FROM run_chunks WHERE municipality = $1 AND run_id = $2`,
		[]any{municipality, id}, func(_ string, lines []RunLine) error {
			for i := range lines {
				l := &lines[i]
				k := key{l.Law, l.Component, l.CostBearer, l.Kind}
				g := sums[k]
				if g == nil {
					g = &LineGroup{Law: l.Law, Component: l.Component, CostBearer: l.CostBearer, Kind: l.Kind}
					sums[k] = g
				}
				g.Lines++
				g.Amount += l.Amount
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("line groups of run %d: %w", id, err)
	}
	out := make([]LineGroup, 0, len(sums))
	for _, g := range sums {
		out = append(out, *g)
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := &out[a], &out[b]
		switch {
		case x.Law != y.Law:
			return x.Law < y.Law
		case x.Component != y.Component:
			return x.Component < y.Component
		case x.CostBearer != y.CostBearer:
			return x.CostBearer < y.CostBearer
		}
		return x.Kind < y.Kind
	})
	return out, nil
}

func runSignatures(ctx context.Context, tx pgx.Tx, municipality string, id int64) ([]RunSignature, error) {
	rows, err := tx.Query(ctx, `SELECT s.seq, u.login, s.role, encode(s.digest, 'hex'), s.signed_at
		FROM signatures s JOIN users u ON u.municipality = s.municipality AND u.id = s.user_id
		WHERE s.municipality = $1 AND s.run_id = $2 ORDER BY s.seq`, municipality, id)
	if err != nil {
		return nil, err
	}
	var out []RunSignature
	var s RunSignature
	_, err = pgx.ForEachRow(rows, []any{&s.Seq, &s.Login, &s.Role, &s.Digest, &s.SignedAt}, func() error {
		out = append(out, s)
		return nil
	})
	return out, err
}

func runWarnings(ctx context.Context, tx pgx.Tx, municipality string, id int64, limit int) ([]RunWarning, error) {
	rows, err := tx.Query(ctx, `SELECT kind, case_id, payee_role, coalesce(iban, ''), (amount * 100)::bigint, detail
		FROM run_warnings WHERE municipality = $1 AND run_id = $2
		ORDER BY array_position(ARRAY['above_threshold', 'amount_jump', 'shared_iban', 'first_iban'], kind), amount DESC, case_id
		LIMIT $3`, municipality, id, limit)
	if err != nil {
		return nil, err
	}
	var out []RunWarning
	var w RunWarning
	_, err = pgx.ForEachRow(rows, []any{&w.Kind, &w.CaseID, &w.Payee, &w.IBAN, &w.Amount, &w.Detail}, func() error {
		out = append(out, w)
		return nil
	})
	return out, err
}

func runFirstLines(ctx context.Context, tx pgx.Tx, municipality string, id int64, limit int) ([]RunLine, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []RunLine
	var r packedReader
	// every chunk holds at least one line: limit chunks are enough
	err := r.each(ctx, tx, runPackedSQL+` LIMIT $3`, []any{municipality, id, limit},
		func(_ string, lines []RunLine) error {
			out = append(out, lines[:min(len(lines), limit-len(out))]...)
			return nil
		})
	return out, err
}

// StreamRunLines calls fn with every line of run id in the digest order
// (case byte order, month, payee, component as payrun.Components, reclaim).
func (db *DB) StreamRunLines(ctx context.Context, municipality string, id int64, fn func(*RunLine) error) error {
	return db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var r packedReader
		return r.each(ctx, tx, runPackedSQL, []any{municipality, id}, func(_ string, lines []RunLine) error {
			for i := range lines {
				if err := fn(&lines[i]); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// SignRun inserts signature seq (1: checker, 2: approver) of user over
// digest for run id. The database checks the four-eyes rule (migration
// 0020) and advances the run's state. Refusals wrap payrun.ErrSameSigner,
// payrun.ErrForbidden, payrun.ErrRunState or payrun.ErrRunChanged.
func (db *DB) SignRun(ctx context.Context, municipality string, id int64, seq int, role payrun.Role, userID int64,
	actor string, digest []byte, now time.Time) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO signatures (municipality, run_id, seq, user_id, role, digest)
			VALUES ($1, $2, $3, $4, $5, $6)`, municipality, id, seq, userID, string(role), digest); err != nil {
			return translateRunErr(err)
		}
		details, _ := json.Marshal(map[string]any{"run": id, "seq": seq, "role": role, "digest": fmt.Sprintf("%x", digest)})
		return AppendAudit(ctx, tx, now, municipality, actor, "run.sign", details)
	})
	if err != nil {
		return fmt.Errorf("store: sign run %d: %w", id, err)
	}
	return nil
}

// CancelRun cancels run id unless it is exported (payrun.ErrRunState). A
// run that was live gives its case-months back (migration 0020 lowers the
// cases' recompute_from).
func (db *DB) CancelRun(ctx context.Context, municipality string, id int64, actor string, now time.Time) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT payrun_lock_municipality($1)", municipality); err != nil {
			return err
		}
		var state payrun.RunState
		if err := tx.QueryRow(ctx, "SELECT state FROM runs WHERE municipality = $1 AND id = $2 FOR UPDATE",
			municipality, id).Scan(&state); err != nil {
			return err
		}
		if state == payrun.RunExported || state == payrun.RunCancelled {
			return fmt.Errorf("run %d is %s: %w", id, state, payrun.ErrRunState)
		}
		if _, err := tx.Exec(ctx, "UPDATE runs SET state = 'cancelled' WHERE municipality = $1 AND id = $2",
			municipality, id); err != nil {
			return translateRunErr(err)
		}
		details, _ := json.Marshal(map[string]any{"run": id, "was": state})
		return AppendAudit(ctx, tx, now, municipality, actor, "run.cancel", details)
	})
	if err != nil {
		return fmt.Errorf("store: cancel run %d: %w", id, err)
	}
	return nil
}

// MarkExported records the export of run id with its manifest and moves
// the run from released to exported; the database refuses it for a run
// that is not released (payrun.ErrRunState).
func (db *DB) MarkExported(ctx context.Context, municipality string, id int64, userID int64, actor string,
	manifest json.RawMessage, now time.Time) error {
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var state payrun.RunState
		if err := tx.QueryRow(ctx, "SELECT state FROM runs WHERE municipality = $1 AND id = $2 FOR UPDATE",
			municipality, id).Scan(&state); err != nil {
			return err
		}
		if state != payrun.RunReleased {
			return fmt.Errorf("run %d is %s, not released: %w", id, state, payrun.ErrRunState)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO exports (municipality, run_id, manifest, exported_at, exported_by)
			VALUES ($1, $2, $3, $4, $5)`, municipality, id, string(manifest), now, userID); err != nil {
			return translateRunErr(err)
		}
		if _, err := tx.Exec(ctx, "UPDATE runs SET state = 'exported' WHERE municipality = $1 AND id = $2",
			municipality, id); err != nil {
			return translateRunErr(err)
		}
		details, _ := json.Marshal(map[string]any{"run": id})
		return AppendAudit(ctx, tx, now, municipality, actor, "run.export", details)
	})
	if err != nil {
		return fmt.Errorf("store: export run %d: %w", id, err)
	}
	return nil
}
