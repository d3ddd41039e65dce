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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sentinel-fraud/sentinel/bench"
	"github.com/sentinel-fraud/sentinel/handlers"
	"github.com/sentinel-fraud/sentinel/monitor"
	"github.com/sentinel-fraud/sentinel/replay"
	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
	"github.com/sentinel-fraud/sentinel/upload"
)

// command is one subcommand. flags registers its flags (with environment
// fallbacks read through env) and returns what runs it once they are parsed.
type command struct {
	name    string
	summary string
	flags   func(fs *flag.FlagSet, env *environ) func(ctx context.Context) error
}

// commands is every subcommand, in the order the usage lists them.
var commands = []command{
	{"serve", "migrate, seed demo data into an empty embedded database, serve HTTP (default)", serveCommand},
	{"migrate", "apply schema migrations and exit", migrateCommand},
	{"seed", "create the demo tenants, users and a month of traffic; --tenant SLUG --transactions N --days D bulk-loads N for benchmarks", seedCommand},
	{"score", "score a PaySim-format CSV offline with a model bundle or LightGBM model file", scoreCommand},
	{"simulate", "write a PaySim-format CSV from the built-in simulator", simulateCommand},
	{"train", "train a model bundle from a labelled PaySim-format CSV", trainCommand},
	{"eval", "evaluate a model bundle on a labelled CSV (metrics JSON on stdout)", evalCommand},
	{"card", "write the model card (Markdown) from model bundles' training reports", cardCommand},
	{"apikey create", "create a tenant's API key and print it once", apiKeyCreateCommand},
	{"apikey revoke", "revoke a tenant's API key by its prefix", apiKeyRevokeCommand},
	{"tenant create", "create a tenant (an organisation with its own users and data)", tenantCreateCommand},
	{"user create", "invite a user to a tenant and print their one-time set-password link", userCreateCommand},
	{"model import", "check a model bundle or LightGBM file and store it as a staging version", modelImportCommand},
	{"model list", "list a tenant's model versions", modelListCommand},
	{"model promote", "make a model version production (promoting the previous one rolls back)", modelPromoteCommand},
	{"model describe", "add the drift baseline and calibration curve to a bundle from the data it was trained on", modelDescribeCommand},
	{"bench", "load-test a running server's scoring API and report throughput and latency", benchCommand},
}

// usage lists the commands.
func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: sentinel [command] [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'sentinel COMMAND -h' for a command's flags.\n")
}

// common are the flags every command takes.
type common struct {
	DatabaseURL string
	SQLitePath  string
	LogLevel    string
	LogFormat   string
}

