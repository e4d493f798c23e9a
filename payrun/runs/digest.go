package runs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// AppendCanonicalLine appends the canonical encoding of l to b: its fields
// separated by tabs and ended by a newline —
// case_id, month (YYYY-MM), payee, component, kind, amount ("-12.34"), law,
// cost_bearer, decision_id, reclaim_id.
func AppendCanonicalLine(b []byte, l *store.RunLine) []byte {
	b = append(b, l.CaseID...)
	b = append(b, '\t')
	b = l.Month.Append(b)
	for _, s := range []string{string(l.Payee), string(l.Component), string(l.Kind)} {
		b = append(b, '\t')
		b = append(b, s...)
	}
	b = append(b, '\t')
	b = l.Amount.Append(b)
	for _, s := range []string{string(l.Law), string(l.CostBearer), l.DecisionID, l.ReclaimID} {
		b = append(b, '\t')
		b = append(b, s...)
	}
	return append(b, '\n')
}

// VerifyDigest recomputes the digest of run id from its stored lines and
// reports whether it equals the run's digest.
func VerifyDigest(ctx context.Context, db *store.DB, municipality string, id int64) (bool, error) {
	d, err := db.RunDetails(ctx, municipality, id, 0, 0)
	if err != nil {
		return false, err
	}
	h := sha256.New()
	var buf []byte
	if err := db.StreamRunLines(ctx, municipality, id, func(l *store.RunLine) error {
		buf = AppendCanonicalLine(buf[:0], l)
		h.Write(buf)
		return nil
	}); err != nil {
		return false, fmt.Errorf("runs: verify digest of run %d: %w", id, err)
	}
	want, err := hex.DecodeString(d.Digest)
	if err != nil {
		return false, fmt.Errorf("runs: run %d: digest %q: %w", id, d.Digest, payrun.ErrInvalid)
	}
	return bytes.Equal(h.Sum(nil), want), nil
}
