package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// ScoreEdges are the lower edges of the score buckets after the first
// (which starts at 0): bucket i holds scores from ScoreEdges[i-1] up to
// ScoreEdges[i]. The low end is fine-grained, where a fraud model puts
// almost everything. Migration 0011 writes the same buckets in SQL; they
// are frozen with it.
var ScoreEdges = []float64{0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99}

// AmountEdges are the lower edges of the amount buckets after the first
// (from 0): 1, 2 and 5 in every decade, so a round amount bound falls on an
// edge. Migration 0011 writes the same buckets in SQL.
var AmountEdges = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,
	100000, 200000, 500000, 1000000, 2000000, 5000000, 10000000}

// bucketOf is the index of v's bucket among edges.
func bucketOf(edges []float64, v float64) int {
	return sort.Search(len(edges), func(i int) bool { return v < edges[i] })
}

// scoreBucket is the index of score's bucket.
func scoreBucket(score float64) int { return bucketOf(ScoreEdges, score) }

// bandOfPriority is the band a transaction's review priority places it in,
// as the queue's band filters read it (bandCondition): low when it has no
// priority or one from 3.
func bandOfPriority(p *float64) string {
	switch {
	case p == nil || *p >= 3:
		return "low"
	case *p >= 2:
		return "medium"
	case *p >= 1:
		return "high"
	}
	return "critical"
}

// rollupKey is one row of transaction_rollups, tenant aside.
type rollupKey struct {
	Day, Type, Band string
	Review          int
	Label, Source   string
	ModelVersionID  string
	ScoreBucket     int
	AmountBucket    int
}

// rollupOf is the key of a transaction scored by p, with label.
func rollupOf(tx *Transaction, modelVersionID string, score float64, label string) rollupKey {
	k := rollupKey{Day: tx.ReceivedAt.UTC().Format(time.DateOnly), Type: tx.Type, Band: bandOfPriority(tx.ReviewPriority),
		Label: label, Source: tx.Source, ModelVersionID: modelVersionID, ScoreBucket: scoreBucket(score),
		AmountBucket: bucketOf(AmountEdges, tx.Amount)}
	if tx.ReviewPriority != nil {
		k.Review = 1
	}
	return k
}

// rollupSum is what a rollup adds up.
type rollupSum struct {
	N      int64
	Amount float64
	Score  float64
}

// rollupDeltas gathers changes to the rollups before they are written.
type rollupDeltas map[rollupKey]rollupSum

// add counts a transaction in (sign 1) or out of (sign -1) the rollup k.
func (d rollupDeltas) add(k rollupKey, sign int, amount, score float64) {
	s := d[k]
	s.N += int64(sign)
	s.Amount += float64(sign) * amount
	s.Score += float64(sign) * score
	d[k] = s
}

// rollupColumns are the columns of an upsert, in its order.
const rollupColumns = "tenant_id, day, type, band, review, label, source, model_version_id, score_bucket, amount_bucket, n, amount, score"

// rollupChunk is how many rollups one upsert writes (13 parameters each,
// well under both databases' limits).
const rollupChunk = 500

// rollupStatement is one upsert and its arguments.
type rollupStatement struct {
	SQL  string
	Args []any
}

// upserts are the statements that add the deltas to the tenant's rollups;
// placeholder writes the i-th (1-based) parameter of a statement. Rows go
// in key order, so two transactions that add to the same rollups lock them
// in the same order and never deadlock.
func (d rollupDeltas) upserts(tenantID string, placeholder func(i int) string) []rollupStatement {
	keys := slices.SortedFunc(maps.Keys(d), func(a, b rollupKey) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Band, b.Band),
			cmp.Compare(a.Review, b.Review), cmp.Compare(a.Label, b.Label), cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.ModelVersionID, b.ModelVersionID), cmp.Compare(a.ScoreBucket, b.ScoreBucket),
			cmp.Compare(a.AmountBucket, b.AmountBucket))
	})
	var out []rollupStatement
	for chunk := range slices.Chunk(keys, rollupChunk) {
		var b strings.Builder
		b.WriteString("INSERT INTO transaction_rollups (" + rollupColumns + ") VALUES ")
		args := make([]any, 0, 13*len(chunk))
		for i, k := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range 13 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(placeholder(len(args) + j + 1))
			}
			b.WriteByte(')')
			s := d[k]
			args = append(args, tenantID, k.Day, k.Type, k.Band, k.Review, k.Label, k.Source, k.ModelVersionID,
				k.ScoreBucket, k.AmountBucket, s.N, s.Amount, s.Score)
		}
		b.WriteString(" ON CONFLICT (tenant_id, day, type, band, review, label, source, model_version_id, score_bucket, amount_bucket) DO UPDATE SET " +
			"n = transaction_rollups.n + excluded.n, amount = transaction_rollups.amount + excluded.amount, " +
			"score = transaction_rollups.score + excluded.score")
		out = append(out, rollupStatement{b.String(), args})
	}
	return out
}

