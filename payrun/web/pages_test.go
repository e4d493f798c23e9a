package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestPagesSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)

	t.Run("CSRF", func(t *testing.T) {
		c := e.client(t)
		if st, _ := e.login(t, c, "unna", "pruefer", "demo-pruefer"); st != http.StatusSeeOther {
			t.Fatalf("login: status %d", st)
		}
		st, body := get(t, c, e.srv.URL+"/")
		if st != http.StatusOK || !strings.Contains(body, "Was auf Sie wartet") {
			t.Fatalf("home: %d %.200s", st, body)
		}
		tok := csrf(t, body)
		_, sign := get(t, c, fmt.Sprintf("%s/runs/%d/sign", e.srv.URL, e.runs["unna"]))
		digest := regexpDigest(t, sign)
		for name, form := range map[string]url.Values{
			"without token": {"digest": {digest}},
			"wrong token":   {"digest": {digest}, "csrf": {tok + "x"}},
		} {
			if st, _ := post(t, c, fmt.Sprintf("%s/runs/%d/sign", e.srv.URL, e.runs["unna"]), form); st != http.StatusForbidden {
				t.Errorf("sign %s: status %d, want 403", name, st)
			}
		}
		if st, _ := post(t, c, e.srv.URL+"/logout", url.Values{}); st != http.StatusForbidden {
			t.Errorf("logout without token: status %d, want 403", st)
		}
		// The run is still proposed: no refused POST signed it.
		if _, body := get(t, c, fmt.Sprintf("%s/runs/%d", e.srv.URL, e.runs["unna"])); !strings.Contains(body, "Vorgeschlagen") {
			t.Errorf("run changed state after refused POSTs")
		}
		// With the token, the signature goes through.
		st, _ = post(t, c, fmt.Sprintf("%s/runs/%d/sign", e.srv.URL, e.runs["unna"]), url.Values{"digest": {digest}, "csrf": {tok}})
		if st != http.StatusSeeOther {
			t.Errorf("sign with token: status %d, want 303", st)
		}
	})

	t.Run("other municipality 404", func(t *testing.T) {
		c := e.client(t)
		e.login(t, c, "unna", "kasse", "demo-kasse")
		for _, p := range []string{"", "/sign", "/files/manifest.json"} {
			if st, _ := get(t, c, fmt.Sprintf("%s/runs/%d%s", e.srv.URL, e.runs["schwerte"], p)); st != http.StatusNotFound {
				t.Errorf("schwerte run%s as unna: status %d, want 404", p, st)
			}
		}
		if st, _ := get(t, c, fmt.Sprintf("%s/runs/%d", e.srv.URL, e.runs["unna"])); st != http.StatusOK {
			t.Errorf("own run: status %d", st)
		}
	})

	t.Run("lock-out", func(t *testing.T) {
		c := e.client(t)
		for i := range 5 {
			if st, _ := e.login(t, c, "schwerte", "anordner", "falsch"); st != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i+1, st)
			}
		}
		st, body := e.login(t, c, "schwerte", "anordner", "demo-anordner")
		if st != http.StatusTooManyRequests || !strings.Contains(body, "gesperrt") {
			t.Fatalf("right password while locked: status %d, want 429 with message", st)
		}
		if st, _ := e.login(t, c, "schwerte", "pruefer", "demo-pruefer"); st != http.StatusSeeOther {
			t.Errorf("another login is not locked: status %d", st)
		}
	})

	t.Run("session expiry", func(t *testing.T) {
		c := e.client(t)
		if st, _ := e.login(t, c, "schwerte", "kasse", "demo-kasse"); st != http.StatusSeeOther {
			t.Fatalf("login: %d", st)
		}
		if st, _ := get(t, c, e.srv.URL+"/"); st != http.StatusOK {
			t.Fatalf("fresh session: %d", st)
		}
		e.clock.Add(31 * time.Minute)
		res, err := c.Get(e.srv.URL + "/")
		must(t, err)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Errorf("idle session: status %d to %q, want 303 to /login", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

func regexpDigest(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `name="digest" value="`)
	if i < 0 {
		t.Fatalf("no digest field in %.300s", body)
	}
	rest := body[i+len(`name="digest" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestRunPageTotalsByAccount: the run page's "Nach Sachkonto" box books
// every payment line on an account of the chart (the account rules the
// booking export uses), and its line count matches the other boxes.
func TestRunPageTotalsByAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)
	c := e.client(t)
	if st, _ := e.login(t, c, "unna", "kasse", "demo-kasse"); st != http.StatusSeeOther {
		t.Fatalf("login: status %d", st)
	}
	st, body := get(t, c, fmt.Sprintf("%s/runs/%d", e.srv.URL, e.runs["unna"]))
	if st != http.StatusOK {
		t.Fatalf("run page: status %d", st)
	}
	byLaw, byAccount := sumsBox(t, body, "Nach Rechtsgrundlage"), sumsBox(t, body, "Nach Sachkonto")
	if len(byAccount) == 0 {
		t.Fatal("no rows in Nach Sachkonto")
	}
	count := func(rows map[string]int) (n int) {
		for _, v := range rows {
			n += v
		}
		return n
	}
	for label := range byAccount {
		if label == "" || label[0] < '0' || label[0] > '9' {
			t.Errorf("Nach Sachkonto row %q does not name an account", label)
		}
	}
	if count(byAccount) != count(byLaw) {
		t.Errorf("Nach Sachkonto counts %d lines, Nach Rechtsgrundlage %d", count(byAccount), count(byLaw))
	}
}

// sumsBox returns label → line count of the sums box titled title.
func sumsBox(tb testing.TB, body, title string) map[string]int {
	tb.Helper()
	_, rest, ok := strings.Cut(body, "<h3>"+title+"</h3>")
	if !ok {
		tb.Fatalf("no box %q on the page", title)
	}
	box, _, _ := strings.Cut(rest, "</section>")
	rows := map[string]int{}
	for _, m := range regexp.MustCompile(`<tr><td>([^<]*)</td><td class="num">(\d+)</td>`).FindAllStringSubmatch(box, -1) {
		n, _ := strconv.Atoi(m[2])
		rows[html.UnescapeString(m[1])] += n
	}
	return rows
}

// TestRunPageWarningsOfFirstRun: a municipality's first run lists no new
// IBAN one by one; the run page counts them (as the run did) with the
// first-run hint and no amount, and the other kinds as listed.
func TestRunPageWarningsOfFirstRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)
	c := e.client(t)
	if st, _ := e.login(t, c, "unna", "kasse", "demo-kasse"); st != http.StatusSeeOther {
		t.Fatalf("login: status %d", st)
	}
	var counted, listed int64
	must(t, e.db.WithTx(context.Background(), "unna", func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT (warnings->>'first_iban')::bigint,
			(SELECT count(*) FROM run_warnings w WHERE w.run_id = r.id AND w.kind = 'first_iban')
			FROM runs r WHERE r.id = $1`, e.runs["unna"]).Scan(&counted, &listed)
	}))
	if counted == 0 || listed != 0 {
		t.Fatalf("first run: %d new IBANs counted, %d listed; want some counted and none listed", counted, listed)
	}
	st, body := get(t, c, fmt.Sprintf("%s/runs/%d", e.srv.URL, e.runs["unna"]))
	if st != http.StatusOK {
		t.Fatalf("run page: status %d", st)
	}
	want := fmt.Sprintf(`<td>IBAN zum ersten Mal bezahlt</td><td>Erster Zahllauf dieser Kommune: Alle Bankverbindungen sind neu, `+
		`darum keine Einzelhinweise. Bitte Stichproben gegen die Akten prüfen; ab dem nächsten Zahllauf wird jede neue IBAN `+
		`einzeln gezeigt.</td><td class="num">%d</td><td class="num">–</td>`, counted)
	if !strings.Contains(body, want) {
		_, box, _ := strings.Cut(body, `id="hinweise"`)
		t.Errorf("run page lacks\n%s\nin its warnings:\n%.2000s", want, box)
	}
}
