package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

const (
	sessionCookie    = "payrun_session"
	loginCSRFCookie  = "payrun_login"
	csrfField        = "csrf"
	errLoginRefused  = "Anmeldung fehlgeschlagen: Kommune, Benutzername oder Passwort stimmen nicht."
	errLoginLocked   = "Zu viele Fehlversuche: Diese Anmeldung ist für 15 Minuten gesperrt. Bitte wenden Sie sich an die Fachadministration, wenn Sie Ihr Passwort vergessen haben."
	errLoginSession  = "Ihre Sitzung ist abgelaufen oder das Formular ist veraltet. Bitte melden Sie sich erneut an."
	sessionSecretLen = 32
)

// sessionUser is the logged-in user of a request.
type sessionUser struct {
	runs.Signer
	MunicipalityName string
	csrf             string
	secretHash       []byte
}

// Has reports whether the user holds one of roles.
func (u *sessionUser) HasAny(roles ...payrun.Role) bool {
	for _, r := range roles {
		if u.Has(r) {
			return true
		}
	}
	return false
}

// CanSeeRuns: the municipal roles that work with runs.
func (u *sessionUser) CanSeeRuns() bool {
	return u.HasAny(payrun.RoleChecker, payrun.RoleApprover, payrun.RoleCashier, payrun.RoleAdmin)
}

// CanEditRates: the central roles.
func (u *sessionUser) CanEditRates() bool {
	return u.HasAny(payrun.RoleRatesCounty, payrun.RoleRatesHub)
}

