package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/payrun/payrun/payrun/pgserver"
)

// The embedded database server: payrun leaves it running between commands;
// db start/status/stop/url show, start and stop it and print its URL.
// (cmd_db.go holds the store's openDB and migrate.)

func cmdDBStatus(_ context.Context, env *Env, args []string) error {
	fs := env.flagSet("db status")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	o, err := env.PGOptions()
	if err != nil {
		return err
	}
	st, err := pgserver.Inspect(o)
	if err != nil {
		return err
	}
	if env.JSON {
		return json.NewEncoder(env.Stdout).Encode(struct {
			pgserver.Status
			External string `json:"external_database_url,omitempty"`
		}{st, redact(env.Getenv("PAYRUN_DATABASE_URL"))})
	}
	w := env.Stdout
	if env.ExternalDatabase() {
		fmt.Fprintf(w, "PAYRUN_DATABASE_URL is set (%s): payrun uses that server, not the embedded one\n",
			redact(env.Getenv("PAYRUN_DATABASE_URL")))
	}
	if !st.Initialized {
		fmt.Fprintf(w, "embedded cluster: none yet in %s (made on first use)\n", st.Home)
		return nil
	}
	where := st.DataDir
	if st.Relocated {
		where += " (relocated: the postgres user cannot reach the home)"
	}
	fmt.Fprintf(w, "embedded cluster: PostgreSQL %d in %s\n", st.Version, where)
	if st.Scratch {
		fmt.Fprintln(w, "scratch: yes (fsync off; loses data on a machine crash)")
	}
	if st.Running {
		fmt.Fprintf(w, "server: running (%s), pid %d, 127.0.0.1:%d\n", st.State, st.PID, st.Port)
	} else {
		fmt.Fprintln(w, "server: stopped (starts on the next command that needs it)")
	}
	fmt.Fprintf(w, "log: %s\n", st.LogFile)
	return nil
}

func cmdDBStart(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("db start")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	s, err := env.EmbeddedServer(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "running: pid %d, 127.0.0.1:%d, data %s\n", s.PID, s.Port, s.DataDir)
	return nil
}

func cmdDBStop(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("db stop")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	o, err := env.PGOptions()
	if err != nil {
		return err
	}
	was, err := pgserver.Stop(ctx, o)
	if err != nil {
		return err
	}
	if was {
		fmt.Fprintf(env.Stdout, "stopped the embedded database server of %s\n", env.Home)
	} else {
		fmt.Fprintf(env.Stdout, "the embedded database server of %s was not running\n", env.Home)
	}
	return nil
}

func cmdDBURL(ctx context.Context, env *Env, args []string) error {
	fs := env.flagSet("db url")
	admin := fs.Bool("admin", false, "the superuser's URL (database postgres) of the embedded cluster")
	if err := fs.Parse(args); err != nil {
		return badInput(err)
	}
	var u string
	var err error
	if *admin {
		if env.ExternalDatabase() {
			return badInput(fmt.Errorf("--admin: PAYRUN_DATABASE_URL is set; payrun knows no superuser of that server"))
		}
		var s *pgserver.Server
		if s, err = env.EmbeddedServer(ctx); err == nil {
			u = s.AdminURL("postgres")
		}
	} else {
		u, err = env.DatabaseURL(ctx)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, u)
	return nil
}

// redact hides the password of a connection URL.
func redact(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
