package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// runner runs the PostgreSQL programs, as the unprivileged user when payrun
// runs as root.
type runner struct {
	cred *syscall.Credential // nil: as the current user
	user string              // name of the user the programs run as
}

func newRunner(runAs string) (runner, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		name := strconv.Itoa(os.Geteuid())
		if err == nil {
			name = u.Username
		}
		return runner{user: name}, nil
	}
	if runAs == "" {
		runAs = "postgres"
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return runner{}, fmt.Errorf("pgserver: payrun runs as root, and PostgreSQL refuses to run as root, so it runs it as "+
			"user %q, which is missing (%v): install PostgreSQL with apt-get install postgresql (it creates the user) "+
			"or run payrun as an ordinary user", runAs, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || uid == 0 {
		return runner{}, fmt.Errorf("pgserver: user %q has uid %s gid %s: need an unprivileged numeric user", runAs, u.Uid, u.Gid)
	}
	return runner{cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, user: runAs}, nil
}

// command prepares name args in its own session (a terminal's Ctrl-C must
// not reach the server) with a small, predictable environment.
func (r runner) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: r.cred}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "TZ=UTC", "HOME=/"}
	return cmd
}

// run runs the program and returns an error with its output when it fails.
func (r runner) run(ctx context.Context, name string, args ...string) error {
	cmd := r.command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// chown gives path to the user the programs run as (root only).
func (r runner) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Lchown(path, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
		return fmt.Errorf("pgserver: %w", err)
	}
	return nil
}

// canReach reports whether the programs' user can traverse into dir.
func (r runner) canReach(ctx context.Context, dir string) bool {
	if r.cred == nil {
		return true
	}
	test, err := exec.LookPath("test")
	if err != nil {
		test = "/usr/bin/test"
	}
	return r.run(ctx, test, "-x", dir) == nil
}

// relocatedDir is where the data directory goes when the programs' user
// cannot reach home.
func relocatedDir(home string) string {
	sum := sha256.Sum256([]byte(home))
	return filepath.Join("/var/tmp", "payrun-"+hex.EncodeToString(sum[:])[:16])
}
