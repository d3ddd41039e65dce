package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
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
const flowColumns = `COUNT(*) AS n, SUM(amount) AS amount,
	MIN(received_at) AS first_seen, MAX(received_at) AS last_seen,
	SUM(CASE WHEN review_priority < 1 THEN 1 ELSE 0 END) AS critical,
	SUM(CASE WHEN review_priority >= 1 AND review_priority < 2 THEN 1 ELSE 0 END) AS high,
	SUM(CASE WHEN review_priority >= 2 AND review_priority < 3 THEN 1 ELSE 0 END) AS medium,
	SUM(CASE WHEN review_priority IS NULL OR review_priority >= 3 THEN 1 ELSE 0 END) AS low,
	SUM(CASE WHEN review_priority IS NOT NULL THEN 1 ELSE 0 END) AS flagged,
	SUM(CASE WHEN label = 'confirmed_fraud' THEN 1 ELSE 0 END) AS confirmed_fraud,
	SUM(CASE WHEN label = 'false_positive' THEN 1 ELSE 0 END) AS false_positives,
	SUM(score) AS score_sum, MAX(score) AS score_max`

// graphColumns are flowColumns for a graph: counts, amounts, times and
// bands; the other columns are zeros. Half the sums, for the same rows.
const graphColumns = `COUNT(*) AS n, SUM(amount) AS amount,
	MIN(received_at) AS first_seen, MAX(received_at) AS last_seen,
	SUM(CASE WHEN review_priority < 1 THEN 1 ELSE 0 END) AS critical,
	SUM(CASE WHEN review_priority >= 1 AND review_priority < 2 THEN 1 ELSE 0 END) AS high,
	SUM(CASE WHEN review_priority >= 2 AND review_priority < 3 THEN 1 ELSE 0 END) AS medium,
	SUM(CASE WHEN review_priority IS NULL OR review_priority >= 3 THEN 1 ELSE 0 END) AS low,
	0 AS flagged, 0 AS confirmed_fraud, 0 AS false_positives, 0 AS score_sum, 0 AS score_max`

// The columns of a group of groups: sums of flowColumns.
const sumColumns = `SUM(n), SUM(amount), MIN(first_seen), MAX(last_seen), SUM(critical), SUM(high), SUM(medium),
	SUM(low), SUM(flagged), SUM(confirmed_fraud), SUM(false_positives), SUM(score_sum), MAX(score_max),
	SUM(balance_before), SUM(balance_moved), SUM(emptied)`

// The columns of one group as it is answered.
const groupColumns = `n, amount, first_seen, last_seen, critical, high, medium, low, flagged, confirmed_fraud,
	false_positives, score_sum, score_max, balance_before, balance_moved, emptied`

// The balance an account's sent transactions found and moved.
const balanceColumns = `SUM(CASE WHEN old_balance_org > 0 THEN old_balance_org ELSE 0 END) AS balance_before,
	SUM(CASE WHEN old_balance_org > 0 AND old_balance_org > new_balance_orig THEN old_balance_org - new_balance_orig ELSE 0 END) AS balance_moved,
	SUM(CASE WHEN old_balance_org > 0 AND new_balance_orig = 0 THEN 1 ELSE 0 END) AS emptied`

