package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/payrun/web"
	"github.com/payrun/payrun/scheduler"
	"github.com/payrun/payrun/sepa/bankday"
)

// HTTP server limits of payrun serve.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 5 * time.Minute // downloads of export files
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// serveConfig is the configuration of payrun serve and payrun worker.
type serveConfig struct {
	Addr     string // listen address (serve only)
	Tick     time.Duration
	Lease    time.Duration
	Shutdown time.Duration // bound for running jobs after SIGTERM
	MaxJobs  int           // --max-jobs: jobs this instance runs at once
	Instance string
	// Fake clock for tests and demos: PAYRUN_FAKE_NOW (RFC 3339) is the
	// time at start; it advances PAYRUN_FAKE_SPEED (default 1) times as
	// fast as the real clock.
	FakeNow   time.Time
	FakeSpeed float64
	ExportDir string // --export-dir: where the export job writes (default $PAYRUN_HOME/out)
	// InsecureCookies drops the Secure flag of the pages' cookies, for
	// plain-HTTP development only (--insecure-cookies).
	InsecureCookies bool
}

func (env *Env) parseServeFlags(name string, args []string, withAddr bool) (serveConfig, error) {
	c := serveConfig{}
	fs := env.flagSet(name)
	if withAddr {
		fs.StringVar(&c.Addr, "addr", ":8080", "listen address")
		fs.BoolVar(&c.InsecureCookies, "insecure-cookies", false, "cookies without the Secure flag (plain-HTTP development only)")
	}
	fs.DurationVar(&c.Tick, "tick", scheduler.DefaultTickInterval, "scheduler tick interval")
	fs.DurationVar(&c.Lease, "lease", scheduler.DefaultLease, "job lease: a job of a dead instance is retried after it")
	fs.DurationVar(&c.Shutdown, "shutdown-timeout", scheduler.DefaultShutdownTimeout, "how long running jobs may finish after SIGTERM")
	fs.StringVar(&c.Instance, "instance", "", "instance name in the job table (default host-pid-random)")
	fs.IntVar(&c.MaxJobs, "max-jobs", scheduler.DefaultMaxConcurrent, "jobs this instance runs at once")
	fs.StringVar(&c.ExportDir, "export-dir", filepath.Join(env.Home, "out"), "export directory: files go to DIR/<municipality>/<run>")
	if err := fs.Parse(args); err != nil {
		return c, badInput(err)
	}
	if fs.NArg() > 0 {
		return c, badInput(fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0)))
	}
	if c.MaxJobs < 1 {
		return c, badInput(fmt.Errorf("%s: --max-jobs %d: want at least 1", name, c.MaxJobs))
	}
	if v := env.Getenv("PAYRUN_FAKE_NOW"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return c, badInput(fmt.Errorf("PAYRUN_FAKE_NOW=%q: want RFC 3339: %w", v, err))
		}
		c.FakeNow, c.FakeSpeed = t, 1
		if s := env.Getenv("PAYRUN_FAKE_SPEED"); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f <= 0 {
				return c, badInput(fmt.Errorf("PAYRUN_FAKE_SPEED=%q: want a positive number", s))
			}
			c.FakeSpeed = f
		}
	}
	return c, nil
}

// nowFunc returns the clock of c: real, or the fake clock.
func (c serveConfig) nowFunc() func() time.Time {
	if c.FakeNow.IsZero() {
		return time.Now
	}
	start := time.Now()
	return func() time.Time {
		return c.FakeNow.Add(time.Duration(float64(time.Since(start)) * c.FakeSpeed))
	}
}

func cmdServe(ctx context.Context, env *Env, args []string) error {
	c, err := env.parseServeFlags("serve", args, true)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	return serve(ctx, env, c, db, schedulerActions(db, actionsConfig{ExportDir: c.ExportDir, Log: env.Log, Now: c.nowFunc()}))
}

func cmdWorker(ctx context.Context, env *Env, args []string) error {
	c, err := env.parseServeFlags("worker", args, false)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, env)
	if err != nil {
		return err
	}
	return serve(ctx, env, c, db, schedulerActions(db, actionsConfig{ExportDir: c.ExportDir, Log: env.Log, Now: c.nowFunc()}))
}

// serve runs the scheduler and, when c.Addr is set, the HTTP server until
// ctx is cancelled (SIGTERM), then shuts both down within c.Shutdown.
func serve(ctx context.Context, env *Env, c serveConfig, db *store.DB, actions scheduler.Actions) error {
	reg := prometheus.NewRegistry()
	s, err := scheduler.New(scheduler.Config{
		DB: db, Log: env.Log, NowFunc: c.nowFunc(), Actions: actions, Calendar: bankday.Calendar{NRW: true},
		Registerer: reg, InstanceID: c.Instance, Lease: c.Lease, TickInterval: c.Tick, ShutdownTimeout: c.Shutdown,
		MaxConcurrent: c.MaxJobs,
	})
	if err != nil {
		return err
	}
	schedDone := make(chan error, 1)
	go func() { schedDone <- s.Run(ctx) }()
	if c.Addr == "" {
		return <-schedDone
	}
	srv, err := web.New(db, env.Log, reg)
	if err == nil {
		err = srv.MountAPI(web.APIConfig{DB: db, Now: c.nowFunc(), ExportDir: c.ExportDir})
	}
	if err == nil {
		err = mountPages(srv, db, env, c)
	}
	if err != nil {
		return errors.Join(err, <-schedDone)
	}
	return errors.Join(runHTTP(ctx, env.Log, c, srv.Handler()), <-schedDone)
}

// runHTTP serves h on c.Addr until ctx is cancelled, then shuts down.
func runHTTP(ctx context.Context, log *zap.Logger, c serveConfig, h http.Handler) error {
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen %s: %w", c.Addr, err)
	}
	hs := &http.Server{
		Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: zap.NewStdLog(log.Named("http")),
	}
	log.Info("listening", zap.String("addr", ln.Addr().String()))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("http server stopped")
	return nil
}

// mountPages serves the cashiers' pages at / on srv.
func mountPages(srv *web.Server, db *store.DB, env *Env, c serveConfig) error {
	pages, err := web.NewPages(web.PagesConfig{
		DB: db, Log: env.Log, Now: c.nowFunc(), ExportDir: c.ExportDir, InsecureCookies: c.InsecureCookies,
	})
	if err != nil {
		return err
	}
	srv.Handle("/", pages.Handler())
	return nil
}
