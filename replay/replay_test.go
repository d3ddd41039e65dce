package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/seed"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// demo seeds the demo tenants (with their production model) and returns
// the demo bank, its senior analyst as an actor, and a scorer.
func demo(t *testing.T, db *store.DB) (store.Tenant, store.Actor, *live.Scorer) {
	t.Helper()
	ctx := context.Background()
	if err := seed.Demo(ctx, db); err != nil {
		t.Fatal(err)
	}
	row, err := store.AdminTenantBySlug(ctx, db, "demo-bank-01")
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.AdminFindLoginUser(ctx, db, "senior@sentinel.demo")
	if err != nil {
		t.Fatal(err)
	}
	return store.ForTenant(db, row.ID), store.Actor{UserID: u.ID, Email: u.Email}, live.NewScorer(db)
}

// waitFor polls cond until it holds (the engine's goroutine works on its
// own time), failing after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestConfigBounds(t *testing.T) {
	ok := Config{Rate: 100, Duration: time.Minute, FraudShare: 0.1}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"accepts the lowest bounds", func(c *Config) { c.Rate, c.Duration, c.FraudShare = 1, 10*time.Second, 0 }, ""},
		{"accepts the highest bounds", func(c *Config) { c.Rate, c.Duration, c.FraudShare = 500, time.Hour, 0.5 }, ""},
		{"refuses a rate of 0", func(c *Config) { c.Rate = 0 }, "rate"},
		{"refuses a rate over 500", func(c *Config) { c.Rate = 501 }, "rate"},
		{"refuses 9 seconds", func(c *Config) { c.Duration = 9 * time.Second }, "duration"},
		{"refuses over an hour", func(c *Config) { c.Duration = time.Hour + time.Second }, "duration"},
		{"refuses a negative fraud share", func(c *Config) { c.FraudShare = -0.01 }, "fraud_share"},
		{"refuses a fraud share over a half", func(c *Config) { c.FraudShare = 0.51 }, "fraud_share"},
		{"refuses NaN", func(c *Config) { c.FraudShare = math.NaN() }, "fraud_share"},
		{"refuses a file that is not PaySim CSV", func(c *Config) { c.File, c.FileName = []byte("a,b\n1,2\n"), "t.csv" }, "file"},
		{"accepts a PaySim file", func(c *Config) {
			c.File, c.FileName = []byte("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest\n1,PAYMENT,5,C1,10,5,M1,0,0\n"), "t.csv"
		}, ""},
		{"refuses a gzip bomb at the limit", func(c *Config) { c.File, c.FileName = gzipBomb(t), "bomb.csv.gz" }, "file"},
		{"refuses a name that is not .csv or .csv.gz", func(c *Config) {
			c.File, c.FileName = []byte("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest\n1,PAYMENT,5,C1,10,5,M1,0,0\n"), "t.exe"
		}, "file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			p := cfg.Problems()
			if c.field == "" && len(p) > 0 || c.field != "" && (len(p) != 1 || p[0].Field != c.field) {
				t.Errorf("Problems() = %v, want field %q", p, c.field)
			}
		})
	}
}

func TestPacingByTheClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tn, actor, scorer := demo(t, db)
		clock := NewFakeClock(time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC))
		e := New(db, scorer, clock, "me")
		run := &store.ReplayRun{Rate: 40, DurationS: 10, FraudShare: 0.2, Seed: 7}
		if err := store.StartReplay(ctx, tn, actor, run, e.holder, clock.Now()); err != nil {
			t.Fatal(err)
		}
		r, err := e.newRunner(tn, *run)
		if err != nil {
			t.Fatal(err)
		}
		// Ticks come late and unevenly; each sends exactly what the clock
		// makes due, so the rate holds over the run.
		steps := []time.Duration{100, 100, 350, 100, 1000, 50, 2400, 100}
		var elapsed time.Duration
		for _, ms := range steps {
			clock.Advance(ms * time.Millisecond)
			elapsed += ms * time.Millisecond
			done, err := r.advance(ctx, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(40 * elapsed.Seconds()); r.pos() != want || done {
				t.Fatalf("after %v: sent %d (done %v), want %d", elapsed, r.pos(), done, want)
			}
		}
		clock.Advance(10 * time.Second) // past the end: the rest, and no more
		done, err := r.advance(ctx, clock.Now())
		if err != nil || !done || r.replayed+r.invalid != 400 {
			t.Fatalf("at the end: done %v, sent %d, err %v; want done, 400", done, r.pos(), err)
		}
		if r.flagged == 0 || r.flagged > r.replayed {
			t.Errorf("flagged %d of %d", r.flagged, r.replayed)
		}
		n, err := store.CountTransactions(ctx, tn)
		if err != nil || n != 400 {
			t.Errorf("the tenant has %d transactions, want the 400 replayed (%v)", n, err)
		}
		hours, places, err := store.DashboardRollupsForTest(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		wantH, wantP, err := store.BruteDashboardRollupsForTest(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		sum := func(h []store.HourlyRollup) (n, f int64) {
			for _, x := range h {
				n, f = n+x.N, f+x.Flagged
			}
			return n, f
		}
		gn, gf := sum(hours)
		wn, wf := sum(wantH)
		if len(hours) != len(wantH) || len(places) != len(wantP) || gn != wn || gf != wf || gn != 400 || gf != r.flagged {
			t.Errorf("after a replay: %d hourly rollups of %d transactions (%d flagged), %d place rollups; brute force %d of %d (%d), %d",
				len(hours), gn, gf, len(places), len(wantH), wn, wf, len(wantP))
		}
	})
}

