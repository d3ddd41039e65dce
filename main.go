// Command sentinel is the Sentinel fraud-operations platform: one binary that
// serves the workspace and API, migrates and seeds the database.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sentinel-fraud/sentinel/bench"
	"github.com/sentinel-fraud/sentinel/handlers"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
)

const usage = `Usage: sentinel [command] [flags]

Commands:
  serve     migrate, seed demo data into an empty embedded database, serve HTTP (default)
  migrate   apply schema migrations and exit
  seed      create or refresh the demo tenants, users and a month of traffic;
            seed --tenant SLUG --transactions N --days D bulk-loads N for benchmarks
  score     score a PaySim-format CSV offline with a model bundle or LightGBM model file
  simulate  write a PaySim-format CSV from the built-in simulator
  train     train a model bundle from a labelled PaySim-format CSV
  eval      evaluate a model bundle on a labelled CSV (metrics JSON on stdout)
  card      write the model card (Markdown) from model bundles' training reports
  apikey    create or revoke a tenant's API key: apikey create|revoke --tenant SLUG ...
  bench     load-test a running server's scoring API and report throughput and latency

Run 'sentinel COMMAND -h' for a command's flags.
`

// common are the flags every command takes.
type common struct {
	DatabaseURL string
	SQLitePath  string
	LogLevel    string
	LogFormat   string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL URL; empty uses the embedded SQLite file (env DATABASE_URL)")
	fs.StringVar(&c.SQLitePath, "sqlite-path", env("SENTINEL_SQLITE_PATH", store.DefaultSQLitePath), "embedded database file (env SENTINEL_SQLITE_PATH)")
	fs.StringVar(&c.LogLevel, "log-level", env("SENTINEL_LOG_LEVEL", "info"), "debug, info, warn or error (env SENTINEL_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("SENTINEL_LOG_FORMAT", "text"), "text or json (env SENTINEL_LOG_FORMAT)")
}

// setup configures logging and opens and migrates the database.
func (c *common) setup(ctx context.Context) (*store.DB, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q: %w", c.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "json":
		slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, opts)))
	case "text":
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, opts)))
	default:
		return nil, fmt.Errorf("bad --log-format %q: want text or json", c.LogFormat)
	}
	db, err := store.Open(c.DatabaseURL, c.SQLitePath)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(args)
	case "migrate":
		err = runMigrate(args)
	case "seed":
		err = runSeed(args)
	case "score":
		err = runScore(args)
	case "simulate":
		err = runSimulate(args)
	case "train":
		err = runTrain(args)
	case "eval":
		err = runEval(args)
	case "card":
		err = runCard(args)
	case "apikey":
		err = runAPIKey(args)
	case "bench":
		err = runBench(args)
	case "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "sentinel: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "sentinel %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func runMigrate(args []string) error {
	var c common
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := c.setup(context.Background())
	if err != nil {
		return err
	}
	defer db.Close()
	slog.Info("database is up to date", "dialect", db.Dialect())
	return nil
}

func runSeed(args []string) error {
	var c common
	bulk := seed.BulkConfig{FraudRate: 0.002, Seed: 1}
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&bulk.Tenant, "tenant", "", "with --transactions: the tenant (slug) to load")
	fs.IntVar(&bulk.Transactions, "transactions", 0, "bulk-load this many simulated, scored transactions into --tenant (benchmarks)")
	fs.IntVar(&bulk.Days, "days", seed.DemoTrafficDays, "with --transactions: spread them over this many days before now")
	fs.Float64Var(&bulk.FraudRate, "fraud-rate", bulk.FraudRate, "with --transactions: share of rows that are fraud")
	fs.Uint64Var(&bulk.Seed, "seed", bulk.Seed, "with --transactions: simulator seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if bulk.Transactions > 0 && bulk.Tenant == "" {
		return errors.New("--transactions needs --tenant")
	}
	ctx := context.Background()
	db, err := c.setup(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := seed.Demo(ctx, db); err != nil {
		return err
	}
	if bulk.Transactions == 0 {
		return seed.Traffic(ctx, db, live.NewScorer(db))
	}
	start := time.Now()
	bulk.Progress = func(rows int) {
		if rows%100_000 < 2000 {
			fmt.Fprintf(os.Stderr, "  %d rows, %.1fs\n", rows, time.Since(start).Seconds())
		}
	}
	st, err := seed.Bulk(ctx, db, live.NewScorer(db), bulk)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "stored %d transactions in %s: simulate %.1fs, score and store %.1fs (%.0f rows/s), analyze %.1fs\n",
		st.Rows, bulk.Tenant, st.Simulate.Seconds(), st.Load.Seconds(), float64(st.Rows)/st.Load.Seconds(), st.Analyze.Seconds())
	return nil
}

