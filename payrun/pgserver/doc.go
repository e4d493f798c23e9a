// Package pgserver runs the private PostgreSQL cluster that payrun uses when
// PAYRUN_DATABASE_URL is unset.
//
// # Layout
//
// Everything lives under the payrun home directory (PAYRUN_HOME, default
// ./var):
//
//	pg              the cluster's data directory (PGDATA), or a symlink to it
//	pg/server.log   the server's log (pg_ctl -l)
//	pgserver.json   port, role names and generated passwords (mode 0600)
//	pg.lock         the lock file taken around every check-and-start
//
// # Life cycle
//
// Start creates the cluster the first time (initdb) and starts the server
// when it is not running. The server is LEFT RUNNING when the payrun command
// ends, so the next command connects at once; `payrun db stop` (Stop) stops
// it and `payrun db status` (Inspect) shows it. The server runs in its own
// session, so a Ctrl-C in the terminal does not reach it.
//
// Concurrent payrun processes on one home share one server: Start, Stop and
// Destroy hold an exclusive flock on pg.lock while they look at the cluster
// and change it. A server counts as running when postmaster.pid names a live
// process that is a postgres process; otherwise the pid file is stale (a
// crash, a reboot, a reused pid) and is removed before the server starts.
// The port is chosen at start: the port of the last start when it is still
// free, otherwise a free loopback port; the running server's port is read
// from postmaster.pid.
//
// # Network and authentication
//
// The server listens on 127.0.0.1 only, on TCP; unix sockets are disabled
// because their paths are limited to about 100 bytes and homes can be deep.
// Every connection authenticates with scram-sha-256. initdb makes the
// superuser "postgres"; the cluster also gets a non-superuser login role
// "payrun" owning a database "payrun" (the application connects as that role
// so that row-level security applies). Both passwords are random, generated
// at init and stored only in pgserver.json (0600). Trust authentication on
// 127.0.0.1 would let every local user of the machine in as superuser, so it
// is not used.
//
// # Running as root
//
// initdb and postgres refuse to run as root. When payrun runs as root it runs
// initdb and pg_ctl as the unprivileged user "postgres" (created by the
// Debian package) and gives that user the data directory. When that user
// cannot reach the home (e.g. a clone under /root), the data directory is
// placed under /var/tmp/payrun-<hash of the absolute home>/pg instead, home/pg
// becomes a symlink to it, and the log says so. Such a relocated directory
// whose home has gone (a fresh clone at the same path) is an orphan: it is
// stopped and removed before a new cluster is made. Note that systemd may
// clean /var/tmp of files untouched for 30 days; a home whose data directory
// has gone gets a new, empty cluster (with a warning in the log).
//
// # Binaries
//
// initdb, pg_ctl and postgres are taken from Options.BinDir
// (PAYRUN_PG_BINDIR), else from PATH, else from the highest version under
// /usr/lib/postgresql/*/bin; an existing cluster needs the major version it
// was made with. Without them the error says what to install
// (apt-get install postgresql).
//
// # Settings
//
// The cluster is set for a small machine (shared_buffers 256MB,
// max_connections 200, larger WAL, UTC). Options.Scratch makes a throw-away
// cluster for tests and benchmarks: fsync, synchronous_commit and
// full_page_writes off, wal_level minimal. A scratch cluster loses data on a
// machine crash; never use it for real data.
package pgserver
