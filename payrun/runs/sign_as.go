package runs

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// SignAs is Sign for a user authenticated another way than by API token
// (the web pages' login session): the same role, four-eyes and digest
// rules, and the same database triggers.
func SignAs(ctx context.Context, db *store.DB, u Signer, runID int64, seenDigest string, now time.Time) (Signed, error) {
	if u.Disabled {
		return Signed{}, fmt.Errorf("runs: user %s is disabled: %w", u.Login, payrun.ErrUnauthorized)
	}
	d, err := db.RunForSigning(ctx, u.Municipality, runID)
	if err != nil {
		return Signed{}, fmt.Errorf("runs: sign: %w", err)
	}
	seq, role, err := nextSignature(u, &d)
	if err != nil {
		return Signed{}, fmt.Errorf("runs: sign run %d as %s: %w", runID, u.Login, err)
	}
	if seenDigest != d.Digest || d.Digest == "" {
		return Signed{}, fmt.Errorf("runs: sign run %d: shown digest %q, run digest %q: %w", runID, seenDigest, d.Digest, payrun.ErrRunChanged)
	}
	digest, err := hex.DecodeString(seenDigest)
	if err != nil {
		return Signed{}, fmt.Errorf("runs: digest %q: %w", seenDigest, payrun.ErrInvalid)
	}
	if err := db.SignRun(ctx, u.Municipality, runID, seq, role, u.ID, u.Login, digest, now); err != nil {
		return Signed{}, fmt.Errorf("runs: %w", err)
	}
	state := payrun.RunEstablished
	if seq == 2 {
		state = payrun.RunReleased
	}
	return Signed{Run: runID, Seq: seq, Role: role, Login: u.Login, State: state}, nil
}
