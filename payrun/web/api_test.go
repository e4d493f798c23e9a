package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/payrun/export"
)

func TestAPIAuthenticationFailures(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	_, err := e.db.RevokeTokens(context.Background(), "unna", "kasse", time.Now())
	apiMust(t, err)
	for _, tc := range []struct{ name, token string }{
		{"no token", ""},
		{"unknown token", "not-a-token"},
		{"revoked token", apiToken("unna", "kasse")},
	} {
		for _, p := range []struct{ method, path string }{
			{"GET", "/api/v1/runs"}, {"POST", "/api/v1/runs"}, {"GET", "/api/v1/bookings"},
		} {
			got, body := e.do(t, tc.token, p.method, p.path, map[string]any{"period": apiPeriod})
			if got != http.StatusUnauthorized || !strings.Contains(string(body), `"error"`) {
				t.Errorf("%s: %s %s: %d %s, want 401 with an error", tc.name, p.method, p.path, got, body)
			}
		}
	}
	// A valid token of the same municipality passes.
	e.want(t, http.StatusOK, apiToken("unna", "pruefer"), "GET", "/api/v1/runs", nil, nil)
}

func TestAPIRolesAndTenancy(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	rs := e.seed(t, 12)
	unna, schwerte := rs["unna"], rs["schwerte"]
	path := func(id int64, rest string) string { return fmt.Sprintf("/api/v1/runs/%d%s", id, rest) }

	// Wrong roles: 403.
	for _, tc := range []struct {
		login, method, path string
		body                any
	}{
		{"kasse", "POST", "/api/v1/runs", map[string]any{"period": apiPeriod}},
		{"kasse", "POST", path(unna.ID, "/signatures"), map[string]any{"digest": unna.Digest}},
		{"system", "POST", path(unna.ID, "/signatures"), map[string]any{"digest": unna.Digest}},
		{"kasse", "POST", path(unna.ID, "/cancel"), nil},
		{"pruefer", "POST", path(unna.ID, "/export"), nil},
		{"anordner", "GET", path(unna.ID, "/files/manifest.json"), nil},
		{"pruefer", "POST", "/api/v1/decisions", decisions(t, "unna", 1)},
		{"kasse", "POST", "/api/v1/decisions", decisions(t, "unna", 1)},
		{"pruefer", "GET", "/api/v1/bookings", nil},
		{"admin", "POST", "/api/v1/bookings/ack", map[string]any{"batch": 1}},
		// The approver cannot give the first signature.
		{"anordner2", "POST", path(unna.ID, "/signatures"), map[string]any{"digest": unna.Digest}},
	} {
		e.want(t, http.StatusForbidden, apiToken("unna", tc.login), tc.method, tc.path, tc.body, nil)
	}

	// Another municipality's run: 404 for every verb, not 403.
	for _, tc := range []struct {
		login, method, rest string
		body                any
	}{
		{"pruefer", "GET", "", nil},
		{"pruefer", "POST", "/signatures", map[string]any{"digest": schwerte.Digest}},
		{"pruefer", "POST", "/cancel", nil},
		{"kasse", "POST", "/export", nil},
		{"kasse", "GET", "/files/manifest.json", nil},
	} {
		e.want(t, http.StatusNotFound, apiToken("unna", tc.login), tc.method, path(schwerte.ID, tc.rest), tc.body, nil)
	}
	var list struct {
		Runs []struct {
			ID int64 `json:"id"`
		} `json:"runs"`
	}
	e.want(t, http.StatusOK, apiToken("unna", "kasse"), "GET", "/api/v1/runs", nil, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != unna.ID {
		t.Errorf("unna's run list = %+v, want only run %d", list.Runs, unna.ID)
	}
	// Decisions of another municipality are refused as bad input, and
	// nothing is imported.
	e.want(t, http.StatusBadRequest, apiToken("unna", "admin"), "POST", "/api/v1/decisions", decisions(t, "schwerte", 2), nil)
	// schwerte's run is untouched by all of it.
	var d struct {
		State  string `json:"state"`
		Digest string `json:"digest"`
	}
	e.want(t, http.StatusOK, apiToken("schwerte", "pruefer"), "GET", path(schwerte.ID, ""), nil, &d)
	if d.State != "proposed" || d.Digest != schwerte.Digest {
		t.Errorf("schwerte's run after unna's attempts: %+v, want proposed with digest %s", d, schwerte.Digest)
	}
}

func TestAPIOversizeBodies(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	big := []byte(`{"period":"2026-12","x":"` + strings.Repeat("a", apiTestMaxBody) + `"}`)
	e.want(t, http.StatusRequestEntityTooLarge, apiToken("unna", "pruefer"), "POST", "/api/v1/runs", big, nil)
	// Without a Content-Length (chunked), the limit bites while reading.
	e.want(t, http.StatusRequestEntityTooLarge, apiToken("unna", "pruefer"), "POST", "/api/v1/runs",
		io.MultiReader(bytes.NewReader(big)), nil)
	huge := bytes.Repeat(decisions(t, "unna", 1), apiTestMaxImport/100)
	if len(huge) <= apiTestMaxImport {
		t.Fatalf("test body %d bytes is not above the limit", len(huge))
	}
	e.want(t, http.StatusRequestEntityTooLarge, apiToken("unna", "admin"), "POST", "/api/v1/decisions", huge, nil)
	e.want(t, http.StatusRequestEntityTooLarge, apiToken("unna", "admin"), "POST", "/api/v1/decisions", io.MultiReader(bytes.NewReader(huge)), nil)
	// A small body still works: bad input, not 413.
	e.want(t, http.StatusBadRequest, apiToken("unna", "pruefer"), "POST", "/api/v1/runs", []byte(`{"period":"2026-13"}`), nil)
}

func TestAPIFourEyesExportAndBookings(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	run := e.seed(t, 15)["unna"]
	sig := fmt.Sprintf("/api/v1/runs/%d/signatures", run.ID)
	tok := func(login string) string { return apiToken("unna", login) }

	// A stale digest is refused (409).
	e.want(t, http.StatusConflict, tok("doppelrolle"), "POST", sig, map[string]any{"digest": strings.Repeat("0", 64)}, nil)
	e.want(t, http.StatusCreated, tok("doppelrolle"), "POST", sig, map[string]any{"digest": run.Digest}, nil)
	// The same person again, though holding the approver role: refused.
	body := e.want(t, http.StatusForbidden, tok("doppelrolle"), "POST", sig, map[string]any{"digest": run.Digest}, nil)
	if !strings.Contains(string(body), "four-eyes") && !strings.Contains(string(body), "first signature") {
		t.Errorf("four-eyes refusal says %s", body)
	}
	// Not released yet: the export is refused as a state conflict.
	e.want(t, http.StatusConflict, tok("kasse"), "POST", fmt.Sprintf("/api/v1/runs/%d/export", run.ID), nil, nil)
	var signed struct {
		Seq   int    `json:"seq"`
		State string `json:"state"`
	}
	e.want(t, http.StatusCreated, tok("amtsleitung"), "POST", sig, map[string]any{"digest": run.Digest}, &signed)
	if signed.Seq != 2 || signed.State != "released" {
		t.Fatalf("second signature: %+v", signed)
	}
	var details struct {
		Signatures []struct {
			Login string `json:"login"`
		} `json:"signatures"`
		Totals []any `json:"totals"`
	}
	e.want(t, http.StatusOK, tok("pruefer"), "GET", fmt.Sprintf("/api/v1/runs/%d", run.ID), nil, &details)
	if len(details.Signatures) != 2 || details.Signatures[0].Login != "doppelrolle" || details.Signatures[1].Login != "amtsleitung" || len(details.Totals) == 0 {
		t.Errorf("run details after release: %+v", details)
	}

	// Export and download: the files match the manifest's hashes.
	var m export.Manifest
	e.want(t, http.StatusOK, tok("kasse"), "POST", fmt.Sprintf("/api/v1/runs/%d/export", run.ID), nil, &m)
	if len(m.Files) == 0 {
		t.Fatalf("manifest without files: %+v", m)
	}
	for _, f := range m.Files {
		b := e.want(t, http.StatusOK, tok("kasse"), "GET", fmt.Sprintf("/api/v1/runs/%d/files/%s", run.ID, f.Name), nil, nil)
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("download %s: sha256 %x, manifest %s", f.Name, sum, f.SHA256)
		}
	}
	e.want(t, http.StatusNotFound, tok("kasse"), "GET", fmt.Sprintf("/api/v1/runs/%d/files/%s", run.ID, "..%2Fsecret"), nil, nil)
	// An exported run cannot be cancelled.
	e.want(t, http.StatusConflict, tok("admin"), "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)

	// Bookings: pull, pull again (same batch until acknowledged), ack,
	// and then nothing more after the cursor.
	type batch struct {
		Batch   int64 `json:"batch"`
		Cursor  int64 `json:"cursor"`
		Records []map[string]any
	}
	total := 0
	after := int64(0)
	for i := 0; ; i++ {
		var b1, b2 batch
		e.want(t, http.StatusOK, tok("kasse"), "GET", fmt.Sprintf("/api/v1/bookings?after=%d", after), nil, &b1)
		if b1.Batch == 0 {
			if len(b1.Records) != 0 || b1.Cursor != after {
				t.Fatalf("empty batch: %+v", b1)
			}
			break
		}
		e.want(t, http.StatusOK, tok("kasse"), "GET", fmt.Sprintf("/api/v1/bookings?after=%d", after), nil, &b2)
		if b2.Batch != b1.Batch || len(b2.Records) != len(b1.Records) {
			t.Fatalf("unacknowledged batch pulled again: %d (%d lines), first %d (%d lines)", b2.Batch, len(b2.Records), b1.Batch, len(b1.Records))
		}
		if len(b1.Records) == 0 || len(b1.Records) > 50 {
			t.Fatalf("batch %d has %d records, want 1..50", b1.Batch, len(b1.Records))
		}
		e.want(t, http.StatusOK, tok("kasse"), "POST", "/api/v1/bookings/ack", map[string]any{"batch": b1.Batch}, nil)
		total += len(b1.Records)
		after = b1.Cursor
		if i > 1000 {
			t.Fatal("bookings never end")
		}
	}
	if total == 0 {
		t.Fatal("no booking records pulled after the export")
	}
	// schwerte's cashier sees none of unna's bookings, and cannot ack them.
	var other batch
	e.want(t, http.StatusOK, apiToken("schwerte", "kasse"), "GET", "/api/v1/bookings?after=0", nil, &other)
	if other.Batch != 0 {
		t.Errorf("schwerte pulled batch %+v of unna's bookings", other)
	}
	e.want(t, http.StatusNotFound, apiToken("schwerte", "kasse"), "POST", "/api/v1/bookings/ack", map[string]any{"batch": 1}, nil)
	e.want(t, http.StatusBadRequest, tok("kasse"), "GET", "/api/v1/bookings?after=-1", nil, nil)
}

func TestAPIRecomputeAndCancel(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	run := e.seed(t, 8)["unna"]
	var again apiRunCreated
	e.want(t, http.StatusOK, apiToken("unna", "admin"), "POST", "/api/v1/runs", map[string]any{"period": apiPeriod}, &again)
	if again.ID != run.ID || !again.Recomputed || again.Digest != run.Digest {
		t.Errorf("recompute without changes: %+v, want run %d with digest %s", again, run.ID, run.Digest)
	}
	e.want(t, http.StatusOK, apiToken("unna", "anordner"), "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), nil, nil)
	e.want(t, http.StatusConflict, apiToken("unna", "pruefer"), "POST", fmt.Sprintf("/api/v1/runs/%d/signatures", run.ID), map[string]any{"digest": run.Digest}, nil)
}
