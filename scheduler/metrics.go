package scheduler

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the scheduler's Prometheus metrics.
type metrics struct {
	runs     *prometheus.CounterVec   // attempts by kind and outcome
	failures *prometheus.CounterVec   // jobs given up by kind
	duration *prometheus.HistogramVec // attempt duration by kind
	running  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payrun_scheduler_job_runs_total",
			Help: "Job attempts by kind and outcome (succeeded, failed, lost, interrupted).",
		}, []string{"kind", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "payrun_scheduler_job_failures_total",
			Help: "Jobs marked failed after their last attempt, by kind.",
		}, []string{"kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "payrun_scheduler_job_duration_seconds",
			Help:    "Duration of job attempts by kind.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"kind"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "payrun_scheduler_jobs_running",
			Help: "Jobs this instance is running now.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.runs, m.failures, m.duration, m.running} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("scheduler: register metrics: %w", err)
		}
	}
	return m, nil
}
