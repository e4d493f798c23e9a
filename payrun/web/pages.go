package web

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// PagesConfig configures the cashiers' web pages.
type PagesConfig struct {
	DB  *store.DB
	Log *zap.Logger
	// Now is the clock (default time.Now); tests inject one to check expiry.
	Now func() time.Time
	// InsecureCookies drops the Secure flag of the cookies: only for tests
	// and development over http://localhost.
	InsecureCookies bool
	// ExportDir receives the export files, one directory per municipality
	// and run (required for exports and downloads).
	ExportDir string
	// IdleTimeout and MaxAge end a session after inactivity and after its
	// creation (defaults 30 minutes and 10 hours).
	IdleTimeout, MaxAge time.Duration
	// MaxFailures failed logins lock a login for LockFor (defaults 5, 15 min).
	MaxFailures int
	LockFor     time.Duration
}

// Pages serves the cashiers' server-rendered pages (German, no JavaScript):
// login, the run list, run details with Feststellung and Freigabe,
// export and downloads, and the rate tables. Mount Handler at "/".
type Pages struct {
	cfg   PagesConfig
	log   *zap.Logger
	now   func() time.Time
	pages map[string]*template.Template
	mux   *http.ServeMux
	// dummyHash is compared against when a login does not exist.
	dummyHash []byte
}

// NewPages parses the embedded templates and returns the pages' handler.
func NewPages(cfg PagesConfig) (*Pages, error) {
	if cfg.DB == nil {
		return nil, errors.New("web: pages without a database")
	}
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, 30*time.Minute)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, 10*time.Hour)
	cfg.MaxFailures = cmp.Or(cfg.MaxFailures, 5)
	cfg.LockFor = cmp.Or(cfg.LockFor, 15*time.Minute)
	var err error
	p := &Pages{cfg: cfg, log: cmp.Or(cfg.Log, zap.NewNop()).Named("pages"), now: cfg.Now, mux: http.NewServeMux()}
	if p.now == nil {
		p.now = time.Now
	}
	if p.dummyHash, err = bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost); err != nil {
		return nil, fmt.Errorf("web: dummy hash: %w", err)
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	p.routes()
	return p, nil
}

func (p *Pages) parse() error {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("web: layout template: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return fmt.Errorf("web: templates: %w", err)
	}
	p.pages = map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", n, err)
		}
		p.pages[n[len("templates/"):]] = t
	}
	return nil
}

func (p *Pages) routes() {
	static, _ := fs.Sub(staticFS, "static")
	p.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	p.mux.HandleFunc("GET /login", p.loginForm)
	p.mux.HandleFunc("POST /login", p.login)
	p.mux.Handle("POST /logout", p.auth(p.logout))
	p.mux.Handle("GET /{$}", p.auth(p.home))
	p.mux.Handle("GET /runs/{id}", p.auth(p.runDetail))
	p.mux.Handle("GET /runs/{id}/cases/{case}/{month}", p.auth(p.explain))
	p.mux.Handle("GET /runs/{id}/sign", p.auth(p.signForm))
	p.mux.Handle("POST /runs/{id}/sign", p.auth(p.sign))
	p.mux.Handle("POST /runs/{id}/export", p.auth(p.export))
	p.mux.Handle("GET /runs/{id}/files/{name}", p.auth(p.download))
	p.mux.Handle("GET /rates", p.auth(p.rates))
	p.mux.Handle("POST /rates/preview", p.auth(p.ratePreviewPage))
	p.mux.Handle("POST /rates", p.auth(p.saveRate))
}

// Handler returns the pages with the security headers on every response.
func (p *Pages) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		p.mux.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Title string
	User  *sessionUser
	CSRF  string
	Data  any
}

// render writes page name; pages with personal data are never stored by
// caches (no-store on every page: all but login show run data).
func (p *Pages) render(w http.ResponseWriter, status int, name string, v view) {
	t, ok := p.pages[name]
	if !ok {
		p.log.Error("no template", zap.String("name", name))
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout.html", v); err != nil {
		p.log.Error("render", zap.String("template", name), zap.Error(err))
	}
}

// fail renders an error page: 404 for payrun.ErrNotFound (also another
// municipality's run), 403 for payrun.ErrForbidden, 500 otherwise.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, u *sessionUser, err error) {
	status, msg := http.StatusInternalServerError, "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später erneut."
	switch {
	case errors.Is(err, payrun.ErrNotFound):
		status, msg = http.StatusNotFound, "Diese Seite gibt es nicht, oder sie gehört zu einer anderen Kommune."
	case errors.Is(err, payrun.ErrForbidden):
		status, msg = http.StatusForbidden, "Ihre Rolle erlaubt diese Seite nicht."
	default:
		p.log.Error("page", zap.String("path", r.URL.Path), zap.Error(err))
	}
	v := view{Title: "Fehler", User: u, Data: msg}
	if u != nil {
		v.CSRF = u.csrf
	}
	p.render(w, status, "error.html", v)
}
