package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"gorm.io/gorm"
)

// Decisions an analyst can take on a transaction.
const (
	DecisionConfirmedFraud = "confirmed_fraud"
	DecisionFalsePositive  = "false_positive"
	DecisionEscalated      = "escalated"
)

// Decisions lists the valid decisions.
var Decisions = []string{DecisionConfirmedFraud, DecisionFalsePositive, DecisionEscalated}

// Queue sort orders. The review view reads by risk or by time, the view of
// all transactions by time or by score; SortRisk and SortScore stand for
// each other in the other view.
const (
	SortRisk  = "risk" // highest band, then highest score, then oldest first
	SortTime  = "time" // newest first
	SortScore = "score"
)

// bandRanks orders the bands for the review queue, critical first.
var bandRanks = map[string]int{
	string(scoring.BandCritical): 0, string(scoring.BandHigh): 1, string(scoring.BandMedium): 2, string(scoring.BandLow): 3,
}

// bandLow is the band that needs no analyst unless the score or a
// watchlist says so.
const bandLow = string(scoring.BandLow)

// QueueBands lists the bands in review order, critical first.
var QueueBands = []string{string(scoring.BandCritical), string(scoring.BandHigh), string(scoring.BandMedium), string(scoring.BandLow)}

// ReviewPriority places a scored transaction in the review queue (migration
// 0008): nil when it needs no analyst, that is when it is in the low band,
// below the review threshold of the model that scored it, and on no
// watchlist. Lower comes first: the band's rank (critical 0 to low 3) plus
// (1 - score) / 2, so a band is the range [rank, rank + 0.5].
func ReviewPriority(band string, score, threshold float64, watchHit bool) *float64 {
	rank, ok := bandRanks[band]
	if !ok {
		rank = bandRanks[bandLow]
	}
	if rank == bandRanks[bandLow] && score < threshold && !watchHit {
		return nil
	}
	v := float64(rank) + (1-min(max(score, 0), 1))/2
	return &v
}

// QueueFilter selects and orders the queue. The zero value is every scored
// transaction, newest first.
type QueueFilter struct {
	// Review keeps only what needs an analyst: undecided transactions with
	// a review priority. Decision is then ignored.
	Review   bool
	Bands    []string
	Decision string // "" or "any": all; "undecided"; or one decision
	Type     string
	MinScore float64
	Account  string // sender or receiver, exact
	// Watch keeps transactions whose sender or receiver is on the
	// watchlist now: WatchBlocked, WatchTrusted, or WatchAny for either
	// list. In the review view it keeps every undecided such transaction,
	// in the review set or not (the account may have been added since it
	// was scored), highest score first.
	Watch string
	Sort  string // SortRisk, SortTime or SortScore
	// After is the keyset cursor of the next page: the id of the last row
	// of the current one. Before, for the previous page, is the id of its
	// first row.
	After  string
	Before string
	// NewerThan keeps only rows received after this transaction id (polling).
	NewerThan string
	Limit     int
}

// WatchAny is QueueFilter.Watch for an account on either list.
const WatchAny = "any"

// effective is the filter as the store runs it: the review view with a
// watchlist filter is the view of all transactions, undecided ones only,
// by score instead of by the review priority that some of them lack.
func (f QueueFilter) effective() QueueFilter {
	if f.Review && f.Watch != "" {
		f.Review, f.Decision = false, "undecided"
		if f.Sort != SortTime {
			f.Sort = SortScore
		}
	}
	return f
}

// order is the filter's effective sort in its view.
func (f *QueueFilter) order() string {
	switch {
	case f.Sort == SortTime:
		return SortTime
	case f.Review && (f.Sort == SortRisk || f.Sort == SortScore):
		return SortRisk
	case f.Sort == SortRisk || f.Sort == SortScore:
		return SortScore
	}
	return SortTime
}

// QueueRow is one queue line: the transaction, its prediction, its label.
type QueueRow struct {
	Transaction
	Score     float64
	RawMargin float64
	Band      string
}

// QueuePage is one page of the queue and whether pages lie on either side.
type QueuePage struct {
	Rows []QueueRow
	// HasPrev: rows come before this page (newer, or higher in risk or
	// score); HasNext: rows come after it.
	HasPrev, HasNext bool
}

