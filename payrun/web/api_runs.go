package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/runs"
)

// apiRun is one run of GET /api/v1/runs.
type apiRun struct {
	ID        int64           `json:"id"`
	Kind      payrun.RunKind  `json:"kind"`
	Period    payrun.Month    `json:"period"`
	State     payrun.RunState `json:"state"`
	Digest    string          `json:"digest"`
	Lines     int64           `json:"lines"`
	Total     payrun.Cents    `json:"total"`
	CreatedAt time.Time       `json:"created_at"`
}

// listRuns answers the caller's municipality's runs, newest first.
func (a *api) listRuns(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	ctx := r.Context()
	out := []apiRun{}
	err := a.db.WithTx(ctx, u.Municipality, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, kind, (extract(year FROM period)::int * 12 + extract(month FROM period)::int - 1),
				state, coalesce(encode(digest, 'hex'), ''), line_count, (total * 100)::bigint, created_at
			FROM runs WHERE municipality = $1 ORDER BY id DESC LIMIT $2`, u.Municipality, maxRunList)
		if err != nil {
			return err
		}
		var x apiRun
		var period int32
		_, err = pgx.ForEachRow(rows, []any{&x.ID, &x.Kind, &period, &x.State, &x.Digest, &x.Lines, &x.Total, &x.CreatedAt}, func() error {
			x.Period = payrun.Month(period)
			out = append(out, x)
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("runs of %s: %w", u.Municipality, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
	return nil
}

// showRun answers a run's header, totals, signatures and warnings.
func (a *api) showRun(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := a.db.RunDetails(r.Context(), u.Municipality, id, 0, maxWarningsShown)
	if err != nil {
		return err
	}
	d.FirstLines = nil
	writeJSON(w, http.StatusOK, d)
	return nil
}

// createRun creates or recomputes the proposed run for {"period"}.
func (a *api) createRun(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	if err := need(u, "creating a run", payrun.RoleChecker, payrun.RoleApprover, payrun.RoleAdmin); err != nil {
		return err
	}
	var req struct {
		Period payrun.Month `json:"period"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Period == 0 {
		return fmt.Errorf("period: required (YYYY-MM): %w", payrun.ErrInvalid)
	}
	s, err := runs.Create(r.Context(), a.db, u.Municipality, req.Period, runs.Options{Actor: u.Login, CreatedBy: u.ID, Now: a.cfg.Now})
	if errors.Is(err, payrun.ErrNothingToPay) {
		writeJSON(w, http.StatusOK, map[string]any{"nothing_to_pay": true, "period": req.Period})
		return nil
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if s.Refreshed {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{
		"id": s.ID, "kind": s.Kind, "period": s.Period, "recomputed": s.Refreshed, "cases": s.Cases,
		"lines": s.Lines, "total": s.Total, "overpayments": s.Overpayments, "digest": fmt.Sprintf("%x", s.Digest),
		"warnings": s.Warnings,
	})
	return nil
}

// signRun signs a run over {"digest"} with runs.SignAs: the four-eyes
// rules of the command line and the database.
func (a *api) signRun(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req struct {
		Digest string `json:"digest"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	signed, err := runs.SignAs(r.Context(), a.db, u, id, req.Digest, a.cfg.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, signed)
	return nil
}

// cancelRun cancels a run with runs.Cancel as the bearer token's user.
func (a *api) cancelRun(w http.ResponseWriter, r *http.Request, _ runs.Signer) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if err := runs.Cancel(r.Context(), a.db, token, id, a.cfg.Now()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": id, "state": payrun.RunCancelled})
	return nil
}

// runDir is the export directory of run id of municipality m.
func (a *api) runDir(m string, id int64) (string, error) {
	if a.cfg.ExportDir == "" {
		return "", errors.New("web: no export directory configured")
	}
	return filepath.Join(a.cfg.ExportDir, m, strconv.FormatInt(id, 10)), nil
}

// exportRun writes a released run's files and answers the manifest.
func (a *api) exportRun(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	if err := need(u, "export", payrun.RoleCashier); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	dir, err := a.runDir(u.Municipality, id)
	if err != nil {
		return err
	}
	m, err := export.Run(r.Context(), a.db, id, dir, export.Options{
		Municipality: u.Municipality, ActorID: u.ID, Actor: u.Login, Log: a.log,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// download serves one file of an exported run's manifest.
func (a *api) download(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	if err := need(u, "download", payrun.RoleCashier); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := a.db.RunDetails(r.Context(), u.Municipality, id, 0, 0); err != nil {
		return err // another municipality's run: not found
	}
	dir, err := a.runDir(u.Municipality, id)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, export.ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("run %d has no export files here: %w", id, payrun.ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("run %d: manifest: %w", id, err)
	}
	var m export.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("run %d: manifest: %w", id, err)
	}
	name := r.PathValue("name")
	ok := name == export.ManifestName
	for _, f := range m.Files {
		ok = ok || f.Name == name
	}
	if !ok || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("run %d: file %q: %w", id, name, payrun.ErrNotFound)
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	http.ServeFile(w, r, filepath.Join(dir, name))
	return nil
}
