package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Flow is what went one way between an account and a counterparty (or all
// of an account's counterparties): how many transactions, how much, their
// bands and decisions, and their scores.
type Flow struct {
	Count     int64
	Amount    float64
	FirstSeen time.Time
	LastSeen  time.Time
	// Bands counts the transactions per band (the keys of QueueBands).
	Critical, High, Medium, Low int64
	// Flagged counts those that needed review (a review priority).
	Flagged        int64
	ConfirmedFraud int64
	FalsePositives int64
	ScoreSum       float64
	ScoreMax       float64
	// Outgoing only: the balance the account held before the transactions
	// that found one, how much of it left, and how many emptied it.
	BalanceBefore float64
	BalanceMoved  float64
	Emptied       int64
}

// Band is the highest band among the flow's transactions ("" for none).
func (f *Flow) Band() string {
	switch {
	case f.Critical > 0:
		return QueueBands[0]
	case f.High > 0:
		return QueueBands[1]
	case f.Medium > 0:
		return QueueBands[2]
	case f.Count > 0:
		return QueueBands[3]
	}
	return ""
}

// Risk ranks the flow's highest band: 4 critical … 1 low, 0 for no flow.
func (f *Flow) Risk() int {
	switch f.Band() {
	case QueueBands[0]:
		return 4
	case QueueBands[1]:
		return 3
	case QueueBands[2]:
		return 2
	case QueueBands[3]:
		return 1
	}
	return 0
}

// add sums g into f.
func (f *Flow) add(g *Flow) {
	if g.Count == 0 {
		return
	}
	if f.Count == 0 || g.FirstSeen.Before(f.FirstSeen) {
		f.FirstSeen = g.FirstSeen
	}
	if g.LastSeen.After(f.LastSeen) {
		f.LastSeen = g.LastSeen
	}
	f.Count += g.Count
	f.Amount += g.Amount
	f.Critical += g.Critical
	f.High += g.High
	f.Medium += g.Medium
	f.Low += g.Low
	f.Flagged += g.Flagged
	f.ConfirmedFraud += g.ConfirmedFraud
	f.FalsePositives += g.FalsePositives
	f.ScoreSum += g.ScoreSum
	f.ScoreMax = max(f.ScoreMax, g.ScoreMax)
	f.BalanceBefore += g.BalanceBefore
	f.BalanceMoved += g.BalanceMoved
	f.Emptied += g.Emptied
}

// Counterparty is another account an account exchanged money with: what
// it sent to the counterparty (Out) and received from it (In).
type Counterparty struct {
	Account string
	Out, In Flow
}

// Total is both directions together.
func (c *Counterparty) Total() Flow {
	var f Flow
	f.add(&c.Out)
	f.add(&c.In)
	return f
}

// Entity is an account's traffic in the tenant, in both directions, summed
// from its transactions.
type Entity struct {
	Account string
	// Sent and Received are the account's transactions by direction; a
	// transaction to itself is in both.
	Sent, Received Flow
	// All is every transaction of the account once.
	All Flow
	// Counterparties are the other accounts it exchanged money with, the
	// riskiest first (by the highest band of any transaction between them,
	// then by amount, then by account), as many as asked for;
	// CounterpartyCount counts them all.
	Counterparties    []Counterparty
	CounterpartyCount int
	// FanIn and FanOut count the accounts that sent money to it (that it
	// sent money to) in the last 24 hours and the last 7 days.
	FanIn24h, FanIn7d, FanOut24h, FanOut7d int
	// FraudCounterparties counts its counterparties that took part in a
	// transaction confirmed as fraud (sending or receiving, with anyone);
	// BlockedCounterparties those that are blocked now.
	FraudCounterparties, BlockedCounterparties int
	// Days are its transactions per day (UTC), oldest first (a profile's
	// only, not a graph's).
	Days []DayActivity
}

// sqlTime scans a time that PostgreSQL returns as a time and SQLite, for
// an aggregate (MIN, MAX: no declared type), as the text it stores.
type sqlTime struct{ time.Time }

// sqliteTimeLayouts are the forms SQLite's driver stores times in.
var sqliteTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano, "2006-01-02 15:04:05.999999999"}

