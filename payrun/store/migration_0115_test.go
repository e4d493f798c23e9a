package store_test

import (
	"context"
	"strings"
	"testing"
)

// TestLineCountCheck: after migration 0115 a packed row whose line count
// differs from its lines is refused, one that matches (multi-byte
// characters in the text) is stored.
func TestLineCountCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, _, admin := migrateBelow(t, 135) // run_case_lines is a view from 0135 on
	// replica mode: the guard triggers are off, the checks are not
	if _, err := admin.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO run_case_lines (municipality, run_id, case_id, first_month, last_month, line_count, lines)
		VALUES ('unna', 1, $1, '2026-12-01', '2026-12-01', $2, $3)`
	two := "2026-12|beneficiary|regular|payment|563.00|sgb12_3|municipality|D-ä|;2026-12|landlord|rent|payment|400.00|sgb12_3|municipality|D-ä|"
	if _, err := admin.Exec(ctx, insert, "C-1", 2, two); err != nil {
		t.Fatalf("two lines, count 2: %v", err)
	}
	for _, n := range []int{1, 3} {
		_, err := admin.Exec(ctx, insert, "C-2", n, two)
		if err == nil || !strings.Contains(err.Error(), "run_case_lines_line_count") {
			t.Errorf("two lines, count %d: %v, want the check to refuse it", n, err)
		}
	}
}
