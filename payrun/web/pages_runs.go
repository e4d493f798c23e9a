package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/runs"
)

// messages shown after a redirect (?meldung=code); fixed texts only.
var messages = map[string]struct{ Class, Text string }{
	"festgestellt": {"ok", "Der Zahllauf ist sachlich und rechnerisch richtig festgestellt. Jetzt muss eine andere Person die Zahlung freigeben."},
	"freigegeben":  {"ok", "Die Zahlung ist freigegeben (Anordnung). Die Kasse kann den Zahllauf jetzt exportieren."},
	"exportiert":   {"ok", "Der Zahllauf ist exportiert. Die Dateien stehen unten zum Herunterladen bereit."},
	"vieraugen":    {"error", "Die Freigabe muss eine andere Person erteilen als die Feststellung (Vier-Augen-Prinzip)."},
	"rolle":        {"error", "Ihre Rolle erlaubt diese Unterschrift nicht: Die Feststellung braucht die Rolle Prüfer/in, die Freigabe die Rolle Anordnungsbefugte/r (mit ausreichender Betragsgrenze)."},
	"geaendert":    {"error", "Der Zahllauf hat sich geändert, seit Sie ihn geöffnet haben. Bitte prüfen Sie die neuen Zahlen und unterschreiben Sie erneut."},
	"zustand":      {"error", "Der Zahllauf ist nicht (mehr) in einem Zustand, der diese Aktion erlaubt."},
}

type runListData struct {
	Runs                             []runRow
	ToEstablish, ToRelease, ToExport []runRow
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	if !u.CanSeeRuns() {
		if u.CanEditRates() {
			http.Redirect(w, r, "/rates", http.StatusSeeOther)
			return
		}
		p.fail(w, r, u, payrun.ErrForbidden)
		return
	}
	list, err := p.runList(r.Context(), u.Municipality)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	d := runListData{Runs: list}
	for _, x := range list {
		switch {
		case x.State == payrun.RunProposed && u.Has(payrun.RoleChecker):
			d.ToEstablish = append(d.ToEstablish, x)
		case x.State == payrun.RunEstablished && u.Has(payrun.RoleApprover):
			d.ToRelease = append(d.ToRelease, x)
		case x.State == payrun.RunReleased && u.Has(payrun.RoleCashier):
			d.ToExport = append(d.ToExport, x)
		}
	}
	p.render(w, http.StatusOK, "runs.html", view{Title: "Zahlläufe", User: u, CSRF: u.csrf, Data: d})
}

func runID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("web: run %q: %w", r.PathValue("id"), payrun.ErrNotFound)
	}
	return id, nil
}

type runDetailData struct {
	Run       runRow
	Previous  *runRow
	Diff      payrun.Cents
	Totals    totals
	Details   detailsView
	Payments  paymentPage
	Files     []export.File
	Message   *struct{ Class, Text string }
	CanSign   string // "establish", "release" or ""
	CanExport bool
	// SignedByYou: the user gave the first signature, so may not release.
	SignedByYou bool
}

type detailsView struct {
	Signatures []signatureRow
	Sums       []warningSum // per kind, most urgent first
	Warnings   []warningRow // the first maxWarningRows, one by one
	Listed     int64        // warnings listed one by one in all
}

func (p *Pages) runDetail(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	if !u.CanSeeRuns() {
		p.fail(w, r, u, payrun.ErrNotFound)
		return
	}
	id, err := runID(r)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	ctx := r.Context()
	d := runDetailData{}
	if d.Run, err = p.runByID(ctx, u.Municipality, id); err != nil {
		p.fail(w, r, u, err)
		return
	}
	if d.Previous, err = p.previousRun(ctx, u.Municipality, d.Run); err != nil {
		p.fail(w, r, u, err)
		return
	}
	if d.Previous != nil {
		d.Diff = d.Run.Total - d.Previous.Total
	}
	if d.Totals, err = p.runTotals(ctx, u.Municipality, id); err != nil {
		p.fail(w, r, u, err)
		return
	}
	if d.Details, err = p.runSignaturesWarnings(ctx, u.Municipality, id); err != nil {
		p.fail(w, r, u, err)
		return
	}
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("seite"))
	if d.Payments, err = p.payments(ctx, u.Municipality, id, q.Get("fall"), max(page, 1)); err != nil {
		p.fail(w, r, u, err)
		return
	}
	if m, ok := messages[q.Get("meldung")]; ok {
		d.Message = &m
	}
	for _, s := range d.Details.Signatures {
		d.SignedByYou = d.SignedByYou || s.Login == u.Login
	}
	switch {
	case d.Run.State == payrun.RunProposed && u.Has(payrun.RoleChecker):
		d.CanSign = "establish"
	case d.Run.State == payrun.RunEstablished && u.Has(payrun.RoleApprover) && !d.SignedByYou:
		d.CanSign = "release"
	}
	d.CanExport = d.Run.State == payrun.RunReleased && u.Has(payrun.RoleCashier)
	if d.Run.State == payrun.RunExported && u.Has(payrun.RoleCashier) {
		if m, err := p.manifest(ctx, u, id); err == nil {
			d.Files = m.Files
		} else {
			p.log.Warn("manifest", zap.Int64("run", id), zap.Error(err))
		}
	}
	p.render(w, http.StatusOK, "run.html", view{Title: "Zahllauf " + strconv.FormatInt(id, 10), User: u, CSRF: u.csrf, Data: d})
}

