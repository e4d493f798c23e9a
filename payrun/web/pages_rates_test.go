package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// TestPagesRates: the county previews a new SGB XII rate (next month's
// totals per municipality), confirms it, and it is saved with an audit
// event; the hub may not save the county's table; a cashier sees no rates.
func TestPagesRates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10)
	ctx := context.Background()
	next := payrun.MonthOf(e.clock.Now().Year(), e.clock.Now().Month()) + 1
	from := next.First().Time(time.UTC).Format("02.01.2006")
	count := func(q string) (n int) {
		t.Helper()
		must(t, e.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error { return tx.QueryRow(ctx, q).Scan(&n) }))
		return n
	}
	rates := count(`SELECT count(*) FROM rates`)

	kreis := e.client(t)
	if st, _ := e.login(t, kreis, "kreis_unna", "kreis", "demo-kreis"); st != http.StatusSeeOther {
		t.Fatalf("login kreis: %d", st)
	}
	st, body := get(t, kreis, e.srv.URL+"/rates")
	if st != http.StatusOK || !strings.Contains(body, "Neuen Satz anlegen") || !strings.Contains(body, `value="SGB_XII"`) || strings.Contains(body, `value="AsylbLG_3a"`) {
		t.Fatalf("rates page: %d %.300s", st, body)
	}
	tok := csrf(t, body)
	form := url.Values{"csrf": {tok}, "tabelle": {"SGB_XII"}, "gueltig_ab": {from}, "stufe": {"1"}, "betrag": {"1.600,00"}}

	st, body = post(t, kreis, e.srv.URL+"/rates/preview", form)
	if st != http.StatusOK || !strings.Contains(body, `id="auswirkung"`) || !strings.Contains(body, "Unna") || !strings.Contains(body, "Schwerte") {
		t.Fatalf("preview: %d %.500s", st, body)
	}
	if i := strings.Index(body, "<tfoot>"); i < 0 || strings.Contains(body[i:], "<strong>±0,00 €</strong>") {
		t.Errorf("preview shows no change of the totals: %.600s", body[max(i, 0):])
	}
	if n := count(`SELECT count(*) FROM rates`); n != rates {
		t.Fatalf("the preview saved a rate: %d rows, had %d", n, rates)
	}

	bad := url.Values{"csrf": {tok}, "tabelle": {"SGB_XII"}, "gueltig_ab": {"31.13.2026"}, "stufe": {"1"}, "betrag": {"600"}}
	if st, body := post(t, kreis, e.srv.URL+"/rates/preview", bad); st != http.StatusUnprocessableEntity || !strings.Contains(body, "TT.MM.JJJJ") {
		t.Errorf("bad date: %d", st)
	}
	noToken := url.Values{}
	for k, v := range form {
		noToken[k] = v
	}
	noToken.Del("csrf")
	if st, _ := post(t, kreis, e.srv.URL+"/rates", noToken); st != http.StatusForbidden {
		t.Errorf("save without CSRF token: %d, want 403", st)
	}

	st, body = post(t, kreis, e.srv.URL+"/rates", form)
	if st != http.StatusOK || !strings.Contains(body, "Gespeichert") {
		t.Fatalf("save: %d %.300s", st, body)
	}
	if n := count(`SELECT count(*) FROM rates`); n != rates+1 {
		t.Errorf("after save: %d rows, want %d", n, rates+1)
	}
	if n := count(`SELECT count(*) FROM audit_events WHERE action = 'rate.added' AND actor = 'kreis'`); n != 1 {
		t.Errorf("audit events rate.added: %d", n)
	}
	if st, body := post(t, kreis, e.srv.URL+"/rates", form); st != http.StatusConflict || !strings.Contains(body, "schon") {
		t.Errorf("second save: %d", st)
	}

	hub := e.client(t)
	if st, _ := e.login(t, hub, "kopfstelle", "kopfstelle", "demo-kopfstelle"); st != http.StatusSeeOther {
		t.Fatalf("login kopfstelle: %d", st)
	}
	_, body = get(t, hub, e.srv.URL+"/rates")
	htok := csrf(t, body)
	other := url.Values{"csrf": {htok}, "tabelle": {"SGB_XII"}, "gueltig_ab": {from}, "stufe": {"2"}, "betrag": {"700,00"}}
	for _, path := range []string{"/rates/preview", "/rates"} {
		if st, _ := post(t, hub, e.srv.URL+path, other); st != http.StatusForbidden {
			t.Errorf("hub %s on the county's table: %d, want 403", path, st)
		}
	}
	own := url.Values{"csrf": {htok}, "tabelle": {"AsylbLG_3a"}, "gueltig_ab": {from}, "stufe": {"1"}, "betrag": {"500,00"}}
	if st, _ := post(t, hub, e.srv.URL+"/rates/preview", own); st != http.StatusOK {
		t.Errorf("hub preview of its own table: %d", st)
	}

	kasse := e.client(t)
	e.login(t, kasse, "unna", "kasse", "demo-kasse")
	if st, _ := get(t, kasse, e.srv.URL+"/rates"); st != http.StatusForbidden {
		t.Errorf("cashier on /rates: %d, want 403", st)
	}
}
