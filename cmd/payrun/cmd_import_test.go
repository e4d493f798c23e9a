package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun/store/storetest"
)

// TestImportCommand runs the real command path: fixtures load twice, a bad
// import (exit 2, message naming line and field, nothing written), then a
// good one. Not parallel: it sets PAYRUN_DATABASE_URL.
func TestImportCommand(t *testing.T) {
	t.Setenv("PAYRUN_DATABASE_URL", storetest.NewURL(t))
	ctx := context.Background()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	for i := 0; i < 2; i++ {
		if code, out, errs := run("fixtures", "load", "--cases", "60"); code != 0 {
			t.Fatalf("fixtures load #%d: exit %d\n%s%s", i+1, code, out, errs)
		}
	}
	dir := t.TempDir()
	var gen bytes.Buffer
	if code := Main(ctx, []string{"fixtures", "generate", "--cases", "5", "--seed", "9", "--municipality", "bergkamen"}, &gen, os.Stderr); code != 0 {
		t.Fatalf("fixtures generate: exit %d", code)
	}
	// Other ids than the cases fixtures load generated with seed 1.
	genText := strings.ReplaceAll(gen.String(), "BKM-", "BKMT-")
	lines := strings.Split(strings.TrimSpace(genText), "\n")
	bad := append([]string{}, lines...)
	bad[2] = strings.Replace(bad[2], `"law":"`, `"law":"x`, 1)
	badFile := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(badFile, []byte(strings.Join(bad, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run("import", badFile)
	if code != 2 || !strings.Contains(errs, "line 3: ") || !strings.Contains(errs, "law") {
		t.Fatalf("bad import: exit %d, stderr:\n%s", code, errs)
	}
	goodFile := filepath.Join(dir, "good.jsonl")
	if err := os.WriteFile(goodFile, []byte(genText), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("--json", "import", goodFile)
	if code != 0 || !strings.Contains(out, `"new":`+itoa(len(lines))) {
		t.Fatalf("good import: exit %d\n%s%s", code, out, errs)
	}
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}
