package store_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// profileFixture stores n random transactions among a few accounts in
// tenant tn (self-transfers, every band, decisions and review priorities
// included), spread over the last ten days, and returns them with their
// predictions.
func profileFixture(t *testing.T, tn store.Tenant, prefix string, n int, seed uint64) ([]store.Transaction, []store.Prediction) {
	t.Helper()
	ctx := context.Background()
	mv := productionModel(t, tn)
	txs, ps := profileRows(prefix, n, seed, mv.ID)
	if err := store.SaveScoredBatch(ctx, tn, txs, ps); err != nil {
		t.Fatal(err)
	}
	return txs, ps
}

// profileRows are n random transactions among a few accounts over the
// last ten days, scored by the model version mv: every band, decision and
// balance case, transactions to itself included.
func profileRows(prefix string, n int, seed uint64, mv string) ([]store.Transaction, []store.Prediction) {
	rng := rand.New(rand.NewPCG(seed, 7))
	accounts := []string{"C1", "C2", "C3", "C4", "M5", "M6", "B7"}
	now := time.Now().UTC().Truncate(time.Microsecond)
	labels := []string{"", "", "", store.DecisionConfirmedFraud, store.DecisionFalsePositive, store.DecisionEscalated}
	var txs []store.Transaction
	var ps []store.Prediction
	for i := range n {
		at := now.Add(-time.Duration(rng.IntN(10*24*60)) * time.Minute)
		band := store.QueueBands[rng.IntN(len(store.QueueBands))]
		score := rng.Float64()
		old := float64(rng.IntN(3)) * 500 // 0, 500 or 1,000
		tx := store.Transaction{ID: store.NewIDAt(at), ExternalID: fmt.Sprintf("%s-%d", prefix, i), Step: i, Type: "TRANSFER",
			Amount: float64(1+rng.IntN(100000)) / 100, NameOrig: accounts[rng.IntN(len(accounts))],
			NameDest: accounts[rng.IntN(len(accounts))], OldBalanceOrg: old, NewBalanceOrig: old * float64(rng.IntN(2)) / 2,
			ReceivedAt: at, Label: labels[rng.IntN(len(labels))], Score: score,
			// Some low transactions need review too (a watchlist hit).
			ReviewPriority: store.ReviewPriority(band, score, 0.9, rng.IntN(4) == 0)}
		txs = append(txs, tx)
		ps = append(ps, store.Prediction{ID: store.NewID(), ModelVersionID: mv, Score: score, Band: band,
			Threshold: 0.9, Explanation: []byte("{}"), CreatedAt: now})
	}
	return txs, ps
}

