//go:build unix

package flock_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrun/payrun/payrun/flock"
)

// TestLockExcludesAndWaits: a second lock on the same file waits until the
// first is released, and gives up when its context ends.
func TestLockExcludesAndWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := open(), open()
	defer b.Close()
	if err := flock.Lock(context.Background(), a, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := flock.Lock(ctx, b, time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while the first is held: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- flock.Lock(context.Background(), b, time.Millisecond) }()
	select {
	case err := <-got:
		t.Fatalf("second lock did not wait: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	a.Close()
	if err := <-got; err != nil {
		t.Fatalf("second lock after release: %v", err)
	}
}
