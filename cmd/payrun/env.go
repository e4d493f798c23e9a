package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/pgserver"
)

// Env carries what every command needs: output streams, the global flags,
// the logger and (lazily) the database. Commands get it from Main; nothing
// here is global.
//
// Configuration from the environment (flags win):
//
//	PAYRUN_HOME          --home: directory of the embedded cluster (default ./var)
//	PAYRUN_DATABASE_URL  use this PostgreSQL server instead of the embedded one (the application role)
//	PAYRUN_OWNER_DATABASE_URL  with PAYRUN_DATABASE_URL: the schema owner's URL, used to migrate
//	PAYRUN_LOG_FORMAT    --log-format: text or json
//	PAYRUN_LOG_LEVEL     --log-level: debug, info, warn or error
//	PAYRUN_PG_BINDIR     directory of initdb/pg_ctl/postgres (default: PATH, /usr/lib/postgresql/*/bin)
//	PAYRUN_PG_SCRATCH    1: a new embedded cluster is a fast throw-away one (fsync off; benchmarks)
type Env struct {
	Stdout, Stderr io.Writer
	JSON           bool   // --json: machine-readable output
	LogFormat      string // --log-format: text or json
	LogLevel       string // --log-level: debug, info, warn, error
	Home           string // --home: payrun home (PAYRUN_HOME, default ./var)
	Log            *zap.Logger
	Getenv         func(string) string // os.Getenv; tests replace it
	closers        []func()
	dbURL          string           // cached by DatabaseURL
	server         *pgserver.Server // the embedded cluster, once started
}

// NewEnv returns an Env writing to stdout and stderr.
func NewEnv(stdout, stderr io.Writer) *Env {
	return &Env{Stdout: stdout, Stderr: stderr, LogFormat: "text", LogLevel: "info", Log: zap.NewNop(), Getenv: os.Getenv}
}

// ParseGlobalFlags reads the global flags (anywhere on the line), falls back to the environment for the others and
// returns the rest of the arguments.
func (e *Env) ParseGlobalFlags(args []string) ([]string, error) {
	e.Home = e.env("PAYRUN_HOME", "var")
	e.LogFormat = e.env("PAYRUN_LOG_FORMAT", e.LogFormat)
	e.LogLevel = e.env("PAYRUN_LOG_LEVEL", e.LogLevel)
	values := map[string]*string{"log-format": &e.LogFormat, "log-level": &e.LogLevel, "home": &e.Home}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		dst, ok := values[name]
		switch {
		case a == "--json" || a == "-json":
			e.JSON = true
		case ok && strings.HasPrefix(a, "-"):
			if !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("--%s needs a value", name)
				}
				value = args[i+1]
				i++
			}
			*dst = value
		default:
			rest = append(rest, a)
		}
	}
	if e.LogFormat != "text" && e.LogFormat != "json" {
		return nil, fmt.Errorf("--log-format / PAYRUN_LOG_FORMAT %q: want text or json", e.LogFormat)
	}
	level, err := zapcore.ParseLevel(e.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level / PAYRUN_LOG_LEVEL %q: want debug, info, warn or error", e.LogLevel)
	}
	if e.Home == "" {
		return nil, errors.New("--home / PAYRUN_HOME is empty: want a directory (default ./var)")
	}
	log, err := newLogger(e.LogFormat, level, e.Stderr)
	if err != nil {
		return nil, err
	}
	e.Log = log
	return rest, nil
}

// env returns the environment variable name, or def when it is unset or empty.
func (e *Env) env(name, def string) string {
	if v := e.Getenv(name); v != "" {
		return v
	}
	return def
}

// PGOptions are the options of the embedded cluster under the home.
func (e *Env) PGOptions() (pgserver.Options, error) {
	o := pgserver.Options{Home: e.Home, BinDir: e.Getenv("PAYRUN_PG_BINDIR"), Log: e.Log}
	if v := e.Getenv("PAYRUN_PG_SCRATCH"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, badInput(fmt.Errorf("PAYRUN_PG_SCRATCH=%q: want 1 or 0", v))
		}
		o.Scratch = b
	}
	return o, nil
}

