package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
)

// AllMunicipalities is the tenancy scope of operator commands: every row of
// every municipality.
const AllMunicipalities = "*"

// DB is a pool of connections to payrun's database.
type DB struct {
	pool *pgxpool.Pool
	log  *zap.Logger
	imp  importTuning
}

// Open connects to url (a libpq URL or DSN) as the application role and
// checks the connection and the role: a superuser, a role that bypasses
// row-level security or one that owns (or shares the owner role of)
// payrun's tables is refused with ErrUnsafeAppRole, because it could
// switch off the database's four-eyes and tenancy guards. Open does not
// migrate; the schema owner does (Setup).
func Open(ctx context.Context, url string, log *zap.Logger) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	if err := checkAppRole(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &DB{pool: pool, log: log.Named("store"), imp: defaultImportTuning}, nil
}

// Close closes every connection.
func (db *DB) Close() { db.pool.Close() }

// Pool returns the underlying pool, for packages that run their own SQL
// (tests, the run code's COPY).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// WithTx runs fn in a transaction whose tenancy scope is municipality (a
// municipality key, or AllMunicipalities). It commits when fn returns nil and
// rolls back otherwise. Errors are translated by Translate.
func (db *DB) WithTx(ctx context.Context, municipality string, fn func(pgx.Tx) error) error {
	return withTx(ctx, db.pool, municipality, fn)
}

type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

func withTx(ctx context.Context, b beginner, municipality string, fn func(pgx.Tx) error) (err error) {
	if municipality == "" {
		return errors.New("store: transaction without a municipality scope")
	}
	tx, err := b.Begin(ctx)
	if err != nil {
		return Translate(fmt.Errorf("store: begin: %w", err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if _, err = tx.Exec(ctx, "SELECT set_config('payrun.municipality', $1, true)", municipality); err != nil {
		return Translate(fmt.Errorf("store: set tenancy: %w", err))
	}
	if err = fn(tx); err != nil {
		return Translate(err)
	}
	if err = tx.Commit(ctx); err != nil {
		return Translate(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// translated marks an error whose pgx cause was already mapped to a payrun
// sentinel, keeping the original chain.
type translated struct {
	err      error
	sentinel error
}

func (t *translated) Error() string   { return t.err.Error() }
func (t *translated) Unwrap() []error { return []error{t.err, t.sentinel} }

// Translate maps pgx errors in err's chain to payrun sentinels:
// pgx.ErrNoRows → payrun.ErrNotFound; unique, foreign-key, check and
// exclusion violations → payrun.ErrConflict. Other errors pass unchanged.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, payrun.ErrNotFound) || errors.Is(err, payrun.ErrConflict) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &translated{err, payrun.ErrNotFound}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505", "23503", "23514", "23P01": // unique, foreign key, check, exclusion
			return &translated{fmt.Errorf("%w (constraint %s)", err, pgErr.ConstraintName), payrun.ErrConflict}
		}
	}
	return err
}
