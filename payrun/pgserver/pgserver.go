package pgserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// Options says where the cluster lives and how it is run.
type Options struct {
	Home         string        // payrun home (PAYRUN_HOME); the cluster is Home/pg
	Scratch      bool          // new clusters only: fsync etc. off, for tests and benchmarks
	BinDir       string        // directory of initdb/pg_ctl/postgres; empty: PATH, /usr/lib/postgresql/*/bin
	RunAs        string        // as root: the user running PostgreSQL; empty: "postgres"
	StartTimeout time.Duration // how long start may take; zero: 60s
	Log          *zap.Logger   // nil: no logging
}

func (o Options) normalize() (Options, error) {
	if o.Home == "" {
		return o, errors.New("pgserver: no home directory given")
	}
	abs, err := filepath.Abs(o.Home)
	if err != nil {
		return o, fmt.Errorf("pgserver: home %s: %w", o.Home, err)
	}
	o.Home = abs
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o, nil
}

// Server is a running embedded cluster.
type Server struct {
	Home      string // absolute payrun home
	DataDir   string // the data directory (symlinks resolved)
	LogFile   string // the server log
	Relocated bool   // DataDir is under /var/tmp because the postgres user cannot reach Home
	Port      int    // TCP port on 127.0.0.1
	PID       int    // postmaster pid
	Major     int    // PostgreSQL major version
	st        state
}

// URL returns the connection URL of the application role ("payrun", not a
// superuser) for database db ("payrun" is the application's database).
func (s *Server) URL(db string) string { return s.url(s.st.AppUser, s.st.AppPassword, db) }

// AppUser is the name of the application role.
func (s *Server) AppUser() string { return s.st.AppUser }

// AdminURL returns the connection URL of the superuser for database db.
func (s *Server) AdminURL(db string) string { return s.url(s.st.AdminUser, s.st.AdminPassword, db) }

func (s *Server) url(user, password, db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// state is pgserver.json.
type state struct {
	Port          int    `json:"port"`
	AdminUser     string `json:"admin_user"`
	AdminPassword string `json:"admin_password"`
	AppUser       string `json:"app_user"`
	AppPassword   string `json:"app_password"`
	Database      string `json:"database"`
	Scratch       bool   `json:"scratch"`
	Ready         bool   `json:"ready"` // role and database created
}

// layout names the files of a home.
type layout struct {
	home, link, dataDir, stateFile, lockFile, logFile string
	relocated                                         bool
}

func resolveLayout(home string) layout {
	l := layout{
		home:      home,
		link:      filepath.Join(home, "pg"),
		stateFile: filepath.Join(home, "pgserver.json"),
		lockFile:  filepath.Join(home, "pg.lock"),
	}
	l.dataDir = l.link
	if target, err := os.Readlink(l.link); err == nil {
		l.dataDir, l.relocated = target, true
	}
	l.logFile = filepath.Join(l.dataDir, "server.log")
	return l
}

func readState(path string) (state, error) {
	var st state
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("pgserver: %s: %w", path, err)
	}
	return st, nil
}

func writeState(path string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("pgserver: write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pgserver: write state: %w", err)
	}
	return nil
}

