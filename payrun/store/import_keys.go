package store

import (
	"hash/maphash"
	"slices"

	"github.com/payrun/payrun/payrun"
)

// rowKey is what the key tracker needs of one staged line: hashes of its
// decision key (municipality, decision_id) and case key (municipality,
// case_id), whether it supersedes anything or sets off a reclaim.
type rowKey struct {
	municipality string
	line         int32
	decision     uint64
	caseKey      uint64
	sup          bool
	reclaim      bool
}

// newRowKey hashes the keys of line n. Collisions of hash only cost time
// (the checks compare the real keys); tests make every key collide.
func newRowKey(hash func(maphash.Seed, string) uint64, seed maphash.Seed, n int, d *payrun.Decision) rowKey {
	m := hash(seed, d.Municipality) * 0x9e3779b97f4a7c15
	return rowKey{
		municipality: d.Municipality,
		line:         int32(n),
		decision:     m ^ hash(seed, d.DecisionID),
		caseKey:      m ^ hash(seed, d.CaseID),
		sup:          len(d.Supersedes) > 0,
		reclaim:      d.Offset != nil,
	}
}

// keyTracker finds, while the lines stream by, the few lines the
// set-based checks must look at: every line of a case with more than one
// line in the input, every line whose decision key occurs more than once
// (a repeat or a conflict), every line that supersedes another decision
// (and, for the reclaims insert, every line with an offset). The other lines are single decisions of a case that can only
// conflict with decisions already in the database. Hash collisions only
// add lines to check; the checks compare the real keys.
type keyTracker struct {
	municipalities map[string]bool
	decisions      map[uint64]int32 // decision key → its first line, -1 once listed
	cases          map[uint64]int32 // case key → its first line, -1 once listed
	check          []int32          // lines for import_check
	repeats        []int32          // lines whose decision key occurs more than once
}

func newKeyTracker() *keyTracker {
	return &keyTracker{municipalities: map[string]bool{}, decisions: map[uint64]int32{}, cases: map[uint64]int32{}}
}

// add records the keys of a line.
func (t *keyTracker) add(k rowKey) {
	if !t.municipalities[k.municipality] {
		t.municipalities[k.municipality] = true
	}
	seen(t.decisions, k.decision, k.line, &t.repeats)
	seen(t.cases, k.caseKey, k.line, &t.check)
	if k.sup || k.reclaim {
		t.check = append(t.check, k.line)
	}
}

// seen records key of line in m; the lines of a key that occurs more than
// once are appended to list.
func seen(m map[uint64]int32, key uint64, line int32, list *[]int32) {
	first, ok := m[key]
	if !ok {
		m[key] = line
		return
	}
	if first >= 0 {
		*list = append(*list, first)
		m[key] = -1
	}
	*list = append(*list, line)
}

// municipalityList returns the municipalities of the input.
func (t *keyTracker) municipalityList() []string {
	ms := make([]string, 0, len(t.municipalities))
	for m := range t.municipalities {
		ms = append(ms, m)
	}
	return ms
}

// done frees the maps and returns the lines to check and the lines of
// repeated decision keys, each sorted and without repeats.
func (t *keyTracker) done() (check, repeats []int32) {
	t.decisions, t.cases = nil, nil
	t.check = append(t.check, t.repeats...)
	slices.Sort(t.check)
	slices.Sort(t.repeats)
	return slices.Compact(t.check), slices.Compact(t.repeats)
}