// bruteProfile sums account's transactions one by one, as the profile
// should, at now with its top counterparties; blocked are the accounts
// blocked now.
func bruteProfile(account string, txs []store.Transaction, ps []store.Prediction, now time.Time, top int, blocked map[string]bool) store.Entity {
	e := store.Entity{Account: account}
	fraud := map[string]bool{}
	for _, tx := range txs {
		if tx.Label == store.DecisionConfirmedFraud {
			fraud[tx.NameOrig], fraud[tx.NameDest] = true, true
		}
	}
	cps := map[string]*store.Counterparty{}
	add := func(f *store.Flow, tx *store.Transaction, p *store.Prediction, out bool) {
		if f.Count == 0 || tx.ReceivedAt.Before(f.FirstSeen) {
			f.FirstSeen = tx.ReceivedAt
		}
		if tx.ReceivedAt.After(f.LastSeen) {
			f.LastSeen = tx.ReceivedAt
		}
		f.Count++
		f.Amount += tx.Amount
		switch p.Band {
		case "critical":
			f.Critical++
		case "high":
			f.High++
		case "medium":
			f.Medium++
		default:
			f.Low++
		}
		if tx.ReviewPriority != nil {
			f.Flagged++
		}
		switch tx.Label {
		case store.DecisionConfirmedFraud:
			f.ConfirmedFraud++
		case store.DecisionFalsePositive:
			f.FalsePositives++
		}
		f.ScoreSum += p.Score
		f.ScoreMax = math.Max(f.ScoreMax, p.Score)
		if out && tx.OldBalanceOrg > 0 {
			f.BalanceBefore += tx.OldBalanceOrg
			f.BalanceMoved += math.Max(tx.OldBalanceOrg-tx.NewBalanceOrig, 0)
			if tx.NewBalanceOrig == 0 {
				f.Emptied++
			}
		}
	}
	for i := range txs {
		tx, p := &txs[i], &ps[i]
		out, in := tx.NameOrig == account, tx.NameDest == account
		if !out && !in {
			continue
		}
		add(&e.All, tx, p, out)
		if out {
			add(&e.Sent, tx, p, true)
		}
		if in {
			add(&e.Received, tx, p, out)
		}
		if out && in {
			continue
		}
		other := tx.NameDest
		if in {
			other = tx.NameOrig
		}
		c := cps[other]
		if c == nil {
			c = &store.Counterparty{Account: other}
			cps[other] = c
		}
		if out {
			add(&c.Out, tx, p, true)
		} else {
			add(&c.In, tx, p, false)
		}
	}
	for _, c := range cps {
		e.Counterparties = append(e.Counterparties, *c)
	}
	e.CounterpartyCount = len(e.Counterparties)
	// The riskiest first: the highest band between them, then amount.
	slices.SortFunc(e.Counterparties, func(a, b store.Counterparty) int {
		ta, tb := a.Total(), b.Total()
		if ta.Risk() != tb.Risk() {
			return tb.Risk() - ta.Risk()
		}
		if ta.Amount != tb.Amount {
			return cmp.Compare(tb.Amount, ta.Amount)
		}
		return strings.Compare(a.Account, b.Account)
	})
	for _, c := range e.Counterparties {
		if c.In.Count > 0 && !c.In.LastSeen.Before(now.Add(-24*time.Hour)) {
			e.FanIn24h++
		}
		if c.In.Count > 0 && !c.In.LastSeen.Before(now.Add(-7*24*time.Hour)) {
			e.FanIn7d++
		}
		if c.Out.Count > 0 && !c.Out.LastSeen.Before(now.Add(-24*time.Hour)) {
			e.FanOut24h++
		}
		if c.Out.Count > 0 && !c.Out.LastSeen.Before(now.Add(-7*24*time.Hour)) {
			e.FanOut7d++
		}
		if fraud[c.Account] {
			e.FraudCounterparties++
		}
		if blocked[c.Account] {
			e.BlockedCounterparties++
		}
	}
	e.Counterparties = e.Counterparties[:min(top, len(e.Counterparties))]
	days := map[time.Time]*store.DayActivity{}
	for i, tx := range txs {
		if tx.NameOrig != account && tx.NameDest != account {
			continue
		}
		day := tx.ReceivedAt.UTC().Truncate(24 * time.Hour)
		d := days[day]
		if d == nil {
			d = &store.DayActivity{Day: day}
			days[day] = d
		}
		d.Count++
		d.ScoreSum += ps[i].Score
		if tx.ReviewPriority != nil {
			d.Flagged++
		}
	}
	for _, d := range days {
		e.Days = append(e.Days, *d)
	}
	slices.SortFunc(e.Days, func(x, y store.DayActivity) int { return x.Day.Compare(y.Day) })
	return e
}

// graphOnly is what EntityCounterparties keeps of a profile: the
// counterparties' counts, amounts, times and bands, the account's counts
// and amounts, and how many counterparties it has.
func graphOnly(e store.Entity) store.Entity {
	keep := func(f store.Flow) store.Flow {
		return store.Flow{Count: f.Count, Amount: f.Amount, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen,
			Critical: f.Critical, High: f.High, Medium: f.Medium, Low: f.Low}
	}
	sums := func(f store.Flow) store.Flow { return store.Flow{Count: f.Count, Amount: f.Amount} }
	out := store.Entity{Account: e.Account, Sent: sums(e.Sent), Received: sums(e.Received), CounterpartyCount: e.CounterpartyCount}
	for _, c := range e.Counterparties {
		out.Counterparties = append(out.Counterparties, store.Counterparty{Account: c.Account, Out: keep(c.Out), In: keep(c.In)})
	}
	return out
}

// floats compares sums that the database adds in another order.
var floats = cmpopts.EquateApprox(1e-9, 1e-9)