// Start creates the cluster under o.Home when there is none, starts the
// server when it is not running, waits until it accepts connections and
// returns it. The server keeps running after the process ends; see Stop.
func Start(ctx context.Context, o Options) (*Server, error) {
	o, err := o.normalize()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Home, 0o755); err != nil {
		return nil, fmt.Errorf("pgserver: home: %w", err)
	}
	l := resolveLayout(o.Home)
	unlock, err := lockFile(ctx, l.lockFile)
	if err != nil {
		return nil, err
	}
	defer unlock()
	r, err := newRunner(o.RunAs)
	if err != nil {
		return nil, err
	}
	st, err := readState(l.stateFile)
	if err == nil && !exists(filepath.Join(l.dataDir, "PG_VERSION")) {
		// The data directory is gone (removed by hand, or a relocated one
		// cleaned from /var/tmp): make a new, empty cluster.
		o.Log.Warn("pgserver: the cluster's data directory is gone; making a new one", zap.String("data", l.dataDir))
		err = fs.ErrNotExist
	}
	if errors.Is(err, fs.ErrNotExist) {
		l, st, err = initCluster(ctx, o, r, l)
	}
	if err != nil {
		return nil, err
	}
	major, err := dataMajor(l.dataDir)
	if err != nil {
		return nil, err
	}
	bins, err := findBinaries(o.BinDir, major)
	if err != nil {
		return nil, err
	}
	s := &Server{Home: o.Home, DataDir: l.dataDir, LogFile: l.logFile, Relocated: l.relocated, Major: major, st: st}
	if err := s.ensureRunning(ctx, o, r, bins); err != nil {
		return nil, err
	}
	if !s.st.Ready {
		if err := s.setup(ctx); err != nil {
			return nil, err
		}
		s.st.Ready = true
	}
	if s.st != st {
		if err := writeState(l.stateFile, s.st); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ensureRunning uses the running server or starts one.
func (s *Server) ensureRunning(ctx context.Context, o Options, r runner, bins binaries) error {
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	for {
		pf, err := readPidFile(s.DataDir)
		if err != nil {
			return err
		}
		if pf.live() && pf.status == "ready" {
			s.PID, s.Port, s.st.Port = pf.pid, pf.port, pf.port
			return s.waitReady(ctx)
		}
		if !pf.live() {
			break
		}
		// Starting up or shutting down: wait for either end.
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgserver: server pid %d in state %q: %w%s", pf.pid, pf.status, ctx.Err(), s.logTail(0))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return s.start(ctx, o, r, bins)
}

// start starts a stopped server on a free port.
func (s *Server) start(ctx context.Context, o Options, r runner, bins binaries) error {
	if err := removeStalePidFile(s.DataDir, o.Log); err != nil {
		return err
	}
	prefer := s.st.Port
	for attempt := 1; ; attempt++ {
		port, err := freePort(prefer)
		if err != nil {
			return err
		}
		prefer = 0
		offset := fileSize(s.LogFile)
		begin := time.Now()
		err = r.run(ctx, bins.path("pg_ctl"), "start", "-D", s.DataDir, "-l", s.LogFile, "-w", "-s",
			"-t", strconv.Itoa(int(o.StartTimeout/time.Second)), "-o", fmt.Sprintf("-p %d", port))
		if err != nil {
			tail := s.logTail(offset)
			if attempt < 3 && strings.Contains(tail, "could not bind") {
				o.Log.Info("pgserver: port taken meanwhile, retrying", zap.Int("port", port))
				continue
			}
			return fmt.Errorf("pgserver: start the server in %s: %w%s", s.DataDir, err, tail)
		}
		pf, err := readPidFile(s.DataDir)
		if err != nil {
			return err
		}
		s.PID, s.Port, s.st.Port = pf.pid, port, port
		o.Log.Info("pgserver: started PostgreSQL", zap.String("data", s.DataDir), zap.Int("port", port),
			zap.Int("pid", pf.pid), zap.Duration("took", time.Since(begin)))
		return s.waitReady(ctx)
	}
}

// waitReady connects as the superuser until it works or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(cctx, s.AdminURL("postgres"))
		if err == nil {
			err = conn.Ping(cctx)
			_ = conn.Close(context.Background())
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgserver: server on port %d does not accept connections: %w%s", s.Port, last, s.logTail(0))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// setup creates the application role and the database. The database (and
// so its public schema) belongs to the superuser, who migrates; the
// application role gets row privileges only (store.Setup).
func (s *Server) setup(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.AdminURL("postgres"))
	if err != nil {
		return fmt.Errorf("pgserver: setup: %w", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", s.st.AppUser).Scan(&n); err != nil {
		return fmt.Errorf("pgserver: setup: %w", err)
	}
	role := pgx.Identifier{s.st.AppUser}.Sanitize()
	if n == 0 {
		q := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", role, strings.ReplaceAll(s.st.AppPassword, "'", "''"))
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("pgserver: setup: create role %s: %w", s.st.AppUser, err)
		}
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", s.st.Database).Scan(&n); err != nil {
		return fmt.Errorf("pgserver: setup: %w", err)
	}
	if n == 0 {
		q := fmt.Sprintf("CREATE DATABASE %s", pgx.Identifier{s.st.Database}.Sanitize())
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("pgserver: setup: create database %s: %w", s.st.Database, err)
		}
	}
	return nil
}

// logTail returns the server log's last lines written after offset, for
// error messages.
func (s *Server) logTail(offset int64) string {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		return ""
	}
	if offset > 0 && offset <= int64(len(b)) {
		b = b[offset:]
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	text := strings.Join(lines, "\n")
	if strings.TrimSpace(text) == "" {
		return ""
	}
	return fmt.Sprintf("\nlast lines of %s:\n%s", s.LogFile, text)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// freePort returns prefer when it is free on 127.0.0.1, else a free port.
func freePort(prefer int) (int, error) {
	if prefer > 0 {
		if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(prefer))); err == nil {
			_ = ln.Close()
			return prefer, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgserver: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// dataMajor reads the major version of the cluster in dir.
func dataMajor(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if err != nil {
		return 0, fmt.Errorf("pgserver: %s is not a PostgreSQL data directory: %w", dir, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pgserver: %s/PG_VERSION: %w", dir, err)
	}
	return v, nil
}

// pidFile is postmaster.pid.
type pidFile struct {
	exists bool
	pid    int
	port   int
	status string // ready, starting, stopping; "" when absent
	alive  bool   // pid names a live postgres process
}

func (p pidFile) live() bool { return p.exists && p.alive }

func readPidFile(dataDir string) (pidFile, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return pidFile{}, nil
	}
	if err != nil {
		return pidFile{}, fmt.Errorf("pgserver: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	p := pidFile{exists: true}
	p.pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	if len(lines) > 3 {
		p.port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	if len(lines) > 7 {
		p.status = strings.TrimSpace(lines[7])
	}
	p.alive = p.pid > 0 && isPostgres(p.pid)
	return p, nil
}

// isPostgres reports whether pid is a live postgres process. A pid file left
// by a crash may name a pid that a different program now has.
func isPostgres(pid int) bool {
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// "pid (comm) state ..."; a zombie (Z) is dead but not yet reaped.
		f := string(stat)
		open, end := strings.IndexByte(f, '('), strings.LastIndexByte(f, ')')
		if open < 0 || end < open || len(f) < end+3 {
			return false
		}
		comm, st := f[open+1:end], f[end+2]
		return (comm == "postgres" || comm == "postmaster") && st != 'Z' && st != 'X'
	}
	if _, err := os.Stat("/proc/self"); err == nil {
		return false // Linux and no such process
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func removeStalePidFile(dataDir string, log *zap.Logger) error {
	pf, err := readPidFile(dataDir)
	if err != nil || !pf.exists || pf.alive {
		return err
	}
	log.Warn("pgserver: removing stale postmaster.pid (server not running)", zap.String("data", dataDir), zap.Int("pid", pf.pid))
	if err := os.Remove(filepath.Join(dataDir, "postmaster.pid")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pgserver: remove stale pid file: %w", err)
	}
	return nil
}

func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pgserver: password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
