package main

import (
	"context"

	"github.com/payrun/payrun/payrun/store"
)

// openDB connects to the database of env (PAYRUN_DATABASE_URL or the
// embedded cluster), migrates it and closes it when the command ends.
func openDB(ctx context.Context, env *Env) (*store.DB, error) {
	u, err := env.DatabaseURL(ctx)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, u, env.Log)
	if err != nil {
		return nil, err
	}
	env.OnClose(db.Close)
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
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