// csrfToken derives the session's CSRF token from its secret.
func csrfToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("payrun csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func randomToken() (string, []byte, error) {
	b := make([]byte, sessionSecretLen)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("web: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), b, nil
}

func (p *Pages) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: !p.cfg.InsecureCookies, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

type loginData struct {
	Error        string
	Municipality string
	Login        string
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) {
	p.renderLogin(w, http.StatusOK, loginData{Municipality: r.URL.Query().Get("kommune")})
}

// renderLogin shows the login form with a fresh double-submit CSRF token.
func (p *Pages) renderLogin(w http.ResponseWriter, status int, d loginData) {
	tok, _, err := randomToken()
	if err != nil {
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	p.setCookie(w, loginCSRFCookie, tok, 3600)
	p.render(w, status, "login.html", view{Title: "Anmeldung", CSRF: tok, Data: d})
}

func (p *Pages) login(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !sameToken(c.Value, r.PostFormValue(csrfField)) {
		p.forbidden(w)
		return
	}
	m, login, pw := strings.TrimSpace(r.PostFormValue("kommune")), strings.TrimSpace(r.PostFormValue("login")), r.PostFormValue("passwort")
	d := loginData{Municipality: m, Login: login}
	if !validKey(m) || login == "" || len(login) > 64 {
		d.Error = errLoginRefused
		p.renderLogin(w, http.StatusUnauthorized, d)
		return
	}
	secret, err := p.authenticate(r.Context(), m, login, pw)
	switch {
	case errors.Is(err, errLocked):
		d.Error = errLoginLocked
		p.renderLogin(w, http.StatusTooManyRequests, d)
		return
	case errors.Is(err, payrun.ErrUnauthorized):
		d.Error = errLoginRefused
		p.renderLogin(w, http.StatusUnauthorized, d)
		return
	case err != nil:
		p.fail(w, r, nil, err)
		return
	}
	p.setCookie(w, loginCSRFCookie, "", -1)
	p.setCookie(w, sessionCookie, m+"."+secret, 0)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var errLocked = errors.New("web: login locked")

// validKey accepts municipality keys (municipalities.key's pattern).
func validKey(k string) bool {
	if len(k) < 2 || len(k) > 32 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authenticate checks the password of login in m, counting failures and
// locking the login after MaxFailures; on success it creates a session and
// returns its secret (base64url).
func (p *Pages) authenticate(ctx context.Context, m, login, password string) (string, error) {
	now := p.now()
	var hash *string
	var userID int64
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		var locked *time.Time
		err := tx.QueryRow(ctx, `SELECT locked_until FROM login_failures WHERE municipality = $1 AND login = $2`, m, login).Scan(&locked)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if locked != nil && locked.After(now) {
			return errLocked
		}
		err = tx.QueryRow(ctx, `SELECT id, password_hash FROM users
			WHERE municipality = $1 AND login = $2 AND disabled_at IS NULL AND NOT system`, m, login).Scan(&userID, &hash)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("web: login %s/%s: %w", m, login, err)
	}
	// Compare against a dummy hash when there is no user, so that timing
	// does not tell which logins exist.
	h := p.dummyHash
	if hash != nil {
		h = []byte(*hash)
	}
	if bcrypt.CompareHashAndPassword(h, []byte(password)) != nil || hash == nil {
		if err := p.recordFailure(ctx, m, login, now); err != nil {
			return "", err
		}
		p.log.Info("login failed", zap.String("municipality", m), zap.String("login", login))
		return "", fmt.Errorf("web: login %s/%s: %w", m, login, payrun.ErrUnauthorized)
	}
	secret, raw, err := randomToken()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	err = p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE municipality = $1 AND login = $2`, m, login); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE municipality = $1 AND user_id = $2 AND created_at < $3`,
			m, userID, now.Add(-p.cfg.MaxAge)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO web_sessions (municipality, secret_sha256, user_id, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $4)`, m, sum[:], userID, now); err != nil {
			return err
		}
		return store.AppendAudit(ctx, tx, now, m, login, "web.login", []byte(`{}`))
	})
	if err != nil {
		return "", fmt.Errorf("web: session for %s/%s: %w", m, login, err)
	}
	return secret, nil
}

func (p *Pages) recordFailure(ctx context.Context, m, login string, now time.Time) error {
	err := p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `INSERT INTO login_failures (municipality, login, failures, last_failure_at) VALUES ($1, $2, 1, $3)
			ON CONFLICT (municipality, login) DO UPDATE SET failures = CASE
				WHEN login_failures.locked_until IS NOT NULL AND login_failures.locked_until <= $3 THEN 1
				ELSE login_failures.failures + 1 END,
				locked_until = CASE WHEN login_failures.locked_until <= $3 THEN NULL ELSE login_failures.locked_until END,
				last_failure_at = $3
			RETURNING failures`, m, login, now).Scan(&n)
		if err != nil {
			return err
		}
		if n >= p.cfg.MaxFailures {
			_, err = tx.Exec(ctx, `UPDATE login_failures SET locked_until = $3 WHERE municipality = $1 AND login = $2`,
				m, login, now.Add(p.cfg.LockFor))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("web: record failed login %s/%s: %w", m, login, err)
	}
	return nil
}

// session finds the user of the request's session cookie; nil when there
// is none or it expired (then the session row is deleted).
func (p *Pages) session(r *http.Request) (*sessionUser, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	m, secret, ok := strings.Cut(c.Value, ".")
	raw, derr := base64.RawURLEncoding.DecodeString(secret)
	if !ok || !validKey(m) || derr != nil || len(raw) != sessionSecretLen {
		return nil, nil
	}
	sum := sha256.Sum256(raw)
	now := p.now()
	ctx := r.Context()
	u := &sessionUser{csrf: csrfToken(raw), secretHash: sum[:]}
	found := false
	err = p.cfg.DB.WithTx(ctx, m, func(tx pgx.Tx) error {
		var created, seen time.Time
		err := tx.QueryRow(ctx, `SELECT s.created_at, s.last_seen_at, u.id, u.login, u.display_name, u.system, mu.name
			FROM web_sessions s JOIN users u ON u.municipality = s.municipality AND u.id = s.user_id
			JOIN municipalities mu ON mu.key = s.municipality
			WHERE s.municipality = $1 AND s.secret_sha256 = $2 AND u.disabled_at IS NULL`, m, sum[:]).
			Scan(&created, &seen, &u.ID, &u.Login, &u.DisplayName, &u.System, &u.MunicipalityName)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		if now.Sub(seen) > p.cfg.IdleTimeout || now.Sub(created) > p.cfg.MaxAge || now.Before(created.Add(-time.Minute)) {
			_, err = tx.Exec(ctx, `DELETE FROM web_sessions WHERE municipality = $1 AND secret_sha256 = $2`, m, sum[:])
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE web_sessions SET last_seen_at = $3 WHERE municipality = $1 AND secret_sha256 = $2`,
			m, sum[:], now); err != nil {
			return err
		}
		u.Municipality = m
		rows, err := tx.Query(ctx, `SELECT role, coalesce(limit_cents, 0) FROM user_roles
			WHERE municipality = $1 AND user_id = $2 ORDER BY role`, m, u.ID)
		if err != nil {
			return err
		}
		var g payrun.RoleGrant
		_, err = pgx.ForEachRow(rows, []any{&g.Role, &g.Limit}, func() error {
			u.Roles = append(u.Roles, g)
			return nil
		})
		found = err == nil
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("web: session: %w", err)
	}
	if !found {
		return nil, nil
	}
	return u, nil
}

// auth wraps a page handler: no valid session → the login page; a POST
// without the session's CSRF token → 403.
func (p *Pages) auth(h func(http.ResponseWriter, *http.Request, *sessionUser)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := p.session(r)
		if err != nil {
			p.fail(w, r, nil, err)
			return
		}
		if u == nil {
			if r.Method == http.MethodPost {
				p.forbidden(w)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && !sameToken(u.csrf, r.PostFormValue(csrfField)) {
			p.forbidden(w)
			return
		}
		h(w, r, u)
	})
}

func (p *Pages) forbidden(w http.ResponseWriter) {
	p.render(w, http.StatusForbidden, "error.html", view{Title: "Abgelehnt", Data: errLoginSession})
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request, u *sessionUser) {
	err := p.cfg.DB.WithTx(r.Context(), u.Municipality, func(tx pgx.Tx) error {
		_, err := tx.Exec(r.Context(), `DELETE FROM web_sessions WHERE municipality = $1 AND secret_sha256 = $2`, u.Municipality, u.secretHash)
		return err
	})
	if err != nil {
		p.fail(w, r, u, err)
		return
	}
	p.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/login?kommune="+u.Municipality, http.StatusSeeOther)
}
