package web

// The JSON API (/api/v1/…): what the command line does, for scripts and
// upstream systems. Every endpoint needs "Authorization: Bearer TOKEN"
// (the token `payrun user add` prints) and acts within the token user's
// municipality: another municipality's run is 404, as if it did not exist.
//
//	GET  /api/v1/runs                      any role: the municipality's runs, newest first
//	GET  /api/v1/runs/{id}                 any role: header, totals, signatures, warnings
//	POST /api/v1/runs {"period":"YYYY-MM"}   checker, approver, admin: create or recompute the proposed run
//	POST /api/v1/runs/{id}/signatures {"digest":"…"}  checker (1st), approver (2nd, another person)
//	POST /api/v1/runs/{id}/cancel          checker, approver, admin
//	POST /api/v1/runs/{id}/export          cashier: writes the files, returns the manifest
//	GET  /api/v1/runs/{id}/files/{name}    cashier: one file of the manifest (or manifest.json)
//	POST /api/v1/decisions                 admin: JSON Lines body (CONTRACT.md §2), every line of the
//	                                       caller's municipality; all or nothing
//	GET  /api/v1/bookings?after=CURSOR[&limit=N]  cashier: the next booking batch after CURSOR
//	POST /api/v1/bookings/ack {"batch":ID} cashier: acknowledges a batch
//
// The finance system that pulls bookings gets a user of its own with role
// cashier (there is no separate role: pulling bookings is cashier's work).
// Signing goes through runs.SignAs and cancelling through runs.Cancel, so
// the four-eyes rules are those of the command line and the database.
//
// Errors are {"error": "…"} (an import's line errors add "errors": […])
// with the status of apiStatus: bad input 400, no or bad token 401, a
// missing role or a refused signature (four-eyes, system user, limit) 403,
// not found (also another municipality's) 404, a run in the wrong state or
// changed since it was shown 409, a body over the limit 413.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// Defaults of APIConfig.
const (
	DefaultAPITimeout        = time.Minute
	DefaultAPILongTimeout    = 15 * time.Minute // run creation, import, export
	DefaultMaxImportBytes    = 256 << 20
	DefaultBookingBatchLines = 1000
	maxBookingBatchLines     = 10_000
	maxRunList               = 500
	maxWarningsShown         = 200
)

// APIConfig configures the JSON API.
type APIConfig struct {
	DB  *store.DB        // required
	Now func() time.Time // clock; default time.Now
	// ExportDir receives export files as ExportDir/<municipality>/<run>
	// (the layout of the pages and the scheduler); required for export and
	// downloads.
	ExportDir string
	// Timeout bounds a request's work (its context); LongTimeout that of
	// run creation, import and export. Downloads are bounded by the
	// http.Server's WriteTimeout only.
	Timeout, LongTimeout time.Duration
	// MaxImportBytes limits the body of POST /api/v1/decisions; other
	// bodies are limited by Server.MaxBodyBytes.
	MaxImportBytes int64
	// BookingBatchLines is the default batch size of GET /api/v1/bookings.
	BookingBatchLines int
}

// api serves the /api/v1 endpoints.
type api struct {
	cfg APIConfig
	db  *store.DB
	log *zap.Logger
}

