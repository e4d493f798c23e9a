package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/fixtures"
	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/store/storetest"
	"github.com/payrun/payrun/payrun/web"
)

var period = payrun.MonthOf(2026, time.December)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a test database with the fixtures, a proposed run in unna and
// schwerte, and the pages on an httptest server.
type env struct {
	db    *store.DB
	srv   *httptest.Server
	clock *clock
	runs  map[string]int64
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func newEnv(tb testing.TB, cases int) *env {
	tb.Helper()
	ctx := context.Background()
	db := storetest.NewDB(tb)
	storetest.LoadReference(tb, db)
	users := fixtures.Users()
	// A person holding both signing roles, to show the four-eyes refusal.
	users = append(users, fixtures.DemoUser{User: payrun.User{Municipality: "unna", Login: "doppelrolle", DisplayName: "Prüferin mit Anordnungsbefugnis",
		Roles: []payrun.RoleGrant{{Role: payrun.RoleChecker}, {Role: payrun.RoleApprover}}}, Password: "demo-doppelrolle"})
	for _, u := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.MinCost)
		must(tb, err)
		_, err = db.EnsureUser(ctx, u.User, string(h), u.Token, time.Now())
		must(tb, err)
	}
	e := &env{db: db, clock: &clock{t: time.Now()}, runs: map[string]int64{}}
	for _, m := range []string{"unna", "schwerte"} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for d := range fixtures.Generate(1, cases, m) {
			must(tb, enc.Encode(&d))
		}
		_, err := db.Import(ctx, &buf, store.ImportOptions{Actor: "test"})
		must(tb, err)
		s, err := runs.Create(ctx, db, m, period, runs.Options{})
		must(tb, err)
		e.runs[m] = s.ID
	}
	pages, err := web.NewPages(web.PagesConfig{DB: db, Now: e.clock.Now, InsecureCookies: true, ExportDir: tb.TempDir()})
	must(tb, err)
	e.srv = httptest.NewServer(pages.Handler())
	tb.Cleanup(e.srv.Close)
	return e
}

// client is a cookie-keeping HTTP client that does not follow redirects.
func (e *env) client(tb testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	must(tb, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get returns status and body of GET path.
func get(tb testing.TB, c *http.Client, u string) (int, string) {
	tb.Helper()
	res, err := c.Get(u)
	must(tb, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(tb, err)
	return res.StatusCode, string(b)
}

func post(tb testing.TB, c *http.Client, u string, form url.Values) (int, string) {
	tb.Helper()
	res, err := c.PostForm(u, form)
	must(tb, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(tb, err)
	return res.StatusCode, string(b)
}

// csrf returns the first CSRF token in body.
func csrf(tb testing.TB, body string) string {
	tb.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("no csrf token in %.300s", body)
	}
	return m[1]
}

// login logs c in and returns the status of the POST (303 on success).
func (e *env) login(tb testing.TB, c *http.Client, m, login, password string) (int, string) {
	tb.Helper()
	_, body := get(tb, c, e.srv.URL+"/login")
	return post(tb, c, e.srv.URL+"/login", url.Values{"csrf": {csrf(tb, body)}, "kommune": {m}, "login": {login}, "passwort": {password}})
}
