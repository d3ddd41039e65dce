package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
var bandRanks = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

// QueueBands lists the bands in review order, critical first.
var QueueBands = []string{"critical", "high", "medium", "low"}

// ReviewPriority places a scored transaction in the review queue (migration
// 0008): nil when it needs no analyst, that is when it is in the low band,
// below the review threshold of the model that scored it, and on no
// watchlist. Lower comes first: the band's rank (critical 0 to low 3) plus
// (1 - score) / 2, so a band is the range [rank, rank + 0.5].
func ReviewPriority(band string, score, threshold float64, watchHit bool) *float64 {
	rank, ok := bandRanks[band]
	if !ok {
		rank = bandRanks["low"]
	}
	if rank == bandRanks["low"] && score < threshold && !watchHit {
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
	Sort     string // SortRisk, SortTime or SortScore
	// After is the keyset cursor of the next page: the id of the last row
	// of the current one. Before, for the previous page, is the id of its
	// first row.
	After  string
	Before string
	// NewerThan keeps only rows received after this transaction id (polling).
	NewerThan string
	Limit     int
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
	back := f.After == "" && f.Before != ""
	cursor := f.After
	if back {
		cursor = f.Before
	}
	q := t.queueQuery(ctx, f)
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
	var rows []QueueRow
	if err := q.Limit(f.Limit + 1).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	page := &QueuePage{Rows: rows, HasPrev: f.After != "", HasNext: more}
	if back {
		slices.Reverse(rows)
		page.HasPrev, page.HasNext = more, true
	}
	return page, nil
}

// CountQueueBands counts, per band, the queue rows that f's other filters
// keep (its band filter, cursors and poll cursor aside), each up to limit:
// a band with more than limit rows counts limit+1. One statement; each count
// stops after limit+1 rows, so it stays cheap at any table size.
func CountQueueBands(ctx context.Context, t Tenant, f QueueFilter, limit int) (map[string]int64, error) {
	f.After, f.Before, f.NewerThan = "", "", ""
	parts := make([]string, len(QueueBands))
	args := make([]any, 0, 2*len(QueueBands))
	for i, b := range QueueBands {
		fb := f
		fb.Bands = []string{b}
		parts[i] = "SELECT ? AS band, (SELECT COUNT(*) FROM (?) x) AS n"
		args = append(args, b, t.queueQuery(ctx, fb).Select("1").Limit(limit+1))
	}
	var rows []struct {
		Band string
		N    int64
	}
	if err := t.db.WithContext(ctx).Raw(strings.Join(parts, " UNION ALL "), args...).Scan(&rows).Error; err != nil {
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

func (t Tenant) queueQuery(ctx context.Context, f QueueFilter) *gorm.DB {
	q := t.scoped(ctx).Model(&Transaction{}).
		Select("transactions.*, p.score, p.raw_margin, p.band").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id")
	// The literal conditions repeat those of the partial indexes (migrations
	// 0006 and 0008): a planner has to see them to use those indexes with
	// parameters.
	switch {
	case f.Review:
		q = q.Where("transactions.label = '' AND transactions.review_priority IS NOT NULL")
		if len(f.Bands) > 0 {
			q = q.Where(reviewBandRanges(f.Bands))
		}
	default:
		if len(f.Bands) > 0 {
			q = q.Where("p.band IN ?", f.Bands)
			if !slices.Contains(f.Bands, "low") {
				q = q.Where("p.band <> 'low'")
			}
		}
		switch f.Decision {
		case "", "any":
		case "undecided":
			q = q.Where("transactions.label = ''")
		default:
			q = q.Where("transactions.label = ? AND transactions.label <> ''", f.Decision)
		}
	}
	if f.Type != "" {
		q = q.Where("transactions.type = ?", f.Type)
	}
	if f.MinScore > 0 {
		q = q.Where("p.score >= ?", f.MinScore)
	}
	if a := strings.TrimSpace(f.Account); a != "" {
		q = q.Where("(transactions.name_orig = ? OR transactions.name_dest = ?)", a, a)
	}
	if f.NewerThan != "" {
		q = q.Where("transactions.id > ? AND p.transaction_id > ?", f.NewerThan, f.NewerThan)
	}
	return q
}

// reviewBandRanges is the condition on review_priority that keeps the
// bands: one range per run of adjacent bands, so one or adjacent bands
// are a single index range. The bounds are constants of ReviewPriority.
func reviewBandRanges(bands []string) string {
	var in [4]bool
	for _, b := range bands {
		if r, ok := bandRanks[b]; ok {
			in[r] = true
		}
	}
	var ranges []string
	for r := 0; r < len(in); r++ {
		if !in[r] {
			continue
		}
		end := r
		for end+1 < len(in) && in[end+1] {
			end++
		}
		ranges = append(ranges, fmt.Sprintf("(transactions.review_priority >= %d AND transactions.review_priority <= %d.5)", r, end))
		r = end
	}
	if len(ranges) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(ranges, " OR ") + ")"
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
	err := t.queueQuery(ctx, f).
		Where("transactions.id <> ?", s.Transaction.ID).
		Where("transactions.amount BETWEEN ? AND ?", s.Transaction.Amount*0.5, s.Transaction.Amount*1.5).
		Order("transactions.id DESC").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: similar to %s: %w", s.Transaction.ID, err)
	}
	return rows, nil
}