func (c *common) register(fs *flag.FlagSet, env *environ) {
	fs.StringVar(&c.DatabaseURL, "database-url", env.str("DATABASE_URL", ""), "PostgreSQL URL; empty uses the embedded SQLite file (env DATABASE_URL)")
	fs.StringVar(&c.SQLitePath, "sqlite-path", env.str("SENTINEL_SQLITE_PATH", store.DefaultSQLitePath), "embedded database file (env SENTINEL_SQLITE_PATH)")
	fs.StringVar(&c.LogLevel, "log-level", env.str("SENTINEL_LOG_LEVEL", "info"), "debug, info, warn or error (env SENTINEL_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env.str("SENTINEL_LOG_FORMAT", "text"), "text or json (env SENTINEL_LOG_FORMAT)")
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
	os.Exit(run(os.Args[1:]))
}

// run finds the command named by the first words of args (serve when none
// is), parses its flags and runs it; it returns the exit code.
func run(args []string) int {
	cmd, rest := findCommand(args)
	if cmd == nil {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			usage(os.Stdout)
			return 0
		}
		fmt.Fprintf(os.Stderr, "sentinel: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		usage(os.Stderr)
		return 2
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	var env environ
	runCmd := cmd.flags(fs, &env)
	if err := errors.Join(env.errs...); err != nil {
		fmt.Fprintf(os.Stderr, "sentinel %s: %v\n", cmd.name, err)
		return 2
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runCmd(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "sentinel %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

// findCommand matches the longest command name at the start of args.
func findCommand(args []string) (*command, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &commands[0], args
	}
	for n := min(2, len(args)); n > 0; n-- {
		name := strings.Join(args[:n], " ")
		for i := range commands {
			if commands[i].name == name {
				return &commands[i], args[n:]
			}
		}
	}
	return nil, nil
}

func migrateCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	c.register(fs, env)
	return func(ctx context.Context) error {
		db, err := c.setup(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		slog.Info("database is up to date", "dialect", db.Dialect())
		return nil
	}
}

func seedCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	bulk := seed.BulkConfig{FraudRate: 0.002, Seed: 1}
	c.register(fs, env)
	fs.StringVar(&bulk.Tenant, "tenant", "", "with --transactions: the tenant (slug) to load")
	fs.IntVar(&bulk.Transactions, "transactions", 0, "bulk-load this many simulated, scored transactions into --tenant (benchmarks)")
	fs.IntVar(&bulk.Days, "days", seed.DemoTrafficDays, "with --transactions: spread them over this many days before now")
	fs.Float64Var(&bulk.FraudRate, "fraud-rate", bulk.FraudRate, "with --transactions: share of rows that are fraud")
	fs.Uint64Var(&bulk.Seed, "seed", bulk.Seed, "with --transactions: simulator seed")
	return func(ctx context.Context) error {
		if bulk.Transactions > 0 && bulk.Tenant == "" {
			return errors.New("--transactions needs --tenant")
		}
		db, err := c.setup(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := seed.Demo(ctx, db); err != nil {
			return err
		}
		if bulk.Transactions == 0 {
			if err := seed.Traffic(ctx, db, live.NewScorer(db)); err != nil {
				return err
			}
			return seed.Cases(ctx, db, time.Now())
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
}

func scoreCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var modelPath, input, format string
	var explain bool
	fs.StringVar(&modelPath, "model", "", "model bundle or LightGBM model text file (required)")
	fs.StringVar(&input, "input", "-", "PaySim-format CSV or CSV.gz; - reads standard input")
	fs.StringVar(&format, "format", "csv", "output format: csv or jsonl")
	fs.BoolVar(&explain, "explain", false, "add the base value and every feature's SHAP contribution")
	return func(ctx context.Context) error {
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
}

func trainCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	cfg := training.Config{Params: training.DefaultParams(), Log: os.Stderr}
	var out, features string
	p := &cfg.Params
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
	return func(ctx context.Context) error {
		if cfg.Data == "" || out == "" {
			return errors.New("--data and --out are required")
		}
		cfg.Features = strings.Split(features, ",")
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
}

func evalCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var modelPath, data string
	var skipBad bool
	fs.StringVar(&modelPath, "model", "", "model bundle or LightGBM model file (required)")
	fs.StringVar(&data, "data", "", "labelled PaySim-format CSV or CSV.gz (required)")
	fs.BoolVar(&skipBad, "skip-bad-rows", false, "skip rows that fail validation")
	return func(ctx context.Context) error {
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
}

func simulateCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	cfg := seed.DefaultSimConfig()
	var out string
	fs.IntVar(&cfg.Rows, "rows", cfg.Rows, "rows to write")
	fs.Float64Var(&cfg.FraudRate, "fraud-rate", cfg.FraudRate, "share of rows that are fraud")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed writes the same file")
	fs.IntVar(&cfg.Steps, "steps", cfg.Steps, "simulated hours")
	fs.Float64Var(&cfg.FanIn, "mule-fan-in", cfg.FanIn, "chance that a fraud reuses one of the day's mules")
	fs.StringVar(&out, "out", "-", "output file (.gz compresses); - writes standard output")
	return func(ctx context.Context) error {
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
}

// apiKeyFlags are the flags both apikey commands take.
func apiKeyFlags(fs *flag.FlagSet, env *environ, c *common, slug *string) {
	c.register(fs, env)
	fs.StringVar(slug, "tenant", "", "tenant slug (required)")
}

// cliActor is who the CLI's changes are audited as.
func cliActor(cmd string) store.Actor { return store.Actor{Email: "cli", UserAgent: "sentinel " + cmd} }

// openTenant opens the database and scopes it to the tenant with slug.
func openTenant(ctx context.Context, c *common, slug string) (*store.DB, store.Tenant, error) {
	db, err := c.setup(ctx)
	if err != nil {
		return nil, store.Tenant{}, err
	}
	tenant, err := store.AdminTenantBySlug(ctx, db, slug)
	if err != nil {
		db.Close()
		return nil, store.Tenant{}, fmt.Errorf("tenant %q: %w", slug, err)
	}
	return db, store.ForTenant(db, tenant.ID), nil
}

func apiKeyCreateCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug, name, scopes string
	apiKeyFlags(fs, env, &c, &slug)
	fs.StringVar(&name, "name", "", "what the key is for (required)")
	fs.StringVar(&scopes, "scopes", store.ScopeScore+","+store.ScopeRead, "what the key may do, comma-separated: score, read")
	return func(ctx context.Context) error {
		if strings.TrimSpace(name) == "" {
			return errors.New("--name is required")
		}
		db, t, err := openTenant(ctx, &c, slug)
		if err != nil {
			return err
		}
		defer db.Close()
		key, secret, err := store.CreateAPIKey(ctx, t, cliActor("apikey create"), strings.TrimSpace(name), strings.Split(scopes, ","))
		if err != nil {
			return err
		}
		fmt.Println(secret)
		fmt.Fprintf(os.Stderr, "created API key %q (prefix %s, scopes %s) for %s; the key is shown only now\n", key.Name, key.Prefix, key.Scopes, slug)
		return nil
	}
}

func apiKeyRevokeCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug, prefix string
	apiKeyFlags(fs, env, &c, &slug)
	fs.StringVar(&prefix, "prefix", "", "the key's prefix, as listed (required)")
	return func(ctx context.Context) error {
		db, t, err := openTenant(ctx, &c, slug)
		if err != nil {
			return err
		}
		defer db.Close()
		key, err := store.AdminRevokeAPIKeyByPrefix(ctx, t, cliActor("apikey revoke"), prefix)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "revoked API key %q (prefix %s)\n", key.Name, key.Prefix)
		return nil
	}
}

func tenantCreateCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug, name string
	c.register(fs, env)
	fs.StringVar(&slug, "slug", "", "short name in lowercase letters, digits and hyphens (required)")
	fs.StringVar(&name, "name", "", "the organisation's name as people see it (required)")
	return func(ctx context.Context) error {
		name = strings.TrimSpace(name)
		if slug == "" || name == "" {
			return errors.New("--slug and --name are required")
		}
		db, err := c.setup(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		row, err := store.AdminCreateTenant(ctx, db, cliActor("tenant create"), slug, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "created tenant %q (%s); add its first admin with: sentinel user create --tenant %s --email EMAIL --role admin\n", row.Name, row.Slug, row.Slug)
		return nil
	}
}

func userCreateCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug, email, name, role, baseURL string
	c.register(fs, env)
	fs.StringVar(&slug, "tenant", "", "tenant slug (required)")
	fs.StringVar(&email, "email", "", "the address the user signs in with (required)")
	fs.StringVar(&name, "name", "", "the user's name; the part of the email before @ when empty")
	fs.StringVar(&role, "role", store.RoleAdmin, "analyst, senior_analyst or admin")
	fs.StringVar(&baseURL, "base-url", env.str("SENTINEL_BASE_URL", "http://127.0.0.1:8080"), "the address people reach Sentinel at, for the link (env SENTINEL_BASE_URL)")
	return func(ctx context.Context) error {
		email = store.NormalizeEmail(email)
		if email == "" || !strings.Contains(email, "@") {
			return errors.New("--email is required")
		}
		if strings.TrimSpace(name) == "" {
			name, _, _ = strings.Cut(email, "@")
		}
		db, t, err := openTenant(ctx, &c, slug)
		if err != nil {
			return err
		}
		defer db.Close()
		u, token, err := store.InviteUser(ctx, t, cliActor("user create"), store.Invite{Email: email, Name: strings.TrimSpace(name), Role: role}, time.Now())
		if err != nil {
			return err
		}
		fmt.Println(strings.TrimRight(baseURL, "/") + "/set-password/" + token)
		fmt.Fprintf(os.Stderr, "invited %s (%s) to %s; the link above sets their password, works once, for %s, and is shown only now\n",
			u.Email, u.Role, slug, store.PasswordLinkLifetime)
		return nil
	}
}

func benchCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var cfg bench.Config
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server to load (a local one)")
	fs.StringVar(&cfg.Key, "key", env.str("SENTINEL_BENCH_KEY", ""), "API key (env SENTINEL_BENCH_KEY)")
	fs.IntVar(&cfg.Clients, "clients", 8, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long to run")
	fs.IntVar(&cfg.Batch, "batch", 0, "transactions per request through /score/batch; 0 sends one per /score")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed of the generated transactions")
	return func(ctx context.Context) error {
		if cfg.Key == "" {
			return errors.New("--key is required (sentinel apikey create --tenant demo-bank-01 --name bench)")
		}
		r, err := bench.Run(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Println(r)
		return nil
	}
}

func cardCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var mainPath, temporal, ablation, out string
	fs.StringVar(&mainPath, "main", "", "the model's bundle (required)")
	fs.StringVar(&temporal, "temporal", "", "bundle of the temporal-split run")
	fs.StringVar(&ablation, "ablation", "", "bundle of the run without balance-derived features")
	fs.StringVar(&out, "out", "docs/model_card.md", "where to write the card")
	return func(ctx context.Context) error {
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
}

func serveCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var addr, metricsAddr string
	var noDemo, demo, secure, trustProxy, webhookPrivate bool
	var apiRate float64
	var apiBurst, exportLimit int
	var uploadBytes, uploadRows, uploadPerMinute, uploadPerDay int
	var drain time.Duration
	c.register(fs, env)
	fs.StringVar(&addr, "addr", env.str("SENTINEL_ADDR", "127.0.0.1:8080"), "listen address (env SENTINEL_ADDR)")
	fs.StringVar(&metricsAddr, "metrics-addr", env.str("SENTINEL_METRICS_ADDR", ""), "serve Prometheus metrics at /metrics on this separate, unauthenticated address; empty: no metrics (env SENTINEL_METRICS_ADDR)")
	fs.BoolVar(&noDemo, "no-demo", false, "do not seed demo data into an empty embedded database")
	fs.BoolVar(&demo, "demo", false, "seed demo tenants and users (known passwords) even on PostgreSQL")
	fs.BoolVar(&secure, "secure-cookies", env.bool("SENTINEL_SECURE_COOKIES", false), "mark cookies Secure and send HSTS; use behind TLS (env SENTINEL_SECURE_COOKIES)")
	fs.BoolVar(&trustProxy, "trust-proxy", env.bool("SENTINEL_TRUST_PROXY", false), "take client addresses from X-Forwarded-For (env SENTINEL_TRUST_PROXY)")
	fs.Float64Var(&apiRate, "api-rate-limit", env.float("SENTINEL_API_RATE_LIMIT", 2000), "requests a second each API key may send to this replica; 0 for no limit (env SENTINEL_API_RATE_LIMIT)")
	fs.IntVar(&apiBurst, "api-burst", int(env.float("SENTINEL_API_BURST", 1000)), "requests an API key may send at once above its rate (env SENTINEL_API_BURST)")
	fs.IntVar(&exportLimit, "export-limit", int(env.float("SENTINEL_EXPORT_LIMIT", 1_000_000)), "most rows one CSV export writes (env SENTINEL_EXPORT_LIMIT)")
	fs.IntVar(&uploadBytes, "upload-max-bytes", int(env.float("SENTINEL_UPLOAD_MAX_BYTES", upload.DefaultMaxBytes)), "largest uploaded transaction file, gzip or not, in bytes; also bounds a gzip file inflated (env SENTINEL_UPLOAD_MAX_BYTES)")
	fs.IntVar(&uploadRows, "upload-max-rows", int(env.float("SENTINEL_UPLOAD_MAX_ROWS", upload.DefaultMaxRows)), "most data rows of one uploaded file (env SENTINEL_UPLOAD_MAX_ROWS)")
	fs.IntVar(&uploadPerMinute, "upload-rate-minute", int(env.float("SENTINEL_UPLOAD_RATE_MINUTE", upload.DefaultPerMinute)), "uploads one user may make a minute; 0 for no limit (env SENTINEL_UPLOAD_RATE_MINUTE)")
	fs.IntVar(&uploadPerDay, "upload-rate-day", int(env.float("SENTINEL_UPLOAD_RATE_DAY", upload.DefaultPerDay)), "uploads one user may make in 24 hours; 0 for no limit (env SENTINEL_UPLOAD_RATE_DAY)")
	fs.DurationVar(&drain, "shutdown-timeout", 15*time.Second, "how long to drain in-flight requests on shutdown")
	fs.BoolVar(&webhookPrivate, "webhook-allow-private", env.bool("SENTINEL_WEBHOOK_ALLOW_PRIVATE", false), "let alert webhooks post to loopback and private addresses (env SENTINEL_WEBHOOK_ALLOW_PRIVATE)")
	return func(ctx context.Context) error {
		// The server's live heap is small (tens of MB) and scoring allocates
		// fast: collecting a quarter as often as Go's default saves about 15%
		// of its CPU under load (docs/performance.md). GOGC overrides it.
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400)
		}

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
		var metrics *handlers.Metrics
		if metricsAddr != "" {
			// Before any scoring or model load, so that both are measured.
			if metrics, err = handlers.NewMetrics(prometheus.NewRegistry(), db, scorer); err != nil {
				return err
			}
		}
		if seedDemo {
			if err := seed.Demo(ctx, db); err != nil {
				return err
			}
			if err := seed.Traffic(ctx, db, scorer); err != nil {
				return err
			}
			if err := seed.Cases(ctx, db, time.Now()); err != nil {
				return err
			}
		}

		go store.AdminSweep(ctx, db, 10*time.Minute)
		if err := scorer.Preload(ctx); err != nil {
			return err
		}
		// The writer outlives the signal: it stops after in-flight requests drained.
		writerCtx, stopWriter := context.WithCancel(ctx)
		defer stopWriter()
		go scorer.RunWriter(writerCtx)
		go scorer.Watch(ctx, 15*time.Second)
		// Hourly drift snapshots and the per-minute alert evaluator: one
		// replica per tenant at a time, by lease.
		jobs := monitor.NewRunner(db, "", nil)
		go jobs.Start(ctx, monitor.DriftJob())
		go jobs.Start(ctx, (&monitor.Evaluator{Webhooks: monitor.NewWebhooks(webhookPrivate)}).Job())

		// Upload jobs: take over those a stopped process left, then every
		// 15 s those whose process stopped beating. On shutdown a job stops
		// between batches and the next sweep (here or on a replica) resumes it.
		uploads := upload.New(db, scorer, upload.Limits{MaxBytes: int64(uploadBytes), MaxRows: int64(uploadRows),
			Rate: store.UploadRate{PerMinute: uploadPerMinute, PerDay: uploadPerDay}}, nil)
		uploads.Start(ctx, 15*time.Second)
		defer uploads.Wait() // before the database closes
		// Replays: resumes those a stopped replica left, takes over those of
		// a replica gone away; its runs save their counts when ctx ends.
		replays := replay.New(db, scorer, replay.RealClock{}, "")
		go replays.Run(ctx)
		defer replays.Wait()

		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		var mln net.Listener
		if metrics != nil {
			if mln, err = net.Listen("tcp", metricsAddr); err != nil {
				ln.Close()
				return fmt.Errorf("listen on %s for metrics: %w", metricsAddr, err)
			}
		}
		srv := &http.Server{
			Handler:           handlers.New(db, scorer, handlers.Config{SecureCookies: secure, TrustProxy: trustProxy, APIRate: apiRate, APIBurst: apiBurst, Metrics: metrics, ExportLimit: exportLimit, Uploads: uploads, Replay: replays}),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			WriteTimeout:      2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
		}
		errc := make(chan error, 2)
		go func() { errc <- srv.Serve(ln) }()
		slog.Info("sentinel listening", "url", "http://"+ln.Addr().String(), "dialect", db.Dialect())
		if mln != nil {
			msrv := &http.Server{Handler: metrics.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
			go func() { errc <- fmt.Errorf("metrics: %w", msrv.Serve(mln)) }()
			defer msrv.Close() // after the drain: scrapes see it
			slog.Info("metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
		}

		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		slog.Info("shutting down: draining in-flight requests", "timeout", drain)
		sctx, cancel := context.WithTimeout(ctx, drain)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		slog.Info("shutdown complete")
		return nil
	}
}

// environ reads configuration from the environment for flag defaults. A
// secret KEY may also come from the file named by KEY_FILE; a KEY_FILE that
// cannot be read, or a value that does not parse, is an error the command
// reports before it runs, never a silent default.
type environ struct{ errs []error }

// str returns the variable key (or the content of KEY_FILE), or def when
// neither is set.
func (e *environ) str(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	if path, ok := os.LookupEnv(key + "_FILE"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s_FILE: %w", key, err))
			return def
		}
		return strings.TrimSpace(string(b))
	}
	return def
}

// bool reads a true/false variable.
func (e *environ) bool(key string, def bool) bool {
	v := e.str(key, strconv.FormatBool(def))
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want true or false", key, v))
	}
	return b
}

// float reads a number variable.
func (e *environ) float(key string, def float64) float64 {
	v := e.str(key, strconv.FormatFloat(def, 'g', -1, 64))
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a number", key, v))
	}
	return f
}
