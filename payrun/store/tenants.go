package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
)

// UpsertMunicipalities inserts or updates municipalities (parents first).
func (db *DB) UpsertMunicipalities(ctx context.Context, ms []payrun.Municipality) error {
	return db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		for _, m := range ms {
			settings, err := json.Marshal(m.Settings)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `
INSERT INTO municipalities (key, name, kind, parent, debtor_name, debtor_iban, debtor_bic, settings)
VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, ''), $8)
ON CONFLICT (key) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent = excluded.parent,
    debtor_name = excluded.debtor_name, debtor_iban = excluded.debtor_iban,
    debtor_bic = excluded.debtor_bic, settings = excluded.settings`,
				m.Key, m.Name, string(m.Kind), m.Parent, m.DebtorName, m.DebtorIBAN, m.DebtorBIC, string(settings))
			if err != nil {
				return fmt.Errorf("store: municipality %s: %w", m.Key, err)
			}
		}
		return nil
	})
}

// UpsertRates inserts or updates rows of the central rate tables and the
// child supplement table.
func (db *DB) UpsertRates(ctx context.Context, rates []payrun.Rate, supplements []payrun.ChildSupplement, createdBy string) error {
	return db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		for _, r := range rates {
			if _, err := tx.Exec(ctx, `
INSERT INTO rates (rate_table, needs_level, valid_from, amount, created_by) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (rate_table, needs_level, valid_from) DO UPDATE SET amount = excluded.amount`,
				string(r.Table), r.NeedsLevel, r.ValidFrom.Time(time.UTC), Amount(r.Amount), createdBy); err != nil {
				return fmt.Errorf("store: rate %s %d %s: %w", r.Table, r.NeedsLevel, r.ValidFrom, err)
			}
		}
		for _, s := range supplements {
			if _, err := tx.Exec(ctx, `
INSERT INTO child_supplements (valid_from, amount, created_by) VALUES ($1, $2, $3)
ON CONFLICT (valid_from) DO UPDATE SET amount = excluded.amount`,
				s.ValidFrom.Time(time.UTC), Amount(s.Amount), createdBy); err != nil {
				return fmt.Errorf("store: child supplement %s: %w", s.ValidFrom, err)
			}
		}
		return nil
	})
}

// Rates returns every row of the central rate tables, by table, level and
// valid_from.
func (db *DB) Rates(ctx context.Context) ([]payrun.Rate, error) {
	var out []payrun.Rate
	err := db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT rate_table, needs_level, valid_from, amount FROM rates ORDER BY 1, 2, 3`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r    payrun.Rate
				t    string
				from time.Time
			)
			if err := rows.Scan(&t, &r.NeedsLevel, &from, (*Amount)(&r.Amount)); err != nil {
				return err
			}
			r.Table, r.ValidFrom = payrun.RateTable(t), payrun.DateOf(from)
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: rates: %w", err)
	}
	return out, nil
}

// UpsertAccounts inserts or updates accounts of municipalities' charts.
func (db *DB) UpsertAccounts(ctx context.Context, accounts []payrun.Account) error {
	return db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		for _, a := range accounts {
			if _, err := tx.Exec(ctx, `
INSERT INTO accounts (municipality, account, name, kind, example) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (municipality, account) DO UPDATE SET name = excluded.name, kind = excluded.kind, example = excluded.example`,
				a.Municipality, a.Number, a.Name, string(a.Kind), a.Example); err != nil {
				return fmt.Errorf("store: account %s/%s: %w", a.Municipality, a.Number, err)
			}
		}
		return nil
	})
}

// UpsertAccountRules inserts or updates account rules (Municipality ""
// for county-wide defaults).
func (db *DB) UpsertAccountRules(ctx context.Context, rules []payrun.AccountRule) error {
	return db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		for _, r := range rules {
			var m any
			if r.Municipality != "" {
				m = r.Municipality
			}
			tag, err := tx.Exec(ctx, `
UPDATE account_rules SET account = $6, product = $7, cost_centre = $8, budget_position = $9, example = $10
WHERE coalesce(municipality, '') = coalesce($1, '') AND law = $2 AND component = $3 AND cost_bearer = $4 AND kind = $5`,
				m, string(r.Law), string(r.Component), string(r.CostBearer), string(r.Kind),
				r.Account, r.Product, r.CostCentre, r.BudgetPosition, r.Example)
			if err == nil && tag.RowsAffected() == 0 {
				_, err = tx.Exec(ctx, `
INSERT INTO account_rules (municipality, law, component, cost_bearer, kind, account, product, cost_centre, budget_position, example)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
					m, string(r.Law), string(r.Component), string(r.CostBearer), string(r.Kind),
					r.Account, r.Product, r.CostCentre, r.BudgetPosition, r.Example)
			}
			if err != nil {
				return fmt.Errorf("store: account rule %s/%s/%s/%s/%s: %w", r.Municipality, r.Law, r.Component, r.CostBearer, r.Kind, err)
			}
		}
		return nil
	})
}

