package web

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/payrun/payrun/payrun/store"
)

var (
	runsDesc = prometheus.NewDesc("payrun_runs", "Runs by municipality, kind and state.",
		[]string{"municipality", "kind", "state"}, nil)
	linesDesc = prometheus.NewDesc("payrun_run_lines", "Run lines (sum of line_count) by municipality, kind and state; divided by payrun_runs: lines per run.",
		[]string{"municipality", "kind", "state"}, nil)
)

// runCollector reads run counts from the database at scrape time.
type runCollector struct {
	db  DB
	log *zap.Logger
}

func (c *runCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runsDesc
	ch <- linesDesc
}

func (c *runCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err := c.db.WithTx(ctx, store.AllMunicipalities, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT municipality, kind, state, count(*), coalesce(sum(line_count), 0)
			FROM runs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
		if err != nil {
			return err
		}
		var m, kind, state string
		var n, lines int64
		_, err = pgx.ForEachRow(rows, []any{&m, &kind, &state, &n, &lines}, func() error {
			ch <- prometheus.MustNewConstMetric(runsDesc, prometheus.GaugeValue, float64(n), m, kind, state)
			ch <- prometheus.MustNewConstMetric(linesDesc, prometheus.GaugeValue, float64(lines), m, kind, state)
			return nil
		})
		return err
	})
	if err != nil {
		c.log.Warn("run metrics", zap.Error(err))
		ch <- prometheus.NewInvalidMetric(runsDesc, err)
	}
}