func runScore(args []string) error {
	var modelPath, input, format string
	var explain bool
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.StringVar(&modelPath, "model", "", "model bundle or LightGBM model text file (required)")
	fs.StringVar(&input, "input", "-", "PaySim-format CSV or CSV.gz; - reads standard input")
	fs.StringVar(&format, "format", "csv", "output format: csv or jsonl")
	fs.BoolVar(&explain, "explain", false, "add the base value and every feature's SHAP contribution")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if modelPath == "" {
		return errors.New("--model is required")
	}
	m, err := scoring.LoadFile(modelPath)
	if err != nil {
		return err
	}
	var r *training.Reader
	if input == "-" {
		r, err = training.NewReader(os.Stdin)
	} else {
		r, err = training.Open(input)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := training.Score(os.Stdout, os.Stderr, r, m, training.ScoreOptions{Format: format, Explain: explain})
	if err != nil {
		return err
	}
	if st.Bad > 0 {
		return fmt.Errorf("%d of %d rows were bad (see the error column)", st.Bad, st.Bad+st.Scored)
	}
	return nil
}

func runTrain(args []string) error {
	cfg := training.Config{Params: training.DefaultParams(), Log: os.Stderr}
	var out, features string
	p := &cfg.Params
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.StringVar(&cfg.Data, "data", "", "labelled PaySim-format CSV or CSV.gz (required)")
	fs.StringVar(&out, "out", "", "model bundle to write (required)")
	fs.StringVar(&cfg.Name, "name", "sentinel-gbdt", "model name stored in the bundle")
	fs.StringVar(&cfg.Split, "split", "stratified", "stratified (70/10/10/10) or temporal")
	fs.IntVar(&cfg.CutStep, "cut-step", 432, "with --split temporal: steps from here on are the test split")
	fs.StringVar(&features, "features", strings.Join(scoring.ReferenceFeatures, ","), "comma-separated feature names")
	fs.BoolVar(&cfg.SkipBadRows, "skip-bad-rows", false, "skip rows that fail validation (and report how many)")
	fs.IntVar(&p.NumTrees, "trees", p.NumTrees, "most boosting iterations")
	fs.Float64Var(&p.LearningRate, "learning-rate", p.LearningRate, "shrinkage")
	fs.IntVar(&p.NumLeaves, "num-leaves", p.NumLeaves, "leaves per tree")
	fs.IntVar(&p.MaxDepth, "max-depth", p.MaxDepth, "tree depth limit; ≤ 0 for none")
	fs.IntVar(&p.MinDataInLeaf, "min-data-in-leaf", p.MinDataInLeaf, "fewest rows in a leaf")
	fs.Float64Var(&p.MinSumHessianInLeaf, "min-sum-hessian-in-leaf", p.MinSumHessianInLeaf, "smallest hessian sum in a leaf")
	fs.Float64Var(&p.LambdaL2, "lambda-l2", p.LambdaL2, "L2 regularisation of leaf values")
	fs.Float64Var(&p.ScalePosWeight, "scale-pos-weight", p.ScalePosWeight, "weight of fraud rows")
	fs.Float64Var(&p.FeatureFraction, "feature-fraction", p.FeatureFraction, "share of features each tree may use")
	fs.Float64Var(&p.BaggingFraction, "bagging-fraction", p.BaggingFraction, "share of rows each bag keeps")
	fs.IntVar(&p.BaggingFreq, "bagging-freq", p.BaggingFreq, "draw a new bag every N iterations; 0 for no bagging")
	fs.IntVar(&p.EarlyStoppingRounds, "early-stopping-rounds", p.EarlyStoppingRounds, "stop after N rounds without a better validation AP; 0 for off")
	fs.Uint64Var(&p.Seed, "seed", p.Seed, "random seed (split, bagging, features)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Data == "" || out == "" {
		return errors.New("--data and --out are required")
	}
	cfg.Features = strings.Split(features, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, _, err := training.Run(ctx, cfg)
	if err != nil {
		return err
	}
	data, err := b.Encode()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", out, len(data))
	return nil
}

func runEval(args []string) error {
	var modelPath, data string
	var skipBad bool
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&modelPath, "model", "", "model bundle or LightGBM model file (required)")
	fs.StringVar(&data, "data", "", "labelled PaySim-format CSV or CSV.gz (required)")
	fs.BoolVar(&skipBad, "skip-bad-rows", false, "skip rows that fail validation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if modelPath == "" || data == "" {
		return errors.New("--model and --data are required")
	}
	m, err := scoring.LoadFile(modelPath)
	if err != nil {
		return err
	}
	start := time.Now()
	metrics, skipped, err := training.EvalFile(data, m, skipBad, func(rows int64) {
		fmt.Fprintf(os.Stderr, "  %d rows scored, %.1fs\n", rows, time.Since(start).Seconds())
	})
	if err != nil {
		return err
	}
	if skipped > 0 {
		fmt.Fprintf(os.Stderr, "skipped %d bad rows\n", skipped)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(metrics)
}

func runSimulate(args []string) error {
	cfg := seed.DefaultSimConfig()
	var out string
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.IntVar(&cfg.Rows, "rows", cfg.Rows, "rows to write")
	fs.Float64Var(&cfg.FraudRate, "fraud-rate", cfg.FraudRate, "share of rows that are fraud")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed writes the same file")
	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "simulated hours")
	fs.Float64Var(&cfg.FanIn, "mule-fan-in", cfg.FanIn, "chance that a fraud reuses one of the day's mules")
	fs.StringVar(&out, "out", "-", "output file (.gz compresses); - writes standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	cfg.Progress = func(rows int) {
		fmt.Fprintf(os.Stderr, "  %d rows, %.1fs\n", rows, time.Since(start).Seconds())
	}
	w := io.Writer(os.Stdout)
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := seed.SimulateTo(w, strings.HasSuffix(out, ".gz"), cfg); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "wrote %d rows in %.2fs (%.0f rows/s)\n", cfg.Rows, el.Seconds(), float64(cfg.Rows)/el.Seconds())
	return nil
}