// ExternalDatabase reports whether PAYRUN_DATABASE_URL names the server.
func (e *Env) ExternalDatabase() bool { return e.Getenv("PAYRUN_DATABASE_URL") != "" }

// DatabaseURL returns the URL the application connects with:
// PAYRUN_DATABASE_URL when set, otherwise that of the embedded cluster
// under the home, which is created or started on demand (and left running).
func (e *Env) DatabaseURL(ctx context.Context) (string, error) {
	if e.dbURL != "" {
		return e.dbURL, nil
	}
	if u := e.Getenv("PAYRUN_DATABASE_URL"); u != "" {
		if _, err := pgx.ParseConfig(u); err != nil {
			return "", badInput(fmt.Errorf("PAYRUN_DATABASE_URL is not a PostgreSQL connection URL "+
				"(want postgres://user:password@host:port/db): %w", err))
		}
		e.dbURL = u
		return u, nil
	}
	s, err := e.EmbeddedServer(ctx)
	if err != nil {
		return "", err
	}
	e.server = s
	e.dbURL = s.URL("payrun")
	return e.dbURL, nil
}

// OwnerURL returns the URL of the schema owner, who migrates: the
// superuser of the embedded cluster, or PAYRUN_OWNER_DATABASE_URL with an
// external server ("" when unset: the schema must then be migrated already).
func (e *Env) OwnerURL(ctx context.Context) (string, error) {
	if _, err := e.DatabaseURL(ctx); err != nil {
		return "", err
	}
	if e.server != nil {
		return e.server.AdminURL("payrun"), nil
	}
	u := e.Getenv("PAYRUN_OWNER_DATABASE_URL")
	if u == "" {
		return "", nil
	}
	if _, err := pgx.ParseConfig(u); err != nil {
		return "", badInput(fmt.Errorf("PAYRUN_OWNER_DATABASE_URL is not a PostgreSQL connection URL: %w", err))
	}
	return u, nil
}

// EmbeddedServer creates or starts the embedded cluster under the home.
func (e *Env) EmbeddedServer(ctx context.Context) (*pgserver.Server, error) {
	o, err := e.PGOptions()
	if err != nil {
		return nil, err
	}
	s, err := pgserver.Start(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("embedded database (PAYRUN_DATABASE_URL unset, home %s): %w", e.Home, err)
	}
	return s, nil
}

// OnClose registers f to run when the command ends (last registered first).
func (e *Env) OnClose(f func()) { e.closers = append(e.closers, f) }

// Close releases what the command opened.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
	_ = e.Log.Sync()
}

func newLogger(format string, level zapcore.Level, w io.Writer) (*zap.Logger, error) {
	var enc zapcore.Encoder
	if format == "json" {
		cfg := zap.NewProductionEncoderConfig()
		cfg.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(cfg)
	} else {
		cfg := zap.NewDevelopmentEncoderConfig()
		cfg.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05")
		enc = zapcore.NewConsoleEncoder(cfg)
	}
	core := zapcore.NewCore(enc, zapcore.AddSync(w), level)
	return zap.New(core), nil
}

// flagSet returns a FlagSet for a sub-command that reports errors instead of
// exiting, and accepts --json among the command's own flags.
func (e *Env) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.BoolVar(&e.JSON, "json", e.JSON, "machine-readable output")
	return fs
}

// inputError marks an error as bad input (exit 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }
func (e inputError) ExitCode() int { return exitInput }

// badInput wraps err as bad input (exit 2).
func badInput(err error) error { return inputError{err} }

func isInputError(err error) bool { return errors.Is(err, payrun.ErrInvalid) }

func isRefusal(err error) bool {
	return errors.Is(err, payrun.ErrSameSigner) || errors.Is(err, payrun.ErrForbidden) ||
		errors.Is(err, payrun.ErrRunState) || errors.Is(err, payrun.ErrUnauthorized) ||
		errors.Is(err, payrun.ErrRunChanged)
}
