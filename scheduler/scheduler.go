package scheduler

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// DB is what the scheduler needs of the store; *store.DB satisfies it.
// WithTx runs fn in a transaction scoped to municipality ("*" for all).
type DB interface {
	WithTx(ctx context.Context, municipality string, fn func(pgx.Tx) error) error
}

// allMunicipalities is store.AllMunicipalities: the scheduler works across
// tenants.
const allMunicipalities = "*"

// Defaults of Config.
const (
	DefaultLease           = 5 * time.Minute
	DefaultMaxAttempts     = 5
	DefaultRetryBase       = time.Minute
	DefaultRetryMax        = time.Hour
	DefaultTickInterval    = 10 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultMaxConcurrent   = 4
)

// Config configures a Scheduler. Zero fields take the defaults above.
type Config struct {
	DB      DB          // required
	Log     *zap.Logger // nil: no logging
	NowFunc func() time.Time
	Actions Actions
	// Calendar tells business days (required; cmd uses bankday.Calendar).
	Calendar Calendar
	// Registerer receives the scheduler's metrics; nil: not registered.
	Registerer prometheus.Registerer
	// InstanceID names this instance in claimed_by; default host-pid-random.
	InstanceID string
	// Lease is how long a claim holds without being extended; a job of a
	// dead instance is retried after it.
	Lease time.Duration
	// MaxAttempts is how often a job is tried before it is marked failed.
	MaxAttempts int
	// RetryBase is the delay before the second attempt; it doubles per
	// attempt up to RetryMax.
	RetryBase, RetryMax time.Duration
	// TickInterval is the real-time interval of Run's loop.
	TickInterval time.Duration
	// ShutdownTimeout bounds how long Run waits for running jobs after its
	// context is cancelled; then their contexts are cancelled.
	ShutdownTimeout time.Duration
	// MaxConcurrent is the number of jobs Run executes at once.
	MaxConcurrent int
	// ExecutionDaysBefore is the default of the municipality setting
	// execution_days_before (execution date = that many business days
	// before the 1st).
	ExecutionDaysBefore int
}

// Validate checks the required fields.
func (c *Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("scheduler: Config.DB is nil")
	case c.Calendar == nil:
		return errors.New("scheduler: Config.Calendar is nil")
	case c.Lease < 0 || c.MaxAttempts < 0 || c.RetryBase < 0 || c.TickInterval < 0:
		return errors.New("scheduler: Config durations and counts must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	c.Log = cmp.Or(c.Log, zap.NewNop())
	if c.NowFunc == nil {
		c.NowFunc = time.Now
	}
	c.InstanceID = cmp.Or(c.InstanceID, defaultInstanceID())
	c.Lease = cmp.Or(c.Lease, DefaultLease)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.RetryBase = cmp.Or(c.RetryBase, DefaultRetryBase)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.TickInterval = cmp.Or(c.TickInterval, DefaultTickInterval)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, DefaultMaxConcurrent)
	c.ExecutionDaysBefore = cmp.Or(c.ExecutionDaysBefore, DefaultExecutionDaysBefore)
	return c
}

func defaultInstanceID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", cmp.Or(host, "host"), os.Getpid(), hex.EncodeToString(b))
}

// abandonAfter is how long drain waits for jobs after cancelling them;
// their leases then expire and another instance retries them.
const abandonAfter = 5 * time.Second

// Scheduler plans, claims and runs jobs. Create it with New.
type Scheduler struct {
	cfg     Config
	log     *zap.Logger
	loc     *time.Location
	metrics *metrics

	mu           sync.Mutex
	running      map[jobKey]bool // jobs this instance executes now
	defaultsDone time.Time       // when default schedules were last ensured
}

// New returns a Scheduler. It fails when cfg is invalid, the zone database
// lacks Europe/Berlin or the metrics cannot be registered.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return nil, fmt.Errorf("scheduler: load zone %s: %w", Zone, err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Scheduler{
		cfg: cfg, log: cfg.Log.Named("scheduler").With(zap.String("instance", cfg.InstanceID)),
		loc: loc, metrics: m, running: map[jobKey]bool{},
	}, nil
}

// InstanceID returns the name this instance claims jobs under.
func (s *Scheduler) InstanceID() string { return s.cfg.InstanceID }

func (s *Scheduler) now() time.Time { return s.cfg.NowFunc() }