type signFormData struct {
	Run     runRow
	Action  string // establish, release
	Refused *struct{ Class, Text string }
}

// signForm is the confirmation page: count, total and digest the user
// signs over.
func (p *Pages) signForm(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	if !u.CanSeeRuns() {
		p.fail(w, r, u, payrun.ErrNotFound)
		return
	}
	id, err := runID(r)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	run, err := p.runByID(r.Context(), u.Municipality, id)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	d := signFormData{Run: run}
	switch run.State {
	case payrun.RunProposed:
		d.Action = "establish"
	case payrun.RunEstablished:
		d.Action = "release"
	default:
		m := messages["zustand"]
		d.Refused = &m
	}
	p.render(w, http.StatusOK, "sign.html", view{Title: "Unterschrift bestätigen", User: u, CSRF: u.csrf, Data: d})
}

// sign makes the user's signature with runs.SignAs over the digest the
// confirmation page showed; refusals come back as German messages.
func (p *Pages) sign(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	id, err := runID(r)
	if err != nil || !u.CanSeeRuns() {
		p.fail(w, r, u, payrun.ErrNotFound)
		return
	}
	res, err := runs.SignAs(r.Context(), p.cfg.DB, u.Signer, id, r.PostFormValue("digest"), p.now())
	code := ""
	switch {
	case err == nil && res.Seq == 1:
		code = "festgestellt"
	case err == nil:
		code = "freigegeben"
	case errors.Is(err, payrun.ErrNotFound):
		p.fail(w, r, u, err)
		return
	case errors.Is(err, payrun.ErrSameSigner):
		code = "vieraugen"
	case errors.Is(err, payrun.ErrForbidden):
		code = "rolle"
	case errors.Is(err, payrun.ErrRunChanged), errors.Is(err, payrun.ErrInvalid):
		code = "geaendert"
	case errors.Is(err, payrun.ErrRunState):
		code = "zustand"
	default:
		p.fail(w, r, u, err)
		return
	}
	if err != nil {
		p.log.Info("signature refused", zap.Int64("run", id), zap.String("login", u.Login), zap.Error(err))
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d?meldung=%s", id, code), http.StatusSeeOther)
}

func (p *Pages) exportDir(m string, id int64) (string, error) {
	if p.cfg.ExportDir == "" {
		return "", errors.New("web: no export directory configured")
	}
	return filepath.Join(p.cfg.ExportDir, m, strconv.FormatInt(id, 10)), nil
}

// export writes a released run's files with payrun/export (role cashier).
func (p *Pages) export(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	id, err := runID(r)
	if err == nil && !u.Has(payrun.RoleCashier) {
		err = payrun.ErrForbidden
	}
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	if _, err := p.doExport(r.Context(), u, id); err != nil {
		if errors.Is(err, payrun.ErrRunState) {
			http.Redirect(w, r, fmt.Sprintf("/runs/%d?meldung=zustand", id), http.StatusSeeOther)
			return
		}
		p.fail(w, r, u, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/runs/%d?meldung=exportiert", id), http.StatusSeeOther)
}

func (p *Pages) doExport(ctx context.Context, u *sessionUser, id int64) (export.Manifest, error) {
	dir, err := p.exportDir(u.Municipality, id)
	if err != nil {
		return export.Manifest{}, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return export.Manifest{}, fmt.Errorf("web: export dir: %w", err)
	}
	m, err := export.Run(ctx, p.cfg.DB, id, dir, export.Options{Municipality: u.Municipality, ActorID: u.ID, Actor: u.Login, Log: p.log})
	if err != nil {
		return export.Manifest{}, fmt.Errorf("web: export run %d: %w", id, err)
	}
	return m, nil
}

// manifest reads the run's manifest, exporting again (byte-identical) when
// the files are not in ExportDir (e.g. exported by the command line).
func (p *Pages) manifest(ctx context.Context, u *sessionUser, id int64) (export.Manifest, error) {
	dir, err := p.exportDir(u.Municipality, id)
	if err != nil {
		return export.Manifest{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return p.doExport(ctx, u, id)
	} else if err != nil {
		return export.Manifest{}, fmt.Errorf("web: manifest: %w", err)
	}
	var m export.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return export.Manifest{}, fmt.Errorf("web: manifest of run %d: %w", id, err)
	}
	return m, nil
}

// download serves one file of an exported run (role cashier); only names
// listed in the manifest (or the manifest itself) are served.
func (p *Pages) download(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	id, err := runID(r)
	if err == nil && !u.Has(payrun.RoleCashier) {
		err = payrun.ErrForbidden
	}
	if err == nil {
		_, err = p.runByID(r.Context(), u.Municipality, id) // 404 for another municipality's run
	}
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	m, err := p.manifest(r.Context(), u, id)
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	name := r.PathValue("name")
	ok := name == export.ManifestName
	for _, f := range m.Files {
		ok = ok || f.Name == name
	}
	if !ok || strings.ContainsAny(name, `/\`) {
		p.fail(w, r, u, payrun.ErrNotFound)
		return
	}
	dir, _ := p.exportDir(u.Municipality, id)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	http.ServeFile(w, r, filepath.Join(dir, name))
}
