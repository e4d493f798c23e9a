package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
	"github.com/payrun/payrun/payrun/web"
)

// apiPeriod is the period of the test runs.
var apiPeriod = payrun.MonthOf(2026, time.December)

// apiEnv is a database with the fixtures' municipalities, rates, accounts
// and users, and the API on an httptest server.
type apiEnv struct {
	db  *store.DB
	srv *httptest.Server
}

// Limits of the test server.
const (
	apiTestMaxBody   = 16 << 10
	apiTestMaxImport = 1 << 20
)

func apiMust(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// apiToken is the fixtures' token of login in m.
func apiToken(m, login string) string { return "demo-" + m + "-" + login }

func newAPIEnv(tb testing.TB) *apiEnv {
	tb.Helper()
	ctx := context.Background()
	db := storetest.NewDB(tb)
	storetest.LoadReference(tb, db)
	users := fixtures.Users()
	// One person holding both signing roles: the four-eyes rule must stop
	// them, not the roles.
	users = append(users, fixtures.DemoUser{User: payrun.User{Municipality: "unna", Login: "doppelrolle", DisplayName: "Doppelrolle",
		Roles: []payrun.RoleGrant{{Role: payrun.RoleChecker}, {Role: payrun.RoleApprover}}}, Token: apiToken("unna", "doppelrolle")},
		// An approver whose limit covers the generated arrears.
		fixtures.DemoUser{User: payrun.User{Municipality: "unna", Login: "amtsleitung", DisplayName: "Amtsleitung",
			Roles: []payrun.RoleGrant{{Role: payrun.RoleApprover, Limit: 100_000_000_00}}}, Token: apiToken("unna", "amtsleitung")})
	for _, u := range users {
		_, err := db.EnsureUser(ctx, u.User, "", u.Token, time.Now())
		apiMust(tb, err)
	}
	reg := prometheus.NewRegistry()
	s, err := web.New(db, nil, reg)
	apiMust(tb, err)
	s.MaxBodyBytes = apiTestMaxBody
	apiMust(tb, s.MountAPI(web.APIConfig{DB: db, ExportDir: tb.TempDir(), MaxImportBytes: apiTestMaxImport, BookingBatchLines: 50}))
	e := &apiEnv{db: db, srv: httptest.NewServer(s.Handler())}
	tb.Cleanup(e.srv.Close)
	return e
}

// decisions returns n generated decisions of m as JSON Lines.
func decisions(tb testing.TB, m string, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for d := range fixtures.Generate(1, n, m) {
		apiMust(tb, enc.Encode(&d))
	}
	return buf.Bytes()
}

// do sends method path with body (a []byte is sent as is, anything else
// as JSON, nil as no body) and the bearer token (none when empty), and
// returns the status and the body.
func (e *apiEnv) do(tb testing.TB, token, method, path string, body any) (int, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		apiMust(tb, err)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	apiMust(tb, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	apiMust(tb, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	apiMust(tb, err)
	return res.StatusCode, out
}

// want checks the status of a request and decodes its JSON body into v
// (when v is not nil).
func (e *apiEnv) want(tb testing.TB, status int, token, method, path string, body, v any) []byte {
	tb.Helper()
	got, out := e.do(tb, token, method, path, body)
	if got != status {
		tb.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, token, got, status, out)
	}
	if strings.HasPrefix(strings.TrimSpace(string(out)), "{") && got >= 400 {
		var eb struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(out, &eb); err != nil || eb.Error == "" {
			tb.Fatalf("%s %s: error body %s is not {\"error\": …}", method, path, out)
		}
	}
	if v != nil {
		apiMust(tb, json.Unmarshal(out, v))
	}
	return out
}

// apiRunCreated is the answer of POST /api/v1/runs.
type apiRunCreated struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Digest       string `json:"digest"`
	Recomputed   bool   `json:"recomputed"`
	NothingToPay bool   `json:"nothing_to_pay"`
}

// seed imports n cases into unna (through the API) and schwerte (directly)
// and creates the proposed runs of both through the API; it returns the
// runs by municipality.
func (e *apiEnv) seed(tb testing.TB, n int) map[string]apiRunCreated {
	tb.Helper()
	var res store.ImportResult
	e.want(tb, http.StatusOK, apiToken("unna", "admin"), "POST", "/api/v1/decisions", decisions(tb, "unna", n), &res)
	if res.New == 0 {
		tb.Fatalf("API import: nothing new: %+v", res)
	}
	_, err := e.db.Import(context.Background(), bytes.NewReader(decisions(tb, "schwerte", n)), store.ImportOptions{Actor: "test"})
	apiMust(tb, err)
	out := map[string]apiRunCreated{}
	for _, m := range []string{"unna", "schwerte"} {
		var c apiRunCreated
		e.want(tb, http.StatusCreated, apiToken(m, "pruefer"), "POST", "/api/v1/runs", map[string]any{"period": apiPeriod}, &c)
		if c.ID == 0 || c.Digest == "" || c.Recomputed {
			tb.Fatalf("create run %s: %+v", m, c)
		}
		out[m] = c
	}
	return out
}
