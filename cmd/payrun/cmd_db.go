package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
)

// openDB migrates the database of env (PAYRUN_DATABASE_URL or the embedded
// cluster) as the schema owner when one is known, connects as the
// application role and closes the connection when the command ends. Without
// an owner URL the schema must be up to date.
func openDB(ctx context.Context, env *Env) (*store.DB, error) {
	u, err := env.DatabaseURL(ctx)
	if err != nil {
		return nil, err
	}
	if err := setupSchema(ctx, env, u); err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, u, env.Log)
	if err != nil {
		return nil, err
	}
	env.OnClose(db.Close)
	pending, err := db.Pending(ctx)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		return nil, fmt.Errorf("the database schema lacks migration(s) %v: run `payrun migrate` with "+
			"PAYRUN_OWNER_DATABASE_URL set to the schema owner's URL", pending)
	}
	return db, nil
}

// setupSchema applies pending migrations as the schema owner and grants
// the application role of appURL its row privileges; nothing without an
// owner URL.
func setupSchema(ctx context.Context, env *Env, appURL string) error {
	owner, err := env.OwnerURL(ctx)
	if err != nil || owner == "" {
		return err
	}
	cfg, err := pgx.ParseConfig(appURL)
	if err != nil {
		return badInput(fmt.Errorf("database URL: %w", err))
	}
	return store.Setup(ctx, owner, cfg.User, env.Log)
}

func cmdMigrate(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("migrate")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if _, err := openDB(ctx, env); err != nil {
		return err
	}
	return env.print(map[string]string{"status": "migrated"}, "schema is up to date")
}