func runAPIKey(args []string) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		return errors.New("usage: sentinel apikey create --tenant SLUG --name NAME | sentinel apikey revoke --tenant SLUG --prefix PREFIX")
	}
	action := args[0]
	var c common
	var slug, name, prefix string
	fs := flag.NewFlagSet("apikey "+action, flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&slug, "tenant", "", "tenant slug (required)")
	fs.StringVar(&name, "name", "", "with create: what the key is for (required)")
	fs.StringVar(&prefix, "prefix", "", "with revoke: the key's prefix, as listed (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx := context.Background()
	db, err := c.setup(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	tenant, err := store.AdminTenantBySlug(ctx, db, slug)
	if err != nil {
		return fmt.Errorf("tenant %q: %w", slug, err)
	}
	t := store.ForTenant(db, tenant.ID)
	actor := store.Actor{Email: "cli", UserAgent: "sentinel apikey"}
	switch action {
	case "create":
		if strings.TrimSpace(name) == "" {
			return errors.New("--name is required")
		}
		key, secret, err := store.CreateAPIKey(ctx, t, actor, strings.TrimSpace(name))
		if err != nil {
			return err
		}
		fmt.Println(secret)
		fmt.Fprintf(os.Stderr, "created API key %q (prefix %s) for %s; the key is shown only now\n", key.Name, key.Prefix, slug)
	case "revoke":
		key, err := store.AdminRevokeAPIKeyByPrefix(ctx, t, actor, prefix)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "revoked API key %q (prefix %s)\n", key.Name, key.Prefix)
	}
	return nil
}

