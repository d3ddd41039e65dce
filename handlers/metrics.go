package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// unmatchedRoute is the route label of every request that matched no route,
// so that made-up URLs cannot grow the number of series.
const unmatchedRoute = "unmatched"

// backlogTTL is how long the backlog counts are served before the next
// scrape counts again: scrapes never cost more than one count per tenant in
// this time, however many scrapers there are.
const backlogTTL = 15 * time.Second

// Metrics is a server's Prometheus instrumentation: HTTP requests by route
// template, the scoring service, each tenant's review backlog and live
// model, the database pool, the Go runtime and the process. Handler serves
// it on a listener of its own; the public router never does.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers every collector on reg and instruments scorer. Call
// it before the scorer loads its first model, and pass the result to New
// in Config.Metrics.
func NewMetrics(reg *prometheus.Registry, db *store.DB, scorer *live.Scorer) (*Metrics, error) {
	labels := []string{"method", "route", "status"}
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sentinel_http_request_duration_seconds",
			Help:    "HTTP request duration by method, route template and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, labels),
	}
	if err := scorer.Instrument(reg); err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, newTenantCollector(db, scorer), newPoolCollector(db),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("handlers: register metrics: %w", err)
		}
	}
	return m, nil
}

// Handler serves the metrics at GET /metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return mux
}

// knownMethods are the method label's values; any other method is "other".
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// observe counts and times every request of e by its route template
// ("/transactions/:id", never the URL). It runs outside every other
// middleware, so the status it sees is the one sent.
func (m *Metrics) observe(e *echo.Echo) echo.MiddlewareFunc {
	// The routes are known once New has registered them: at the first request.
	routes := sync.OnceValue(func() map[string]bool {
		known := map[string]bool{}
		for _, r := range e.Routes() {
			// Groups add catch-all not-found routes ("/*") to run their
			// middleware on unknown paths: those are not routes.
			if r.Method != echo.RouteNotFound {
				known[r.Path] = true
			}
		}
		return known
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				// Write the error response now, so that its status is counted.
				c.Error(err)
			}
			route := c.Path()
			if !routes()[route] {
				route = unmatchedRoute
			}
			method := c.Request().Method
			if !knownMethods[method] {
				method = "other"
			}
			status := strconv.Itoa(c.Response().Status)
			m.requests.WithLabelValues(method, route, status).Inc()
			m.duration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
			return nil
		}
	}
}

// tenantCollector reports, per tenant, the review backlog (counted at most
// once per backlogTTL) and the scorer's live model (read at every scrape).
type tenantCollector struct {
	db      *store.DB
	scorer  *live.Scorer
	now     func() time.Time
	backlog *prometheus.Desc
	model   *prometheus.Desc

	mu        sync.Mutex // one count at a time; guards what follows
	countedAt time.Time
	tenants   []tenantBacklog
}

// tenantBacklog is one tenant's last count; counted is false when it failed.
type tenantBacklog struct {
	id, slug string
	backlog  int64
	counted  bool
}

func newTenantCollector(db *store.DB, scorer *live.Scorer) *tenantCollector {
	return &tenantCollector{
		db: db, scorer: scorer, now: time.Now,
		backlog: prometheus.NewDesc("sentinel_queue_backlog",
			"Undecided transactions in the medium, high or critical band, per tenant (counted at most every 15 s).",
			[]string{"tenant"}, nil),
		model: prometheus.NewDesc("sentinel_model_info",
			"The production model each tenant scores with on this server (always 1).",
			[]string{"tenant", "model", "version"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *tenantCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.backlog
	ch <- c.model
}

// Collect implements prometheus.Collector.
func (c *tenantCollector) Collect(ch chan<- prometheus.Metric) {
	for _, tb := range c.counts() {
		if tb.counted {
			ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(tb.backlog), tb.slug)
		}
		if lm := c.scorer.Live(tb.id); lm != nil {
			ch <- prometheus.MustNewConstMetric(c.model, prometheus.GaugeValue, 1, tb.slug, lm.Name, strconv.Itoa(lm.Version))
		}
	}
}

// counts returns the tenants and their backlogs, counting them again when
// the last count is older than backlogTTL. A failed count is logged, leaves
// its tenant's backlog out and is not retried before the TTL either, so a
// struggling database is not pressed by scrapes.
func (c *tenantCollector) counts() []tenantBacklog {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.countedAt.IsZero() && now.Sub(c.countedAt) < backlogTTL {
		return c.tenants
	}
	c.countedAt = now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := store.AdminListTenants(ctx, c.db)
	if err != nil {
		slog.Warn("metrics: list tenants", "err", err)
		// A new slice: an earlier scrape may still be reading the old one.
		stale := make([]tenantBacklog, len(c.tenants))
		for i, tb := range c.tenants {
			tb.counted = false
			stale[i] = tb
		}
		c.tenants = stale
		return stale
	}
	tenants := make([]tenantBacklog, len(rows))
	for i, r := range rows {
		tenants[i] = tenantBacklog{id: r.ID, slug: r.Slug}
		n, err := store.CountBacklog(ctx, store.ForTenant(c.db, r.ID))
		if err != nil {
			slog.Warn("metrics: count backlog", "tenant_id", r.ID, "err", err)
			continue
		}
		tenants[i].backlog, tenants[i].counted = n, true
	}
	c.tenants = tenants
	return tenants
}

// poolCollector reports the database connection pool under the names of
// client_golang's collectors.NewDBStatsCollector (go_sql_*), which needs the
// *sql.DB that store keeps to itself.
type poolCollector struct {
	db    *store.DB
	stats []poolStat
}

type poolStat struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(sql.DBStats) float64
}

func newPoolCollector(db *store.DB) *poolCollector {
	stat := func(name, help string, kind prometheus.ValueType, value func(sql.DBStats) float64) poolStat {
		return poolStat{prometheus.NewDesc("go_sql_"+name, help, nil, prometheus.Labels{"db_name": string(db.Dialect())}), kind, value}
	}
	return &poolCollector{db: db, stats: []poolStat{
		stat("max_open_connections", "Maximum number of open connections to the database.", prometheus.GaugeValue,
			func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		stat("open_connections", "The number of established connections both in use and idle.", prometheus.GaugeValue,
			func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		stat("in_use_connections", "The number of connections currently in use.", prometheus.GaugeValue,
			func(s sql.DBStats) float64 { return float64(s.InUse) }),
		stat("idle_connections", "The number of idle connections.", prometheus.GaugeValue,
			func(s sql.DBStats) float64 { return float64(s.Idle) }),
		stat("wait_count_total", "The total number of connections waited for.", prometheus.CounterValue,
			func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		stat("wait_duration_seconds_total", "The total time blocked waiting for a new connection.", prometheus.CounterValue,
			func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
	}}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range c.stats {
		ch <- s.desc
	}
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.db.Stats()
	for _, s := range c.stats {
		ch <- prometheus.MustNewConstMetric(s.desc, s.kind, s.value(st))
	}
}
