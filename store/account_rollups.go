package store

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// The account rollups of migration 0020, which an entity profile of a hub
// reads: per account and counterparty (account_pairs) and per account,
// day and direction (account_days), for the accounts listed in
// account_rollups. They are kept with the other rollups (rollupChanges),
// in the database transaction that stores a transaction or changes its
// decision.

// hubTransactions is how many transactions make an account's profile
// keep its rollups: summing 5,000 from the account indexes takes a few
// milliseconds, 100,000 about 250.
var hubTransactions atomic.Int64

func init() { hubTransactions.Store(5000) }

// rollupLock is the key of the tenant's rollup lock on PostgreSQL (an
// advisory lock).
func rollupLock(tenantID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("account rollups " + tenantID))
	return int64(h.Sum64())
}

// keepRollups starts keeping the account's rollups: it lists the account
// and sums its transactions so far into them, in one database transaction
// that holds the tenant's rollup lock alone. Every writer holds it shared
// from before it looks for kept accounts until it commits (keptOnly), so
// a writer either committed before the sums were taken, and is in them,
// or looks after this commit and adds to the rollups itself. The tenant's
// writers wait meanwhile: one to two seconds for a hub of 100,000
// transactions, once. SQLite has one writer at a time, which is the same.
func (t Tenant) keepRollups(ctx context.Context, account string) error {
	err := t.Tx(ctx, func(tx Tenant) error {
		db := tx.db.WithContext(ctx)
		if tx.db.Dialector.Name() == "postgres" {
			if err := db.Exec(`SELECT pg_advisory_xact_lock(?)`, rollupLock(tx.id)).Error; err != nil {
				return err
			}
		}
		res := db.Exec(`INSERT INTO account_rollups (tenant_id, account, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			tx.id, account, time.Now().UTC())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // kept already: another profile came first
		}
		args := map[string]any{"tenant": tx.id, "account": account}
		if err := db.Exec(`INSERT INTO account_pairs (`+strings.Join(pairColumns, ", ")+`)
			SELECT @tenant, @account, counterparty, out_n, out_amount, out_last, out_band, in_n, in_amount, in_last, in_band
			FROM (`+summedPairs+`) p`, args).Error; err != nil {
			return err
		}
		return db.Exec(`INSERT INTO account_days (`+strings.Join(accountDayColumns, ", ")+`)
			SELECT @tenant, @account, `+strings.Join(accountDayColumns[2:], ", ")+` FROM (`+summedDays(tx.dayNumber())+`) d`, args).Error
	})
	if err != nil {
		return fmt.Errorf("keep the rollups of %s: %w", account, err)
	}
	return nil
}

// accountChanges are the account rollups' share of rollupChanges: the
// transactions counted in or out (moves), summed into pairs and days for
// the kept accounts only (sumKept), once the writer knows which they are.
type accountChanges struct {
	moves []accountMove
	pairs pairDeltas
	days  accountDeltas
}

// accountMove is a transaction, scored score, with label, counted in
// (sign 1) or out of (sign -1) the rollups.
type accountMove struct {
	tx    *Transaction
	score float64
	label string
	sign  int
}

// keptOnly sums the moves into the rollups of the accounts whose rollups
// are kept, inside the writer's transaction, after it has taken the
// tenant's rollup lock shared (keepRollups). It reads the tenant's whole
// list, a few hubs: cheaper than looking up each of a batch's accounts.
func (c rollupChanges) keptOnly(ctx context.Context, t Tenant) error {
	if len(c.accounts.moves) == 0 {
		return nil
	}
	db := t.db.WithContext(ctx)
	if t.db.Dialector.Name() == "postgres" {
		if err := db.Exec(`SELECT pg_advisory_xact_lock_shared(?)`, rollupLock(t.id)).Error; err != nil {
			return err
		}
	}
	var kept []string
	if err := db.Raw(`SELECT account FROM account_rollups WHERE tenant_id = ?`, t.id).Scan(&kept).Error; err != nil {
		return err
	}
	c.accounts.sumKept(kept)
	return nil
}

// sumKept sums the moves into the pairs and days of the kept accounts.
// A transaction to itself is a sent one of its day and no pair.
func (c *accountChanges) sumKept(kept []string) {
	c.pairs, c.days = pairDeltas{}, accountDeltas{}
	if len(kept) == 0 {
		return
	}
	isKept := map[string]bool{}
	for _, a := range kept {
		isKept[a] = true
	}
	for _, m := range c.moves {
		tx, sign := m.tx, m.sign
		orig, dest := isKept[tx.NameOrig], isKept[tx.NameDest]
		if !orig && !dest {
			continue
		}
		at := tx.ReceivedAt.UTC()
		day := dayOf(at)
		band := bandRankOf(tx.ReviewPriority)
		if orig {
			out := entry(c.days, accountDayKey{tx.NameOrig, day, "out"}, nil)
			out.addSigned(tx, m.score, m.label, sign, at)
			if tx.OldBalanceOrg > 0 {
				out.BalanceBefore += float64(sign) * tx.OldBalanceOrg
				if tx.OldBalanceOrg > tx.NewBalanceOrig {
					out.BalanceMoved += float64(sign) * (tx.OldBalanceOrg - tx.NewBalanceOrig)
				}
				if tx.NewBalanceOrig == 0 {
					out.Emptied += int64(sign)
				}
			}
		}
		if tx.NameOrig == tx.NameDest {
			continue
		}
		if orig {
			entry(c.pairs, pairKey{tx.NameOrig, tx.NameDest}, newPair)[0].add(sign, tx.Amount, at, band)
		}
		if dest {
			entry(c.days, accountDayKey{tx.NameDest, day, "in"}, nil).addSigned(tx, m.score, m.label, sign, at)
			entry(c.pairs, pairKey{tx.NameDest, tx.NameOrig}, newPair)[1].add(sign, tx.Amount, at, band)
		}
	}
}

// noBand is a pair's band rank for a direction nothing went.
const noBand = 9

// bandRankOf is the rank of a review priority's band: 0 critical … 3 low.
func bandRankOf(p *float64) int {
	return slices.Index(QueueBands, bandOfPriority(p))
}

// pairKey is one row of account_pairs, tenant aside.
type pairKey struct{ Account, Counterparty string }

// pairSide is what went one way between the two accounts of a pair.
type pairSide struct {
	N      int64
	Amount float64
	Last   time.Time // zero when nothing did
	Band   int       // noBand when nothing did
}

// add counts a transaction at, of amount and band rank, in (sign 1) or
// out of (sign -1) the side. The last time and the band only move with new
// transactions: a transaction counted out is counted back in with another
// label (a decision), and transactions are never deleted.
func (s *pairSide) add(sign int, amount float64, at time.Time, band int) {
	s.N += int64(sign)
	s.Amount += float64(sign) * amount
	if sign > 0 {
		if at.After(s.Last) {
			s.Last = at
		}
		s.Band = min(s.Band, band)
	}
}

type pairDeltas map[pairKey]*[2]pairSide // out, in

// newPair is a pair's two sides before anything went either way.
func newPair() *[2]pairSide { return &[2]pairSide{{Band: noBand}, {Band: noBand}} }

// accountDayKey is one row of account_days, tenant aside.
type accountDayKey struct {
	Account string
	Day     int64 // days since 1970-01-01, UTC
	Dir     string
}

type accountDeltas map[accountDayKey]*Flow

// dayOf is the day (UTC) of at as days since 1970-01-01.
func dayOf(at time.Time) int64 {
	s := at.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d-- // floor, before 1970
	}
	return d
}

// addSigned counts tx in (sign 1) or out of (sign -1) f, balances aside;
// times and the highest score only move with new transactions, as a
// pair's last time does.
func (f *Flow) addSigned(tx *Transaction, score float64, label string, sign int, at time.Time) {
	n := int64(sign)
	f.Count += n
	f.Amount += float64(sign) * tx.Amount
	switch bandOfPriority(tx.ReviewPriority) {
	case QueueBands[0]:
		f.Critical += n
	case QueueBands[1]:
		f.High += n
	case QueueBands[2]:
		f.Medium += n
	default:
		f.Low += n
	}
	if tx.ReviewPriority != nil {
		f.Flagged += n
	}
	switch label {
	case DecisionConfirmedFraud:
		f.ConfirmedFraud += n
	case DecisionFalsePositive:
		f.FalsePositives += n
	}
	f.ScoreSum += float64(sign) * score
	if sign > 0 {
		if f.FirstSeen.IsZero() || at.Before(f.FirstSeen) {
			f.FirstSeen = at
		}
		if at.After(f.LastSeen) {
			f.LastSeen = at
		}
		f.ScoreMax = max(f.ScoreMax, score)
	}
}

var pairColumns = []string{"tenant_id", "account", "counterparty",
	"out_n", "out_amount", "out_last", "out_band", "in_n", "in_amount", "in_last", "in_band"}

// pairCombine says how a pair's last times and bands take a new value.
var pairCombine = map[string]string{"out_last": "max", "out_band": "min", "in_last": "max", "in_band": "min"}

// nullTime is t, or NULL when it is zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// rows are the pairs to write, in key order (two writers lock them in
// the same order and never deadlock). A pair whose counts did not change
// (a decision moves a transaction between labels, which pairs do not
// count) is not written.
func (d pairDeltas) rows(tenantID string) [][]any {
	keys := slices.SortedFunc(maps.Keys(d), func(a, b pairKey) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Counterparty, b.Counterparty))
	})
	var rows [][]any
	for _, k := range keys {
		s := d[k]
		if s[0].N == 0 && s[1].N == 0 {
			continue
		}
		rows = append(rows, []any{tenantID, k.Account, k.Counterparty,
			s[0].N, s[0].Amount, nullTime(s[0].Last), s[0].Band, s[1].N, s[1].Amount, nullTime(s[1].Last), s[1].Band})
	}
	return rows
}

var accountDayColumns = []string{"tenant_id", "account", "day", "dir", "n", "amount", "first_seen", "last_seen",
	"critical", "high", "medium", "low", "flagged", "confirmed_fraud", "false_positives", "score_sum", "score_max",
	"balance_before", "balance_moved", "emptied"}

var accountDayCombine = map[string]string{"first_seen": "min", "last_seen": "max", "score_max": "max"}

// rows are the account days to write, in key order.
func (d accountDeltas) rows(tenantID string) [][]any {
	keys := slices.SortedFunc(maps.Keys(d), func(a, b accountDayKey) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Dir, b.Dir))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		f := d[k]
		rows[i] = []any{tenantID, k.Account, k.Day, k.Dir, f.Count, f.Amount, f.FirstSeen, f.LastSeen,
			f.Critical, f.High, f.Medium, f.Low, f.Flagged, f.ConfirmedFraud, f.FalsePositives, f.ScoreSum, f.ScoreMax,
			f.BalanceBefore, f.BalanceMoved, f.Emptied}
	}
	return rows
}

// upserts add the kept accounts' rollups (sumKept), pairs first.
func (c *accountChanges) upserts(tenantID string, placeholder func(i int) string) []rollupStatement {
	out := upsertSQL("account_pairs", pairColumns, 3, c.pairs.rows(tenantID), pairCombine, placeholder)
	return append(out, upsertSQL("account_days", accountDayColumns, 4, c.days.rows(tenantID), accountDayCombine, placeholder)...)
}
