package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
	"github.com/payrun/payrun/payrun/store"
	"github.com/payrun/payrun/sepa/bankday"
)

// DefaultMaxTransactionsPerFile is where a pain.001 file is split.
const DefaultMaxTransactionsPerFile = 100_000

// ManifestName is the name of the manifest in the output directory.
const ManifestName = "manifest.json"

// Options configure one export.
type Options struct {
	// Municipality is the tenant the acting user belongs to; the run must
	// be one of its runs.
	Municipality string
	// ActorID and Actor (login) identify the cashier for the exports row
	// and the audit event.
	ActorID int64
	Actor   string
	// MaxTransactionsPerFile splits pain.001 files (default 100,000).
	MaxTransactionsPerFile int
	// Log receives progress; nil means no logging.
	Log *zap.Logger
	// AfterFile, when set, is called after each file is complete under its
	// temporary name; an error aborts the export as a crash would (tests
	// inject failures with it).
	AfterFile func(name string) error
}

// ErrReconcile is returned when the files do not add up to the run's
// payment lines.
var ErrReconcile = errors.New("export: totals do not reconcile")

// exporter holds the state of one export.
type exporter struct {
	db    *store.DB
	opts  Options
	log   *zap.Logger
	run   store.ExportRun
	exec  payrun.Date
	pub   *publisher
	man   Manifest
	chart *booking.Chart
}

// Run exports released run runID into outDir (see the package doc) and
// marks it exported. A run in another state than released or exported
// gives an error wrapping payrun.ErrRunState; an unknown run (or one of
// another municipality) payrun.ErrNotFound. On error nothing of this
// export is left in outDir.
func Run(ctx context.Context, db *store.DB, runID int64, outDir string, opts Options) (m Manifest, err error) {
	opts.MaxTransactionsPerFile = cmp.Or(opts.MaxTransactionsPerFile, DefaultMaxTransactionsPerFile)
	if opts.MaxTransactionsPerFile < 1 {
		return Manifest{}, fmt.Errorf("export: MaxTransactionsPerFile %d: %w", opts.MaxTransactionsPerFile, payrun.ErrInvalid)
	}
	if opts.Municipality == "" {
		return Manifest{}, fmt.Errorf("export: no municipality: %w", payrun.ErrInvalid)
	}
	x := &exporter{db: db, opts: opts, log: cmp.Or(opts.Log, zap.NewNop())}
	if x.run, err = db.LoadExportRun(ctx, opts.Municipality, runID); err != nil {
		return Manifest{}, fmt.Errorf("export: %w", err)
	}
	if x.run.State != payrun.RunReleased && x.run.State != payrun.RunExported {
		return Manifest{}, fmt.Errorf("export: run %d is %s, only released runs export: %w", runID, x.run.State, payrun.ErrRunState)
	}
	if x.run.ReleasedAt.IsZero() {
		return Manifest{}, fmt.Errorf("export: run %d has no release signature: %w", runID, payrun.ErrRunState)
	}
	x.exec = executionDate(&x.run)
	if x.pub, err = newPublisher(outDir); err != nil {
		return Manifest{}, err
	}
	defer func() {
		if err != nil {
			if aerr := x.pub.abort(); aerr != nil {
				err = errors.Join(err, fmt.Errorf("export: clean up: %w", aerr))
			}
		}
	}()
	if err := x.writeAll(ctx); err != nil {
		return Manifest{}, err
	}
	return x.man, nil
}

// writeAll writes every file, publishes them and marks the run exported.
func (x *exporter) writeAll(ctx context.Context) error {
	r := &x.run
	x.man = Manifest{Run: strconv.FormatInt(r.ID, 10), Municipality: r.Municipality,
		Period: r.Period.String(), ExecutionDate: x.exec.String()}
	totals, err := x.db.LoadExportTotals(ctx, r.Municipality, r.ID, x.opts.MaxTransactionsPerFile)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	sepaSum, err := x.writePain(ctx, totals.Chunks)
	if err != nil {
		return err
	}
	cashSum, err := x.writeCash(ctx, totals.CashTxs)
	if err != nil {
		return err
	}
	if sepaSum+cashSum != totals.PaymentSum {
		return fmt.Errorf("%w: run %d: pain.001 %s + cash %s ≠ payment lines %s",
			ErrReconcile, r.ID, sepaSum, cashSum, totals.PaymentSum)
	}
	if err := x.writeBookings(ctx); err != nil {
		return err
	}
	if err := x.writeManifest(); err != nil {
		return err
	}
	if err := x.pub.publish(); err != nil {
		return err
	}
	body, err := x.man.encode()
	if err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	if err := x.db.MarkRunExported(ctx, r.Municipality, r.ID, x.exec, body, x.opts.ActorID, x.opts.Actor); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := x.storeJournal(ctx); err != nil {
		return err
	}
	x.log.Info("run exported", zap.Int64("run", r.ID), zap.String("municipality", r.Municipality),
		zap.Int("files", len(x.man.Files)), zap.String("payments", totals.PaymentSum.String()))
	return nil
}

// fileDone records a complete file in the manifest and calls the
// AfterFile hook.
func (x *exporter) fileDone(f File) error {
	x.man.Files = append(x.man.Files, f)
	if x.opts.AfterFile != nil {
		if err := x.opts.AfterFile(f.Name); err != nil {
			return fmt.Errorf("export: after %s: %w", f.Name, err)
		}
	}
	return nil
}

// writeManifest writes manifest.json (published last).
func (x *exporter) writeManifest() error {
	body, err := x.man.encode()
	if err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	f, err := x.pub.create(ManifestName)
	if err != nil {
		return err
	}
	if _, err := f.Write(body); err != nil {
		return fmt.Errorf("export: manifest: %w", err)
	}
	return f.finish()
}

// executionDate is the stored execution date of an exported run, else the
// configured number of bank business days before the 1st of the period
// (default 1). When that date is before the release day, the first
// business day on or after the release day is taken (SCT Inst: the release
// day itself).
func executionDate(r *store.ExportRun) payrun.Date {
	if r.ExecutionDate != nil {
		return *r.ExecutionDate
	}
	cal := bankday.Calendar{NRW: r.Settings.NRWHolidays}
	n := cmp.Or(r.Settings.ExecutionDaysBefore, 1)
	d := payrun.DateOf(cal.ExecutionDate(r.Period.First().Time(time.UTC), n))
	released := payrun.DateOf(r.ReleasedAt.In(berlin()))
	if d >= released {
		return d
	}
	if r.Instant {
		return released
	}
	for !cal.IsBusinessDay(released.Time(time.UTC)) {
		released++
	}
	return released
}

// berlin is the time zone of the release day; UTC when the zone database
// is missing.
func berlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}