// Scan implements sql.Scanner.
func (s *sqlTime) Scan(v any) error {
	var text string
	switch x := v.(type) {
	case nil:
		s.Time = time.Time{}
		return nil
	case time.Time:
		s.Time = x.UTC()
		return nil
	case string:
		text = x
	case []byte:
		text = string(x)
	default:
		return fmt.Errorf("store: scan %T as a time", v)
	}
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, text); err == nil {
			s.Time = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("store: scan %q as a time", text)
}

// The columns each group of an account's transactions sums. Bands are read
// from the review priority, as the queue's band filters read them (every
// band but low has one, in its band's range; migration 0008), so no
// prediction is read; the score is the transaction's copy of it (0012).
// FILTER clauses cost PostgreSQL less than sums of CASE expressions.
const flowColumns = `COUNT(*) AS n, SUM(amount) AS amount,
	MIN(received_at) AS first_seen, MAX(received_at) AS last_seen,
	COUNT(*) FILTER (WHERE review_priority < 1) AS critical,
	COUNT(*) FILTER (WHERE review_priority >= 1 AND review_priority < 2) AS high,
	COUNT(*) FILTER (WHERE review_priority >= 2 AND review_priority < 3) AS medium,
	COUNT(*) FILTER (WHERE review_priority IS NULL OR review_priority >= 3) AS low,
	COUNT(review_priority) AS flagged,
	COUNT(*) FILTER (WHERE label = 'confirmed_fraud') AS confirmed_fraud,
	COUNT(*) FILTER (WHERE label = 'false_positive') AS false_positives,
	SUM(score) AS score_sum, MAX(score) AS score_max`

// graphColumns are flowColumns for a graph: counts, amounts, times and
// bands; the other columns are zeros.
const graphColumns = `COUNT(*) AS n, SUM(amount) AS amount,
	MIN(received_at) AS first_seen, MAX(received_at) AS last_seen,
	COUNT(*) FILTER (WHERE review_priority < 1) AS critical,
	COUNT(*) FILTER (WHERE review_priority >= 1 AND review_priority < 2) AS high,
	COUNT(*) FILTER (WHERE review_priority >= 2 AND review_priority < 3) AS medium,
	COUNT(*) FILTER (WHERE review_priority IS NULL OR review_priority >= 3) AS low,
	0 AS flagged, 0 AS confirmed_fraud, 0 AS false_positives, 0 AS score_sum, 0 AS score_max`

// balanceColumns sum the balance an account's sent transactions found and
// moved; noBalance stands for them where they do not apply.
const (
	balanceColumns = `COALESCE(SUM(old_balance_org) FILTER (WHERE old_balance_org > 0), 0) AS balance_before,
	COALESCE(SUM(old_balance_org - new_balance_orig) FILTER (WHERE old_balance_org > new_balance_orig AND old_balance_org > 0), 0) AS balance_moved,
	COUNT(*) FILTER (WHERE old_balance_org > 0 AND new_balance_orig = 0) AS emptied`
	noBalance = `0 AS balance_before, 0 AS balance_moved, 0 AS emptied`
)

// An account's pairs and days (migration 0020) come from its rollups once
// they are kept (keptPairs, keptDays), and are summed from its
// transactions until then (summedPairs, summedDays): the statements below
// read either.
const (
	keptPairs = `SELECT counterparty, out_n, out_amount, out_last, out_band, in_n, in_amount, in_last, in_band
	FROM account_pairs WHERE tenant_id = @tenant AND account = @account`
	keptDays = `SELECT dir, day, n, amount, first_seen, last_seen, critical, high, medium, low, flagged, confirmed_fraud,
	false_positives, score_sum, score_max, balance_before, balance_moved, emptied
	FROM account_days WHERE tenant_id = @tenant AND account = @account`
)

