package main

import (
	"context"
	"errors"
	"fmt"
)

// errAuditBroken makes `audit verify` exit 1 after printing its report.
var errAuditBroken = errors.New("audit trail: hash chain broken")

// cmdAuditVerify is `payrun audit verify`: it recomputes the audit trail's
// hash chain and reports the first broken link (exit 1).
func cmdAuditVerify(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("audit verify")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	c, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("audit trail intact: %d events", c.Events)
	if !c.OK() {
		text = fmt.Sprintf("audit trail BROKEN at event %d (of %d): %s", c.BrokenSeq, c.Events, c.Reason)
	}
	if err := env.print(map[string]any{"ok": c.OK(), "events": c.Events, "broken_seq": c.BrokenSeq, "reason": c.Reason}, text); err != nil {
		return err
	}
	if !c.OK() {
		return errAuditBroken
	}
	return nil
}
