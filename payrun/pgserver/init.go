package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// settings for every cluster: a small machine, loopback TCP only.
const baseSettings = `
# --- payrun (pgserver) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
effective_cache_size = 1GB
wal_buffers = 16MB
wal_compression = on
min_wal_size = 256MB
max_wal_size = 2GB
checkpoint_timeout = 15min
checkpoint_completion_target = 0.9
password_encryption = 'scram-sha-256'
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
`

// scratchSettings make a throw-away cluster fast: nothing is flushed.
const scratchSettings = `# scratch cluster (tests, benchmarks): loses data on a machine crash
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_connections = 300
checkpoint_timeout = 30min
log_checkpoints = off
`

const hba = `# payrun (pgserver): TCP on loopback only, passwords (scram) for everyone
host all all 127.0.0.1/32 scram-sha-256
`

// initCluster makes a new cluster: picks the data directory (relocated
// when the postgres user cannot reach home), runs initdb, writes the
// settings and the state file (with Ready false: the role and database are
// made at the first start).
func initCluster(ctx context.Context, o Options, r runner, l layout) (layout, state, error) {
	bins, err := findBinaries(o.BinDir, 0)
	if err != nil {
		return l, state{}, err
	}
	if err := clearDataDir(ctx, o, r, l); err != nil {
		return l, state{}, err
	}
	l, err = placeDataDir(ctx, o, r, l)
	if err != nil {
		return l, state{}, err
	}
	st := state{AdminUser: "postgres", AppUser: "payrun", Database: "payrun", Scratch: o.Scratch}
	if st.AdminPassword, err = randomPassword(); err != nil {
		return l, st, err
	}
	if st.AppPassword, err = randomPassword(); err != nil {
		return l, st, err
	}
	begin := time.Now()
	if err := initdb(ctx, o, r, bins, l, st.AdminPassword); err != nil {
		return l, st, err
	}
	if err := configure(l.dataDir, o.Scratch); err != nil {
		return l, st, err
	}
	if err := writeState(l.stateFile, st); err != nil {
		return l, st, err
	}
	o.Log.Info("pgserver: created PostgreSQL cluster", zap.String("data", l.dataDir), zap.Int("version", bins.major),
		zap.Bool("scratch", o.Scratch), zap.String("user", r.user), zap.Duration("took", time.Since(begin)))
	return l, st, nil
}

// clearDataDir removes what a failed init or a removed home left behind.
// A data directory in home that holds a cluster is never removed: without
// the state file its passwords are lost, and the user decides.
func clearDataDir(ctx context.Context, o Options, r runner, l layout) error {
	orphan := relocatedDir(o.Home)
	if _, err := os.Stat(orphan); err == nil {
		o.Log.Warn("pgserver: removing the cluster of a home that has no state file any more", zap.String("dir", orphan))
		stopImmediate(ctx, r, filepath.Join(orphan, "pg"), o.BinDir)
		if err := os.RemoveAll(orphan); err != nil {
			return fmt.Errorf("pgserver: remove orphaned cluster: %w", err)
		}
	}
	if l.relocated {
		if err := os.Remove(l.link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pgserver: remove old link: %w", err)
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(l.dataDir, "PG_VERSION")); err == nil {
		return fmt.Errorf("pgserver: %s holds a cluster but %s is missing (it has the passwords): "+
			"remove %s to make a new cluster, or restore the file", l.dataDir, l.stateFile, l.dataDir)
	}
	if err := os.RemoveAll(l.dataDir); err != nil {
		return fmt.Errorf("pgserver: remove incomplete data directory: %w", err)
	}
	return nil
}

// stopImmediate stops a server in dataDir, if any, ignoring errors: used
// only before removing the directory.
func stopImmediate(ctx context.Context, r runner, dataDir, binDir string) {
	pf, err := readPidFile(dataDir)
	if err != nil || !pf.live() {
		return
	}
	major, err := dataMajor(dataDir)
	if err != nil {
		return
	}
	bins, err := findBinaries(binDir, major)
	if err != nil {
		return
	}
	_ = r.run(ctx, bins.path("pg_ctl"), "stop", "-D", dataDir, "-m", "immediate", "-w", "-s")
}

// placeDataDir creates the empty data directory, under /var/tmp when the
// postgres user cannot reach home.
func placeDataDir(ctx context.Context, o Options, r runner, l layout) (layout, error) {
	if !r.canReach(ctx, o.Home) {
		base := relocatedDir(o.Home)
		if err := os.MkdirAll(base, 0o700); err != nil {
			return l, fmt.Errorf("pgserver: %w", err)
		}
		if err := r.chown(base); err != nil {
			return l, err
		}
		l.dataDir, l.relocated = filepath.Join(base, "pg"), true
		l.logFile = filepath.Join(l.dataDir, "server.log")
		if err := os.Symlink(l.dataDir, l.link); err != nil {
			return l, fmt.Errorf("pgserver: link the relocated data directory: %w", err)
		}
		o.Log.Warn("pgserver: user "+r.user+" cannot reach the payrun home, so the cluster lives elsewhere",
			zap.String("home", o.Home), zap.String("data", l.dataDir), zap.String("link", l.link))
	}
	if err := os.Mkdir(l.dataDir, 0o700); err != nil {
		return l, fmt.Errorf("pgserver: create data directory: %w", err)
	}
	return l, r.chown(l.dataDir)
}

func initdb(ctx context.Context, o Options, r runner, bins binaries, l layout, adminPassword string) error {
	pw, err := os.CreateTemp(filepath.Dir(l.dataDir), ".pwfile-*")
	if err != nil {
		return fmt.Errorf("pgserver: initdb: %w", err)
	}
	defer os.Remove(pw.Name())
	_, err = pw.WriteString(adminPassword + "\n")
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.chown(pw.Name())
	}
	if err != nil {
		return fmt.Errorf("pgserver: initdb: %w", err)
	}
	args := []string{"-D", l.dataDir, "-U", "postgres", "--auth=scram-sha-256", "--pwfile=" + pw.Name(),
		"--encoding=UTF8", "--locale=C", "--lc-ctype=C.UTF-8", "--no-instructions"}
	if o.Scratch {
		args = append(args, "--no-sync")
	}
	if err := r.run(ctx, bins.path("initdb"), args...); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

// configure appends payrun's settings to postgresql.conf and replaces
// pg_hba.conf. The files exist (initdb wrote them), so they keep their owner.
func configure(dataDir string, scratch bool) error {
	conf := baseSettings
	if scratch {
		conf += scratchSettings
	}
	f, err := os.OpenFile(filepath.Join(dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgserver: configure: %w", err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgserver: configure: %w", err)
	}
	f, err = os.OpenFile(filepath.Join(dataDir, "pg_hba.conf"), os.O_TRUNC|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgserver: configure: %w", err)
	}
	_, err = f.WriteString(hba)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgserver: configure: %w", err)
	}
	return nil
}