// apply writes the deltas on this handle, inside the caller's transaction.
func (d rollupDeltas) apply(ctx context.Context, t Tenant) error {
	for _, st := range d.upserts(t.id, func(int) string { return "?" }) {
		if err := t.db.WithContext(ctx).Exec(st.SQL, st.Args...).Error; err != nil {
			return fmt.Errorf("store: rollups: %w", err)
		}
	}
	return nil
}

// scoredDeltas counts new scored transactions in, in both rollups.
func scoredDeltas(txs []Transaction, ps []Prediction) rollupChanges {
	d := newRollupChanges()
	for i := range txs {
		d.add(&txs[i], ps[i].ModelVersionID, ps[i].Score, txs[i].Label, 1)
	}
	return d
}

// rollupChanges are the changes to the rollups: the daily ones the
// investigate page reads, the hourly and place ones of the dashboard, and
// the account ones of entity profiles.
type rollupChanges struct {
	days     rollupDeltas
	hours    hourDeltas
	places   placeDeltas
	accounts *accountChanges
}

func newRollupChanges() rollupChanges {
	return rollupChanges{days: rollupDeltas{}, hours: hourDeltas{}, places: placeDeltas{}, accounts: &accountChanges{}}
}

// add counts tx, scored score by the model version, with label, in (sign
// 1) or out of (sign -1) its rollups.
func (c rollupChanges) add(tx *Transaction, modelVersionID string, score float64, label string, sign int) {
	c.days.add(rollupOf(tx, modelVersionID, score, label), sign, tx.Amount, score)
	c.accounts.moves = append(c.accounts.moves, accountMove{tx, score, label, sign})
	if hourlyOff.Load() {
		return
	}
	hour := tx.ReceivedAt.UTC().Format(HourLayout)
	band := bandOfPriority(tx.ReviewPriority)
	h := entry(c.hours, hourKey{Hour: hour, Type: tx.Type, Band: band}, nil)
	pl := entry(c.places, placeKey{Hour: hour, Country: tx.OrigCountry, Region: tx.OrigRegion}, nil)
	n := int64(sign)
	h.N += n
	h.Amount += float64(sign) * tx.Amount
	h.Score += float64(sign) * score
	h.H[scoreBucket(score)] += n
	if tx.ReviewPriority != nil {
		h.Flagged += n
	}
	pl.N += n
	pl.Amount += float64(sign) * tx.Amount
	pl.Score += float64(sign) * score
	if band == "high" || band == "critical" {
		pl.Risky += n
	}
	switch label {
	case DecisionConfirmedFraud:
		h.Fraud += n
		h.FraudAmount += float64(sign) * tx.Amount
		pl.Fraud += n
	case DecisionFalsePositive:
		h.FalsePos += n
	case DecisionEscalated:
		h.Escalated += n
	}
}

// hourlyOff turns the dashboard's rollups off, for the benchmark that
// measures what they cost the write path (never in production).
var hourlyOff atomic.Bool

// SetHourlyRollupsForBench turns the dashboard's rollups on or off (a
// benchmark of their cost; the rollups are wrong while off).
func SetHourlyRollupsForBench(on bool) { hourlyOff.Store(!on) }

// apply writes them on this handle, inside the caller's transaction.
func (c rollupChanges) apply(ctx context.Context, t Tenant) error {
	if err := c.keptOnly(ctx, t); err != nil {
		return fmt.Errorf("store: rollups: %w", err)
	}
	for _, st := range c.upserts(t.id, func(int) string { return "?" }) {
		if err := t.db.WithContext(ctx).Exec(st.SQL, st.Args...).Error; err != nil {
			return fmt.Errorf("store: rollups: %w", err)
		}
	}
	return nil
}

// upserts are the statements of all of them, always in the same order of
// tables (every writer takes them in this order).
func (c rollupChanges) upserts(tenantID string, placeholder func(i int) string) []rollupStatement {
	out := c.days.upserts(tenantID, placeholder)
	out = append(out, c.hours.upserts(tenantID, placeholder)...)
	out = append(out, c.places.upserts(tenantID, placeholder)...)
	return append(out, c.accounts.upserts(tenantID, placeholder)...)
}

// HourLayout is how the dashboard's rollups write an hour (UTC): it sorts
// as time.
const HourLayout = "2006-01-02 15"

// Histogram is a count per score bucket (ScoreEdges).
type Histogram [16]int64

