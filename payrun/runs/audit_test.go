package runs_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// payrunCmd runs the real binary with args and PAYRUN_TOKEN=tok and returns
// its exit code and output.
func (b *bundle) payrunCmd(t *testing.T, tok string, args ...string) (int, string) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("build payrun: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PAYRUN_DATABASE_URL="+b.url, "PAYRUN_TOKEN="+tok)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	must(t, err)
	return 0, string(out)
}

func TestCommandsFourEyesAndAudit(t *testing.T) {
	t.Parallel()
	b := setup(t, 15, "boenen")
	_, id := b.runCreate(t, "boenen", 0)
	run := strconv.FormatInt(id, 10)
	if code, out := b.payrunCmd(t, token("boenen", "system"), "run", "sign", run); code != 3 {
		t.Fatalf("system user signs: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, token("boenen", "pruefer"), "run", "sign", run); code != 0 {
		t.Fatalf("checker signs: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, token("boenen", "pruefer"), "run", "sign", run); code != 3 {
		t.Fatalf("checker signs again: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, "no-such-token", "run", "sign", run); code != 3 {
		t.Fatalf("unknown token: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, token("boenen", "chef"), "run", "sign", run, "--digest", strings.Repeat("ab", 32)); code != 3 {
		t.Fatalf("approver signs over a digest that is not the run's: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, token("boenen", "chef"), "run", "sign", run); code != 0 {
		t.Fatalf("approver signs: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, "", "run", "show", run); code != 0 || !strings.Contains(out, "released") {
		t.Fatalf("run show: exit %d: %s", code, out)
	}
	if code, out := b.payrunCmd(t, "", "audit", "verify"); code != 0 {
		t.Fatalf("audit verify after the actions: exit %d: %s", code, out)
	}
	// tamper with one event as the superuser (the app role cannot: the
	// trigger refuses updates)
	if code := b.sqlAs(t, "boenen", `UPDATE audit_events SET actor = 'mallory' WHERE action = 'run.sign'`); code == "" {
		t.Fatal("the application role rewrote the audit trail")
	}
	admin := b.adminConn(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `UPDATE audit_events SET actor = 'mallory' WHERE seq = (SELECT min(seq) FROM audit_events WHERE action = 'run.sign')`); err != nil {
		t.Fatal(err)
	}
	code, out := b.payrunCmd(t, "", "audit", "verify")
	if code != 1 || !strings.Contains(out, "BROKEN") {
		t.Fatalf("audit verify after tampering: exit %d: %s", code, out)
	}
}
