package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun/store/storetest"
)

// TestReportFlueAGCommand runs `payrun report fluag` through Main after
// `fixtures load`: CSV header and one row per month, --json with the same
// numbers, and usage errors exit 2. Not parallel: it sets
// PAYRUN_DATABASE_URL.
func TestReportFlueAGCommand(t *testing.T) {
	t.Setenv("PAYRUN_DATABASE_URL", storetest.NewURL(t))
	ctx := context.Background()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, args, &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, out, errs := run("fixtures", "load", "--cases", "120"); code != 0 {
		t.Fatalf("fixtures load: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := run("report", "fluag", "--municipality", "luenen", "--from", "2026-10", "--to", "2026-12")
	if code != 0 {
		t.Fatalf("report fluag: exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || lines[0] != "municipality;month;asylblg_3;asylblg_2;asylblg_1a;total" ||
		!strings.HasPrefix(lines[1], "luenen;2026-10;") || !strings.HasPrefix(lines[3], "luenen;2026-12;") {
		t.Fatalf("csv:\n%s", out)
	}
	code, jout, errs := run("--json", "report", "fluag", "--municipality", "luenen", "--from", "2026-12", "--to", "2026-12")
	if code != 0 {
		t.Fatalf("report fluag --json: exit %d\n%s%s", code, jout, errs)
	}
	var rows []struct {
		Month     string `json:"month"`
		AsylbLG3  int    `json:"asylblg_3"`
		AsylbLG2  int    `json:"asylblg_2"`
		AsylbLG1a int    `json:"asylblg_1a"`
		Total     int    `json:"total"`
	}
	if err := json.Unmarshal([]byte(jout), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("json %q: %v", jout, err)
	}
	r := rows[0]
	if r.Total == 0 || r.Total != r.AsylbLG3+r.AsylbLG2+r.AsylbLG1a ||
		lines[3] != "luenen;2026-12;"+itoa(r.AsylbLG3)+";"+itoa(r.AsylbLG2)+";"+itoa(r.AsylbLG1a)+";"+itoa(r.Total) {
		t.Fatalf("json %+v, csv %q", r, lines[3])
	}
	for _, args := range [][]string{
		{"report", "fluag", "--municipality", "luenen", "--from", "2026-12", "--to", "2026-10"},
		{"report", "fluag", "--municipality", "luenen", "--from", "2026-13", "--to", "2026-12"},
		{"report", "46a", "--municipality", "luenen"},
		{"report", "46a", "--municipality", "luenen", "--year", "26x"},
	} {
		if code, _, errs := run(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errs)
		}
	}
	code, out, errs = run("report", "46a", "--municipality", "luenen", "--year", "2026")
	if code != 0 || out != "municipality;year;quarter;call_off_from;call_off_to;expenses;overpayments;offset_revenue;net\n" {
		t.Fatalf("report 46a without exported runs: exit %d\n%q%s", code, out, errs)
	}
}
