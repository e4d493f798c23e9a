package store

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/payrun/payrun/payrun"
)

// rowKey is what the key tracker needs of one staged line: a hash of its
// decision key (municipality, decision_id), its case key (municipality,
// case_id, with a hash) and valid_from, whether it supersedes anything;
// and the reclaim it sets off.
type rowKey struct {
	municipality string
	line         int32
	decision     uint64
	caseKey      uint64
	caseID       string
	validFrom    payrun.Date
	sup          bool
	reclaim      *reclaimRow
}

// reclaimRow is the reclaim a line sets off (the reclaims insert takes the
// first line of each reclaim).
type reclaimRow struct {
	reclaimID, caseID string
	remaining         payrun.Cents
}

// newRowKey hashes the keys of line n. Collisions of hash only cost time
// (the case table and the checks compare the real keys); tests make every
// key collide.
func newRowKey(hash func(maphash.Seed, string) uint64, seed maphash.Seed, n int, d *payrun.Decision) rowKey {
	m := hash(seed, d.Municipality) * 0x9e3779b97f4a7c15
	k := rowKey{
		municipality: d.Municipality,
		line:         int32(n),
		decision:     m ^ hash(seed, d.DecisionID),
		caseKey:      m ^ hash(seed, d.CaseID),
		caseID:       d.CaseID,
		validFrom:    d.ValidFrom,
		sup:          len(d.Supersedes) > 0,
	}
	if o := d.Offset; o != nil {
		k.reclaim = &reclaimRow{reclaimID: o.ReclaimID, caseID: d.CaseID, remaining: o.Remaining}
	}
	return k
}

// keyTracker finds, while the lines stream by, the few lines the
// set-based checks must look at: every line of a case with more than one
// line in the input, every line whose decision key occurs more than once
// (a repeat or a conflict), every line that supersedes another decision.
// The other lines are single decisions of a case that can only conflict
// with decisions already in the database. Decision keys are tracked by
// hash: a collision only adds lines to check (the checks compare the real
// keys). Cases are tracked exactly (cases), for the cases insert.
type keyTracker struct {
	municipalities map[string]bool
	decisions      map[uint64]int32 // decision key → its first line, -1 once listed
	cases          caseTable
	check          []int32 // lines for import_check
	repeats        []int32 // lines whose decision key occurs more than once
}

func newKeyTracker() *keyTracker {
	return &keyTracker{municipalities: map[string]bool{}, decisions: map[uint64]int32{},
		cases: caseTable{index: map[uint64]int32{}}}
}

// add records the keys of a line (lines are added in line order). It
// reports whether the line's decision key (or a key with the same hash)
// occurred on an earlier line.
func (t *keyTracker) add(k rowKey) (repeat bool) {
	if !t.municipalities[k.municipality] {
		t.municipalities[k.municipality] = true
	}
	repeat = seen(t.decisions, k.decision, k.line, &t.repeats)
	t.cases.add(k, &t.check)
	if k.sup {
		t.check = append(t.check, k.line)
	}
	return repeat
}

// seen records key of line in m; the lines of a key that occurs more than
// once are appended to list. It reports whether key occurred before.
func seen(m map[uint64]int32, key uint64, line int32, list *[]int32) bool {
	first, ok := m[key]
	if !ok {
		m[key] = line
		return false
	}
	if first >= 0 {
		*list = append(*list, first)
		m[key] = -1
	}
	*list = append(*list, line)
	return true
}

// municipalityList returns the municipalities of the input.
func (t *keyTracker) municipalityList() []string {
	ms := make([]string, 0, len(t.municipalities))
	for m := range t.municipalities {
		ms = append(ms, m)
	}
	return ms
}

// done frees the decision keys and returns the lines to check and the
// lines of repeated decision keys, each sorted and without repeats.
func (t *keyTracker) done() (check, repeats []int32) {
	t.decisions = nil
	t.cases.index = nil
	t.check = append(t.check, t.repeats...)
	slices.Sort(t.check)
	slices.Sort(t.repeats)
	return slices.Compact(t.check), slices.Compact(t.repeats)
}

// caseTable holds every case of the input once, with the first month of its
// earliest line: the new cases' rows. Case ids are kept in one byte arena.
type caseTable struct {
	index          map[uint64]int32 // case key hash → first entry with it
	entries        []caseEntry
	names          []byte   // case ids, concatenated
	municipalities []string // of the entries (mun)
}

type caseEntry struct {
	off   uint32      // of the case id in names
	n     uint8       // its length (ids have at most 35 bytes)
	mun   uint16      // index in municipalities
	multi bool        // the case has more than one line
	first int32       // its first line
	from  payrun.Date // its earliest valid_from
	next  int32       // the next entry with the same hash, -1: none
}

func (c *caseTable) name(e *caseEntry) []byte { return c.names[e.off : e.off+uint32(e.n)] }

func (c *caseTable) municipality(m string) uint16 {
	for i, s := range c.municipalities {
		if s == m {
			return uint16(i)
		}
	}
	c.municipalities = append(c.municipalities, m)
	return uint16(len(c.municipalities) - 1)
}

// add records the line of k; the lines of a case with more than one line
// are appended to check.
func (c *caseTable) add(k rowKey, check *[]int32) {
	mun := c.municipality(k.municipality)
	i, ok := c.index[k.caseKey]
	for ok && i >= 0 {
		e := &c.entries[i]
		if e.mun == mun && string(c.name(e)) == k.caseID {
			if !e.multi {
				e.multi = true
				*check = append(*check, e.first)
			}
			*check = append(*check, k.line)
			e.from = min(e.from, k.validFrom)
			return
		}
		i = e.next
	}
	next := int32(-1)
	if ok {
		next = c.index[k.caseKey]
	}
	c.index[k.caseKey] = int32(len(c.entries))
	c.entries = append(c.entries, caseEntry{off: uint32(len(c.names)), n: uint8(len(k.caseID)), mun: mun,
		first: k.line, from: k.validFrom, next: next})
	c.names = append(c.names, k.caseID...)
}

// sorted returns the entries' indexes in the order of the cases' primary
// key (municipality, case_id), so that their insert appends to the index.
func (c *caseTable) sorted() []int32 {
	order := make([]int32, len(c.entries))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ea, eb := &c.entries[a], &c.entries[b]
		if ea.mun != eb.mun {
			return strings.Compare(c.municipalities[ea.mun], c.municipalities[eb.mun])
		}
		return bytes.Compare(c.name(ea), c.name(eb))
	})
	return order
}

// reclaimList collects the reclaims of the lines with an offset as columns
// (elements of binary arrays, see insertReclaims).
type reclaimList struct {
	municipality, reclaimID, caseID, remaining, line copyTuple
	n                                                int
}

func (l *reclaimList) add(k rowKey) {
	l.municipality.text(k.municipality)
	l.reclaimID.text(k.reclaim.reclaimID)
	l.caseID.text(k.reclaim.caseID)
	l.remaining.numeric(k.reclaim.remaining)
	l.line.int4(k.line)
	l.n++
}
