package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSepaCheckCommand(t *testing.T) {
	t.Parallel()
	good, err := os.ReadFile(filepath.Join("..", "..", "sepa", "testdata", "normal.golden.xml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	goodPath := filepath.Join(dir, "good.xml")
	badPath := filepath.Join(dir, "bad.xml")
	bad := strings.Replace(string(good), "<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>SHAR</ChrgBr>", 1)
	if err := os.WriteFile(goodPath, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badPath, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, out, errOut := run("sepa", "check", goodPath); code != exitOK || !strings.Contains(out, ": ok") {
		t.Errorf("good file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ := run("sepa", "check", badPath)
	if code != exitInput || !strings.Contains(out, "PmtInf[1]/ChrgBr: chrgbr") {
		t.Errorf("bad file: exit %d, stdout %q", code, out)
	}
	code, out, _ = run("--json", "sepa", "check", badPath)
	var rep struct {
		OK       bool
		Problems []struct{ Path, Rule string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitInput || rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Rule != "chrgbr" {
		t.Errorf("--json: exit %d, %v, %+v, %s", code, err, rep, out)
	}
	if code, _, _ := run("sepa", "check"); code != exitInput {
		t.Errorf("no file: exit %d", code)
	}
	if code, _, _ := run("sepa", "check", filepath.Join(dir, "missing.xml")); code != exitFailure {
		t.Errorf("missing file: exit %d", code)
	}
}