// Status describes the cluster of a home without changing anything.
type Status struct {
	Home        string `json:"home"`
	DataDir     string `json:"data_dir"`
	LogFile     string `json:"log_file"`
	Relocated   bool   `json:"relocated"`
	Initialized bool   `json:"initialized"`
	Running     bool   `json:"running"`
	State       string `json:"state,omitempty"` // postmaster.pid: ready, starting, stopping
	PID         int    `json:"pid,omitempty"`
	Port        int    `json:"port,omitempty"`
	Version     int    `json:"version,omitempty"`
	Scratch     bool   `json:"scratch"`
}

// Inspect reports the cluster of o.Home: whether it exists and runs.
func Inspect(o Options) (Status, error) {
	o, err := o.normalize()
	if err != nil {
		return Status{}, err
	}
	l := resolveLayout(o.Home)
	s := Status{Home: o.Home, DataDir: l.dataDir, LogFile: l.logFile, Relocated: l.relocated}
	st, err := readState(l.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	s.Scratch, s.Port = st.Scratch, st.Port
	if v, err := dataMajor(l.dataDir); err == nil {
		s.Initialized, s.Version = true, v
	}
	pf, err := readPidFile(l.dataDir)
	if err != nil {
		return s, err
	}
	if pf.live() {
		s.Running, s.PID, s.Port, s.State = true, pf.pid, pf.port, pf.status
	}
	return s, nil
}

// Stop stops the server of o.Home (fast shutdown: open sessions are ended)
// and reports whether it was running. A home without a cluster is no error.
func Stop(ctx context.Context, o Options) (bool, error) {
	o, err := o.normalize()
	if err != nil {
		return false, err
	}
	l := resolveLayout(o.Home)
	if _, err := os.Stat(l.lockFile); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	unlock, err := lockFile(ctx, l.lockFile)
	if err != nil {
		return false, err
	}
	defer unlock()
	pf, err := readPidFile(l.dataDir)
	if err != nil {
		return false, err
	}
	if !pf.live() {
		return false, removeStalePidFile(l.dataDir, o.Log)
	}
	r, err := newRunner(o.RunAs)
	if err != nil {
		return false, err
	}
	major, err := dataMajor(l.dataDir)
	if err != nil {
		return false, err
	}
	bins, err := findBinaries(o.BinDir, major)
	if err != nil {
		return false, err
	}
	if err := r.run(ctx, bins.path("pg_ctl"), "stop", "-D", l.dataDir, "-m", "fast", "-w", "-s", "-t", "120"); err != nil {
		return true, fmt.Errorf("pgserver: stop: %w", err)
	}
	o.Log.Info("pgserver: stopped PostgreSQL", zap.String("data", l.dataDir), zap.Int("pid", pf.pid))
	return true, nil
}

// Destroy stops the server of o.Home at once and removes the cluster, its
// relocated directory and its state file. The next Start makes a new one.
func Destroy(ctx context.Context, o Options) error {
	o, err := o.normalize()
	if err != nil {
		return err
	}
	l := resolveLayout(o.Home)
	if _, err := os.Stat(o.Home); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lockFile(ctx, l.lockFile)
	if err != nil {
		return err
	}
	defer unlock()
	r, err := newRunner(o.RunAs)
	if err != nil {
		return err
	}
	stopImmediate(ctx, r, l.dataDir, o.BinDir)
	var errs []error
	if l.relocated {
		errs = append(errs, os.RemoveAll(filepath.Dir(l.dataDir)), os.Remove(l.link))
	} else {
		errs = append(errs, os.RemoveAll(l.dataDir))
	}
	if err := os.Remove(l.stateFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pgserver: destroy: %w", err)
	}
	o.Log.Info("pgserver: removed the cluster", zap.String("data", l.dataDir))
	return nil
}