// entityQuery sums an account's transactions in one statement, each group
// with columns (flowColumns or graphColumns). The CTE g holds one row per
// direction and counterparty (a transaction to itself is read once, with
// the sent ones, as counterparty itself), cps one per other account with
// its risk and amount. The statement answers, in rows of one shape told
// apart by part: the sums per direction ("total"), the group of
// transactions to itself ("self"), the groups of the top counterparties
// ("top"), and counts ("count", named by dir: counterparties and, for a
// profile, fan-in and fan-out over two windows and counterparties in
// confirmed fraud or blocked). Only these few rows leave the database: a
// hub's 30,000 groups would cost more to read than to sum.
func entityQuery(columns string, profile bool) string {
	balance := "0 AS balance_before, 0 AS balance_moved, 0 AS emptied"
	if profile {
		balance = balanceColumns
	}
	count := func(name, from string) string {
		return "UNION ALL SELECT 'count', '" + name + "', '', COUNT(*), 0, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM " + from + "\n"
	}
	q := `WITH g AS (
	SELECT 'out' AS dir, name_dest AS cp, ` + columns + `, ` + balance + `
	FROM transactions WHERE tenant_id = @tenant AND name_orig = @account GROUP BY name_dest
	UNION ALL
	SELECT 'in', name_orig, ` + columns + `, 0, 0, 0
	FROM transactions WHERE tenant_id = @tenant AND name_dest = @account AND name_orig <> @account GROUP BY name_orig
), cps AS (
	SELECT cp, MAX(CASE WHEN critical > 0 THEN 4 WHEN high > 0 THEN 3 WHEN medium > 0 THEN 2 ELSE 1 END) AS risk, SUM(amount) AS amount
	FROM g WHERE cp <> @account GROUP BY cp
), top AS (
	SELECT cp FROM cps ORDER BY risk DESC, amount DESC, cp LIMIT @top
)
SELECT 'total' AS part, dir, '' AS cp, ` + sumColumns + ` FROM g GROUP BY dir
UNION ALL SELECT 'self', dir, cp, ` + groupColumns + ` FROM g WHERE cp = @account
UNION ALL SELECT 'top', dir, cp, ` + groupColumns + ` FROM g WHERE cp IN (SELECT cp FROM top)
` + count("counterparties", "cps")
	if profile {
		q += count("fan_in_24h", "g WHERE dir = 'in' AND last_seen >= @day") +
			count("fan_in_7d", "g WHERE dir = 'in' AND last_seen >= @week") +
			count("fan_out_24h", "g WHERE dir = 'out' AND cp <> @account AND last_seen >= @day") +
			count("fan_out_7d", "g WHERE dir = 'out' AND cp <> @account AND last_seen >= @week") +
			count("fraud", `cps WHERE cp IN (
				SELECT name_orig FROM transactions WHERE tenant_id = @tenant AND label = 'confirmed_fraud' AND label <> ''
				UNION SELECT name_dest FROM transactions WHERE tenant_id = @tenant AND label = 'confirmed_fraud' AND label <> '')`) +
			count("blocked", `cps WHERE cp IN (SELECT account FROM watchlist_entries
				WHERE tenant_id = @tenant AND kind = 'blocked' AND (expires_at IS NULL OR expires_at > @now))`)
	}
	return q
}

// The statements of ProfileEntity and EntityCounterparties.
var (
	profileQuery = entityQuery(flowColumns, true)
	graphQuery   = entityQuery(graphColumns, false)
)

// ProfileEntity sums the account's transactions in the tenant at now, with
// its top riskiest counterparties. On PostgreSQL the transactions are read
// from the two account indexes alone (migration 0012), already in
// counterparty order: about 100,000 index entries for a hub. An account
// with no transaction in the tenant is ErrNotFound, also when another
// tenant knows it.
func ProfileEntity(ctx context.Context, t Tenant, account string, now time.Time, top int) (*Entity, error) {
	return t.entity(ctx, profileQuery, account, now, top)
}

// EntityCounterparties is what a graph of the account draws: its top
// riskiest counterparties with the count, amount, times and bands of what
// went each way, and the same of all its transactions. Decisions, scores,
// balances and signals stay zero: it sums half as much as ProfileEntity
// over the same index entries.
func EntityCounterparties(ctx context.Context, t Tenant, account string, top int) (*Entity, error) {
	return t.entity(ctx, graphQuery, account, time.Now(), top)
}

