package store

import (
	"context"
	"fmt"
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
	// Counterparties are the other accounts it exchanged money with, in no
	// particular order.
	Counterparties []Counterparty
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
const flowColumns = `COUNT(*) AS count, SUM(amount) AS amount,
	MIN(received_at) AS first_seen, MAX(received_at) AS last_seen,
	SUM(CASE WHEN review_priority < 1 THEN 1 ELSE 0 END) AS critical,
	SUM(CASE WHEN review_priority >= 1 AND review_priority < 2 THEN 1 ELSE 0 END) AS high,
	SUM(CASE WHEN review_priority >= 2 AND review_priority < 3 THEN 1 ELSE 0 END) AS medium,
	SUM(CASE WHEN review_priority IS NULL OR review_priority >= 3 THEN 1 ELSE 0 END) AS low,
	SUM(CASE WHEN review_priority IS NOT NULL THEN 1 ELSE 0 END) AS flagged,
	SUM(CASE WHEN label = 'confirmed_fraud' THEN 1 ELSE 0 END) AS confirmed_fraud,
	SUM(CASE WHEN label = 'false_positive' THEN 1 ELSE 0 END) AS false_positives,
	SUM(score) AS score_sum, MAX(score) AS score_max`

// ProfileEntity sums the account's transactions in the tenant, per
// counterparty and direction, in one statement that reads the two account
// indexes alone on PostgreSQL (migration 0012): about 100,000 index entries
// a hub. An account with no transaction in the tenant is ErrNotFound, also
// when another tenant knows it.
func ProfileEntity(ctx context.Context, t Tenant, account string) (*Entity, error) {
	// A transaction to itself is read once, with the sent ones (the
	// received ones leave it out).
	q := `SELECT 'out' AS dir, name_dest AS counterparty, ` + flowColumns + `,
		SUM(CASE WHEN old_balance_org > 0 THEN old_balance_org ELSE 0 END) AS balance_before,
		SUM(CASE WHEN old_balance_org > 0 AND old_balance_org > new_balance_orig THEN old_balance_org - new_balance_orig ELSE 0 END) AS balance_moved,
		SUM(CASE WHEN old_balance_org > 0 AND new_balance_orig = 0 THEN 1 ELSE 0 END) AS emptied
	FROM transactions WHERE tenant_id = ? AND name_orig = ? GROUP BY name_dest
	UNION ALL
	SELECT 'in', name_orig, ` + flowColumns + `, 0, 0, 0
	FROM transactions WHERE tenant_id = ? AND name_dest = ? AND name_orig <> ? GROUP BY name_orig`
	rows, err := t.db.WithContext(ctx).Raw(q, t.id, account, t.id, account, account).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: profile %s: %w", account, err)
	}
	defer rows.Close()
	e := &Entity{Account: account}
	byAccount := map[string]int{}
	for rows.Next() {
		var dir, other string
		var f Flow
		var first, last sqlTime
		if err := rows.Scan(&dir, &other, &f.Count, &f.Amount, &first, &last, &f.Critical, &f.High, &f.Medium, &f.Low,
			&f.Flagged, &f.ConfirmedFraud, &f.FalsePositives, &f.ScoreSum, &f.ScoreMax,
			&f.BalanceBefore, &f.BalanceMoved, &f.Emptied); err != nil {
			return nil, fmt.Errorf("store: profile %s: %w", account, err)
		}
		f.FirstSeen, f.LastSeen = first.Time, last.Time
		e.All.add(&f)
		if dir == "out" {
			e.Sent.add(&f)
		} else {
			e.Received.add(&f)
		}
		if other == account {
			e.Received.add(&f) // to itself: received too
			continue
		}
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
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: profile %s: %w", account, err)
	}
	if e.All.Count == 0 {
		return nil, fmt.Errorf("store: profile %s: %w", account, ErrNotFound)
	}
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
	if err := t.db.WithContext(ctx).Raw(q, t.id, account, t.id, account, account).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: activity of %s: %w", account, err)
	}
	out := make([]DayActivity, len(rows))
	for i, r := range rows {
		out[i] = DayActivity{Day: time.Unix(r.Day*86400, 0).UTC(), Count: r.Count, Flagged: r.Flagged, ScoreSum: r.ScoreSum}
	}
	return out, nil
}

// ActiveWatchlist is every entry of the tenant's watchlist that applies
// at now, by account.
func ActiveWatchlist(ctx context.Context, t Tenant, now time.Time) (map[string]string, error) {
	var rows []WatchlistEntry
	err := t.scoped(ctx).Select("account", "kind").Where("expires_at IS NULL OR expires_at > ?", now.UTC()).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: active watchlist: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Account] = r.Kind
	}
	return out, nil
}

// FraudAccounts is every account, sender or receiver, of a transaction of
// the tenant confirmed as fraud. It reads the partial label index (0006):
// decided transactions are few.
func FraudAccounts(ctx context.Context, t Tenant) (map[string]bool, error) {
	var rows []struct{ NameOrig, NameDest string }
	err := t.scoped(ctx).Model(&Transaction{}).Select("name_orig", "name_dest").
		Where("label = ? AND label <> ''", DecisionConfirmedFraud).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: fraud accounts: %w", err)
	}
	out := make(map[string]bool, 2*len(rows))
	for _, r := range rows {
		out[r.NameOrig], out[r.NameDest] = true, true
	}
	return out, nil
}

// FanIn counts the accounts that sent money to this one at or after since.
func (e *Entity) FanIn(since time.Time) int {
	n := 0
	for i := range e.Counterparties {
		if c := &e.Counterparties[i]; c.In.Count > 0 && !c.In.LastSeen.Before(since) {
			n++
		}
	}
	return n
}

// FanOut counts the accounts this one sent money to at or after since.
func (e *Entity) FanOut(since time.Time) int {
	n := 0
	for i := range e.Counterparties {
		if c := &e.Counterparties[i]; c.Out.Count > 0 && !c.Out.LastSeen.Before(since) {
			n++
		}
	}
	return n
}
