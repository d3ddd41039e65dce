package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
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

// scoredDeltas counts new scored transactions in.
func scoredDeltas(txs []Transaction, ps []Prediction) rollupDeltas {
	d := rollupDeltas{}
	for i := range txs {
		d.add(rollupOf(&txs[i], ps[i].ModelVersionID, ps[i].Score, txs[i].Label), 1, txs[i].Amount, ps[i].Score)
	}
	return d
}