func TestProfileEntityEqualsBruteForce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, _, _ := twoTenants(t, db)
		txs, ps := profileFixture(t, a, "a", 400, 1)
		profileFixture(t, b, "b", 200, 2) // the same accounts in another tenant
		now := time.Now().UTC()
		expired := now.Add(-time.Hour)
		for _, in := range []store.WatchInput{{Account: "C3", Kind: store.WatchBlocked, Reason: "x"}, {Account: "M6", Kind: store.WatchTrusted, Reason: "y"},
			{Account: "C4", Kind: store.WatchBlocked, Reason: "gone", ExpiresAt: &expired}} {
			if _, err := store.AddWatch(ctx, a, store.Actor{Email: "test"}, in); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := store.AddWatch(ctx, b, store.Actor{Email: "test"}, store.WatchInput{Account: "C2", Kind: store.WatchBlocked, Reason: "b's"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			account string
			top     int
		}{{"C1", 25}, {"C2", 3}, {"M5", 1}, {"B7", 25}} {
			t.Run("sums "+c.account+" as counting its transactions one by one does", func(t *testing.T) {
				got, err := store.ProfileEntity(ctx, a, c.account, now, c.top)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteProfile(c.account, txs, ps, now, c.top, map[string]bool{"C3": true})
				if want.All.Count == 0 || want.FraudCounterparties == 0 {
					t.Fatalf("the fixture gave %s no transaction or no counterparty in fraud", c.account)
				}
				if diff := gocmp.Diff(want, *got, floats); diff != "" {
					t.Errorf("ProfileEntity(%s) differs from the brute-force count (-want +got):\n%s", c.account, diff)
				}
				graph, err := store.EntityCounterparties(ctx, a, c.account, c.top)
				if err != nil {
					t.Fatal(err)
				}
				if diff := gocmp.Diff(graphOnly(want), *graph, floats); diff != "" {
					t.Errorf("EntityCounterparties(%s) differs from the brute-force count (-want +got):\n%s", c.account, diff)
				}
			})
		}
		t.Run("does not know an account that only another tenant has", func(t *testing.T) {
			tx, p := txs[0], ps[0]
			tx.ID, tx.ExternalID, tx.NameOrig, tx.NameDest = store.NewID(), "only-a", "ONLY-IN-A", "ONLY-IN-A-TOO"
			p.ID = store.NewID()
			if err := store.SaveScoredBatch(ctx, a, []store.Transaction{tx}, []store.Prediction{p}); err != nil {
				t.Fatal(err)
			}
			for _, account := range []string{"ONLY-IN-A", "ONLY-IN-A-TOO", "NOBODY"} {
				if _, err := store.ProfileEntity(ctx, b, account, now, 25); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("ProfileEntity(%s) in another tenant = %v, want ErrNotFound", account, err)
				}
			}
			if e, err := store.ProfileEntity(ctx, a, "ONLY-IN-A", now, 25); err != nil || e.Sent.Count != 1 {
				t.Errorf("ProfileEntity(ONLY-IN-A) in its tenant = %+v, %v", e, err)
			}
		})
	})
}

// A mule: many victims send it money within hours, and it sends all of it
// on to a few accounts; its fan-in counts distinct senders, not transfers.
func TestFanInAndFanOutOfAMule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, _, _ := twoTenants(t, db)
		mv := productionModel(t, a)
		now := time.Now().UTC().Truncate(time.Second)
		var txs []store.Transaction
		var ps []store.Prediction
		add := func(from, to string, ago time.Duration, amount, balance float64) {
			at := now.Add(-ago)
			txs = append(txs, store.Transaction{ID: store.NewIDAt(at), ExternalID: fmt.Sprintf("mule-%d", len(txs)), Type: "TRANSFER",
				Amount: amount, NameOrig: from, NameDest: to, OldBalanceOrg: balance, NewBalanceOrig: max(balance-amount, 0), ReceivedAt: at})
			ps = append(ps, store.Prediction{ID: store.NewID(), ModelVersionID: mv.ID, Score: 0.95, Band: "critical",
				Threshold: 0.5, Explanation: []byte("{}"), CreatedAt: now})
		}
		// Twelve victims in the last day (two of them twice), five more in
		// the week before, one a month ago.
		for i := range 12 {
			add(fmt.Sprintf("V%02d", i), "MULE", time.Duration(i+1)*time.Hour, 1000, 1000)
		}
		add("V00", "MULE", 30*time.Minute, 500, 500)
		add("V01", "MULE", 20*time.Minute, 500, 500)
		for i := range 5 {
			add(fmt.Sprintf("W%02d", i), "MULE", time.Duration(2+i)*24*time.Hour, 1000, 1000)
		}
		add("OLD", "MULE", 30*24*time.Hour, 1000, 1000)
		// It empties itself into three accounts today, one last week.
		add("MULE", "X1", 2*time.Hour, 6000, 6000)
		add("MULE", "X2", 90*time.Minute, 4000, 4000)
		add("MULE", "X3", time.Hour, 3000, 3000)
		add("MULE", "X4", 3*24*time.Hour, 5000, 5000)
		if err := store.SaveScoredBatch(ctx, a, txs, ps); err != nil {
			t.Fatal(err)
		}
		e, err := store.ProfileEntity(ctx, a, "MULE", now, 25)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name      string
			got, want int
		}{
			{"fan-in over 24 hours", e.FanIn24h, 12},
			{"fan-in over 7 days", e.FanIn7d, 17},
			{"fan-out over 24 hours", e.FanOut24h, 3},
			{"fan-out over 7 days", e.FanOut7d, 4},
			{"senders ever", e.CounterpartyCount - 4, 18},
			{"emptied balances", int(e.Sent.Emptied), 4},
		} {
			t.Run(c.name+" counts distinct accounts", func(t *testing.T) {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
				}
			})
		}
		if e.Sent.BalanceMoved != e.Sent.BalanceBefore || e.Received.Count != 20 || e.Sent.Count != 4 {
			t.Errorf("mule flows: sent %+v, received %d", e.Sent, e.Received.Count)
		}
	})
}