// summedPairs is one row per other account the account dealt with: what
// went each way, by a full join of the two directions' groups, each read
// in counterparty order from its account index. A transaction to itself
// is left out (profileGroups reads it).
const summedPairs = `SELECT COALESCE(o.cp, i.cp) AS counterparty,
	COALESCE(o.n, 0) AS out_n, COALESCE(o.amount, 0) AS out_amount, o.last_seen AS out_last, COALESCE(o.band, 9) AS out_band,
	COALESCE(i.n, 0) AS in_n, COALESCE(i.amount, 0) AS in_amount, i.last_seen AS in_last, COALESCE(i.band, 9) AS in_band
	FROM (SELECT name_dest AS cp, COUNT(*) AS n, SUM(amount) AS amount, MAX(received_at) AS last_seen, ` + bandRank + ` AS band
		FROM transactions WHERE tenant_id = @tenant AND name_orig = @account AND name_dest <> @account GROUP BY name_dest) o
	FULL JOIN (SELECT name_orig AS cp, COUNT(*) AS n, SUM(amount) AS amount, MAX(received_at) AS last_seen, ` + bandRank + ` AS band
		FROM transactions WHERE tenant_id = @tenant AND name_dest = @account AND name_orig <> @account GROUP BY name_orig) i
	ON o.cp = i.cp`

// bandRank is the highest band of a group as a rank: 0 critical … 3 low.
const bandRank = `MIN(CASE WHEN review_priority IS NULL OR review_priority >= 3 THEN 3
	WHEN review_priority >= 2 THEN 2 WHEN review_priority >= 1 THEN 1 ELSE 0 END)`

// summedDays sums all of an account's transactions per direction and day
// (UTC; day is the dialect's expression of a day number, dayNumber).
func summedDays(day string) string {
	return `SELECT 'out' AS dir, ` + day + ` AS day, ` + flowColumns + `, ` + balanceColumns + `
	FROM transactions WHERE tenant_id = @tenant AND name_orig = @account GROUP BY 2
	UNION ALL
	SELECT 'in', ` + day + `, ` + flowColumns + `, ` + noBalance + `
	FROM transactions WHERE tenant_id = @tenant AND name_dest = @account AND name_orig <> @account GROUP BY 2`
}

// dayNumber is the day (UTC) of received_at as days since 1970-01-01.
func (t Tenant) dayNumber() string {
	if t.db.Dialector.Name() == "postgres" {
		// A date, minus the epoch's, is a number of days: cheaper than the
		// epoch's seconds of a timestamp.
		return "(CAST(received_at AT TIME ZONE 'UTC' AS DATE) - DATE '1970-01-01')"
	}
	// SQLite keeps UTC times as text that starts with the date.
	return "CAST(julianday(substr(received_at, 1, 10)) - 2440587.5 AS INTEGER)"
}

// topCounterparties are the account's top riskiest counterparties among
// pairs: by the highest band between them (0 critical … 3 low), then
// amount, then account.
func topCounterparties(pairs string) string {
	return `SELECT counterparty FROM (` + pairs + `) p
	ORDER BY CASE WHEN out_band < in_band THEN out_band ELSE in_band END, out_amount + in_amount DESC, counterparty
	LIMIT @top`
}