// MountAPI registers the JSON API on s (see the list above).
func (s *Server) MountAPI(cfg APIConfig) error {
	if cfg.DB == nil {
		return errors.New("web: API without a database")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultAPITimeout)
	cfg.LongTimeout = cmp.Or(cfg.LongTimeout, DefaultAPILongTimeout)
	cfg.MaxImportBytes = cmp.Or(cfg.MaxImportBytes, DefaultMaxImportBytes)
	cfg.BookingBatchLines = cmp.Or(cfg.BookingBatchLines, DefaultBookingBatchLines)
	a := &api{cfg: cfg, db: cfg.DB, log: s.log.Named("api")}
	short := func(f handlerFunc) http.Handler { return a.handle(cfg.Timeout, f) }
	long := func(f handlerFunc) http.Handler { return a.handle(cfg.LongTimeout, f) }
	s.HandleAPI("GET /api/v1/runs", short(a.listRuns))
	s.HandleAPI("GET /api/v1/runs/{id}", short(a.showRun))
	s.HandleAPI("POST /api/v1/runs", long(a.createRun))
	s.HandleAPI("POST /api/v1/runs/{id}/signatures", short(a.signRun))
	s.HandleAPI("POST /api/v1/runs/{id}/cancel", short(a.cancelRun))
	s.HandleAPI("POST /api/v1/runs/{id}/export", long(a.exportRun))
	s.HandleAPI("GET /api/v1/runs/{id}/files/{name}", a.handle(0, a.download))
	s.mux.Handle("POST /api/v1/decisions", s.Authenticate(LimitBody(cfg.MaxImportBytes, long(a.importDecisions))))
	s.HandleAPI("GET /api/v1/bookings", short(a.nextBookings))
	s.HandleAPI("POST /api/v1/bookings/ack", short(a.ackBookings))
	return nil
}

// handlerFunc is an API handler: it writes its response on success and
// returns an error otherwise, which handle maps to a status.
type handlerFunc func(w http.ResponseWriter, r *http.Request, u runs.Signer) error

// handle runs f with the authenticated user and a timeout (0: none) and
// answers f's error as JSON.
func (a *api) handle(timeout time.Duration, f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFrom(r.Context())
		if !ok {
			a.fail(w, r, fmt.Errorf("no authenticated user: %w", payrun.ErrUnauthorized))
			return
		}
		if timeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		if err := f(w, r, runs.Signer{TokenUser: u}); err != nil {
			a.fail(w, r, err)
		}
	})
}

// apiStatus maps errors to HTTP statuses: the one table of the API.
var apiStatus = []struct {
	err    error
	status int
}{
	{payrun.ErrInvalid, http.StatusBadRequest},
	{payrun.ErrUnauthorized, http.StatusUnauthorized},
	{payrun.ErrForbidden, http.StatusForbidden},
	{payrun.ErrSameSigner, http.StatusForbidden},
	{payrun.ErrNotFound, http.StatusNotFound},
	{payrun.ErrRunState, http.StatusConflict},
	{payrun.ErrRunChanged, http.StatusConflict},
	{payrun.ErrConflict, http.StatusConflict},
	{payrun.ErrNothingToPay, http.StatusConflict},
	{context.DeadlineExceeded, http.StatusServiceUnavailable},
}

// statusOf returns the status of err (500 when no entry matches).
func statusOf(err error) int {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	for _, e := range apiStatus {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return http.StatusInternalServerError
}

// fail answers err as {"error": …}; internal errors are logged and not
// shown.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	body := map[string]any{"error": err.Error()}
	if status == http.StatusInternalServerError {
		a.log.Error("api", zap.String("path", r.URL.Path), zap.Error(err))
		body["error"] = "internal error"
	}
	if list, ok := errors.AsType[payrun.ErrorList](err); ok {
		msgs := make([]string, len(list))
		for i, e := range list {
			msgs[i] = e.Error()
		}
		body["errors"] = msgs
	}
	if status == http.StatusUnauthorized {
		unauthorized(w, fmt.Sprint(body["error"]))
		return
	}
	writeJSON(w, status, body)
}

// need refuses u unless it holds one of roles.
func need(u runs.Signer, what string, roles ...payrun.Role) error {
	if !u.System {
		for _, r := range roles {
			if u.Has(r) {
				return nil
			}
		}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return fmt.Errorf("%s needs role %s: %w", what, strings.Join(names, " or "), payrun.ErrForbidden)
}

// pathID returns the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("run id %q: %w", r.PathValue("id"), payrun.ErrInvalid)
	}
	return id, nil
}

// decodeBody decodes a JSON object body into v, refusing unknown fields
// and trailing data.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return err
		}
		return fmt.Errorf("request body: %v: %w", err, payrun.ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("request body: data after the JSON object: %w", payrun.ErrInvalid)
	}
	return nil
}