// A hub's profile reads its rollups once they are kept: the same numbers
// as counting its transactions one by one, right after they are kept and
// after more transactions and decisions, for kept accounts and the others
// alike; a profile keeps them when the account reaches hubTransactions.
func TestKeptRollupsEqualBruteForce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b, ua, _ := twoTenants(t, db)
		txs, ps := profileFixture(t, a, "a", 300, 5)
		bTxs, bPs := profileFixture(t, b, "b", 100, 6) // the same accounts in another tenant
		now := time.Now().UTC()
		same := func(t *testing.T, txs []store.Transaction, ps []store.Prediction) {
			t.Helper()
			// The smaller tops rank the counterparties.
			for account, top := range map[string]int{"C1": 25, "C2": 2, "M5": 1, "B7": 3} {
				want := bruteProfile(account, txs, ps, now, top, nil)
				got, err := store.ProfileEntity(ctx, a, account, now, top)
				if err != nil {
					t.Fatal(err)
				}
				if diff := gocmp.Diff(want, *got, floats); diff != "" {
					t.Errorf("ProfileEntity(%s) differs from the brute-force count (-want +got):\n%s", account, diff)
				}
				graph, err := store.EntityCounterparties(ctx, a, account, top)
				if err != nil {
					t.Fatal(err)
				}
				if diff := gocmp.Diff(graphOnly(want), *graph, floats); diff != "" {
					t.Errorf("EntityCounterparties(%s) differs from the brute-force count (-want +got):\n%s", account, diff)
				}
			}
		}
		for _, account := range []string{"C1", "C2", "M5"} {
			if err := store.KeepRollupsForTest(ctx, a, account); err != nil {
				t.Fatal(err)
			}
		}
		t.Run("kept rollups sum the transactions so far", func(t *testing.T) { same(t, txs, ps) })
		t.Run("and those stored and decided after", func(t *testing.T) {
			more, morePs := profileRows("more", 150, 8, ps[0].ModelVersionID)
			if err := store.SaveScoredBatch(ctx, a, more[:100], morePs[:100]); err != nil {
				t.Fatal(err)
			}
			for i := 100; i < len(more); i++ { // one at a time, as the API stores them
				if _, _, err := store.SaveScored(ctx, a, &more[i], &morePs[i]); err != nil {
					t.Fatal(err)
				}
			}
			all, allPs := append(slices.Clone(txs), more...), append(slices.Clone(ps), morePs...)
			// Decisions move transactions of kept accounts between labels,
			// out of confirmed fraud and into it, stored before and after.
			moves := map[string]string{store.DecisionConfirmedFraud: store.DecisionFalsePositive, "": store.DecisionConfirmedFraud,
				store.DecisionEscalated: store.DecisionConfirmedFraud}
			decided := 0
			for k := range all {
				to, ok := moves[all[k].Label]
				if !ok || k%9 != 0 || !slices.Contains([]string{"C1", "C2", "M5"}, all[k].NameOrig) {
					continue
				}
				if _, err := store.Decide(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email}, all[k].ID, to, "checked"); err != nil {
					t.Fatal(err)
				}
				all[k].Label = to
				decided++
			}
			if decided < 10 {
				t.Fatalf("the fixture gave only %d decisions", decided)
			}
			same(t, all, allPs)
			txs, ps = all, allPs
		})
		t.Run("a profile keeps them from hubTransactions on", func(t *testing.T) {
			defer store.SetHubTransactionsForTest(store.SetHubTransactionsForTest(60))
			if _, err := store.ProfileEntity(ctx, a, "B7", now, 25); err != nil {
				t.Fatal(err)
			}
			kept, err := store.RollupsKeptForTest(ctx, a)
			if err != nil || !slices.Equal(kept, []string{"B7", "C1", "C2", "M5"}) {
				t.Errorf("kept rollups = %v (%v), want B7 too", kept, err)
			}
			if other, err := store.RollupsKeptForTest(ctx, b); err != nil || len(other) != 0 {
				t.Errorf("another tenant's kept rollups = %v (%v), want none", other, err)
			}
			same(t, txs, ps)
		})
		t.Run("another tenant's writers leave them alone", func(t *testing.T) {
			// C1 is kept in a only: b's writers add nothing, and keeping it
			// in b sums b's transactions.
			more, morePs := profileRows("b-more", 40, 10, bPs[0].ModelVersionID)
			if err := store.SaveScoredBatch(ctx, b, more, morePs); err != nil {
				t.Fatal(err)
			}
			bTxs, bPs = append(bTxs, more...), append(bPs, morePs...)
			if err := store.KeepRollupsForTest(ctx, b, "C1"); err != nil {
				t.Fatal(err)
			}
			want := bruteProfile("C1", bTxs, bPs, now, 25, nil)
			got, err := store.ProfileEntity(ctx, b, "C1", now, 25)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(want, *got, floats); diff != "" {
				t.Errorf("ProfileEntity(C1) in b differs from the brute-force count (-want +got):\n%s", diff)
			}
		})
	})
}

