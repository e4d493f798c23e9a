package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one embedded schema migration: migrations/NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("store: migration file %q: want NNNN_name.sql", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("store: two migrations with version %d", ms[i].Version)
		}
	}
	return ms, nil
}

// SchemaHash returns a short hash over every embedded migration; test
// helpers name their template databases after it.
func SchemaHash() (string, error) {
	ms, err := Migrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d %s\n%s\n", m.Version, m.Name, m.SQL)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// concurrent migrators: the first 8 bytes of sha256("payrun migrate") would
// do as well; a fixed constant is simpler to find in pg_locks.
const migrationLockKey = 0x7061797275_6e01 // "payrun" + 1

// Conn is what Migrate needs: a *pgx.Conn, *pgxpool.Pool or *pgxpool.Conn.
type Conn interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Migrate applies every embedded migration that is not yet recorded in
// schema_migrations, each in its own transaction under an advisory lock, so
// that concurrent payrun processes migrate safely.
func Migrate(ctx context.Context, conn Conn) error {
	_, err := migrate(ctx, conn)
	return err
}

// migrate applies the pending migrations and returns how many it applied.
func migrate(ctx context.Context, conn Conn) (int, error) {
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, m := range ms {
		done, err := applyMigration(ctx, conn, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied++
		}
	}
	return applied, nil
}

// applyMigration applies m unless it is recorded already; applied says
// whether it did.
func applyMigration(ctx context.Context, conn Conn, m Migration) (applied bool, err error) {
	err = withTx(ctx, conn, AllMunicipalities, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("store: create schema_migrations: %w", err)
		}
		var done bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.Version).Scan(&done); err != nil {
			return fmt.Errorf("store: read schema_migrations: %w", err)
		}
		if done {
			return nil
		}
		applied = true
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("store: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("store: record migration %d: %w", m.Version, err)
		}
		return nil
	})
	return applied && err == nil, err
}

// Pending returns the versions of the embedded migrations that the
// database has not applied (all of them on an empty database).
func (db *DB) Pending(ctx context.Context) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var have []int32
	err = db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil || !exists {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		have, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(have))
	for _, v := range have {
		done[int(v)] = true
	}
	var pending []int
	for _, m := range ms {
		if !done[m.Version] {
			pending = append(pending, m.Version)
		}
	}
	return pending, nil
}

// ResetSchema drops every table of the database of ownerURL (the public
// schema) and recreates the empty schema, connected as the schema owner;
// Setup must follow. For the demo and scratch databases only: it destroys
// all data.
func ResetSchema(ctx context.Context, ownerURL string) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("store: reset schema: connect as owner: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public`); err != nil {
		return fmt.Errorf("store: reset schema: %w", err)
	}
	return nil
}
