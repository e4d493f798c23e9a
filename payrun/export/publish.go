package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// tmpPrefix starts the name of every file that is not complete yet.
const tmpPrefix = ".tmp-"

// publisher writes files into one directory under temporary names and
// publishes them (rename, then directory fsync) only when all are complete.
// Abort removes whatever it created.
type publisher struct {
	mu      sync.Mutex // create runs in several goroutines
	dir     string
	pending []*pubFile // written and synced, not yet renamed
	renamed []string   // final paths renamed by this publisher
	unlock  func()     // releases the directory lock
}

// pubFile is one file being written: bytes go through a buffer into the
// temp file and a SHA-256 hash.
type pubFile struct {
	name  string // final name
	tmp   string // temp path
	f     *os.File
	buf   *bufio.Writer
	hash  hash.Hash
	sum   string
	bytes int64
}

// newPublisher creates dir if needed, locks it against other exports
// (lockDir; release with close) and removes stale temp files of earlier,
// interrupted exports.
func newPublisher(ctx context.Context, dir string) (*publisher, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: output directory: %w", err)
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	p := &publisher{dir: dir, unlock: unlock}
	if err := p.removeStale(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// close releases the directory lock.
func (p *publisher) close() { p.unlock() }

// removeStale removes the temp files of earlier, interrupted exports.
func (p *publisher) removeStale() error {
	stale, err := filepath.Glob(filepath.Join(p.dir, tmpPrefix+"*"))
	if err != nil {
		return fmt.Errorf("export: output directory: %w", err)
	}
	for _, name := range stale {
		if err := os.Remove(name); err != nil {
			return fmt.Errorf("export: remove stale temp file: %w", err)
		}
	}
	return nil
}

// create starts the file name (a plain file name, no directories).
func (p *publisher) create(name string) (*pubFile, error) { return p.createFile(name, true) }

// createHashed starts a file whose writer hashes every byte it writes (the
// booking writers do, for their control record): the file is not hashed a
// second time; finishHashed takes the writer's hash.
func (p *publisher) createHashed(name string) (*pubFile, error) { return p.createFile(name, false) }

func (p *publisher) createFile(name string, hashed bool) (*pubFile, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, tmpPrefix) {
		return nil, fmt.Errorf("export: bad file name %q", name)
	}
	tmp := filepath.Join(p.dir, tmpPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("export: create %s: %w", name, err)
	}
	pf := &pubFile{name: name, tmp: tmp, f: f}
	out := io.Writer(&writeback{f: f})
	if hashed {
		pf.hash = sha256.New()
		out = io.MultiWriter(out, pf.hash)
	}
	pf.buf = bufio.NewWriterSize(out, 256<<10)
	p.mu.Lock()
	p.pending = append(p.pending, pf)
	p.mu.Unlock()
	return pf, nil
}

// Write implements io.Writer.
func (f *pubFile) Write(b []byte) (int, error) {
	n, err := f.buf.Write(b)
	f.bytes += int64(n)
	return n, err
}

// finish flushes, fsyncs and closes the temp file and records its hash.
func (f *pubFile) finish() error {
	if f.f == nil {
		return nil
	}
	err := f.buf.Flush()
	if err == nil {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	f.f = nil
	if err != nil {
		return fmt.Errorf("export: write %s: %w", f.name, err)
	}
	if f.hash != nil {
		f.sum = hex.EncodeToString(f.hash.Sum(nil))
	}
	return nil
}

// finishHashed finishes a file of createHashed with the sha256 (hex) and
// size its writer reports; a size other than what reached the file is an
// error.
func (f *pubFile) finishHashed(sum string, size int64) error {
	if size != f.bytes {
		return fmt.Errorf("export: write %s: the writer reports %d bytes, %d were written", f.name, size, f.bytes)
	}
	if err := f.finish(); err != nil {
		return err
	}
	f.sum = sum
	return nil
}

// tmpPath is where the file's content is until publish.
func (f *pubFile) tmpPath() string { return f.tmp }

// publish finishes every pending file and renames them to their final
// names in the order created, then fsyncs the directory.
func (p *publisher) publish() error {
	for _, f := range p.pending {
		if err := f.finish(); err != nil {
			return err
		}
	}
	for _, f := range p.pending {
		final := filepath.Join(p.dir, f.name)
		if err := os.Rename(f.tmp, final); err != nil {
			return fmt.Errorf("export: publish %s: %w", f.name, err)
		}
		p.renamed = append(p.renamed, final)
	}
	p.pending = nil
	return syncDir(p.dir)
}

// abort closes and removes every temp file and every file this publisher
// already renamed. It returns the first error.
func (p *publisher) abort() error {
	var errs []error
	for _, f := range p.pending {
		if f.f != nil {
			_ = f.f.Close()
			f.f = nil
		}
		if err := os.Remove(f.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for _, path := range p.renamed {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	p.pending, p.renamed = nil, nil
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return syncDir(p.dir)
}

// syncDir fsyncs a directory so that renames in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("export: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: sync directory: %w", err)
	}
	return nil
}

// writebackEvery is how much a file grows before its writeback to disk is
// started (without waiting), so that the fsync before publishing has
// little left to do.
const writebackEvery = 8 << 20

// writeback writes to f and starts the writeback of every writebackEvery
// bytes written.
type writeback struct {
	f          *os.File
	off, start int64 // bytes written; start of the range not yet handed to writeback
}

func (w *writeback) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	w.off += int64(n)
	if w.off-w.start >= writebackEvery {
		startWriteback(w.f, w.start, w.off-w.start)
		w.start = w.off
	}
	return n, err
}