// Transactions stored and decided while an account's rollups start to be
// kept are counted once: either in the sums taken when they start or by
// their writer. Writers store batches (COPY on PostgreSQL), store one at a
// time and decide.
func TestRollupsKeptWhileWriting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _, ua, _ := twoTenants(t, db)
		txs, ps := profileFixture(t, a, "a", 300, 9)
		const writers, each = 4, 30
		rows := make([][]store.Transaction, writers)
		preds := make([][]store.Prediction, writers)
		for w := range writers {
			rows[w], preds[w] = profileRows(fmt.Sprintf("w%d", w), each, uint64(20+w), ps[0].ModelVersionID)
		}
		// Transactions of C1 without a decision, decided meanwhile.
		var toDecide []int
		for i := range txs {
			if txs[i].Label == "" && (txs[i].NameOrig == "C1" || txs[i].NameDest == "C1") {
				toDecide = append(toDecide, i)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, writers+3)
		for w := range writers {
			wg.Go(func() {
				for i := 0; i < each; i += 5 {
					var err error
					if w%2 == 0 {
						err = store.SaveScoredBatch(ctx, a, rows[w][i:i+5], preds[w][i:i+5])
					} else {
						for j := i; j < i+5 && err == nil; j++ {
							_, _, err = store.SaveScored(ctx, a, &rows[w][j], &preds[w][j])
						}
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for d := range 2 {
			wg.Go(func() {
				for j := d; j < len(toDecide); j += 2 {
					if _, err := store.Decide(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email}, txs[toDecide[j]].ID,
						store.DecisionConfirmedFraud, "checked"); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Go(func() {
			time.Sleep(10 * time.Millisecond)
			errs <- store.KeepRollupsForTest(ctx, a, "C1")
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, i := range toDecide {
			txs[i].Label = store.DecisionConfirmedFraud
		}
		for w := range writers {
			txs, ps = append(txs, rows[w]...), append(ps, preds[w]...)
		}
		now := time.Now().UTC()
		want := bruteProfile("C1", txs, ps, now, 25, nil)
		got, err := store.ProfileEntity(ctx, a, "C1", now, 25)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(want, *got, floats); diff != "" {
			t.Errorf("ProfileEntity(C1) differs from the brute-force count (-want +got):\n%s", diff)
		}
	})
}
