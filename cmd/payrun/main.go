// Command payrun is the one binary of the payment-run processor: demo,
// migrate, fixtures, import, runs, export, serve, bench and the operator
// commands of CONTRACT.md §1. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
)

// Exit codes of CONTRACT.md §1.
const (
	exitOK      = 0
	exitFailure = 1
	exitInput   = 2
	exitRefused = 3
)

// command is one sub-command. Each lives in its own cmd_*.go file and is
// listed in commands below.
type command struct {
	name  string // e.g. "run create"
	usage string // one line for the help text
	run   func(ctx context.Context, env *Env, args []string) error
}

// commands lists every sub-command. Multi-word names ("run create") are
// matched word by word.
func commands() []command {
	return []command{
		{"db start", "start the embedded database server (else started on demand)", cmdDBStart},
		{"db status", "show the embedded database cluster and server", cmdDBStatus},
		{"db stop", "stop the embedded database server (left running between commands)", cmdDBStop},
		{"db url", "print the database URL (--admin: the embedded superuser's), e.g. for psql", cmdDBURL},
		{"demo", "the main job on a fresh embedded database: fixtures, cases, summary", cmdDemo},
		{"fixtures generate", "write generated cases as decision lines (--cases N --seed S --municipality KEY)", cmdFixturesGenerate},
		{"fixtures load", "load demo municipalities, rates, accounts, users and N cases (--cases N --seed S)", cmdFixturesLoad},
		{"import", "import approved decisions from a JSON Lines file (all or nothing)", cmdImport},
		{"migrate", "create or upgrade the database schema", cmdMigrate},
		{"user add", "create a user and print its API token once (--municipality --login --roles)", cmdUserAdd},
		{"user revoke-token", "revoke every API token of a user (--municipality --login)", cmdUserRevokeToken},
		{"help", "show this help", cmdHelp},
		{"sepa check", "check a pain.001.001.09 file against the DK business rules", cmdSepaCheck},
		{"version", "print the version", cmdVersion},
		{"run create", "compute (or recompute) a municipality's run (--municipality KEY --period YYYY-MM); prints its id", cmdRunCreate},
		{"run show", "show a run: totals, signatures, warnings, first lines (RUN)", cmdRunShow},
		{"run sign", "sign a run as the user of PAYRUN_TOKEN: 1st checker, 2nd approver (RUN [--digest HEX])", cmdRunSign},
		{"run export", "export a released run as the user of PAYRUN_TOKEN (cashier): RUN --out DIR", cmdRunExport},
		{"run cancel", "cancel an unexported run as the user of PAYRUN_TOKEN (RUN)", cmdRunCancel},
		{"serve", "HTTP server (/healthz, /readyz, /metrics) and the scheduler ([--addr :8080] [--tick D] [--lease D])", cmdServe},
		{"worker", "the scheduler only, for more instances ([--tick D] [--lease D] [--max-jobs N])", cmdWorker},
		{"jobs", "list the scheduler's job history ([--municipality KEY] [--state S] [--kind K] [--limit N])", cmdJobs},
		{"bench", "benchmark on a scratch database: import, run creation, signatures, export (--cases N [--municipalities K] [--workers W] [--processes] [--keep])", cmdBench},
		{"audit verify", "check the audit trail's hash chain", cmdAuditVerify},
		{"report fluag", "AsylbLG person-months per month by category, § 4 FlüAG NRW (--municipality KEY --from YYYY-MM --to YYYY-MM); CSV", cmdReportFlueAG},
		{"report 46a", "§ 46a SGB XII net expenditure per quarter from exported runs (--municipality KEY --year YYYY); CSV", cmdReport46a},
	}
}

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Garbage collector defaults (when GOGC and GOMEMLIMIT are unset): the
// run path allocates quickly but keeps little alive (batches of a few
// thousand cases), so collecting at 2× the live heap (Go's default) spends
// a tenth of the run's CPU on the collector. payrun collects at 5× the live
// heap, and at the latest when the heap reaches a soft limit of 160 MiB, so
// that the process stays within its memory budget (256 MiB peak RSS at a
// million cases, BENCHMARKS.md). The environment variables override both.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 160 << 20
)

// tuneGC applies the garbage collector defaults unless getenv names
// GOGC or GOMEMLIMIT.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// Main runs payrun with args and returns the exit code. Tests call it
// directly so that they run the real code path.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := NewEnv(stdout, stderr)
	defer env.Close()
	args, err := env.ParseGlobalFlags(args)
	if err != nil {
		fmt.Fprintln(stderr, "payrun:", err)
		return exitInput
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "payrun: unknown command %q\n\n", strings.Join(args, " "))
		printHelp(stderr)
		return exitInput
	}
	if err := cmd.run(ctx, env, rest); err != nil {
		fmt.Fprintln(stderr, "payrun:", err)
		return exitCode(err)
	}
	return exitOK
}

func findCommand(args []string) (*command, []string) {
	if len(args) == 0 {
		args = []string{"help"}
	}
	var best *command
	bestWords := 0
	cmds := commands()
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(words) > len(args) || len(words) <= bestWords {
			continue
		}
		match := true
		for j, w := range words {
			if args[j] != w {
				match = false
				break
			}
		}
		if match {
			best, bestWords = &cmds[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestWords:]
}

func cmdHelp(_ context.Context, env *Env, _ []string) error {
	printHelp(env.Stdout)
	return nil
}

func cmdVersion(_ context.Context, env *Env, _ []string) error {
	fmt.Fprintln(env.Stdout, "payrun", Version)
	return nil
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: payrun [--json] [--log-format text|json] COMMAND [flags]")
	fmt.Fprintln(w, "\ncommands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-22s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nenvironment: PAYRUN_DATABASE_URL (unset: embedded cluster under PAYRUN_HOME, default ./var), PAYRUN_TOKEN")
}

// exitCode maps an error to the exit codes of CONTRACT.md §1.
func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	switch {
	case isInputError(err):
		return exitInput
	case isRefusal(err):
		return exitRefused
	}
	return exitFailure
}
