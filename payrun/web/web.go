// Package web is payrun's HTTP server: health and readiness probes,
// Prometheus metrics, bearer-token authentication and request size limits.
// The JSON API (/api/v1/…) and the cashiers' pages are added to a Server
// with Handle and HandleAPI. It does not start listeners or read
// configuration: cmd/payrun builds the http.Server around Handler().
package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

// DB is what the server needs of the store; *store.DB satisfies it.
type DB interface {
	WithTx(ctx context.Context, municipality string, fn func(pgx.Tx) error) error
	UserByToken(ctx context.Context, hash []byte) (store.TokenUser, error)
}

var _ DB = (*store.DB)(nil)

// DefaultMaxBodyBytes limits request bodies of HandleAPI handlers.
const DefaultMaxBodyBytes = 1 << 20

// readyTimeout bounds the readiness check.
const readyTimeout = 3 * time.Second

// Server routes payrun's HTTP requests. Create it with New.
type Server struct {
	db           DB
	log          *zap.Logger
	mux          *http.ServeMux
	MaxBodyBytes int64 // limit of HandleAPI request bodies; set before HandleAPI
}

// New returns a Server serving /healthz, /readyz and /metrics (reg's
// metrics plus payrun_runs and payrun_run_lines read from db at scrape
// time). It fails when the run metrics cannot be registered with reg.
func New(db DB, log *zap.Logger, reg *prometheus.Registry) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{db: db, log: log.Named("web"), mux: http.NewServeMux(), MaxBodyBytes: DefaultMaxBodyBytes}
	if err := reg.Register(&runCollector{db: db, log: s.log}); err != nil {
		return nil, fmt.Errorf("web: register run metrics: %w", err)
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return s, nil
}

// Handler returns the server's handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Handle registers h for pattern (http.ServeMux syntax) without
// authentication, e.g. for the login page.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleAPI registers h for pattern behind bearer-token authentication
// and the request body limit; h finds the caller with UserFrom.
func (s *Server) HandleAPI(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.Authenticate(LimitBody(s.MaxBodyBytes, h)))
}

// ready answers 200 when the database is reachable and every embedded
// migration is applied, 503 otherwise.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.checkReady(ctx); err != nil {
		s.log.Warn("not ready", zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) checkReady(ctx context.Context) error {
	ms, err := store.Migrations()
	if err != nil {
		return err
	}
	versions := make([]int32, len(ms))
	for i, m := range ms {
		versions[i] = int32(m.Version)
	}
	var applied int
	err = s.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ANY($1)`, versions).Scan(&applied)
	})
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if applied != len(ms) {
		return fmt.Errorf("database: %d of %d migrations applied", applied, len(ms))
	}
	return nil
}

type userKey struct{}

// UserFrom returns the authenticated user of a HandleAPI request.
func UserFrom(ctx context.Context) (store.TokenUser, bool) {
	u, ok := ctx.Value(userKey{}).(store.TokenUser)
	return u, ok
}

// Authenticate admits requests with "Authorization: Bearer TOKEN" of a
// valid, unrevoked token of an enabled user (looked up by sha256) and
// answers 401 otherwise.
func (s *Server) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			unauthorized(w, "missing bearer token")
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		u, err := s.db.UserByToken(r.Context(), sum[:])
		switch {
		case errors.Is(err, payrun.ErrUnauthorized):
			unauthorized(w, "invalid token")
			return
		case err != nil:
			s.log.Error("token lookup", zap.Error(err))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="payrun"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

// LimitBody caps request bodies at n bytes (http.MaxBytesReader); a
// declared Content-Length above n is refused with 413 at once, and a
// handler reading past n gets an *http.MaxBytesError.
func LimitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("request body larger than %d bytes", n)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