// Plan ensures default schedules, reclaims jobs of dead instances and
// enqueues due occurrences. It returns the number of jobs enqueued.
func (s *Scheduler) Plan(ctx context.Context) (int, error) {
	now := s.now()
	if err := s.ensureDefaultsEvery(ctx, now); err != nil {
		s.log.Error("default schedules", zap.Error(err))
	}
	if err := s.reapExpired(ctx, now); err != nil {
		return 0, err
	}
	return s.plan(ctx, now)
}

// RunDue plans and then claims and runs due jobs one after another in the
// calling goroutine until none is due, and returns how many it ran. Tests
// drive the scheduler with it and a fake clock.
func (s *Scheduler) RunDue(ctx context.Context) (int, error) {
	if _, err := s.Plan(ctx); err != nil {
		return 0, err
	}
	n := 0
	for ctx.Err() == nil {
		j, ok, err := s.claim(ctx, s.now())
		if err != nil {
			return n, err
		}
		if !ok {
			break
		}
		s.execute(ctx, ctx, j)
		n++
	}
	return n, ctx.Err()
}

// Tick is one step of Run: extend the leases of running jobs, plan, and
// start due jobs in goroutines (tracked by wg) while fewer than
// MaxConcurrent run. Jobs run with jobCtx.
func (s *Scheduler) Tick(ctx, jobCtx context.Context, wg *sync.WaitGroup) error {
	if err := s.extendLeases(ctx, s.now()); err != nil {
		s.log.Error("extend leases", zap.Error(err))
	}
	if _, err := s.Plan(ctx); err != nil {
		return err
	}
	for s.runningCount() < s.cfg.MaxConcurrent && ctx.Err() == nil {
		j, ok, err := s.claim(ctx, s.now())
		if err != nil || !ok {
			return err
		}
		s.setRunning(j.key(), true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.setRunning(j.key(), false)
			s.execute(ctx, jobCtx, j)
		}()
	}
	return nil
}

// Run ticks every TickInterval until ctx is cancelled. Then it claims
// nothing more, waits up to ShutdownTimeout for running jobs (extending
// their leases meanwhile), cancels the ones still running and returns nil
// once they have ended.
func (s *Scheduler) Run(ctx context.Context) error {
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var wg sync.WaitGroup
	t := time.NewTicker(s.cfg.TickInterval)
	defer t.Stop()
	s.log.Info("scheduler started", zap.Duration("tick", s.cfg.TickInterval), zap.Duration("lease", s.cfg.Lease))
	for {
		if err := s.Tick(ctx, jobCtx, &wg); err != nil && ctx.Err() == nil {
			s.log.Error("tick", zap.Error(err))
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return s.drain(jobCtx, cancelJobs, &wg, t)
		}
	}
}

// drain waits for running jobs after shutdown began.
func (s *Scheduler) drain(jobCtx context.Context, cancelJobs context.CancelFunc, wg *sync.WaitGroup, t *time.Ticker) error {
	n := s.runningCount()
	s.log.Info("scheduler stopping: no new jobs", zap.Int("running", n))
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.NewTimer(s.cfg.ShutdownTimeout)
	defer deadline.Stop()
	cancelled := false
	for {
		select {
		case <-done:
			s.log.Info("scheduler stopped")
			return nil
		case <-deadline.C:
			if cancelled {
				return fmt.Errorf("scheduler: %d jobs did not stop after cancellation", s.runningCount())
			}
			s.log.Warn("shutdown timeout: cancelling running jobs", zap.Int("running", s.runningCount()))
			cancelJobs()
			cancelled = true
			deadline.Reset(abandonAfter)
		case <-t.C:
			if err := s.extendLeases(jobCtx, s.now()); err != nil {
				s.log.Error("extend leases", zap.Error(err))
			}
		}
	}
}

func (s *Scheduler) runningCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.running)
}

func (s *Scheduler) setRunning(k jobKey, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.running[k] = true
	} else {
		delete(s.running, k)
	}
	s.metrics.running.Set(float64(len(s.running)))
}

func (s *Scheduler) runningKeys() []jobKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := make([]jobKey, 0, len(s.running))
	for k := range s.running {
		ks = append(ks, k)
	}
	return ks
}

// backoff returns the delay after failed attempt n (1-based).
func (s *Scheduler) backoff(n int) time.Duration {
	d := s.cfg.RetryBase
	for i := 1; i < n && d < s.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.RetryMax)
}
