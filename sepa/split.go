package sepa

// DefaultMaxPerFile is the default maximum number of transactions per
// pain.001 file (DK recommends splitting large orders; banks set limits).
const DefaultMaxPerFile = 100_000

// SplitCounts returns how many transactions each file gets when total
// transactions are split into files of at most maxPerFile (≤ 0: the
// default): as few files as possible, sizes differing by at most one, the
// larger ones first. It returns nil for total ≤ 0.
func SplitCounts(total, maxPerFile int) []int {
	if total <= 0 {
		return nil
	}
	if maxPerFile <= 0 {
		maxPerFile = DefaultMaxPerFile
	}
	files := (total + maxPerFile - 1) / maxPerFile
	counts := make([]int, files)
	for i := range counts {
		counts[i] = total / files
		if i < total%files {
			counts[i]++
		}
	}
	return counts
}
