package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
)

// TestCaseOrderFromIndexes: the queries that read a municipality in case
// order (byte order) get that order from an index, whatever the data: with
// sorts disabled their plans hold no Sort node by case id (an incremental
// sort of the decisions of one case is fine, so is a sort inside a small
// subquery). Before migration 0130 the indexes were in the default
// collation and every one of them sorted by case id.
func TestCaseOrderFromIndexes(t *testing.T) {
	t.Parallel()
	_, _, admin := migrateBelow(t, 1<<30)
	for name, q := range store.CaseOrderQueries {
		plan := sortedPlan(t, admin, q.SQL, q.Args)
		var nodes []map[string]any
		if err := json.Unmarshal([]byte(plan), &nodes); err != nil || len(nodes) != 1 {
			t.Fatalf("%s: plan %s: %v", name, plan, err)
		}
		if keys := caseSorts(nodes[0]["Plan"]); len(keys) > 0 {
			t.Errorf("%s sorts by %v:\n%s", name, keys, plan)
		}
	}
}

// caseSorts returns the sort keys of the Sort nodes of plan that sort by
// a case id (case_id, first_case).
func caseSorts(plan any) []string {
	node, ok := plan.(map[string]any)
	if !ok {
		return nil
	}
	var keys []string
	if node["Node Type"] == "Sort" {
		for _, k := range node["Sort Key"].([]any) {
			if strings.Contains(fmt.Sprint(k), "case") {
				keys = append(keys, fmt.Sprint(k))
			}
		}
	}
	if subs, ok := node["Plans"].([]any); ok {
		for _, sub := range subs {
			keys = append(keys, caseSorts(sub)...)
		}
	}
	return keys
}

// sortedPlan explains query with args (SQL literals) with sorts disabled.
func sortedPlan(t *testing.T, conn *pgx.Conn, query string, args []string) string {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL enable_sort = off"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "PREPARE q AS "+query); err != nil {
		t.Fatalf("prepare: %v\n%s", err, query)
	}
	defer func() { _, _ = conn.Exec(ctx, "DEALLOCATE q") }()
	var plan string
	if err := tx.QueryRow(ctx, fmt.Sprintf("EXPLAIN (FORMAT JSON) EXECUTE q(%s)", strings.Join(args, ", "))).Scan(&plan); err != nil {
		t.Fatalf("explain: %v", err)
	}
	return plan
}