func TestStartConflictStopAndRecovery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tn, actor, scorer := demo(t, db)
		clock := NewFakeClock(time.Now())
		e := New(db, scorer, clock, "first")
		t.Cleanup(e.Close)
		cfg := Config{Rate: 20, Duration: 30 * time.Second, FraudShare: 0.1, Seed: 3}

		run, err := e.Start(ctx, tn, actor, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Start(ctx, tn, actor, cfg); !errors.Is(err, store.ErrReplayRunning) {
			t.Fatalf("a second Start() = %v, want ErrReplayRunning", err)
		}
		var ve *scoring.ValidationError
		if _, err := e.Start(ctx, tn, actor, Config{Rate: 501, Duration: time.Minute}); !errors.As(err, &ve) {
			t.Fatalf("Start(rate 501) = %v, want a validation error", err)
		}
		// The run sends as its ticker fires, and saves its counts at each heartbeat.
		for range 12 {
			clock.Advance(100 * time.Millisecond)
		}
		waitFor(t, "the first heartbeat", func() bool {
			clock.Advance(100 * time.Millisecond)
			r, err := store.LatestReplay(ctx, tn)
			return err == nil && r.Replayed > 0
		})

		t.Run("stop ends the run and keeps its counts", func(t *testing.T) {
			stopped, err := e.Stop(ctx, tn, actor)
			if err != nil || stopped.ID != run.ID {
				t.Fatalf("Stop() = %v, %v", stopped, err)
			}
			e.Wait()
			r, err := store.LatestReplay(ctx, tn)
			if err != nil || r.State != store.ReplayStopped || r.Replayed == 0 || r.FinishedAt == nil {
				t.Fatalf("after Stop: %+v, %v", r, err)
			}
			if _, err := e.Stop(ctx, tn, actor); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Stop() with none running = %v, want ErrNotFound", err)
			}
			events, err := store.ListAudit(ctx, tn, store.AuditFilter{Action: "replay", Limit: 10})
			if err != nil || len(events) != 2 {
				t.Errorf("replay audit events = %v, %v; want a start and a stop", events, err)
			}
		})

		t.Run("a run whose replica went away is resumed where it was", func(t *testing.T) {
			old := &store.ReplayRun{Rate: 10, DurationS: 20, FraudShare: 0.1, Seed: 5}
			if err := store.StartReplay(ctx, tn, actor, old, "gone", clock.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, err := store.ReplayCounts(ctx, tn, old.ID, "gone", 50, 0, 0, 5); err != nil {
				t.Fatal(err)
			}
			other := New(db, scorer, clock, "second")
			t.Cleanup(other.Close)
			if err := other.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the resumed run to send", func() bool {
				clock.Advance(100 * time.Millisecond)
				r, err := store.GetReplay(ctx, tn, old.ID)
				return err == nil && r.Holder == "second" && r.Replayed > 50
			})
			if _, err := store.GetScoredByExternalID(ctx, tn, externalID(old.ID, 50)); err != nil {
				t.Errorf("the resumed run did not go on at row 50: %v", err)
			}
			if _, err := store.GetScoredByExternalID(ctx, tn, externalID(old.ID, 49)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("row 49 was sent again by the resumed run: %v", err)
			}
			// The first engine leaves it alone: its heartbeat is fresh.
			if err := e.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			if r, _ := store.GetReplay(ctx, tn, old.ID); r.Holder != "second" {
				t.Errorf("holder = %q after another replica's recovery, want second", r.Holder)
			}
			if _, err := other.Stop(ctx, tn, actor); err != nil {
				t.Fatal(err)
			}
			other.Wait()
		})

		t.Run("a run gone too long is marked interrupted with its counts", func(t *testing.T) {
			old := &store.ReplayRun{Rate: 10, DurationS: 20, Seed: 5}
			if err := store.StartReplay(ctx, tn, actor, old, "gone", clock.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := store.ReplayCounts(ctx, tn, old.ID, "gone", 70, 3, 0, 7); err != nil {
				t.Fatal(err)
			}
			if err := e.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			r, err := store.GetReplay(ctx, tn, old.ID)
			if err != nil || r.State != store.ReplayInterrupted || r.Replayed != 70 || r.Flagged != 3 || r.FinishedAt == nil {
				t.Fatalf("after recovery: %+v, %v; want interrupted with 70 replayed", r, err)
			}
		})
	})
}

// gzipBomb is a small gzip file that inflates to 30 MB without a line
// break, past the replay file limit (20 MB).
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,newbalanceDest\n"))
	line := bytes.Repeat([]byte("a"), 1<<20)
	for range 30 {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