// hourKey is one row of hourly_rollups, tenant aside.
type hourKey struct{ Hour, Type, Band string }

// hourSum is what an hourly rollup adds up.
type hourSum struct {
	N, Flagged, Fraud, FalsePos, Escalated int64
	Amount, Score, FraudAmount             float64
	H                                      Histogram
}

type hourDeltas map[hourKey]*hourSum

// entry is m's value at k, made by fresh (new(V) when fresh is nil) the
// first time.
func entry[K comparable, V any](m map[K]*V, k K, fresh func() *V) *V {
	v := m[k]
	if v == nil {
		if fresh != nil {
			v = fresh()
		} else {
			v = new(V)
		}
		m[k] = v
	}
	return v
}

// placeKey is one row of place_rollups, tenant aside.
type placeKey struct{ Hour, Country, Region string }

// placeSum is what a place rollup adds up.
type placeSum struct {
	N, Risky, Fraud int64
	Amount, Score   float64
}

type placeDeltas map[placeKey]*placeSum

// upsertSQL builds the chunked multi-row upserts of rows (each of width
// parameters) into table, adding every column after the key's to the
// stored one, but those combine names "min" or "max": they keep the
// smaller or larger of the two (a NULL one gives way).
func upsertSQL(table string, columns []string, keyLen int, rows [][]any, combine map[string]string, placeholder func(i int) string) []rollupStatement {
	set := onConflict(table, columns, keyLen, combine)
	width := len(columns)
	var out []rollupStatement
	for chunk := range slices.Chunk(rows, 20000/width) {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
		args := make([]any, 0, width*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range width {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(placeholder(len(args) + j + 1))
			}
			b.WriteByte(')')
			args = append(args, r...)
		}
		b.WriteString(set)
		out = append(out, rollupStatement{b.String(), args})
	}
	return out
}

// onConflict is the clause of upsertSQL that adds a row to the stored one.
func onConflict(table string, columns []string, keyLen int, combine map[string]string) string {
	var set strings.Builder
	set.WriteString(" ON CONFLICT (" + strings.Join(columns[:keyLen], ", ") + ") DO UPDATE SET ")
	for i, c := range columns[keyLen:] {
		if i > 0 {
			set.WriteString(", ")
		}
		switch combine[c] {
		case "min", "max":
			op := map[string]string{"min": "<", "max": ">"}[combine[c]]
			fmt.Fprintf(&set, "%s = CASE WHEN %s.%s IS NULL OR excluded.%s %s %s.%s THEN excluded.%s ELSE %s.%s END",
				c, table, c, c, op, table, c, c, table, c)
		default:
			fmt.Fprintf(&set, "%s = %s.%s + excluded.%s", c, table, c, c)
		}
	}
	return set.String()
}

var hourColumns = []string{"tenant_id", "hour", "type", "band", "n", "amount", "score", "flagged", "fraud", "fraud_amount",
	"false_pos", "escalated", "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11", "h12", "h13", "h14", "h15"}

// upserts add d to the tenant's hourly rollups, in key order (no deadlock
// between two writers).
func (d hourDeltas) upserts(tenantID string, placeholder func(i int) string) []rollupStatement {
	keys := slices.SortedFunc(maps.Keys(d), func(a, b hourKey) int {
		return cmp.Or(cmp.Compare(a.Hour, b.Hour), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Band, b.Band))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		s := d[k]
		r := []any{tenantID, k.Hour, k.Type, k.Band, s.N, s.Amount, s.Score, s.Flagged, s.Fraud, s.FraudAmount, s.FalsePos, s.Escalated}
		for _, h := range s.H {
			r = append(r, h)
		}
		rows[i] = r
	}
	return upsertSQL("hourly_rollups", hourColumns, 4, rows, nil, placeholder)
}

var placeColumns = []string{"tenant_id", "hour", "country", "region", "n", "amount", "score", "risky", "fraud"}

// upserts add d to the tenant's place rollups, in key order.
func (d placeDeltas) upserts(tenantID string, placeholder func(i int) string) []rollupStatement {
	keys := slices.SortedFunc(maps.Keys(d), func(a, b placeKey) int {
		return cmp.Or(cmp.Compare(a.Hour, b.Hour), cmp.Compare(a.Country, b.Country), cmp.Compare(a.Region, b.Region))
	})
	rows := make([][]any, len(keys))
	for i, k := range keys {
		s := d[k]
		rows[i] = []any{tenantID, k.Hour, k.Country, k.Region, s.N, s.Amount, s.Score, s.Risky, s.Fraud}
	}
	return upsertSQL("place_rollups", placeColumns, 4, rows, nil, placeholder)
}
