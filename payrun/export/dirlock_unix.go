//go:build unix

package export

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/payrun/payrun/payrun/flock"
)

// lockDir takes an exclusive lock on the directory dir (flock on the
// directory itself, no lock file), waiting while another export holds it,
// until ctx ends. Two exports into one directory, in one process or
// several (the scheduler's workers), would otherwise remove each other's
// temporary files as stale. unlock releases it.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("export: lock output directory: %w", err)
	}
	if err := flock.Lock(ctx, f, 50*time.Millisecond); err != nil {
		_ = f.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("export: waiting for another export into %s: %w", dir, err)
		}
		return nil, fmt.Errorf("export: lock output directory: %w", err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}
