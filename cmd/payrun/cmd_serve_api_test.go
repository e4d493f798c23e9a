package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
)

// TestServeWiresAPIAndJobs runs serve in-process: the API answers with
// bearer tokens, and the scheduler gets default schedules for every kind
// of every municipality (the job bodies are wired).
func TestServeWiresAPIAndJobs(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.NewDB(t)
	_, err := loadFixtures(ctx, db, 0, 1)
	check(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	addr := ln.Addr().String()
	check(t, ln.Close())
	env := NewEnv(io.Discard, io.Discard)
	env.Home = t.TempDir()
	env.Getenv = func(string) string { return "" }
	c, err := env.parseServeFlags("serve", []string{"--addr", addr, "--tick", "50ms", "--shutdown-timeout", "5s"}, true)
	check(t, err)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, env, c, db, schedulerActions(db, actionsConfig{ExportDir: c.ExportDir, Now: c.nowFunc()}))
	}()
	call := func(method, path, token, body string) (int, string) {
		req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		check(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := call("GET", "/healthz", "", ""); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := call("GET", "/api/v1/runs", "", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/runs without token: %d %s", code, body)
	}
	if code, body := call("GET", "/api/v1/runs", "demo-unna-pruefer", ""); code != http.StatusOK || !strings.Contains(body, `"runs"`) {
		t.Errorf("GET /api/v1/runs: %d %s", code, body)
	}
	if code, body := call("POST", "/api/v1/runs", "demo-unna-pruefer", `{"period":"2026-12"}`); code != http.StatusOK || !strings.Contains(body, "nothing_to_pay") {
		t.Errorf("POST /api/v1/runs without cases: %d %s", code, body)
	}
	var kinds int
	for time.Now().Before(deadline) {
		check(t, db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(DISTINCT kind) FROM schedules WHERE municipality = 'unna'`).Scan(&kinds)
		}))
		if kinds == 4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if kinds != 4 {
		t.Errorf("unna has schedules of %d kinds, want 4", kinds)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}
