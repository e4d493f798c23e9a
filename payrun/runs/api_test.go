package runs_test

import (
	"context"
	"time"

	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

func runsCreate(db *store.DB, m string) (store.RunSummary, error) {
	return runs.Create(context.Background(), db, m, period, runs.Options{})
}

func runsSign(db *store.DB, tok string, id int64, digest string) (runs.Signed, error) {
	return runs.Sign(context.Background(), db, tok, id, digest, time.Now())
}
