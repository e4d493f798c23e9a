package runs

import (
	"context"
	"fmt"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// Signer is the user of an API token, as Authenticate finds it.
type Signer struct {
	store.TokenUser
}

// Has reports whether the user holds role r.
func (s Signer) Has(r payrun.Role) bool {
	for _, g := range s.Roles {
		if g.Role == r {
			return true
		}
	}
	return false
}

// Authenticate finds the user of token; payrun.ErrUnauthorized for an
// unknown or revoked token.
func Authenticate(ctx context.Context, db *store.DB, token string) (Signer, error) {
	if token == "" {
		return Signer{}, fmt.Errorf("runs: no token (set PAYRUN_TOKEN): %w", payrun.ErrUnauthorized)
	}
	u, err := db.UserByToken(ctx, store.TokenHash(token))
	if err != nil {
		return Signer{}, fmt.Errorf("runs: %w", err)
	}
	return Signer{u}, nil
}

// Signed describes a signature just made.
type Signed struct {
	Run   int64           `json:"run"`
	Seq   int             `json:"seq"`
	Role  payrun.Role     `json:"role"`
	Login string          `json:"login"`
	State payrun.RunState `json:"state"`
}

// Sign signs run runID as the user of token over seenDigest (hex; the
// digest the signer was shown). The first signature needs role checker
// (proposed → established), the second role approver and another person
// (established → released). The database enforces the same rules (migration
// 0020); this function gives the clearer error first. Refusals wrap
// payrun.ErrForbidden, payrun.ErrSameSigner, payrun.ErrRunState or
// payrun.ErrRunChanged.
func Sign(ctx context.Context, db *store.DB, token string, runID int64, seenDigest string, now time.Time) (Signed, error) {
	u, err := Authenticate(ctx, db, token)
	if err != nil {
		return Signed{}, err
	}
	return SignAs(ctx, db, u, runID, seenDigest, now)
}

// nextSignature decides which signature u would make on run d.
func nextSignature(u Signer, d *store.RunDetails) (int, payrun.Role, error) {
	if u.System || u.Has(payrun.RoleSystem) {
		return 0, "", fmt.Errorf("the system user signs nothing: %w", payrun.ErrForbidden)
	}
	switch d.State {
	case payrun.RunProposed:
		if !u.Has(payrun.RoleChecker) {
			return 0, "", fmt.Errorf("the first signature needs role checker: %w", payrun.ErrForbidden)
		}
		return 1, payrun.RoleChecker, nil
	case payrun.RunEstablished:
		for _, s := range d.Signatures {
			if s.Login == u.Login {
				return 0, "", fmt.Errorf("%s gave the first signature: %w", u.Login, payrun.ErrSameSigner)
			}
		}
		if !u.Has(payrun.RoleApprover) {
			return 0, "", fmt.Errorf("the second signature needs role approver: %w", payrun.ErrForbidden)
		}
		return 2, payrun.RoleApprover, nil
	}
	return 0, "", fmt.Errorf("run is %s: %w", d.State, payrun.ErrRunState)
}

// Cancel cancels run runID as the user of token (role checker, approver or
// admin). A run that was live gives its case-months back to the next run.
func Cancel(ctx context.Context, db *store.DB, token string, runID int64, now time.Time) error {
	u, err := Authenticate(ctx, db, token)
	if err != nil {
		return err
	}
	if u.System || !(u.Has(payrun.RoleChecker) || u.Has(payrun.RoleApprover) || u.Has(payrun.RoleAdmin)) {
		return fmt.Errorf("runs: cancel run %d: %s needs role checker, approver or admin: %w", runID, u.Login, payrun.ErrForbidden)
	}
	if err := db.CancelRun(ctx, u.Municipality, runID, u.Login, now); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	return nil
}