// counterpartyCounts counts, among pairs, the account's counterparties
// and what it sent and received (to itself aside) and, with signals, its
// fans in and out and its counterparties that took part in confirmed
// fraud or are blocked (a profile's; a graph does without).
func counterpartyCounts(pairs string, signals bool) string {
	columns := `COUNT(*) AS counterparties,
	COALESCE(SUM(out_n), 0) AS sent_n, COALESCE(SUM(out_amount), 0) AS sent_amount,
	COALESCE(SUM(in_n), 0) AS received_n, COALESCE(SUM(in_amount), 0) AS received_amount`
	if signals {
		columns += `,
	COUNT(*) FILTER (WHERE in_last >= @day) AS fan_in24h, COUNT(*) FILTER (WHERE in_last >= @week) AS fan_in7d,
	COUNT(*) FILTER (WHERE out_last >= @day) AS fan_out24h, COUNT(*) FILTER (WHERE out_last >= @week) AS fan_out7d,
	COUNT(*) FILTER (WHERE counterparty IN (
		SELECT name_orig FROM transactions WHERE tenant_id = @tenant AND label = 'confirmed_fraud' AND label <> ''
		UNION SELECT name_dest FROM transactions WHERE tenant_id = @tenant AND label = 'confirmed_fraud' AND label <> '')) AS fraud,
	COUNT(*) FILTER (WHERE counterparty IN (SELECT account FROM watchlist_entries
		WHERE tenant_id = @tenant AND kind = 'blocked' AND (expires_at IS NULL OR expires_at > @now))) AS blocked`
	}
	return `SELECT ` + columns + ` FROM (` + pairs + `) p`
}

// accountDays are days as scanFlows reads them: the day, as text, in the
// counterparty's place.
func accountDays(days string) string {
	return `SELECT dir, CAST(day AS TEXT) AS cp, n, amount, first_seen, last_seen, critical, high, medium, low,
	flagged, confirmed_fraud, false_positives, score_sum, score_max, balance_before, balance_moved, emptied
	FROM (` + days + `) d`
}

// groupsQuery sums, with columns, what went each way between the account
// and each of the listed accounts (the account itself included: its
// transactions to itself are sent ones): a few index ranges.
func groupsQuery(columns string, balance bool) string {
	b := noBalance
	if balance {
		b = balanceColumns
	}
	return `SELECT 'out' AS dir, name_dest AS cp, ` + columns + `, ` + b + `
	FROM transactions WHERE tenant_id = @tenant AND name_orig = @account AND name_dest IN @accounts GROUP BY name_dest
	UNION ALL
	SELECT 'in', name_orig, ` + columns + `, ` + noBalance + `
	FROM transactions WHERE tenant_id = @tenant AND name_dest = @account AND name_orig IN @accounts AND name_orig <> @account GROUP BY name_orig`
}

// The group statements of ProfileEntity and EntityCounterparties.
var (
	profileGroups = groupsQuery(flowColumns, true)
	graphGroups   = groupsQuery(graphColumns, false)
)

// ProfileEntity sums the account's transactions in the tenant at now, with
// its top riskiest counterparties: its pairs (a ranking and a count of its
// counterparties) and its days, from its rollups once they are kept (for a
// hub of 100,000 transactions, about 50,000 pairs and 60 days) or from its
// transactions until then, then a few index ranges of its transactions
// with the top counterparties. A profile that finds the account has
// hubTransactions or more keeps its rollups from then on (keepRollups). An
// account with no transaction in the tenant is ErrNotFound, also when
// another tenant knows it.
func ProfileEntity(ctx context.Context, t Tenant, account string, now time.Time, top int) (*Entity, error) {
	return t.entity(ctx, account, now, top, true)
}

// EntityCounterparties is what a graph of the account draws: its top
// riskiest counterparties with the count, amount, times and bands of what
// went each way, how many counterparties it has, and the count and amount
// of what it sent and received (All stays empty, as do decisions, scores,
// balances and signals). It skips ProfileEntity's days and signals.
func EntityCounterparties(ctx context.Context, t Tenant, account string, top int) (*Entity, error) {
	return t.entity(ctx, account, time.Now(), top, false)
}

