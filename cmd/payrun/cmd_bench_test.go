package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
)

// TestBenchSmoke runs payrun bench on a few cases: its own scratch cluster,
// import, runs, signatures, export, reconciliation, and nothing left behind.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a PostgreSQL cluster")
	}
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"bench", "--cases", "300", "--municipalities", "2", "--workers", "2", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("bench: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var r benchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, out.String())
	}
	if !r.Reconciled || r.Lines == 0 || r.Files["pain.001"] == 0 || r.Files["bookings"] == 0 {
		t.Fatalf("bench result: %+v", r)
	}
	if len(r.Stages) != 6 {
		t.Fatalf("stages: %+v", r.Stages)
	}
	if r.Dir != "" {
		if _, err := os.Stat(r.Dir); err == nil {
			t.Fatalf("bench left %s behind", r.Dir)
		}
	}
}
