package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
	// BookingsJSON adds the journal as JSON Lines (kind bookings-json), as
	// the municipality setting bookings_jsonl does. Off by default: the
	// bookings pull API serves the same records without the file.
	BookingsJSON bool
	// Log receives progress; nil means no logging.
	Log *zap.Logger
	// AfterFile, when set, is called after each file is complete under its
	// temporary name; an error aborts the export as a crash would (tests
	// inject failures with it). It may be called from several goroutines,
	// one call at a time.
	AfterFile func(name string) error
}

// ErrReconcile is returned when the files do not add up to the run's
// payment lines.
var ErrReconcile = errors.New("export: totals do not reconcile")

// errStopped ends a stream whose consumer stopped early.
var errStopped = errors.New("export: stream stopped")

// exporter holds the state of one export.
type exporter struct {
	db   *store.DB
	opts Options
	log  *zap.Logger
	run  store.ExportRun
	exec payrun.Date
	pub  *publisher
	man  Manifest

	mu       sync.Mutex // AfterFile calls
	payments *payments
	bookings *bookings
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
	if x.pub, err = newPublisher(ctx, outDir); err != nil {
		return Manifest{}, err
	}
	defer x.pub.close()
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
	start := time.Now()
	x.man = Manifest{Run: strconv.FormatInt(r.ID, 10), Municipality: r.Municipality,
		Period: r.Period.String(), ExecutionDate: x.exec.String()}
	// A re-export books with the rules of the first export, so that its
	// files are the same bytes even when the rules changed since.
	var rules []booking.Rule
	if r.Journal != nil {
		rules = r.Journal.Rules
	} else {
		var err error
		if rules, err = x.db.LoadRules(ctx, r.Municipality); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	chart, err := booking.NewChart(r.Municipality, rules)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	layout, err := csvLayout(r.Settings.BookingCSV)
	if err != nil {
		return err
	}
	if x.bookings, err = x.newBookings(chart, layout, rules); err != nil {
		return err
	}
	x.payments = x.newPayments()
	if err := x.stream(ctx); err != nil {
		return err
	}
	streamed := time.Since(start)
	if err := x.reconcile(); err != nil {
		return err
	}
	x.man.Files = append(append([]File(nil), x.payments.files...), x.bookings.files...)
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
	if err := x.db.MarkRunExported(ctx, r.Municipality, r.ID, x.exec, body, x.opts.ActorID, x.opts.Actor, x.bookings.journal()); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	x.log.Info("run exported", zap.Int64("run", r.ID), zap.String("municipality", r.Municipality),
		zap.Int("files", len(x.man.Files)), zap.String("payments", x.payments.paid().String()),
		zap.Duration("files_written", streamed), zap.Duration("took", time.Since(start)))
	return nil
}

// stream reads the run's lines once and hands them to the payments
// (pain.001, cash) and the bookings, each in its own goroutine; the
// payments' pain.001 files are checked in a third. It returns the first
// error; every goroutine has ended when it returns.
func (x *exporter) stream(ctx context.Context) error {
	// The export holds two connections (lines, payees): a slot per two of
	// the pool's connections, so that exports waiting for their second
	// connection cannot take every connection.
	release, err := streamSlot(ctx, x.db)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if err := x.payments.open(ctx); err != nil {
		return err
	}
	defer x.payments.stop()
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() { first = err })
		cancel(err)
	}
	start := time.Now()
	var took [4]time.Duration // lines read, payments, bookings, checks
	fan := newFanOut(ctx, 2)
	var wg sync.WaitGroup
	for i, consume := range []func(context.Context, <-chan *lineBatch, func(*lineBatch)) error{x.payments.run, x.bookings.run} {
		ch := fan.out[i]
		wg.Go(func() {
			if err := consume(ctx, ch, fan.release); err != nil {
				fail(err)
			}
			took[1+i] = time.Since(start)
			for b := range ch { // after an error: let the producer finish
				fan.release(b)
			}
		})
	}
	err = x.db.StreamExportLines(ctx, x.run.Municipality, x.run.ID, fan.add)
	if err == nil {
		err = fan.flush()
	}
	fan.close()
	took[0] = time.Since(start)
	if err != nil {
		fail(fmt.Errorf("export: %w", err))
	}
	wg.Wait()
	if cerr := x.payments.waitChecks(); cerr != nil {
		fail(cerr)
	}
	took[3] = time.Since(start)
	x.log.Debug("export stages", zap.Int64("run", x.run.ID), zap.Duration("lines_read", took[0]),
		zap.Duration("payments_written", took[1]), zap.Duration("bookings_written", took[2]),
		zap.Duration("pain_checked", took[3]))
	return first
}

// reconcile checks, to the cent: Σ pain.001 + cash = Σ payment lines of the
// stream = the run's total as stored when it was built = the bookings'
// net payable credits; the lines streamed are the run's line count.
func (x *exporter) reconcile() error {
	p, b, r := x.payments, x.bookings, &x.run
	paid := p.paid()
	if paid != p.paymentLines || paid != r.Total || paid != b.netPayable {
		return fmt.Errorf("%w: run %d: pain.001 %s + cash %s = %s, payment lines %s, run total %s, bookings' net payable %s",
			ErrReconcile, r.ID, p.sepaSum, p.cashSum, paid, p.paymentLines, r.Total, b.netPayable)
	}
	if b.lines != r.Lines {
		return fmt.Errorf("%w: run %d: %d lines booked, the run has %d", ErrReconcile, r.ID, b.lines, r.Lines)
	}
	return nil
}

// fileDone calls the AfterFile hook for a complete file.
func (x *exporter) fileDone(name string) error {
	if x.opts.AfterFile == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.opts.AfterFile(name); err != nil {
		return fmt.Errorf("export: after %s: %w", name, err)
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

// slots limits, per database, the exports streaming at the same time to
// half the pool's connections (at least one).
var slots sync.Map // *store.DB → chan struct{}

// streamSlot waits for a slot and returns its release.
func streamSlot(ctx context.Context, db *store.DB) (func(), error) {
	n := max(1, int(db.Pool().Config().MaxConns)/2)
	v, _ := slots.LoadOrStore(db, make(chan struct{}, n))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("export: waiting for a database connection: %w", context.Cause(ctx))
	}
}
