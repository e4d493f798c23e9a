package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ErrNoPostgres is returned when the PostgreSQL server programs are not
// installed.
var ErrNoPostgres = errors.New("pgserver: the PostgreSQL server programs (initdb, pg_ctl, postgres) were not found " +
	"on PATH or under /usr/lib/postgresql/*/bin; install them (Debian/Ubuntu: apt-get install postgresql, " +
	"or run `make deps`), set PAYRUN_PG_BINDIR to their directory, or set PAYRUN_DATABASE_URL to use an existing server")

// binaries is a directory holding initdb, pg_ctl and postgres of one major
// version.
type binaries struct {
	dir   string
	major int
}

func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// findBinaries looks for the server programs in override (only there when
// given), else on PATH and
// under /usr/lib/postgresql/*/bin. want > 0 asks for that major version
// (an existing cluster); 0 takes the first on PATH or the highest version.
func findBinaries(override string, want int) (binaries, error) {
	cands := []string{override}
	if override == "" {
		cands = candidates()
	}

	var found []binaries
	for _, dir := range cands {
		if !complete(dir) {
			continue
		}
		major, err := binMajor(dir)
		if err != nil {
			continue
		}
		b := binaries{dir: dir, major: major}
		if want == 0 || want == major {
			return b, nil
		}
		found = append(found, b)
	}
	if len(found) > 0 {
		return binaries{}, fmt.Errorf("pgserver: the cluster was made by PostgreSQL %d, but only PostgreSQL %d is installed (%s): "+
			"install PostgreSQL %d (apt-get install postgresql-%d) or remove the cluster to make a new one",
			want, found[0].major, found[0].dir, want, want)
	}
	if override != "" {
		return binaries{}, fmt.Errorf("pgserver: PAYRUN_PG_BINDIR=%s holds no initdb, pg_ctl and postgres: %w", override, ErrNoPostgres)
	}
	return binaries{}, ErrNoPostgres
}

// candidates lists the directories to look in: that of pg_ctl on PATH, then
// /usr/lib/postgresql/*/bin, highest version first.
func candidates() []string {
	var cands []string
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		cands = append(cands, filepath.Dir(p))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return dirVersion(dirs[i]) > dirVersion(dirs[j]) })
	return append(cands, dirs...)
}

func complete(dir string) bool {
	for _, n := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// dirVersion is the major version N of /usr/lib/postgresql/N/bin (9.6
// counts as 9); 0 when the directory name is not a version.
func dirVersion(dir string) int {
	major, _, _ := strings.Cut(filepath.Base(filepath.Dir(dir)), ".")
	v, _ := strconv.Atoi(major)
	return v
}

func binMajor(dir string) (int, error) {
	out, err := exec.Command(filepath.Join(dir, "pg_ctl"), "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("pgserver: %s/pg_ctl --version: %w", dir, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("pgserver: %s/pg_ctl --version: unexpected output %q", dir, strings.TrimSpace(string(out)))
	}
	return strconv.Atoi(m[1])
}
