package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditCheck is the result of VerifyAudit.
type AuditCheck struct {
	Events int64 `json:"events"`
	// BrokenSeq is the seq of the first event whose link is broken (0: the
	// chain is intact); Reason says what is wrong there.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// OK reports whether the chain is intact.
func (c AuditCheck) OK() bool { return c.BrokenSeq == 0 && c.Reason == "" }

// auditRecord is the canonical record of migration 0021, recomputed in Go.
func auditRecord(seq int64, at time.Time, municipality, actor, action, details string) []byte {
	var b bytes.Buffer
	b.WriteString(strconv.FormatInt(seq, 10))
	b.WriteByte('\n')
	b.WriteString(at.UTC().Format("2006-01-02T15:04:05.000000Z"))
	for _, s := range []string{municipality, actor, action, details} {
		b.WriteByte('\n')
		b.WriteString(s)
	}
	return b.Bytes()
}

// VerifyAudit walks the whole audit trail (operator scope) in seq order and
// recomputes every hash: hash = sha256(prev_hash || canonical record), each
// prev_hash equal to the previous event's hash, seqs without gaps, and the
// chain head at the last event. It reports the first broken link.
func (db *DB) VerifyAudit(ctx context.Context) (AuditCheck, error) {
	var c AuditCheck
	err := db.WithTx(ctx, AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT coalesce(seq, 0), at, coalesce(municipality, ''), actor, action, details::text,
			coalesce(prev_hash, ''::bytea), coalesce(hash, ''::bytea) FROM audit_events ORDER BY seq NULLS FIRST, id`)
		if err != nil {
			return err
		}
		prev := make([]byte, 32)
		var (
			seq                         int64
			at                          time.Time
			mun, actor, action, details string
			prevHash, hash              []byte
		)
		_, err = pgx.ForEachRow(rows, []any{&seq, &at, &mun, &actor, &action, &details, &prevHash, &hash}, func() error {
			c.Events++
			if c.Reason != "" {
				return nil
			}
			want := sha256.Sum256(append(append([]byte{}, prev...), auditRecord(seq, at, mun, actor, action, details)...))
			switch {
			case seq != c.Events:
				c.Reason = fmt.Sprintf("event %d found where seq %d was expected", seq, c.Events)
			case !bytes.Equal(prevHash, prev):
				c.Reason = "prev_hash is not the previous event's hash"
			case !bytes.Equal(hash, want[:]):
				c.Reason = "hash does not match the event's content"
			}
			if c.Reason != "" {
				c.BrokenSeq = c.Events
			}
			prev = hash
			return nil
		})
		if err != nil || c.Reason != "" {
			return err
		}
		var headSeq int64
		var headHash []byte
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_chain_head").Scan(&headSeq, &headHash); err != nil {
			return err
		}
		if headSeq != c.Events || !bytes.Equal(headHash, prev) {
			c.BrokenSeq, c.Reason = c.Events+1, fmt.Sprintf("the chain head is at seq %d: events after %d are missing", headSeq, c.Events)
		}
		return nil
	})
	if err != nil {
		return AuditCheck{}, fmt.Errorf("store: verify audit: %w", err)
	}
	return c, nil
}
