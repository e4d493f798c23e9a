//go:build unix

// Package flock takes exclusive flock(2) locks that wait until a context
// ends: payrun's embedded database serialises its cluster setup with one,
// the export its output directory with another.
package flock

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// Lock takes an exclusive lock on the open file or directory f, retrying
// every poll while another holder has it, until ctx ends. Closing f
// releases the lock. Each open file description locks on its own, so two
// goroutines of one process exclude each other as two processes do.
func Lock(ctx context.Context, f *os.File, poll time.Duration) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