// ListQueue returns one page of the queue, read forwards from f.After or
// backwards from f.Before. Transaction ids are UUIDv7, so "newest first" is
// id order.
func ListQueue(ctx context.Context, t Tenant, f QueueFilter) (*QueuePage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	f = f.effective()
	back := f.After == "" && f.Before != ""
	var rows []QueueRow
	var err error
	if strings.TrimSpace(f.Account) != "" {
		// An account's rows are planned for the account: a hub's and a
		// quiet one's need different plans (customPlans).
		err = t.customPlans(ctx, func(tx Tenant) error { return tx.pageQuery(ctx, f, back, reviewRanges(f)).Scan(&rows).Error })
	} else if ranges := reviewRanges(f); f.Review && f.order() == SortRisk && len(ranges) > 1 {
		// Several ranges of the priority (bands that do not touch, or a
		// minimum score): one index range each, merged, instead of every
		// row of all of them sorted.
		parts := make([]string, len(ranges))
		args := make([]any, len(ranges))
		for i, r := range ranges {
			parts[i] = fmt.Sprintf("SELECT * FROM (?) r%d", i)
			args[i] = t.pageQuery(ctx, f, back, []priorityRange{r})
		}
		dir := "ASC"
		if back {
			dir = "DESC"
		}
		err = t.db.WithContext(ctx).Raw("SELECT * FROM ("+strings.Join(parts, " UNION ALL ")+") u ORDER BY review_priority "+dir+", id "+dir+" LIMIT ?",
			append(args, f.Limit+1)...).Scan(&rows).Error
	} else {
		err = t.pageQuery(ctx, f, back, ranges).Scan(&rows).Error
	}
	if err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	return keysetPage(rows, f.Limit, f.After != "", back), nil
}

// pageQuery is the query of one page (f.Limit+1 rows) in f's order, or in
// reverse from the cursor when back is set; ranges replace f's bands and
// minimum score in the review view.
func (t Tenant) pageQuery(ctx context.Context, f QueueFilter, back bool, ranges []priorityRange) *gorm.DB {
	cursor := f.After
	if back {
		cursor = f.Before
	}
	q := t.queueQuery(ctx, f, ranges)
	// Cursors are written so an index range starts at them: on both sides of
	// the join for id order, and as a row value for score and risk order. At
	// a million rows any page, however deep, takes a few ms.
	desc, asc, older, newer := "DESC", "ASC", "<", ">"
	if back {
		desc, asc, older, newer = asc, desc, newer, older
	}
	switch f.order() {
	case SortRisk:
		if cursor != "" {
			q = q.Where("(transactions.review_priority, transactions.id) "+newer+
				" (SELECT review_priority, id FROM transactions WHERE tenant_id = ? AND id = ?)", t.id, cursor)
		}
		q = q.Order("transactions.review_priority " + asc + ", transactions.id " + asc)
	case SortScore:
		if cursor != "" {
			q = q.Where("(p.score, p.id) "+older+" (SELECT score, id FROM predictions WHERE transaction_id = ? AND tenant_id = ?)", cursor, t.id)
		}
		q = q.Order("p.score " + desc + ", p.id " + desc)
	default:
		if cursor != "" {
			q = q.Where("transactions.id "+older+" ? AND p.transaction_id "+older+" ?", cursor, cursor)
		}
		q = q.Order("transactions.id " + desc)
	}
	return q.Limit(f.Limit + 1)
}