func (t Tenant) entity(ctx context.Context, query, account string, now time.Time, top int) (*Entity, error) {
	e := &Entity{Account: account}
	args := map[string]any{"tenant": t.id, "account": account, "top": top, "now": now.UTC(),
		"day": now.UTC().Add(-24 * time.Hour), "week": now.UTC().Add(-7 * 24 * time.Hour)}
	err := t.customPlans(ctx, func(tx Tenant) error {
		rows, err := tx.db.WithContext(ctx).Raw(query, args).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		byAccount := map[string]int{}
		for rows.Next() {
			var part, dir, other string
			var f Flow
			var first, last sqlTime
			if err := rows.Scan(&part, &dir, &other, &f.Count, &f.Amount, &first, &last, &f.Critical, &f.High, &f.Medium,
				&f.Low, &f.Flagged, &f.ConfirmedFraud, &f.FalsePositives, &f.ScoreSum, &f.ScoreMax,
				&f.BalanceBefore, &f.BalanceMoved, &f.Emptied); err != nil {
				return err
			}
			f.FirstSeen, f.LastSeen = first.Time, last.Time
			switch part {
			case "total":
				e.All.add(&f)
				if dir == "out" {
					e.Sent.add(&f)
				} else {
					e.Received.add(&f)
				}
			case "self":
				e.Received.add(&f) // to itself: received too
			case "top":
				j, ok := byAccount[other]
				if !ok {
					j = len(e.Counterparties)
					byAccount[other] = j
					e.Counterparties = append(e.Counterparties, Counterparty{Account: other})
				}
				if dir == "out" {
					e.Counterparties[j].Out = f
				} else {
					e.Counterparties[j].In = f
				}
			case "count":
				*map[string]*int{"counterparties": &e.CounterpartyCount, "fan_in_24h": &e.FanIn24h, "fan_in_7d": &e.FanIn7d,
					"fan_out_24h": &e.FanOut24h, "fan_out_7d": &e.FanOut7d, "fraud": &e.FraudCounterparties,
					"blocked": &e.BlockedCounterparties}[dir] = int(f.Count)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: profile %s: %w", account, err)
	}
	if e.All.Count == 0 {
		return nil, fmt.Errorf("store: profile %s: %w", account, ErrNotFound)
	}
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

// DayActivity is an account's traffic on one day (UTC).
type DayActivity struct {
	Day      time.Time
	Count    int64
	Flagged  int64
	ScoreSum float64
}

// EntityActivity is the account's transactions per day (UTC), oldest
// first, from the account indexes alone as ProfileEntity reads them.
func EntityActivity(ctx context.Context, t Tenant, account string) ([]DayActivity, error) {
	day := "CAST(floor(date_part('epoch', received_at) / 86400) AS BIGINT)"
	if t.db.Dialector.Name() != "postgres" {
		// SQLite keeps UTC times as text that starts with the date.
		day = "CAST(julianday(substr(received_at, 1, 10)) - 2440587.5 AS INTEGER)"
	}
	part := `SELECT ` + day + ` AS day, COUNT(*) AS count,
		SUM(CASE WHEN review_priority IS NOT NULL THEN 1 ELSE 0 END) AS flagged, SUM(score) AS score_sum
		FROM transactions WHERE tenant_id = ? AND `
	q := `SELECT day, SUM(count) AS count, SUM(flagged) AS flagged, SUM(score_sum) AS score_sum FROM (` +
		part + `name_orig = ? GROUP BY 1 UNION ALL ` + part + `name_dest = ? AND name_orig <> ? GROUP BY 1) d
		GROUP BY day ORDER BY day`
	var rows []struct {
		Day      int64
		Count    int64
		Flagged  int64
		ScoreSum float64
	}
	err := t.customPlans(ctx, func(tx Tenant) error {
		return tx.db.WithContext(ctx).Raw(q, t.id, account, t.id, account, account).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: activity of %s: %w", account, err)
	}
	out := make([]DayActivity, len(rows))
	for i, r := range rows {
		out[i] = DayActivity{Day: time.Unix(r.Day*86400, 0).UTC(), Count: r.Count, Flagged: r.Flagged, ScoreSum: r.ScoreSum}
	}
	return out, nil
}

// customPlans runs fn so that PostgreSQL plans each of its statements for
// the values given, in a transaction with plan_cache_mode set to
// force_custom_plan. Statements are prepared once per connection, and
// after five runs PostgreSQL may keep a generic plan made for an average
// account: for a hub (100,000 transactions) the queue's account filter then
// took 3 s instead of 2 ms, reading every row of the account to sort them.
// Planning each time costs about a millisecond. Other databases run fn as
// it is.
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