func runBench(args []string) error {
	var cfg bench.Config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server to load (a local one)")
	fs.StringVar(&cfg.Key, "key", env("SENTINEL_BENCH_KEY", ""), "API key (env SENTINEL_BENCH_KEY)")
	fs.IntVar(&cfg.Clients, "clients", 8, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to run")
	fs.IntVar(&cfg.Batch, "batch", 0, "transactions per request through /score/batch; 0 sends one per /score")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed of the generated transactions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Key == "" {
		return errors.New("--key is required (sentinel apikey create --tenant demo-bank-01 --name bench)")
	}
	r, err := bench.Run(context.Background(), cfg)
	if err != nil {
		return err
	}
	fmt.Println(r)
	return nil
}

func runCard(args []string) error {
	var mainPath, temporal, ablation, out string
	fs := flag.NewFlagSet("card", flag.ContinueOnError)
	fs.StringVar(&mainPath, "main", "", "the model's bundle (required)")
	fs.StringVar(&temporal, "temporal", "", "bundle of the temporal-split run")
	fs.StringVar(&ablation, "ablation", "", "bundle of the run without balance-derived features")
	fs.StringVar(&out, "out", "docs/model_card.md", "where to write the card")
	if err := fs.Parse(args); err != nil {
		return err
	}
	report := func(path string) (*training.Report, string, error) {
		m, err := scoring.LoadFile(path)
		if err != nil {
			return nil, "", err
		}
		r, err := training.ReportOf(m.Bundle())
		return r, m.Bundle().Name, err
	}
	if mainPath == "" {
		return errors.New("--main is required")
	}
	mainRep, name, err := report(mainPath)
	if err != nil {
		return err
	}
	var comps []training.Comparison
	for _, c := range []struct{ label, path string }{
		{"temporal split (test = steps ≥ cut)", temporal},
		{"ablation: no balance-derived features", ablation},
	} {
		if c.path == "" {
			continue
		}
		r, _, err := report(c.path)
		if err != nil {
			return err
		}
		comps = append(comps, training.Comparison{Label: c.label, Report: r})
	}
	return os.WriteFile(out, []byte(training.ModelCard(name, mainRep, comps)), 0o644)
}

func runServe(args []string) error {
	var c common
	var addr string
	var noDemo, demo, secure, trustProxy bool
	var drain time.Duration
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&addr, "addr", env("SENTINEL_ADDR", "127.0.0.1:8080"), "listen address (env SENTINEL_ADDR)")
	fs.BoolVar(&noDemo, "no-demo", false, "do not seed demo data into an empty embedded database")
	fs.BoolVar(&demo, "demo", false, "seed demo tenants and users (known passwords) even on PostgreSQL")
	fs.BoolVar(&secure, "secure-cookies", env("SENTINEL_SECURE_COOKIES", "") == "true", "mark cookies Secure and send HSTS; use behind TLS (env SENTINEL_SECURE_COOKIES=true)")
	fs.BoolVar(&trustProxy, "trust-proxy", env("SENTINEL_TRUST_PROXY", "") == "true", "take client addresses from X-Forwarded-For (env SENTINEL_TRUST_PROXY=true)")
	fs.DurationVar(&drain, "shutdown-timeout", 15*time.Second, "how long to drain in-flight requests on shutdown")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The server's live heap is small (tens of MB) and scoring allocates
	// fast: collecting a quarter as often as Go's default saves about 15%
	// of its CPU under load (docs/performance.md). GOGC overrides it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := c.setup(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	seedDemo := false
	switch {
	case demo:
		seedDemo = true
	case noDemo:
		slog.Info("demo data not seeded (--no-demo)")
	case db.Dialect() == store.Postgres:
		slog.Info("demo data not seeded: PostgreSQL never gets demo users unless --demo is given")
	default:
		empty, err := seed.IsEmpty(ctx, db)
		if err != nil {
			return err
		}
		if empty {
			slog.Info("empty embedded database: seeding demo data (disable with --no-demo)")
			seedDemo = true
		}
	}
	scorer := live.NewScorer(db)
	if seedDemo {
		if err := seed.Demo(ctx, db); err != nil {
			return err
		}
		if err := seed.Traffic(ctx, db, scorer); err != nil {
			return err
		}
	}

	go sweepSessions(ctx, db)
	if err := scorer.Preload(ctx); err != nil {
		return err
	}
	// The writer outlives the signal: it stops after in-flight requests drained.
	writerCtx, stopWriter := context.WithCancel(context.Background())
	defer stopWriter()
	go scorer.RunWriter(writerCtx)
	go scorer.Watch(ctx, 15*time.Second)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           handlers.New(db, scorer, handlers.Config{SecureCookies: secure, TrustProxy: trustProxy}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("sentinel listening", "url", "http://"+ln.Addr().String(), "dialect", db.Dialect())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down: draining in-flight requests", "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	slog.Info("shutdown complete")
	return nil
}

// sweepSessions deletes expired sessions every ten minutes until ctx ends.
func sweepSessions(ctx context.Context, db *store.DB) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if n, err := store.AdminDeleteExpiredSessions(ctx, db); err != nil {
				slog.Warn("sweep sessions", "err", err)
			} else if n > 0 {
				slog.Debug("expired sessions removed", "count", n)
			}
		}
	}
}

// env returns the environment variable key, or def when it is unset. For
// KEY it also reads KEY_FILE (a path holding the value), for secrets.
func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	if path, ok := os.LookupEnv(key + "_FILE"); ok {
		if b, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return def
}