// CountQueueBands counts, per band, the queue rows that f's other filters
// keep (its band filter, cursors and poll cursor aside), each up to limit:
// a band with more than limit rows counts limit+1. One statement; each count
// stops after limit+1 rows and reads the transactions' priority (or, with
// no filter on transactions, the predictions' band) from an index, so it
// stays cheap at any table size.
func CountQueueBands(ctx context.Context, t Tenant, f QueueFilter, limit int) (map[string]int64, error) {
	f.After, f.Before, f.NewerThan = "", "", ""
	f = f.effective()
	onTransactions := (f.Decision != "" && f.Decision != "any") || f.Type != "" || strings.TrimSpace(f.Account) != "" || f.Watch != ""
	parts := make([]string, len(QueueBands))
	args := make([]any, 0, 2*len(QueueBands))
	for i, b := range QueueBands {
		fb := f
		fb.Bands = []string{b}
		var q *gorm.DB
		switch {
		case f.Review:
			q = t.reviewQuery(t.scoped(ctx).Model(&Transaction{}), reviewRanges(fb))
			q = t.transactionFilters(q, fb)
		case !onTransactions:
			q = t.scoped(ctx).Model(&Prediction{}).Where("band = ?", b)
			if b != bandLow {
				q = q.Where("band <> 'low'") // the partial band index's condition (0006)
			}
			if f.MinScore > 0 {
				q = q.Where("score >= ?", f.MinScore)
			}
		default:
			// With a minimum score the predictions' score and band indexes
			// find the few rows above it; without, the transactions' risk
			// indexes find the band (queueQuery picks by order).
			if f.MinScore > 0 {
				fb.Sort = SortScore
			} else {
				fb.Sort = SortTime
			}
			q = t.queueQuery(ctx, fb, nil)
		}
		parts[i] = "SELECT ? AS band, (SELECT COUNT(*) FROM (?) x) AS n"
		args = append(args, b, q.Select("1").Limit(limit+1))
	}
	var rows []struct {
		Band string
		N    int64
	}
	count := func(tx Tenant) error {
		return tx.db.WithContext(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error
	}
	var err error
	if strings.TrimSpace(f.Account) != "" {
		err = t.customPlans(ctx, count)
	} else {
		err = count(t)
	}
	if err != nil {
		return nil, fmt.Errorf("store: count queue bands: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Band] = r.N
	}
	return out, nil
}

// NewestTransactionID is the id of the tenant's newest transaction, "" when
// it has none: the poll cursor of a queue view.
func NewestTransactionID(ctx context.Context, t Tenant) (string, error) {
	var ids []string
	if err := t.scoped(ctx).Model(&Transaction{}).Order("id DESC").Limit(1).Pluck("id", &ids).Error; err != nil {
		return "", fmt.Errorf("store: newest transaction: %w", err)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// queueQuery selects the queue rows f keeps, in no order. In the review
// view ranges of the priority stand for f's bands and minimum score.
func (t Tenant) queueQuery(ctx context.Context, f QueueFilter, ranges []priorityRange) *gorm.DB {
	q := t.scoped(ctx).Model(&Transaction{}).
		Select("transactions.*, p.raw_margin, p.band").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id")
	if f.Review {
		q = t.reviewQuery(q, ranges)
	} else {
		switch {
		case len(f.Bands) == 0:
		case f.order() == SortScore:
			// Score order walks the predictions' score and band indexes
			// (0006), whose conditions the literal repeats so that a
			// planner uses them with parameters.
			q = q.Where("p.band IN ?", f.Bands)
			if !slices.Contains(f.Bands, bandLow) {
				q = q.Where("p.band <> 'low'")
			}
		default:
			// Otherwise bands are read from the transaction's priority
			// (every band but low has one, in the risk indexes of 0008), so
			// no prediction is read to filter them.
			if cond := bandCondition(f.Bands); cond != "" {
				q = q.Where(cond)
			}
		}
		switch f.Decision {
		case "", "any":
		case "undecided":
			q = q.Where("transactions.label = ''")
		default:
			// The literal repeats the partial label index's condition
			// (0006): a planner has to see it to use that index with
			// parameters.
			q = q.Where("transactions.label = ? AND transactions.label <> ''", f.Decision)
		}
		if f.MinScore > 0 {
			q = q.Where("p.score >= ?", f.MinScore)
		}
	}
	q = t.transactionFilters(q, f)
	if f.NewerThan != "" {
		q = q.Where("transactions.id > ? AND p.transaction_id > ?", f.NewerThan, f.NewerThan)
	}
	return q
}

// reviewQuery keeps the undecided review set within the priority ranges;
// the literal conditions are the partial review indexes' (0008).
func (t Tenant) reviewQuery(q *gorm.DB, ranges []priorityRange) *gorm.DB {
	q = q.Where("transactions.label = '' AND transactions.review_priority IS NOT NULL")
	if cond := rangeCondition(ranges); cond != "" {
		q = q.Where(cond)
	}
	return q
}

// transactionFilters applies the filters on the transaction's own columns
// and on the watchlist's entries for its accounts.
func (t Tenant) transactionFilters(q *gorm.DB, f QueueFilter) *gorm.DB {
	if f.Type != "" {
		q = q.Where("transactions.type = ?", f.Type)
	}
	if a := strings.TrimSpace(f.Account); a != "" {
		q = q.Where("(transactions.name_orig = ? OR transactions.name_dest = ?)", a, a)
	}
	if f.Watch != "" {
		kinds := []string{f.Watch}
		if f.Watch == WatchAny {
			kinds = WatchKindList
		}
		// A subquery, run as part of q: q's context applies.
		watched := t.db.Model(&WatchlistEntry{}).Select("account").
			Where("tenant_id = ? AND kind IN ? AND (expires_at IS NULL OR expires_at > ?)", t.id, kinds, time.Now().UTC())
		q = q.Where("(transactions.name_orig IN (?) OR transactions.name_dest IN (?))", watched, watched)
	}
	return q
}

// priorityRange is a closed range of review_priority.
type priorityRange struct{ lo, hi float64 }

// reviewRanges turns the review view's bands and minimum score into ranges
// of the priority: one per run of adjacent bands, or with a minimum score
// one per band (its top part). Nil keeps the whole review set. The bounds
// are computed as ReviewPriority computes the priority, so a score at the
// minimum is in.
func reviewRanges(f QueueFilter) []priorityRange {
	var in [4]bool
	for _, b := range f.Bands {
		if r, ok := bandRanks[b]; ok {
			in[r] = true
		}
	}
	if len(f.Bands) == 0 {
		if f.MinScore <= 0 {
			return nil
		}
		in = [4]bool{true, true, true, true}
	}
	var out []priorityRange
	for r := 0; r < len(in); r++ {
		if !in[r] {
			continue
		}
		if f.MinScore > 0 {
			out = append(out, priorityRange{float64(r), float64(r) + (1-min(f.MinScore, 1))/2})
			continue
		}
		end := r
		for end+1 < len(in) && in[end+1] {
			end++
		}
		out = append(out, priorityRange{float64(r), float64(end) + 0.5})
		r = end
	}
	if len(out) == 0 {
		return []priorityRange{{1, 0}} // no valid band: nothing
	}
	return out
}

// rangeCondition is the SQL for "review_priority in one of the ranges".
// The bounds are numbers of our own, written as literals so that a planner
// sees each range.
func rangeCondition(ranges []priorityRange) string {
	var conds []string
	for _, r := range ranges {
		conds = append(conds, "(transactions.review_priority >= "+strconv.FormatFloat(r.lo, 'g', -1, 64)+
			" AND transactions.review_priority <= "+strconv.FormatFloat(r.hi, 'g', -1, 64)+")")
	}
	if len(conds) == 0 {
		return ""
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// bandCondition keeps the bands in the view of all transactions, read from
// the transaction's priority: every band but low has one in its band's
// range; a low transaction has none, or one from 3 (it needed review for
// its threshold or the watchlist). "" keeps every band.
func bandCondition(bands []string) string {
	var in [4]bool
	n := 0
	for _, b := range bands {
		if r, ok := bandRanks[b]; ok && !in[r] {
			in[r] = true
			n++
		}
	}
	if n == 0 || n == len(in) {
		return ""
	}
	var conds []string
	if in[bandRanks[bandLow]] {
		conds = append(conds, "transactions.review_priority IS NULL OR transactions.review_priority >= 3")
	}
	var ranges []priorityRange
	for r := 0; r < 3; r++ {
		if in[r] {
			ranges = append(ranges, priorityRange{float64(r), float64(r) + 0.5})
		}
	}
	if c := rangeCondition(ranges); c != "" {
		conds = append(conds, c)
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// SimilarWindow is how many of the tenant's latest transactions
// SimilarTransactions searches.
var SimilarWindow = 20000

// SimilarTransactions lists up to limit other transactions of the same type
// and band with an amount within ±50%, newest first, among the tenant's
// latest SimilarWindow transactions: a rare combination then costs a
// bounded walk (about 25 ms) instead of one through the whole table (half a
// second at 460,000 rows).
func SimilarTransactions(ctx context.Context, t Tenant, s *Scored, limit int) ([]QueueRow, error) {
	var cut []string
	if err := t.scoped(ctx).Model(&Transaction{}).Order("id DESC").Offset(SimilarWindow).Limit(1).Pluck("id", &cut).Error; err != nil {
		return nil, fmt.Errorf("store: similar to %s: window: %w", s.Transaction.ID, err)
	}
	f := QueueFilter{Bands: []string{s.Prediction.Band}, Type: s.Transaction.Type}
	if len(cut) > 0 {
		f.NewerThan = cut[0]
	}
	var rows []QueueRow
	err := t.queueQuery(ctx, f, nil).
		Where("transactions.id <> ?", s.Transaction.ID).
		Where("transactions.amount BETWEEN ? AND ?", s.Transaction.Amount*0.5, s.Transaction.Amount*1.5).
		Order("transactions.id DESC").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: similar to %s: %w", s.Transaction.ID, err)
	}
	return rows, nil
}

// CountBacklog counts the tenant's review queue: undecided transactions
// that need an analyst (a review priority, migration 0008). It reads only the
// queue's partial index.
func CountBacklog(ctx context.Context, t Tenant) (int64, error) {
	var n int64
	err := t.scoped(ctx).Model(&Transaction{}).Where("label = '' AND review_priority IS NOT NULL").Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: count backlog: %w", err)
	}
	return n, nil
}

// keysetPage turns the limit+1 rows read for one page into the page:
// whether more lie beyond it, and, for a page read backwards (back), the
// rows put in reading order. after says a cursor led to the page.
func keysetPage(rows []QueueRow, limit int, after, back bool) *QueuePage {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	page := &QueuePage{Rows: rows, HasPrev: after, HasNext: more}
	if back {
		slices.Reverse(rows)
		page.HasPrev, page.HasNext = more, true
	}
	return page
}
