package export

import (
	"context"
	"sync/atomic"

	"github.com/payrun/payrun/payrun/store"
)

// lineBatchSize is the number of run lines handed to the consumers at a
// time.
const lineBatchSize = 512

// lineBatch is a slice of the run's lines, read by every consumer; the
// last one to release it returns it for reuse.
type lineBatch struct {
	lines []store.ExportLine
	refs  atomic.Int32
}

// fanOut hands the lines the store streams to several consumers (one
// channel each) in batches.
type fanOut struct {
	out  []chan *lineBatch
	free chan *lineBatch
	cur  *lineBatch
	ctx  context.Context
}

func newFanOut(ctx context.Context, n int) *fanOut {
	f := &fanOut{free: make(chan *lineBatch, 16), ctx: ctx}
	for range n {
		f.out = append(f.out, make(chan *lineBatch, 8))
	}
	return f
}

// add is the store's callback for one line.
func (f *fanOut) add(l *store.ExportLine) error {
	if f.cur == nil {
		select {
		case f.cur = <-f.free:
			f.cur.lines = f.cur.lines[:0]
		default:
			f.cur = &lineBatch{lines: make([]store.ExportLine, 0, lineBatchSize)}
		}
	}
	f.cur.lines = append(f.cur.lines, *l)
	if len(f.cur.lines) < lineBatchSize {
		return nil
	}
	return f.send()
}

// send hands the current batch to every consumer.
func (f *fanOut) send() error {
	b := f.cur
	f.cur = nil
	b.refs.Store(int32(len(f.out)))
	for _, ch := range f.out {
		select {
		case ch <- b:
		case <-f.ctx.Done():
			return context.Cause(f.ctx)
		}
	}
	return nil
}

// flush sends the last, partial batch.
func (f *fanOut) flush() error {
	if f.cur == nil || len(f.cur.lines) == 0 {
		return nil
	}
	return f.send()
}

// close tells the consumers that no more lines come.
func (f *fanOut) close() {
	for _, ch := range f.out {
		close(ch)
	}
}

// release is a consumer's end of a batch.
func (f *fanOut) release(b *lineBatch) {
	if b.refs.Add(-1) == 0 {
		select {
		case f.free <- b:
		default:
		}
	}
}
