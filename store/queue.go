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

// Queue sort orders.
const (
	SortTime  = "time"
	SortScore = "score"
)

// QueueFilter selects and orders the queue. The zero value is every scored
// transaction, newest first.
type QueueFilter struct {
	Bands    []string
	Decision string // "" or "any": all; "undecided"; or one decision
	Type     string
	MinScore float64
	Account  string // sender or receiver, exact
	Sort     string // SortTime or SortScore
	// After is the keyset cursor: the id of the last row of the previous page.
	After string
	// NewerThan keeps only rows received after this transaction id (polling).
	NewerThan string
	Limit     int
}

// QueueRow is one queue line: the transaction, its prediction, its label.
type QueueRow struct {
	Transaction
	Score     float64
	RawMargin float64
	Band      string
}

// ListQueue returns one page of the queue. Transaction ids are UUIDv7, so
// "newest first" is id order and pages continue after the last id.
func ListQueue(ctx context.Context, t Tenant, f QueueFilter) ([]QueueRow, error) {
	// Cursors are written so an index range starts at them: on both sides of
	// the join for id order, and as a row value on (score, prediction id) for
	// score order. At a million rows any page, however deep, takes a few ms.
	q := t.queueQuery(ctx, f)
	if f.Sort == SortScore {
		if f.After != "" {
			q = q.Where("(p.score, p.id) < (SELECT score, id FROM predictions WHERE transaction_id = ? AND tenant_id = ?)", f.After, t.id)
		}
		q = q.Order("p.score DESC, p.id DESC")
	} else {
		if f.After != "" {
			q = q.Where("transactions.id < ? AND p.transaction_id < ?", f.After, f.After)
		}
		q = q.Order("transactions.id DESC")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var rows []QueueRow
	if err := q.Limit(f.Limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: queue: %w", err)
	}
	return rows, nil
}

func (t Tenant) queueQuery(ctx context.Context, f QueueFilter) *gorm.DB {
	q := t.scoped(ctx).Model(&Transaction{}).
		Select("transactions.*, p.score, p.raw_margin, p.band").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id")
	// The literal conditions repeat those of the partial band and label
	// indexes (migration 0006): a planner has to see them to use those
	// indexes with parameters.
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

// CountBacklog counts the tenant's undecided transactions in the medium,
// high or critical band: the work waiting for analysts. It subtracts the
// decided ones from all flagged ones, so both counts stay on small partial
// indexes (migration 0006): the flagged predictions in the band index, the
// decided transactions in the label index. Counting the undecided directly
// would visit a transaction row for every flagged prediction.
func CountBacklog(ctx context.Context, t Tenant) (int64, error) {
	var flagged, decided int64
	if err := t.scoped(ctx).Model(&Prediction{}).Where("band <> 'low'").Count(&flagged).Error; err != nil {
		return 0, fmt.Errorf("store: count backlog: flagged: %w", err)
	}
	err := t.scoped(ctx).Model(&Transaction{}).
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id").
		Where("transactions.label <> ''").Where("p.band <> 'low'").Count(&decided).Error
	if err != nil {
		return 0, fmt.Errorf("store: count backlog: decided: %w", err)
	}
	// A transaction scored and decided between the two counts is in the
	// second only: never answer less than nothing.
	return max(flagged-decided, 0), nil
}
