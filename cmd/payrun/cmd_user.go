package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/store"
)

func cmdUserAdd(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("user add")
	m := fs.String("municipality", "", "municipality key")
	login := fs.String("login", "", "login name")
	name := fs.String("name", "", "display name (default: the login)")
	roles := fs.String("roles", "", "comma-separated roles, e.g. checker or approver:25000 (limit in euros)")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *m == "" || *login == "" || *roles == "" {
		return badInput(errors.New("usage: payrun user add --municipality KEY --login L --roles R1,R2[:limit]"))
	}
	grants, err := parseRoles(*roles)
	if err != nil {
		return badInput(err)
	}
	token, err := store.NewToken()
	if err != nil {
		return err
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	u := payrun.User{Municipality: *m, Login: *login, DisplayName: *name, Roles: grants}
	if u.DisplayName == "" {
		u.DisplayName = *login
	}
	id, err := db.AddUser(ctx, u, "", token, time.Now())
	if errors.Is(err, payrun.ErrConflict) {
		return badInput(fmt.Errorf("user %s in %s: login exists, municipality unknown or a role invalid: %w", *login, *m, err))
	}
	if err != nil {
		return err
	}
	if env.JSON {
		return env.print(map[string]any{"token": token, "id": id}, "")
	}
	fmt.Fprintf(env.Stdout, "created user %s in %s (id %d)\nAPI token (shown once, store it now):\n%s\n", *login, *m, id, token)
	return nil
}

// parseRoles parses "checker,approver:25000" (limit in euros).
func parseRoles(s string) ([]payrun.RoleGrant, error) {
	var out []payrun.RoleGrant
	for _, part := range strings.Split(s, ",") {
		name, limit, hasLimit := strings.Cut(strings.TrimSpace(part), ":")
		g := payrun.RoleGrant{Role: payrun.Role(name)}
		if !g.Role.Valid() {
			return nil, fmt.Errorf("--roles: unknown role %q; want one of %v", name, payrun.Roles)
		}
		if hasLimit {
			c, err := payrun.ParseCents(limit)
			if err != nil || c <= 0 {
				return nil, fmt.Errorf("--roles: limit %q of %s: want a positive amount in euros", limit, name)
			}
			if g.Role != payrun.RoleApprover {
				return nil, fmt.Errorf("--roles: only approver carries a limit, not %s", name)
			}
			g.Limit = c
		}
		out = append(out, g)
	}
	return out, nil
}

func cmdUserRevokeToken(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("user revoke-token")
	m := fs.String("municipality", "", "municipality key")
	login := fs.String("login", "", "login name")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	if *m == "" || *login == "" {
		return badInput(errors.New("usage: payrun user revoke-token --municipality KEY --login L"))
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	n, err := db.RevokeTokens(ctx, *m, *login, time.Now())
	if errors.Is(err, payrun.ErrNotFound) {
		return badInput(fmt.Errorf("no user %s in %s", *login, *m))
	}
	if err != nil {
		return err
	}
	return env.print(map[string]int{"revoked": n}, fmt.Sprintf("revoked %d token(s) of %s in %s", n, *login, *m))
}
