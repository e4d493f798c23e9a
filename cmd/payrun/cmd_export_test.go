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

// TestRunExportBookingsJSON: `payrun run export` writes the bookings CSV
// and, only with --bookings-json, the JSON Lines file too. Not parallel:
// it sets environment variables.
func TestRunExportBookingsJSON(t *testing.T) {
	t.Setenv("PAYRUN_DATABASE_URL", storetest.NewURL(t))
	ctx := context.Background()
	run := func(token string, args ...string) (int, string) {
		t.Setenv("PAYRUN_TOKEN", token)
		var out, errb bytes.Buffer
		code := Main(ctx, args, &out, &errb)
		if code != 0 {
			return code, out.String() + errb.String()
		}
		return code, out.String()
	}
	if code, out := run("", "fixtures", "load", "--cases", "60"); code != 0 {
		t.Fatalf("fixtures load: exit %d\n%s", code, out)
	}
	code, out := run("", "run", "create", "--municipality", "luenen", "--period", "2026-12")
	if code != 0 {
		t.Fatalf("run create: exit %d\n%s", code, out)
	}
	id := strings.TrimSpace(out)
	// the municipality's first run counts its new IBANs without listing them
	if code, out := run("demo-luenen-kasse", "run", "show", id); code != 0 ||
		!strings.Contains(out, "first_iban      the municipality's first run: every IBAN is new, counted but not listed one by one") {
		t.Errorf("run show: exit %d\n%s", code, out)
	}
	for _, who := range []string{"pruefer", "leitung"} {
		if code, out := run("demo-luenen-"+who, "run", "sign", id); code != 0 {
			t.Fatalf("sign as %s: exit %d\n%s", who, code, out)
		}
	}
	for _, tc := range []struct {
		flags []string
		json  bool
	}{{nil, false}, {[]string{"--bookings-json"}, true}} {
		dir := t.TempDir()
		args := append([]string{"run", "export", id, "--out", dir}, tc.flags...)
		if code, out := run("demo-luenen-kasse", args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
		csv, _ := filepath.Glob(filepath.Join(dir, "*-bookings.csv"))
		jsonl, _ := filepath.Glob(filepath.Join(dir, "*-bookings.jsonl"))
		manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil || len(csv) != 1 || (len(jsonl) == 1) != tc.json || strings.Contains(string(manifest), `"bookings-json"`) != tc.json {
			t.Errorf("%v: CSV %v, JSON Lines %v, manifest %s (%v)", args, csv, jsonl, manifest, err)
		}
	}
}
