package export_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
)

// TestConcurrentExportsIntoOneDirectory: an export waits while another
// holds its output directory and does not remove the other's temporary
// files as stale; two exports of one run at once both finish with complete,
// identical files (found by the bench with two worker processes).
func TestConcurrentExportsIntoOneDirectory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := mixedRun(t, b, payrun.RunReleased)
	dir := t.TempDir()

	// Another exporter (here: the test) holds the directory and has a
	// temporary file in it.
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, ".tmp-other-export.xml")
	if err := os.WriteFile(other, []byte("in progress"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := export.Run(context.Background(), b.db, run, dir, opts(b))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("export ran while another held the directory: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("the other export's temporary file was removed: %v", err)
	}
	d.Close() // releases the lock; the waiting export goes on
	if err := <-done; err != nil {
		t.Fatalf("export after the lock was released: %v", err)
	}

	// Two exports of the same run at once.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := export.Run(context.Background(), b.db, run, dir, opts(b))
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent export: %v", err)
		}
	}
	m := readManifest(t, dir)
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: content does not match the manifest's SHA-256", f.Name)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestExportWaitEndsWithContext: waiting for a held directory ends with the
// context, leaving nothing behind.
func TestExportWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run := mixedRun(t, b, payrun.RunReleased)
	dir := t.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := export.Run(ctx, b.db, run, dir, opts(b)); err == nil {
		t.Fatal("export ran while another held the directory")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