// NewToken returns a fresh random API token (prefix "prt_", 256 bits).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "prt_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// TokenHash returns the sha256 under which a token is stored.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// AddUser creates u with its roles and, when token is not empty, an API
// token (only its sha256 is stored). It returns the new user id;
// payrun.ErrConflict when the login exists in the municipality.
func (db *DB) AddUser(ctx context.Context, u payrun.User, passwordHash, token string, now time.Time) (int64, error) {
	var id int64
	err := db.WithTx(ctx, u.Municipality, func(tx pgx.Tx) error {
		var err error
		id, err = addUserTx(ctx, tx, u, passwordHash, token, now)
		if err != nil {
			return err
		}
		details, _ := json.Marshal(map[string]any{"user_id": id, "login": u.Login, "roles": u.Roles})
		return AppendAudit(ctx, tx, now, u.Municipality, "cli", "user.add", details)
	})
	if err != nil {
		return 0, fmt.Errorf("store: add user %s/%s: %w", u.Municipality, u.Login, err)
	}
	return id, nil
}

// EnsureUser creates u like AddUser unless a user with its login exists in
// its municipality; it reports whether it created one.
func (db *DB) EnsureUser(ctx context.Context, u payrun.User, passwordHash, token string, now time.Time) (bool, error) {
	created := false
	err := db.WithTx(ctx, u.Municipality, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE municipality = $1 AND login = $2)`,
			u.Municipality, u.Login).Scan(&exists); err != nil || exists {
			return err
		}
		_, err := addUserTx(ctx, tx, u, passwordHash, token, now)
		created = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: ensure user %s/%s: %w", u.Municipality, u.Login, err)
	}
	return created, nil
}

func addUserTx(ctx context.Context, tx pgx.Tx, u payrun.User, passwordHash, token string, now time.Time) (int64, error) {
	var id int64
	var ph any
	if passwordHash != "" {
		ph = passwordHash
	}
	if err := tx.QueryRow(ctx, `
INSERT INTO users (municipality, login, display_name, password_hash, system, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		u.Municipality, u.Login, u.DisplayName, ph, u.System, now).Scan(&id); err != nil {
		return 0, err
	}
	for _, g := range u.Roles {
		var limit any
		if g.Limit > 0 {
			limit = int64(g.Limit)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO user_roles (municipality, user_id, role, limit_cents) VALUES ($1, $2, $3, $4)`,
			u.Municipality, id, string(g.Role), limit); err != nil {
			return 0, fmt.Errorf("role %s: %w", g.Role, err)
		}
	}
	if token != "" {
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (municipality, user_id, token_sha256, created_at) VALUES ($1, $2, $3, $4)`,
			u.Municipality, id, TokenHash(token), now); err != nil {
			return 0, fmt.Errorf("token: %w", err)
		}
	}
	return id, nil
}

// RevokeTokens revokes every active API token of the user login in
// municipality and returns how many it revoked; payrun.ErrNotFound when
// there is no such user.
func (db *DB) RevokeTokens(ctx context.Context, municipality, login string, now time.Time) (int, error) {
	var n int
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE municipality = $1 AND login = $2`, municipality, login).Scan(&id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $3 WHERE municipality = $1 AND user_id = $2 AND revoked_at IS NULL`,
			municipality, id, now)
		n = int(tag.RowsAffected())
		if err != nil {
			return err
		}
		details, _ := json.Marshal(map[string]any{"user_id": id, "login": login, "revoked": n})
		return AppendAudit(ctx, tx, now, municipality, "cli", "user.revoke_tokens", details)
	})
	if err != nil {
		return 0, fmt.Errorf("store: revoke tokens of %s/%s: %w", municipality, login, err)
	}
	return n, nil
}

// DecisionCount is the number of decisions and cases of a municipality
// under a law.
type DecisionCount struct {
	Municipality string     `json:"municipality"`
	Law          payrun.Law `json:"law"`
	Decisions    int64      `json:"decisions"`
	Cases        int64      `json:"cases"`
}

// DecisionCounts counts decisions and cases per municipality and law, in
// the tenancy scope municipality (AllMunicipalities for all).
func (db *DB) DecisionCounts(ctx context.Context, municipality string) ([]DecisionCount, error) {
	var out []DecisionCount
	err := db.WithTx(ctx, municipality, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
SELECT municipality, law, count(*), count(DISTINCT case_id) FROM decisions GROUP BY 1, 2 ORDER BY 1, 2`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c DecisionCount
			var law string
			if err := rows.Scan(&c.Municipality, &law, &c.Decisions, &c.Cases); err != nil {
				return err
			}
			c.Law = payrun.Law(law)
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: decision counts: %w", err)
	}
	return out, nil
}
