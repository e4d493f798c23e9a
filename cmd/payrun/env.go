package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/payrun/payrun/payrun"
)

// Env carries what every command needs: output streams, the global flags,
// the logger and (lazily) the database. Commands get it from Main; nothing
// here is global.
type Env struct {
	Stdout, Stderr io.Writer
	JSON           bool   // --json: machine-readable output
	LogFormat      string // --log-format: text or json
	Log            *zap.Logger
	closers        []func()
}

// NewEnv returns an Env writing to stdout and stderr.
func NewEnv(stdout, stderr io.Writer) *Env {
	return &Env{Stdout: stdout, Stderr: stderr, LogFormat: "text", Log: zap.NewNop()}
}

// ParseGlobalFlags reads the flags that stand before the command (and
// --json anywhere) and returns the rest.
func (e *Env) ParseGlobalFlags(args []string) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json" || a == "-json":
			e.JSON = true
		case a == "--log-format" || a == "-log-format":
			if i+1 >= len(args) {
				return nil, errors.New("--log-format needs a value: text or json")
			}
			e.LogFormat = args[i+1]
			i++
		default:
			rest = append(rest, a)
		}
	}
	if e.LogFormat != "text" && e.LogFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", e.LogFormat)
	}
	log, err := newLogger(e.LogFormat, e.Stderr)
	if err != nil {
		return nil, err
	}
	e.Log = log
	return rest, nil
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

func newLogger(format string, w io.Writer) (*zap.Logger, error) {
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
	core := zapcore.NewCore(enc, zapcore.AddSync(w), zap.InfoLevel)
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