func (t Tenant) entity(ctx context.Context, account string, now time.Time, top int, profile bool) (*Entity, error) {
	e := &Entity{Account: account}
	args := map[string]any{"tenant": t.id, "account": account, "top": top, "now": now.UTC(),
		"day": now.UTC().Add(-24 * time.Hour), "week": now.UTC().Add(-7 * 24 * time.Hour)}
	var kept int64
	if err := t.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM account_rollups WHERE tenant_id = ? AND account = ?`,
		t.id, account).Scan(&kept).Error; err != nil {
		return nil, fmt.Errorf("store: profile %s: rollups kept: %w", account, err)
	}
	pairs, days := summedPairs, summedDays(t.dayNumber())
	if kept > 0 {
		pairs, days = keptPairs, keptDays
	}
	// The counterparties are counted beside their ranking, each a read of
	// every pair of the account, on a connection of its own. Every
	// statement is planned for this account: a plan kept for an average one
	// read a hub's groups through the other account index, all of its
	// entries.
	var wg sync.WaitGroup
	var counts struct {
		Counterparties, SentN, ReceivedN       int64
		SentAmount, ReceivedAmount             float64
		FanIn24h, FanIn7d, FanOut24h, FanOut7d int
		Fraud, Blocked                         int
	}
	var errCounts error
	countArgs := maps.Clone(args)
	wg.Go(func() {
		errCounts = t.customPlans(ctx, func(tx Tenant) error {
			return tx.db.WithContext(ctx).Raw(counterpartyCounts(pairs, profile), countArgs).Scan(&counts).Error
		})
	})
	var sent, received Flow
	var self *Flow // transactions to itself
	err := t.customPlans(ctx, func(tx Tenant) error {
		if profile {
			if err := tx.readDays(ctx, days, args, e, &sent, &received); err != nil {
				return err
			}
		}
		var top []string
		if err := tx.db.WithContext(ctx).Raw(topCounterparties(pairs), args).Scan(&top).Error; err != nil {
			return err
		}
		accounts := []string{account}
		for _, cp := range top {
			accounts = append(accounts, cp)
			e.Counterparties = append(e.Counterparties, Counterparty{Account: cp})
		}
		query := graphGroups
		if profile {
			query = profileGroups
		}
		args["accounts"] = accounts
		return tx.scanFlows(ctx, query, args, func(dir, cp string, f *Flow) {
			switch i := slices.IndexFunc(e.Counterparties, func(c Counterparty) bool { return c.Account == cp }); {
			case cp == account:
				self = f
			case dir == "out":
				e.Counterparties[i].Out = *f
			default:
				e.Counterparties[i].In = *f
			}
		})
	})
	wg.Wait()
	if err := errors.Join(err, errCounts); err != nil {
		return nil, fmt.Errorf("store: profile %s: %w", account, err)
	}
	e.CounterpartyCount = int(counts.Counterparties)
	e.Sent.Count, e.Sent.Amount, e.Received.Count, e.Received.Amount = counts.SentN, counts.SentAmount, counts.ReceivedN, counts.ReceivedAmount
	e.FanIn24h, e.FanIn7d, e.FanOut24h, e.FanOut7d = counts.FanIn24h, counts.FanIn7d, counts.FanOut24h, counts.FanOut7d
	e.FraudCounterparties, e.BlockedCounterparties = counts.Fraud, counts.Blocked
	switch {
	case profile:
		// The sums of everything replace the counterparties' ones, which
		// leave out transactions to itself: sent ones, received too.
		e.Sent, e.Received = sent, received
		e.All.add(&sent)
		e.All.add(&received)
		if self != nil {
			e.Received.add(self)
		}
	case self != nil:
		for _, s := range []*Flow{&e.Sent, &e.Received} {
			s.Count, s.Amount = s.Count+self.Count, s.Amount+self.Amount
		}
	}
	if e.Sent.Count+e.Received.Count == 0 {
		return nil, fmt.Errorf("store: profile %s: %w", account, ErrNotFound)
	}
	if kept == 0 && e.Sent.Count+e.Received.Count >= hubTransactions.Load() {
		if err := t.keepRollups(ctx, account); err != nil {
			return nil, fmt.Errorf("store: profile %s: %w", account, err)
		}
	}
	// In the order the database ranked them, which a union does not keep.
	slices.SortFunc(e.Counterparties, func(a, b Counterparty) int {
		ta, tb := a.Total(), b.Total()
		if r := tb.Risk() - ta.Risk(); r != 0 {
			return r
		}
		if ta.Amount != tb.Amount {
			return cmp.Compare(tb.Amount, ta.Amount)
		}
		return strings.Compare(a.Account, b.Account)
	})
	return e, nil
}

// readDays reads the account's days from source into e.Days (oldest first) and
// sums them per direction into sent and received.
func (t Tenant) readDays(ctx context.Context, source string, args map[string]any, e *Entity, sent, received *Flow) error {
	days := map[int64]*DayActivity{}
	var badDay error
	err := t.scanFlows(ctx, accountDays(source), args, func(dir, day string, f *Flow) {
		if dir == "out" {
			sent.add(f)
		} else {
			received.add(f)
		}
		n, err := strconv.ParseInt(day, 10, 64)
		if err != nil {
			badDay = fmt.Errorf("day %q: %w", day, err)
			return
		}
		d := days[n]
		if d == nil {
			d = &DayActivity{Day: time.Unix(n*86400, 0).UTC()}
			days[n] = d
		}
		d.Count += f.Count
		d.Flagged += f.Flagged
		d.ScoreSum += f.ScoreSum
	})
	if err := errors.Join(err, badDay); err != nil {
		return err
	}
	for _, d := range days {
		e.Days = append(e.Days, *d)
	}
	slices.SortFunc(e.Days, func(a, b DayActivity) int { return a.Day.Compare(b.Day) })
	return nil
}

// scanFlows runs a statement whose rows are a direction, an account and
// the columns of flowColumns and balanceColumns, and hands each row to fn.
func (t Tenant) scanFlows(ctx context.Context, query string, args map[string]any, fn func(dir, cp string, f *Flow)) error {
	rows, err := t.db.WithContext(ctx).Raw(query, args).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var dir, cp string
		var f Flow
		var first, last sqlTime
		if err := rows.Scan(&dir, &cp, &f.Count, &f.Amount, &first, &last, &f.Critical, &f.High, &f.Medium, &f.Low,
			&f.Flagged, &f.ConfirmedFraud, &f.FalsePositives, &f.ScoreSum, &f.ScoreMax,
			&f.BalanceBefore, &f.BalanceMoved, &f.Emptied); err != nil {
			return err
		}
		f.FirstSeen, f.LastSeen = first.Time, last.Time
		fn(dir, cp, &f)
	}
	return rows.Err()
}

// DayActivity is an account's traffic on one day (UTC).
type DayActivity struct {
	Day      time.Time
	Count    int64
	Flagged  int64
	ScoreSum float64
}

// customPlans runs fn so that PostgreSQL plans each of its statements for
// the values given, in a transaction with plan_cache_mode set to
// force_custom_plan. Statements are prepared once per connection, and
// after five runs PostgreSQL may keep a generic plan made for an average
// account: for a hub (100,000 transactions) the queue's account filter then
// took 3 s instead of 2 ms, reading every row of the account to sort them.
// Planning each time costs about a millisecond. Other databases run fn
// as it is.
func (t Tenant) customPlans(ctx context.Context, fn func(Tenant) error) error {
	if t.db.Dialector.Name() != "postgres" {
		return fn(t)
	}
	return t.Tx(ctx, func(tx Tenant) error {
		if err := tx.db.WithContext(ctx).Exec("SET LOCAL plan_cache_mode = force_custom_plan").Error; err != nil {
			return err
		}
		return fn(tx)
	})
}
