package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Two database roles (DESIGN.md invariant 2, issue 4): the schema owner
// runs the migrations and owns every table, trigger and function; the
// application role that payrun connects with at run time only reads and
// writes rows. PostgreSQL lets only a table's owner (or a superuser)
// disable or drop its triggers, so the application role cannot switch off
// the four-eyes, frozen-lines and audit triggers, whatever SQL it sends.

// appendOnly are the tables whose rows the application role may insert but
// never change or delete (the triggers refuse it as well).
var appendOnly = []string{"audit_events", "settled", "signatures"}

// ErrUnsafeAppRole is returned by Open when the application role could
// bypass the database's guards: it is a superuser, bypasses row-level
// security, or owns payrun's tables.
var ErrUnsafeAppRole = errors.New("store: unsafe application role")

// Setup connects to ownerURL (the schema owner or a superuser), applies
// the pending migrations and grants appRole the row privileges it needs
// (GrantApp). It is what `payrun migrate` does.
func Setup(ctx context.Context, ownerURL, appRole string, log *zap.Logger) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("store: connect as schema owner: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := notOwner(ctx, conn, appRole); err != nil {
		return err
	}
	applied, err := migrate(ctx, conn)
	if err != nil {
		return err
	}
	if applied == 0 {
		ok, err := appGranted(ctx, conn, appRole)
		if err != nil || ok {
			return err
		}
	}
	if err := GrantApp(ctx, conn, appRole); err != nil {
		return err
	}
	if log != nil {
		log.Info("schema migrated, application role granted", zap.Int("migrations", applied), zap.String("app_role", appRole))
	}
	return nil
}

// appGranted reports whether appRole owns nothing and can read every table
// of the public schema, that is GrantApp has nothing to do.
func appGranted(ctx context.Context, conn *pgx.Conn, appRole string) (bool, error) {
	var bad bool
	err := conn.QueryRow(ctx, `
SELECT EXISTS (
    SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND (pg_get_userbyid(c.relowner) = $1 OR NOT has_table_privilege($1, c.oid, 'SELECT')))
OR EXISTS (SELECT 1 FROM pg_database WHERE datname = current_database() AND pg_get_userbyid(datdba) = $1)`, appRole).Scan(&bad)
	if err != nil {
		return false, fmt.Errorf("store: check grants of %s: %w", appRole, err)
	}
	return !bad, nil
}

// GrantApp makes appRole a plain application role of the schema that conn
// (the owner or a superuser) has migrated: objects appRole owns (from
// versions before the split, when the application role owned the schema)
// are handed to conn's user, and appRole gets SELECT, INSERT, UPDATE and
// DELETE on the tables (only SELECT and INSERT on the append-only ones),
// the sequences it needs for identities, and no CREATE, TRUNCATE, TRIGGER
// or REFERENCES privilege. Idempotent.
func GrantApp(ctx context.Context, conn Conn, appRole string) error {
	if appRole == "" {
		return errors.New("store: grant: no application role")
	}
	return withTx(ctx, conn, AllMunicipalities, func(tx pgx.Tx) error {
		if err := notOwner(ctx, tx, appRole); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("store: grant: lock: %w", err)
		}
		if err := takeOwnership(ctx, tx, appRole); err != nil {
			return err
		}
		for _, q := range grantStatements(pgx.Identifier{appRole}.Sanitize()) {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("store: grant: %s: %w", q, err)
			}
		}
		return nil
	})
}

// notOwner refuses to let appRole be the connection's (owner's) role.
func notOwner(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, appRole string) error {
	var owner string
	if err := q.QueryRow(ctx, "SELECT current_user").Scan(&owner); err != nil {
		return fmt.Errorf("store: setup: %w", err)
	}
	if owner == appRole {
		return fmt.Errorf("%w: the application role %q must not be the schema owner: "+
			"migrate as another role (PAYRUN_OWNER_DATABASE_URL)", ErrUnsafeAppRole, appRole)
	}
	return nil
}

// takeOwnership hands the database, the public schema and every object in
// it that appRole owns to the current user.
func takeOwnership(ctx context.Context, tx pgx.Tx, appRole string) error {
	rows, err := tx.Query(ctx, `
SELECT format('ALTER DATABASE %I OWNER TO CURRENT_USER', datname)
FROM pg_database WHERE datname = current_database() AND pg_get_userbyid(datdba) = $1
UNION ALL
SELECT format('ALTER SCHEMA public OWNER TO CURRENT_USER')
FROM pg_namespace WHERE nspname = 'public' AND pg_get_userbyid(nspowner) = $1
UNION ALL
SELECT format('ALTER %s %s OWNER TO CURRENT_USER',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
              c.oid::regclass)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND pg_get_userbyid(c.relowner) = $1
  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT format('ALTER ROUTINE %s OWNER TO CURRENT_USER', p.oid::regprocedure)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) = $1`, appRole)
	if err != nil {
		return fmt.Errorf("store: grant: list objects of %s: %w", appRole, err)
	}
	stmts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("store: grant: list objects of %s: %w", appRole, err)
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("store: grant: %s (the owner must be a superuser or a member of %s): %w", q, appRole, err)
		}
	}
	return nil
}

func grantStatements(app string) []string {
	ro := strings.Join(appendOnly, ", ")
	return []string{
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"REVOKE ALL ON SCHEMA public FROM " + app,
		"GRANT USAGE ON SCHEMA public TO " + app,
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + app,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + app,
		"REVOKE UPDATE, DELETE ON " + ro + " FROM " + app,
		"REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM " + app,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + app,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + app,
	}
}

// checkAppRole refuses an application role that could bypass the guards.
func checkAppRole(ctx context.Context, pool interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error {
	var user string
	var super, bypass, owns bool
	err := pool.QueryRow(ctx, `
SELECT r.rolname, r.rolsuper, r.rolbypassrls, EXISTS (
    SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND pg_has_role(r.oid, c.relowner, 'MEMBER'))
FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &super, &bypass, &owns)
	if err != nil {
		return fmt.Errorf("store: check application role: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("%w: %q is a superuser; connect as a plain role (PAYRUN_DATABASE_URL) "+
			"and migrate as the owner (PAYRUN_OWNER_DATABASE_URL)", ErrUnsafeAppRole, user)
	case bypass:
		return fmt.Errorf("%w: %q bypasses row-level security (BYPASSRLS)", ErrUnsafeAppRole, user)
	case owns:
		return fmt.Errorf("%w: %q owns payrun's tables and could switch off their triggers; "+
			"run `payrun migrate` with PAYRUN_OWNER_DATABASE_URL (another role) to hand them over", ErrUnsafeAppRole, user)
	}
	return nil
}
