package pgserver

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/payrun/payrun/payrun/flock"
)

// lockFile takes an exclusive flock on path, waiting until ctx is done.
// Each call opens the file anew, so goroutines of one process exclude each
// other as well as processes do.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgserver: lock: %w", err)
	}
	if err := flock.Lock(ctx, f, 20*time.Millisecond); err != nil {
		_ = f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pgserver: waiting for lock %s: %w", path, err)
		}
		return nil, fmt.Errorf("pgserver: lock %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}
