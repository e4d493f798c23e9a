// Package pgtest gives tests of every package one PostgreSQL server to
// create their own databases on: PAYRUN_TEST_DATABASE_URL when set,
// otherwise the embedded test cluster shared by all test processes.
package pgtest

import (
	"os"
	"testing"
)

// AdminURL returns a URL of a superuser (or CREATEDB/CREATEROLE) connection
// to the test server's maintenance database "postgres". Tests create their
// own databases on it and drop them when done.
//
// TODO(pgserver helper): start the shared embedded test cluster when
// PAYRUN_TEST_DATABASE_URL is unset.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("PAYRUN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	tb.Fatal("pgtest: PAYRUN_TEST_DATABASE_URL is unset and the embedded test cluster is not built yet")
	return ""
}
