package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors implements db.Engine: the pool's statistics under the
// names database/sql's pools have on SQLite (go_sql_*, from
// collectors.NewDBStatsCollector), with db_name "postgres", so that one
// dashboard serves either engine.
func (s *Store) Collectors() []prometheus.Collector {
	return []prometheus.Collector{newPoolCollector(s.pool)}
}

type poolCollector struct {
	pool                                 *pgxpool.Pool
	maxOpen, open, inUse, idle           *prometheus.Desc
	waitCount, waitDuration              *prometheus.Desc
	maxIdleTimeClosed, maxLifetimeClosed *prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_sql_"+name, help, nil, prometheus.Labels{"db_name": "postgres"})
	}
	return &poolCollector{
		pool:              pool,
		maxOpen:           desc("max_open_connections", "Maximum number of open connections to the database."),
		open:              desc("open_connections", "The number of established connections both in use and idle."),
		inUse:             desc("in_use_connections", "The number of connections currently in use."),
		idle:              desc("idle_connections", "The number of idle connections."),
		waitCount:         desc("wait_count_total", "The total number of connections waited for."),
		waitDuration:      desc("wait_duration_seconds_total", "The total time blocked waiting for a new connection."),
		maxIdleTimeClosed: desc("max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime."),
		maxLifetimeClosed: desc("max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitDuration,
		c.maxIdleTimeClosed, c.maxLifetimeClosed} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.maxOpen, float64(st.MaxConns()))
	gauge(c.open, float64(st.TotalConns()))
	gauge(c.inUse, float64(st.AcquiredConns()))
	gauge(c.idle, float64(st.IdleConns()))
	counter(c.waitCount, float64(st.EmptyAcquireCount()))
	counter(c.waitDuration, st.EmptyAcquireWaitTime().Seconds())
	counter(c.maxIdleTimeClosed, float64(st.MaxIdleDestroyCount()))
	counter(c.maxLifetimeClosed, float64(st.MaxLifetimeDestroyCount()))
}
