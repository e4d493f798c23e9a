package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/pgserver"
)

// TestDBCommands drives db url, status and stop through Main on a fresh
// embedded cluster (not parallel: it sets environment variables).
func TestDBCommands(t *testing.T) {
	t.Setenv("PAYRUN_DATABASE_URL", "")
	t.Setenv("PAYRUN_PG_SCRATCH", "1")
	home := filepath.Join(t.TempDir(), "home")
	t.Cleanup(func() {
		if err := pgserver.Destroy(context.Background(), pgserver.Options{Home: home}); err != nil {
			t.Error(err)
		}
	})
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Main(context.Background(), append([]string{"--home", home}, args...), &out, &errb); code != 0 {
			t.Fatalf("payrun %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	if got := run("db", "status"); !strings.Contains(got, "none yet") {
		t.Errorf("db status before use: %q", got)
	}
	url := strings.TrimSpace(run("db", "url"))
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect to db url %s: %v", url, err)
	}
	var user string
	if err := conn.QueryRow(context.Background(), "SELECT current_user").Scan(&user); err != nil || user != "payrun" {
		t.Errorf("current_user = %q, %v; want payrun", user, err)
	}
	_ = conn.Close(context.Background())
	if got := run("db", "status"); !strings.Contains(got, "server: running") {
		t.Errorf("db status when running: %q", got)
	}
	if got := run("db", "stop"); !strings.Contains(got, "stopped") {
		t.Errorf("db stop: %q", got)
	}
	if got := run("db", "status"); !strings.Contains(got, "server: stopped") {
		t.Errorf("db status after stop: %q", got)
	}
	t.Setenv("PAYRUN_DATABASE_URL", "postgres://u:secret@db.example:5432/payrun")
	if got := strings.TrimSpace(run("db", "url")); got != "postgres://u:secret@db.example:5432/payrun" {
		t.Errorf("db url with PAYRUN_DATABASE_URL: %q", got)
	}
	if got := run("db", "status"); !strings.Contains(got, "u:xxxxx@db.example") || strings.Contains(got, "secret") {
		t.Errorf("db status with PAYRUN_DATABASE_URL: %q", got)
	}
}
