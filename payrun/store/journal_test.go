package store_test

import (
	"fmt"
	"testing"

	"github.com/payrun/payrun/payrun/store"
)

// TestJournalPager: pages follow each other without gap, never split a
// case, end at the first case boundary after JournalPageLines lines and
// list each case once.
func TestJournalPager(t *testing.T) {
	t.Parallel()
	var p store.JournalPager
	var seq int64
	lines := map[string]int{}
	for c := range 3000 {
		id := fmt.Sprintf("C%05d", c)
		n := 1 + c%4 // 1 to 4 lines, several entries (debit, credit) each
		for range n {
			seq++
			lines[id]++
			p.Add(seq, id)
			p.Add(seq, id)
		}
	}
	pages := p.Pages()
	next, seen := int64(1), map[string]bool{}
	for i, pg := range pages {
		if pg.FirstLine != next {
			t.Fatalf("page %d starts at line %d, want %d", i, pg.FirstLine, next)
		}
		sum := 0
		for _, c := range pg.Cases {
			if seen[c] {
				t.Fatalf("case %s in two pages", c)
			}
			seen[c] = true
			sum += lines[c]
		}
		if sum != pg.Lines {
			t.Fatalf("page %d: %d lines, its cases have %d", i, pg.Lines, sum)
		}
		last := lines[pg.Cases[len(pg.Cases)-1]]
		if i < len(pages)-1 && (pg.Lines < store.JournalPageLines || pg.Lines-last >= store.JournalPageLines) {
			t.Fatalf("page %d has %d lines (its last case %d), want the first case boundary from %d", i, pg.Lines, last, store.JournalPageLines)
		}
		next += int64(pg.Lines)
	}
	if next != seq+1 || len(seen) != 3000 || len(pages) < 2 {
		t.Errorf("pages cover lines up to %d of %d, %d cases, %d pages", next-1, seq, len(seen), len(pages))
	}
}
