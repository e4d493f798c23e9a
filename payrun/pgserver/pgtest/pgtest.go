// Package pgtest gives tests of every package one PostgreSQL server to
// create their own databases on: PAYRUN_TEST_DATABASE_URL when set,
// otherwise the embedded scratch cluster shared by all test processes.
//
// The embedded test cluster lives in PAYRUN_TEST_HOME (the Makefile sets
// $(CURDIR)/var/test), by default in a fixed directory per user under the
// system's temporary directory. The first test process to need it creates
// and starts it; the others (go test runs packages as parallel processes)
// wait on the pgserver lock and reuse it. It is left running for the next
// test run; `payrun --home DIR db stop` stops it (make test does).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/pgserver"
)

// adminURL starts the test cluster at most once per test process: a
// process-wide cache of an immutable result, so that a failure is reported
// once and not retried by every test.
var adminURL = sync.OnceValues(startCluster)

// Home returns the directory of the embedded test cluster.
func Home() string {
	if h := os.Getenv("PAYRUN_TEST_HOME"); h != "" {
		return h
	}
	return filepath.Join(os.TempDir(), "payrun-test-"+strconv.Itoa(os.Getuid()))
}

func startCluster() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, pgserver.Options{Home: Home(), Scratch: true, BinDir: os.Getenv("PAYRUN_PG_BINDIR")})
	if err != nil {
		return "", fmt.Errorf("pgtest: embedded test cluster in %s (set PAYRUN_TEST_DATABASE_URL to use another server): %w", Home(), err)
	}
	return s.AdminURL("postgres"), nil
}

// AdminURL returns a URL of a superuser connection to the test server's
// maintenance database "postgres". Tests create their own databases on it
// and drop them when done.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	if u := os.Getenv("PAYRUN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	u, err := adminURL()
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// WithDatabase returns connURL with its database replaced by db.
func WithDatabase(tb testing.TB, connURL, db string) string {
	tb.Helper()
	u, err := url.Parse(connURL)
	if err != nil {
		tb.Fatalf("pgtest: parse URL: %v", err)
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}

// NewDatabase creates an empty database with a unique name on the test
// server, drops it (WITH FORCE) when the test ends and returns its
// superuser URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("test_%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	ident := pgx.Identifier{name}.Sanitize()
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// FILE_COPY: on the scratch cluster (fsync off) it takes ~50 ms where
	// the default WAL_LOG takes ~250 ms.
	err := exec("CREATE DATABASE " + ident + " STRATEGY FILE_COPY")
	if err != nil && strings.Contains(err.Error(), "42601") {
		err = exec("CREATE DATABASE " + ident) // PostgreSQL before 15
	}
	if err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := exec("DROP DATABASE IF EXISTS " + ident + " WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return WithDatabase(tb, admin, name)
}
