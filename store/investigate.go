package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SortAmount orders the investigate page by amount (SortTime and SortScore
// are the queue's).
const SortAmount = "amount"

// InvestigateFilter selects and orders the tenant's scored transactions on
// the investigate page. The zero value is all of them, newest first.
type InvestigateFilter struct {
	// Account is a sender or receiver: the whole account, or with
	// AccountPrefix the start of one.
	Account       string
	AccountPrefix bool
	ExternalID    string
	Types         []string
	Bands         []string
	Decision      string // "" or "any": all; "undecided"; or one decision
	// Review keeps only the queue's review set: undecided, with a review
	// priority.
	Review bool
	// Amount and score ranges, inclusive; nil leaves a side open.
	MinAmount, MaxAmount *float64
	MinScore, MaxScore   *float64
	// amountBelow and scoreBelow are exclusive upper bounds, for the parts
	// of a range the statistics read row by row.
	amountBelow, scoreBelow *float64
	// ownScore reads the score the transaction carries (migration 0012)
	// instead of its prediction's, for statements that join no prediction.
	ownScore bool
	// side keeps one side of an account filter (sideOrig, sideDest).
	side int
	// From and To bound the received time: From <= received_at < To; zero
	// leaves a side open.
	From, To       time.Time
	ModelVersionID string
	Source         string
	// UploadID keeps the transactions one upload stored.
	UploadID string
	// Country keeps the transactions whose sender is in this country (ISO
	// 3166-1 alpha-2, "US") or region (ISO 3166-2, "US-NY").
	Country string
	Sort    string // SortTime, SortScore or SortAmount
	Asc     bool   // lowest (oldest) first instead of highest (newest)
	// After is the keyset cursor of the next page (the id of the current
	// page's last row), Before the one of the previous page (its first row).
	After, Before string
	Limit         int
	// Matching, when known (from CountInvestigate), is how many rows the
	// filter keeps: it lets a page of a few read them all.
	Matching int64
}

// idSlack is how far a transaction's id may stray from its received time.
// An id carries the time it was made at (UUIDv7, milliseconds): the scorer
// makes it from the received time (NewIDAt), or, for a transaction received
// now, just after it. Bounds on the id a minute wider than the received
// range let an index on the id find the range; the received time itself
// decides.
const idSlack = time.Minute

// idAt is the smallest id made at t: ids made before t sort below it, ids
// made at or after it above or equal.
func idAt(t time.Time) string {
	ms := max(t.UnixMilli(), 0)
	h := fmt.Sprintf("%012x", ms)
	return h[:8] + "-" + h[8:] + "-0000-0000-000000000000"
}

// where applies f's filters (not its cursors) to q, which selects
// transactions joined to their predictions as p.
func (t Tenant) investigateWhere(q *gorm.DB, f InvestigateFilter) *gorm.DB {
	if a := strings.TrimSpace(f.Account); a != "" {
		// A prefix is an index range on either account: LIKE on
		// PostgreSQL's C-collated columns, GLOB (which, unlike LIKE,
		// respects case) on SQLite's.
		cond, arg := "%s = ?", any(a)
		if f.AccountPrefix && t.db.Dialector.Name() == "postgres" {
			cond, arg = `%s LIKE ? ESCAPE '\'`, escapeLike(a)+"%"
		} else if f.AccountPrefix {
			cond, arg = "%s GLOB ?", escapeGlob(a)+"*"
		}
		orig, dest := fmt.Sprintf(cond, "transactions.name_orig"), fmt.Sprintf(cond, "transactions.name_dest")
		switch f.side {
		case sideOrig:
			q = q.Where(orig, arg)
		case sideDest:
			q = q.Where(dest+" AND NOT ("+orig+")", arg, arg)
		default:
			q = q.Where("("+orig+" OR "+dest+")", arg, arg)
		}
	}
	if f.ExternalID != "" {
		q = q.Where("transactions.external_id = ?", f.ExternalID)
	}
	if len(f.Types) > 0 {
		q = q.Where("transactions.type IN ?", f.Types)
	}
	if len(f.Bands) > 0 {
		if f.Sort == SortScore && !f.ownScore {
			// Score order walks the predictions' score index, which holds
			// the band: the band is checked in the index. (Unlike the
			// queue, no "band <> 'low'" for the partial band index: the
			// planner would multiply its selectivity in and expect a few
			// rows where there are thousands, and sort them all.)
			q = q.Where("p.band IN ?", f.Bands)
		} else if cond := bandCondition(f.Bands); cond != "" {
			q = q.Where(cond)
		}
	}
	switch f.Decision {
	case "", "any":
	case "undecided":
		q = q.Where("transactions.label = ''")
	default:
		q = q.Where("transactions.label = ? AND transactions.label <> ''", f.Decision)
	}
	if f.Review {
		q = q.Where("transactions.label = '' AND transactions.review_priority IS NOT NULL")
	}
	if f.MinAmount != nil {
		q = q.Where("transactions.amount >= ?", *f.MinAmount)
	}
	if f.MaxAmount != nil {
		q = q.Where("transactions.amount <= ?", *f.MaxAmount)
	}
	score := "p.score"
	if f.ownScore {
		score = "transactions.score"
	}
	if f.MinScore != nil {
		q = q.Where(score+" >= ?", *f.MinScore)
	}
	if f.MaxScore != nil {
		q = q.Where(score+" <= ?", *f.MaxScore)
	}
	if f.amountBelow != nil {
		q = q.Where("transactions.amount < ?", *f.amountBelow)
	}
	if f.scoreBelow != nil {
		q = q.Where(score+" < ?", *f.scoreBelow)
	}
	if !f.From.IsZero() {
		lo := idAt(f.From.Add(-idSlack))
		q = q.Where("transactions.received_at >= ? AND transactions.id >= ?", f.From.UTC(), lo)
		if !f.ownScore {
			q = q.Where("p.transaction_id >= ?", lo)
		}
	}
	if !f.To.IsZero() {
		hi := idAt(f.To.Add(idSlack))
		q = q.Where("transactions.received_at < ? AND transactions.id < ?", f.To.UTC(), hi)
		if !f.ownScore {
			q = q.Where("p.transaction_id < ?", hi)
		}
	}
	if f.ModelVersionID != "" {
		q = q.Where("p.model_version_id = ?", f.ModelVersionID)
	}
	if f.Source != "" {
		q = q.Where("transactions.source = ?", f.Source)
	}
	if f.UploadID != "" {
		q = q.Where("transactions.upload_id = ?", f.UploadID)
	}
	if c := f.Country; c != "" {
		if strings.Contains(c, "-") {
			q = q.Where("transactions.orig_region = ? AND transactions.orig_region <> ''", c)
		} else {
			q = q.Where("transactions.orig_country = ? AND transactions.orig_country <> ''", c)
		}
	}
	return q
}

// Sides of an account filter: its senders, and its receivers that are not
// also its sender (so that the two sides add up to the filter's rows).
const (
	sideOrig = 1 + iota
	sideDest
)

// escapeGlob makes GLOB's wildcards in s match themselves.
func escapeGlob(s string) string {
	return strings.NewReplacer("[", "[[]", "*", "[*]", "?", "[?]").Replace(s)
}

// investigateRows selects the rows f keeps, with their prediction.
func (t Tenant) investigateRows(ctx context.Context, f InvestigateFilter) *gorm.DB {
	q := t.scoped(ctx).Model(&Transaction{}).
		Select("transactions.*, p.raw_margin, p.band").
		Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id")
	return t.investigateWhere(q, f)
}

// investigateOrder orders q by f's sort, and with a cursor starts after it;
// back reads the other way, from the cursor of the previous page. As in
// the queue, each cursor is a row value an index range starts at.
func (t Tenant) investigateOrder(q *gorm.DB, f InvestigateFilter, cursor string, back bool) *gorm.DB {
	q, order := t.investigateCursor(q, f, cursor, back)
	return q.Order(strings.NewReplacer("{t}", "transactions", "{s}", "p.score", "{p}", "p.id").Replace(order))
}

// investigateCursor keeps the rows after the cursor in f's sort, and
// returns that sort, with {t} for the transactions' table, {s} for the
// score and {p} for the prediction's id.
func (t Tenant) investigateCursor(q *gorm.DB, f InvestigateFilter, cursor string, back bool) (*gorm.DB, string) {
	dir, past := "DESC", "<"
	if f.Asc != back {
		dir, past = "ASC", ">"
	}
	switch f.Sort {
	case SortScore:
		if cursor != "" {
			q = q.Where("(p.score, p.id) "+past+" (SELECT score, id FROM predictions WHERE transaction_id = ? AND tenant_id = ?)", cursor, t.id)
		}
		return q, "{s} " + dir + ", {p} " + dir
	case SortAmount:
		if cursor != "" {
			q = q.Where("(transactions.amount, transactions.id) "+past+
				" (SELECT amount, id FROM transactions WHERE tenant_id = ? AND id = ?)", t.id, cursor)
		}
		return q, "{t}.amount " + dir + ", {t}.id " + dir
	}
	if cursor != "" {
		q = q.Where("transactions.id "+past+" ? AND p.transaction_id "+past+" ?", cursor, cursor)
	}
	return q, "{t}.id " + dir
}

// fewRows is how many matching rows a page sorted by score or amount
// reads all of and sorts, rather than walk the order until enough of them
// are found. Along time, matches spread evenly and the walk passes about
// table size / matches rows per row it keeps; along score or amount, a
// type, a source or an amount range gathers (debits at low scores), and
// the walk can pass most of the table. Reading all costs about 10 µs a
// row at a million rows.
const fewRows = 20000

// readAll reports whether a page of f reads all its matching rows. Not by
// time, and not when an index walks the order already filtered: bands and
// the review set by score (the score index holds the band; both gather at
// the top), or a range on the order's own column.
func (f *InvestigateFilter) readAll() bool {
	switch {
	case f.Matching <= 0 || f.Matching > fewRows || len(f.Bands) > 0 || f.Review:
		return false
	case f.Sort == SortScore:
		return f.MinScore == nil && f.MaxScore == nil
	case f.Sort == SortAmount:
		return f.MinAmount == nil && f.MaxAmount == nil
	}
	return false
}

// ListInvestigate returns one page of the transactions f keeps, read
// forwards from f.After or backwards from f.Before. When f.Matching says
// few rows match, it reads them all and sorts them (readAll): a planner
// walking an order until it has a page assumes matches spread evenly along
// it, and a rare type sorted by score, where it gathers at one end, would
// walk most of the table.
func ListInvestigate(ctx context.Context, t Tenant, f InvestigateFilter) (*QueuePage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	back := f.After == "" && f.Before != ""
	cursor := f.After
	if back {
		cursor = f.Before
	}
	var rows []QueueRow
	// Every page is planned for its own values (customPlans): a generic
	// plan knows no account prefix, so it cannot bound an index by it,
	// and the best order to walk depends on how many rows match.
	err := t.customPlans(ctx, func(t Tenant) error {
		if f.readAll() {
			// The matches' order columns only (an index-only read for a type
			// and an amount range, 0017), sorted; then the page's rows.
			q, order := t.investigateCursor(t.investigateRows(ctx, f).Select("transactions.id, transactions.amount, p.score, p.id AS pid"), f, cursor, back)
			top := strings.NewReplacer("{t}", "m", "{s}", "m.score", "{p}", "m.pid").Replace(order)
			page := strings.NewReplacer("{t}", "transactions", "{s}", "p.score", "{p}", "p.id").Replace(order)
			return t.db.WithContext(ctx).Raw("WITH m AS MATERIALIZED (?), top AS (SELECT m.id FROM m ORDER BY "+top+" LIMIT ?) "+
				"SELECT transactions.*, p.raw_margin, p.band FROM top JOIN transactions ON transactions.tenant_id = ? AND transactions.id = top.id "+
				"JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id ORDER BY "+page,
				q, f.Limit+1, t.id).Scan(&rows).Error
		}
		return t.investigateOrder(t.investigateRows(ctx, f), f, cursor, back).Limit(f.Limit + 1).Scan(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("store: investigate: %w", err)
	}
	return keysetPage(rows, f.Limit, f.After != "", back), nil
}

// InvestigateStats describes the whole set a filter keeps.
type InvestigateStats struct {
	Count  int64
	Amount float64
	// ByDecision counts by latest decision; "" is undecided.
	ByDecision map[string]int64
	// ScoreSum / Count is the average score.
	ScoreSum float64
	// Buckets counts by score: Buckets[i] holds scores from ScoreEdges[i-1]
	// (0 for the first) up to ScoreEdges[i] (1 for the last, included).
	Buckets []int64
	// FromRollups reports that rollups answered (all or part of) the set;
	// ReadRows that some of it was read row by row.
	FromRollups, ReadRows bool
}

// AverageScore is the mean score, 0 for no rows.
func (s *InvestigateStats) AverageScore() float64 {
	if s.Count == 0 {
		return 0
	}
	return s.ScoreSum / float64(s.Count)
}

// statsPart is one group of a statistics query.
type statsPart struct {
	Label  string
	Bucket int
	N      int64
	Amount float64
	Score  float64
}

// CountInvestigate computes the statistics of every transaction f keeps
// (cursors and order aside), in SQL. The rollups count by type, band,
// decision, review, model, source, received day and score and amount
// buckets, so most filters are a sum over a few thousand of them whatever
// the table's size: the whole buckets of a score or amount range come from
// the rollups, and only the part of a range between a bound and the
// nearest bucket edge is read row by row (nothing, for a bound on an edge).
// An account, an external id or received times that are not whole days
// read every matching row: an account or an external id finds few through
// their indexes.
func CountInvestigate(ctx context.Context, t Tenant, f InvestigateFilter) (*InvestigateStats, error) {
	s := &InvestigateStats{ByDecision: map[string]int64{}, Buckets: make([]int64, len(ScoreEdges)+1)}
	add := func(parts []statsPart) {
		for _, p := range parts {
			if p.N == 0 {
				continue
			}
			s.Count += p.N
			s.Amount += p.Amount
			s.ScoreSum += p.Score
			s.ByDecision[p.Label] += p.N
			s.Buckets[p.Bucket] += p.N
		}
	}
	midnight := func(t time.Time) bool { return t.IsZero() || t.UTC().Truncate(24*time.Hour).Equal(t) }
	if strings.TrimSpace(f.Account) != "" && f.ModelVersionID == "" {
		// Each side of an account is a range of its covering index
		// (0012), which holds every column the statistics read: two
		// index-only scans (the receivers' without those also the sender)
		// instead of a bitmap of both and a heap read and a prediction
		// probe per row.
		s.ReadRows = true
		for _, side := range []int{sideOrig, sideDest} {
			g := f
			g.ownScore, g.side = true, side
			parts, err := t.countRows(ctx, g)
			if err != nil {
				return nil, err
			}
			add(parts)
		}
		return s, nil
	}
	// The rollups know no country: a country's statistics read its rows
	// (through the partial country and region indexes).
	if strings.TrimSpace(f.Account) != "" || f.ExternalID != "" || f.UploadID != "" || f.Country != "" || !midnight(f.From) || !midnight(f.To) {
		parts, err := t.countRows(ctx, f)
		if err != nil {
			return nil, err
		}
		s.ReadRows = true
		add(parts)
		return s, nil
	}
	maxScore := f.MaxScore
	if maxScore != nil && *maxScore >= 1 {
		maxScore = nil // every score is at most 1
	}
	for _, sc := range rangeParts(ScoreEdges, f.MinScore, maxScore) {
		for _, am := range rangeParts(AmountEdges, f.MinAmount, f.MaxAmount) {
			var parts []statsPart
			var err error
			if sc.whole && am.whole {
				s.FromRollups = true
				err = t.rollupQuery(ctx, f, sc, am).Scan(&parts).Error
			} else {
				s.ReadRows = true
				g := f
				g.MinScore, g.scoreBelow, g.MaxScore = sc.bounds(ScoreEdges)
				g.MinAmount, g.amountBelow, g.MaxAmount = am.bounds(AmountEdges)
				parts, err = t.countRows(ctx, g)
			}
			if err != nil {
				return nil, fmt.Errorf("store: investigate statistics: %w", err)
			}
			add(parts)
		}
	}
	return s, nil
}

// CountInvestigateRowsForTest computes f's statistics from its rows alone.
func CountInvestigateRowsForTest(ctx context.Context, t Tenant, f InvestigateFilter) (*InvestigateStats, error) {
	parts, err := t.countRows(ctx, f)
	if err != nil {
		return nil, err
	}
	s := &InvestigateStats{ByDecision: map[string]int64{}, Buckets: make([]int64, len(ScoreEdges)+1), ReadRows: true}
	for _, p := range parts {
		s.Count += p.N
		s.Amount += p.Amount
		s.ScoreSum += p.Score
		s.ByDecision[p.Label] += p.N
		s.Buckets[p.Bucket] += p.N
	}
	return s, nil
}

// countRows reads the statistics of f's set from its rows. On PostgreSQL
// it turns JIT compilation off: the planner asks for it from a few
// thousand rows, where compiling (about 70 ms) costs more than it saves,
// and plans each statement for its values (customPlans).
func (t Tenant) countRows(ctx context.Context, f InvestigateFilter) ([]statsPart, error) {
	var parts []statsPart
	read := func(tx Tenant) error {
		q, score := tx.scoped(ctx).Model(&Transaction{}), "transactions.score"
		if !f.ownScore {
			q, score = q.Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id"), "p.score"
		}
		return tx.investigateWhere(q, f).
			Select("transactions.label AS label, " + bucketSQL(score) + " AS bucket, COUNT(*) AS n, " +
				"SUM(transactions.amount) AS amount, SUM(" + score + ") AS score").Group("1, 2").Scan(&parts).Error
	}
	err := t.customPlans(ctx, func(tx Tenant) error {
		if tx.db.Dialector.Name() == "postgres" {
			if err := tx.db.WithContext(ctx).Exec("SET LOCAL jit = off").Error; err != nil {
				return err
			}
		}
		return read(tx)
	})
	if err != nil {
		return nil, fmt.Errorf("store: investigate statistics: %w", err)
	}
	return parts, nil
}

// rangePart is a piece of a range over bucketed values: whole buckets
// first to last (the rollups count them), or a part of a bucket (read row
// by row): from min (inclusive) to below (exclusive) or max (inclusive);
// nil leaves a side open.
type rangePart struct {
	whole           bool
	first, last     int
	min, below, max *float64
}

// bounds are the part's values as a filter's bounds: from min (inclusive)
// to below (exclusive) or max (inclusive).
func (p rangePart) bounds(edges []float64) (min, below, max *float64) {
	if !p.whole {
		return p.min, p.below, p.max
	}
	if p.first > 0 {
		min = &edges[p.first-1]
	}
	if p.last < len(edges) {
		below = &edges[p.last]
	}
	return min, below, nil
}

// rangeParts splits the range [min, max] (nil: open) of values from 0
// over the buckets of edges into its whole buckets and the parts of
// buckets at its ends. Bucket i holds values from edges[i-1] (0 for the
// first) up to edges[i] (no end for the last).
func rangeParts(edges []float64, min, max *float64) []rangePart {
	n := len(edges) + 1
	first, last := 0, n-1
	if min != nil && *min > 0 {
		// The first bucket that starts at min or above.
		first = sort.SearchFloat64s(edges, *min) + 1
	}
	if max != nil {
		// The last bucket that ends at max or below.
		last = sort.Search(len(edges), func(i int) bool { return edges[i] > *max }) - 1
	}
	if first > last {
		return []rangePart{{min: min, max: max}}
	}
	var out []rangePart
	if first > 0 && edges[first-1] > *min {
		out = append(out, rangePart{min: min, below: &edges[first-1]})
	}
	out = append(out, rangePart{whole: true, first: first, last: last})
	if last < n-1 {
		out = append(out, rangePart{min: &edges[last], max: max})
	}
	return out
}

// rollupQuery sums the rollups of f's set in the whole buckets sc and am,
// by decision and score bucket.
func (t Tenant) rollupQuery(ctx context.Context, f InvestigateFilter, sc, am rangePart) *gorm.DB {
	q := t.scoped(ctx).Model(&TransactionRollup{}).
		Select("label, score_bucket AS bucket, SUM(n) AS n, SUM(amount) AS amount, SUM(score) AS score").
		Group("label, score_bucket")
	if len(f.Types) > 0 {
		q = q.Where("type IN ?", f.Types)
	}
	if len(f.Bands) > 0 {
		q = q.Where("band IN ?", f.Bands)
	}
	switch f.Decision {
	case "", "any":
	case "undecided":
		q = q.Where("label = ''")
	default:
		q = q.Where("label = ?", f.Decision)
	}
	if f.Review {
		q = q.Where("label = '' AND review = 1")
	}
	if sc.first > 0 || sc.last < len(ScoreEdges) {
		q = q.Where("score_bucket BETWEEN ? AND ?", sc.first, sc.last)
	}
	if am.first > 0 || am.last < len(AmountEdges) {
		q = q.Where("amount_bucket BETWEEN ? AND ?", am.first, am.last)
	}
	if !f.From.IsZero() {
		q = q.Where("day >= ?", f.From.UTC().Format(time.DateOnly))
	}
	if !f.To.IsZero() {
		q = q.Where("day < ?", f.To.UTC().Format(time.DateOnly))
	}
	if f.ModelVersionID != "" {
		q = q.Where("model_version_id = ?", f.ModelVersionID)
	}
	if f.Source != "" {
		q = q.Where("source = ?", f.Source)
	}
	return q
}

// bucketSQL is the SQL of the score bucket of column, as scoreBucket
// computes it (and migration 0011 wrote it).
func bucketSQL(column string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, e := range ScoreEdges {
		b.WriteString(" WHEN " + column + " < " + strconv.FormatFloat(e, 'g', -1, 64) + " THEN " + strconv.Itoa(i))
	}
	b.WriteString(" ELSE " + strconv.Itoa(len(ScoreEdges)) + " END")
	return b.String()
}

// ModelChoice is a model version as a filter offers it.
type ModelChoice struct {
	ID      string
	Name    string
	Version int
}

// ListModelChoices lists the tenant's model versions, newest first.
func ListModelChoices(ctx context.Context, t Tenant) ([]ModelChoice, error) {
	var out []ModelChoice
	err := t.scoped(ctx).Model(&ModelVersion{}).Select("id, name, version").Order("name, version DESC").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("store: model choices: %w", err)
	}
	return out, nil
}

// Bulk decision outcomes that refuse the whole bulk.
var (
	// ErrBulkTooMany: more transactions match than one bulk may decide.
	ErrBulkTooMany = errors.New("too many transactions for one bulk decision")
	// ErrBulkChanged: the matching set is not the size that was confirmed.
	ErrBulkChanged = errors.New("the matching transactions changed since the bulk decision was confirmed")
	// ErrBulkEmpty: nothing was selected.
	ErrBulkEmpty = errors.New("no transactions selected")
)

// BulkSelection is what a bulk decision applies to: the listed ids, or
// every transaction Filter keeps (its cursors and order aside), of which
// there must be exactly Expect (the number the person confirmed).
type BulkSelection struct {
	IDs    []string
	Filter *InvestigateFilter
	Expect int
}

// BulkResult is what a bulk decision did.
type BulkResult struct {
	ID string // the bulk's id, in every event's details
	// Decided is how many transactions got the decision; Changed how many
	// of them had another label before.
	Decided, Changed int
}

// BulkDecide records one decision on every selected transaction, in one
// database transaction: each gets its decision row, its new label and its
// own audit event naming the bulk. It changes nothing, and returns
// ErrNotFound, when an id is not the tenant's; ErrBulkTooMany when more
// than limit transactions are selected; ErrBulkChanged when a filter
// matches another number than Expect.
func BulkDecide(ctx context.Context, t Tenant, a Actor, sel BulkSelection, decision, rationale string, limit int) (*BulkResult, error) {
	if !slices.Contains(Decisions, decision) {
		return nil, ErrBadDecision
	}
	res := &BulkResult{ID: NewID()}
	ids := slices.Compact(slices.Sorted(slices.Values(sel.IDs)))
	switch {
	case sel.Filter == nil && len(ids) == 0:
		return nil, ErrBulkEmpty
	case sel.Filter == nil && len(ids) > limit:
		return nil, ErrBulkTooMany
	}
	err := changeMany(ctx, t, a, func(tx Tenant) ([]Event, error) {
		var q *gorm.DB
		if sel.Filter != nil {
			q = tx.investigateWhere(tx.scoped(ctx), *sel.Filter).Limit(limit + 1)
		} else {
			q = tx.scoped(ctx).Where("transactions.id IN ?", ids)
		}
		targets, err := tx.decisionTargets(ctx, q)
		switch {
		case err != nil:
			return nil, err
		case len(targets) > limit:
			return nil, ErrBulkTooMany
		case sel.Filter != nil && len(targets) != sel.Expect:
			return nil, ErrBulkChanged
		case sel.Filter == nil && len(targets) != len(ids):
			return nil, ErrNotFound // an id of another tenant, or none at all
		case len(targets) == 0:
			return nil, ErrBulkEmpty
		}
		for _, tg := range targets {
			if tg.Label != decision {
				res.Changed++
			}
		}
		_, events, err := tx.decide(ctx, a, targets, decision, rationale, map[string]any{"bulk_id": res.ID})
		res.Decided = len(targets)
		return events, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: bulk decision: %w", err)
	}
	return res, nil
}

// ExportRow is one transaction as the export writes it: its prediction
// with the frozen explanation, and its latest decision.
type ExportRow struct {
	Transaction
	Score       float64
	RawMargin   float64
	Band        string
	Explanation []byte
	// Latest decision, when there is one.
	DecidedBy string
	DecidedAt time.Time
	Rationale string
}

// ExportTransactions calls fn with every transaction f keeps, in f's
// order, as the rows are read (memory stays flat whatever their number),
// from one snapshot, stopping after limit. It reports how many fn received
// and whether more were left. fn's row is reused, its Explanation
// overwritten by the next row: fn must not keep them.
func ExportTransactions(ctx context.Context, t Tenant, f InvestigateFilter, limit int, fn func(*ExportRow) error) (n int, more bool, err error) {
	// The latest decision of a decided transaction (the label is the
	// latest decision, so undecided rows skip the lookups).
	latest := func(col string) string {
		return "CASE WHEN transactions.label <> '' THEN (SELECT " + col + " FROM analyst_decisions d" +
			" JOIN users u ON u.id = d.user_id AND u.tenant_id = d.tenant_id" +
			" WHERE d.tenant_id = transactions.tenant_id AND d.transaction_id = transactions.id ORDER BY d.id DESC LIMIT 1) END"
	}
	err = t.ReadTx(ctx, func(tx Tenant) error {
		q := tx.investigateWhere(tx.scoped(ctx).Model(&Transaction{}).
			Joins("JOIN predictions p ON p.transaction_id = transactions.id AND p.tenant_id = transactions.tenant_id"), f).
			Select("transactions.id, transactions.external_id, transactions.received_at, transactions.type, transactions.amount, " +
				"transactions.name_orig, transactions.old_balance_org, transactions.new_balance_orig, transactions.name_dest, " +
				"transactions.old_balance_dest, transactions.new_balance_dest, transactions.label, transactions.source, " +
				"transactions.review_priority, transactions.orig_country, transactions.orig_region, transactions.dest_country, " +
				"transactions.dest_region, p.score, p.raw_margin, p.band, p.explanation, " +
				latest("u.email") + ", " + latest("d.created_at") + ", " + latest("d.rationale"))
		rows, err := tx.investigateOrder(q, f, "", false).Limit(limit + 1).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		var r ExportRow
		var by, rationale []byte
		// The explanation (about 1.5 KB) is read in place, not copied: fn
		// reads it before the next row replaces it.
		var explanation sql.RawBytes
		var at any
		for rows.Next() {
			if n == limit {
				more = true
				break
			}
			x := &r.Transaction
			if err := rows.Scan(&x.ID, &x.ExternalID, &x.ReceivedAt, &x.Type, &x.Amount, &x.NameOrig, &x.OldBalanceOrg,
				&x.NewBalanceOrig, &x.NameDest, &x.OldBalanceDest, &x.NewBalanceDest, &x.Label, &x.Source, &x.ReviewPriority,
				&x.OrigCountry, &x.OrigRegion, &x.DestCountry, &x.DestRegion, &r.Score, &r.RawMargin, &r.Band, &explanation, &by, &at, &rationale); err != nil {
				return err
			}
			r.Explanation, r.DecidedBy, r.Rationale = []byte(explanation), string(by), string(rationale)
			if r.DecidedAt, err = scannedTime(at); err != nil {
				return err
			}
			if err := fn(&r); err != nil {
				return err
			}
			n++
		}
		return rows.Err()
	})
	if err != nil {
		return n, more, fmt.Errorf("store: export transactions: %w", err)
	}
	return n, more, nil
}

// scannedTime reads a time from a computed column: PostgreSQL gives a
// time, SQLite (which knows no type for it) the stored text; nil is zero.
func scannedTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return x.UTC(), nil
	case string:
		s = x
	case []byte:
		s = string(x)
	default:
		return time.Time{}, fmt.Errorf("store: a time read as %T", v)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("store: unreadable time %q", s)
}
