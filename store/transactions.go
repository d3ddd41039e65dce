package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// Scored is a transaction with its frozen prediction.
type Scored struct {
	Transaction Transaction
	Prediction  Prediction
}

// SaveScored stores a transaction and its prediction in one database
// transaction. It is idempotent on the tenant's external id: when the id is
// taken, nothing is written and the stored pair comes back with created false.
func SaveScored(ctx context.Context, t Tenant, tx *Transaction, p *Prediction) (*Scored, bool, error) {
	tx.fillIn(p)
	err := t.Tx(ctx, func(tt Tenant) error {
		if err := tt.create(ctx, tx); err != nil {
			return err
		}
		p.TransactionID = tx.ID
		if err := tt.create(ctx, p); err != nil {
			return err
		}
		return scoredDeltas([]Transaction{*tx}, []Prediction{*p}).apply(ctx, tt)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		existing, gerr := GetScoredByExternalID(ctx, t, tx.ExternalID)
		if gerr != nil {
			return nil, false, gerr
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: save transaction %s: %w", tx.ExternalID, err)
	}
	return &Scored{Transaction: *tx, Prediction: *p}, true, nil
}

// GetScored loads a transaction of the tenant and its prediction.
func GetScored(ctx context.Context, t Tenant, id string) (*Scored, error) {
	var s Scored
	if err := t.scoped(ctx).Where("id = ?", id).Take(&s.Transaction).Error; err != nil {
		return nil, fmt.Errorf("store: get transaction %s: %w", id, notFound(err))
	}
	if err := t.scoped(ctx).Where("transaction_id = ?", id).Take(&s.Prediction).Error; err != nil {
		return nil, fmt.Errorf("store: get prediction of %s: %w", id, notFound(err))
	}
	return &s, nil
}

// GetScoredByExternalID loads a transaction by the caller's id.
func GetScoredByExternalID(ctx context.Context, t Tenant, externalID string) (*Scored, error) {
	var tx Transaction
	if err := t.scoped(ctx).Where("external_id = ?", externalID).Take(&tx).Error; err != nil {
		return nil, fmt.Errorf("store: get transaction %s: %w", externalID, notFound(err))
	}
	return GetScored(ctx, t, tx.ID)
}

// SaveScoredBatch stores many new transactions and their predictions in one
// database transaction. When any external id is already taken (a race with
// another request) nothing is written and the error wraps ErrDuplicate.
func SaveScoredBatch(ctx context.Context, t Tenant, txs []Transaction, ps []Prediction) error {
	return saveBatch(ctx, t, txs, ps, nil)
}

// SaveScoredBatchAudited is SaveScoredBatch that also writes the request's
// audit event, as the actor's, in the same database transaction: the rows
// and their record are stored together or not at all. With no rows it
// writes only the event.
func SaveScoredBatchAudited(ctx context.Context, t Tenant, txs []Transaction, ps []Prediction, a Actor, e Event) error {
	row, err := newAuditEvent(&t.id, a, e)
	if err != nil {
		return err
	}
	return saveBatch(ctx, t, txs, ps, row)
}

func saveBatch(ctx context.Context, t Tenant, txs []Transaction, ps []Prediction, ev *AuditEvent) error {
	if len(txs) == 0 {
		if ev == nil {
			return nil
		}
		if err := t.db.WithContext(ctx).Create(ev).Error; err != nil {
			return fmt.Errorf("store: audit %s: %w", ev.Action, err)
		}
		return nil
	}
	for i := range txs {
		txs[i].fillIn(&ps[i])
		txs[i].setTenant(t.id)
		ps[i].setTenant(t.id)
		ps[i].TransactionID = txs[i].ID
	}
	var err error
	if t.db.Dialector.Name() == "postgres" {
		err = copyScored(ctx, t, txs, ps, ev)
	} else {
		err = t.Tx(ctx, func(tt Tenant) error {
			if err := tt.db.WithContext(ctx).CreateInBatches(txs, 200).Error; err != nil {
				return err
			}
			if err := tt.db.WithContext(ctx).CreateInBatches(ps, 200).Error; err != nil {
				return err
			}
			if ev != nil {
				if err := tt.db.WithContext(ctx).Create(ev).Error; err != nil {
					return err
				}
			}
			return scoredDeltas(txs, ps).apply(ctx, tt)
		})
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("store: save batch: %w", ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: save batch of %d: %w", len(txs), err)
	}
	return nil
}

// How a transaction arrived (Transaction.Source).
const (
	SourceAPI    = "api"
	SourceUpload = "upload"
	SourceReplay = "replay"
	SourceSeed   = "seed"
	SourceWeb    = "web"
)

// fillIn completes what a caller may leave out: a transaction with no
// source arrived through the API (as the column's default says), and one
// with no review priority gets it from its prediction (without the
// watchlist, which only the scorer knows). So every transaction outside the
// low band has a priority, which the queue's band filters rely on. The
// transaction's score is always its prediction's.
func (tx *Transaction) fillIn(p *Prediction) {
	tx.Score = p.Score
	if tx.Source == "" {
		tx.Source = SourceAPI
	}
	if tx.ReviewPriority == nil {
		tx.ReviewPriority = ReviewPriority(p.Band, p.Score, p.Threshold, false)
	}
}

// ErrDuplicate is returned when an external id is taken.
var ErrDuplicate = errors.New("external id already scored")

// ScoredByExternalIDs loads the tenant's transactions with any of these
// external ids, keyed by external id.
func ScoredByExternalIDs(ctx context.Context, t Tenant, ids []string) (map[string]*Scored, error) {
	out := map[string]*Scored{}
	if len(ids) == 0 {
		return out, nil
	}
	var txs []Transaction
	q := t.scoped(ctx).Where("external_id IN ?", ids)
	if t.db.Dialector.Name() == "postgres" {
		// One unique-index probe per id, whatever the statistics say: with an
		// IN list and statistics older than a fast-growing table, PostgreSQL
		// picks a scan of all the tenant's rows instead (80 ms at 50,000 rows,
		// growing with the table). LIMIT 1 keeps the subquery a per-id lookup.
		q = t.db.WithContext(ctx).Raw(`SELECT t.* FROM unnest(CAST(? AS text[])) AS x(external_id)
			CROSS JOIN LATERAL (SELECT * FROM transactions
				WHERE tenant_id = ? AND external_id = x.external_id LIMIT 1) t`,
			textArray(ids), t.id)
	}
	if err := q.Find(&txs).Error; err != nil {
		return nil, fmt.Errorf("store: find external ids: %w", err)
	}
	if len(txs) == 0 {
		return out, nil
	}
	txIDs := make([]string, len(txs))
	for i := range txs {
		txIDs[i] = txs[i].ID
	}
	var ps []Prediction
	if err := t.scoped(ctx).Where("transaction_id IN ?", txIDs).Find(&ps).Error; err != nil {
		return nil, fmt.Errorf("store: find predictions: %w", err)
	}
	byTx := map[string]Prediction{}
	for _, p := range ps {
		byTx[p.TransactionID] = p
	}
	for _, tx := range txs {
		out[tx.ExternalID] = &Scored{Transaction: tx, Prediction: byTx[tx.ID]}
	}
	return out, nil
}

// CountTransactions counts the tenant's transactions.
func CountTransactions(ctx context.Context, t Tenant) (int64, error) {
	var n int64
	if err := t.scoped(ctx).Model(&Transaction{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("store: count transactions: %w", err)
	}
	return n, nil
}

var (
	transactionColumns = []string{"id", "tenant_id", "external_id", "step", "type", "amount", "name_orig",
		"old_balance_org", "new_balance_orig", "name_dest", "old_balance_dest", "new_balance_dest", "is_fraud",
		"received_at", "label", "source", "submitted_by_key", "submitted_by_user", "review_priority", "score", "upload_id",
		"orig_country", "dest_country", "orig_region", "dest_region"}
	predictionColumns = []string{"id", "tenant_id", "transaction_id", "model_version_id", "score", "raw_margin",
		"band", "threshold", "explanation", "latency_us", "created_at",
		"shadow_model_version_id", "shadow_score", "shadow_band", "shadow_latency_us"}
)

// copyIn sends n rows of table, each written by row in the order of
// columns, to a COPY in binary format on tx's connection.
func copyIn(ctx context.Context, tx pgx.Tx, table string, columns []string, n int, row func(c *copyRows, i int)) error {
	statement := "COPY " + table + " (" + strings.Join(columns, ", ") + ") FROM STDIN BINARY"
	_, err := tx.Conn().PgConn().CopyFrom(ctx, newCopyReader(len(columns), n, row), statement)
	return err
}

// copyScored writes a batch with PostgreSQL's binary COPY in one database
// transaction: no statement to parse and no text to convert, which makes it
// several times cheaper per row than multi-row INSERTs. The rows already
// carry the tenant (set by SaveScoredBatch). A taken external id fails the
// COPY and comes back as gorm.ErrDuplicatedKey, as an INSERT would.
func copyScored(ctx context.Context, t Tenant, txs []Transaction, ps []Prediction, ev *AuditEvent) error {
	sqlDB, err := t.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: batch copy needs the pgx driver, not %T", dc)
		}
		return pgx.BeginFunc(ctx, sc.Conn(), func(tx pgx.Tx) error {
			if err := copyIn(ctx, tx, "transactions", transactionColumns, len(txs), func(c *copyRows, i int) {
				r := &txs[i]
				c.text(r.ID)
				c.text(r.TenantID)
				c.text(r.ExternalID)
				c.int4(r.Step)
				c.text(r.Type)
				c.float8(r.Amount)
				c.text(r.NameOrig)
				c.float8(r.OldBalanceOrg)
				c.float8(r.NewBalanceOrig)
				c.text(r.NameDest)
				c.float8(r.OldBalanceDest)
				c.float8(r.NewBalanceDest)
				c.boolOrNull(r.IsFraud)
				c.timestamptz(r.ReceivedAt)
				c.text(r.Label)
				c.text(r.Source)
				c.textOrNull(r.SubmittedByKey)
				c.textOrNull(r.SubmittedByUser)
				c.float8OrNull(r.ReviewPriority)
				c.float8(r.Score)
				c.textOrNull(r.UploadID)
				c.text(r.OrigCountry)
				c.text(r.DestCountry)
				c.text(r.OrigRegion)
				c.text(r.DestRegion)
			}); err != nil {
				return err
			}
			if err := copyIn(ctx, tx, "predictions", predictionColumns, len(ps), func(c *copyRows, i int) {
				r := &ps[i]
				c.text(r.ID)
				c.text(r.TenantID)
				c.text(r.TransactionID)
				c.text(r.ModelVersionID)
				c.float8(r.Score)
				c.float8(r.RawMargin)
				c.text(r.Band)
				c.float8(r.Threshold)
				c.bytes(r.Explanation)
				c.int8(r.LatencyUS)
				c.timestamptz(r.CreatedAt)
				c.textOrNull(r.ShadowModelVersionID)
				c.float8OrNull(r.ShadowScore)
				c.textOrNull(r.ShadowBand)
				c.int8OrNull(r.ShadowLatencyUS)
			}); err != nil {
				return err
			}
			if ev != nil {
				var details any // NULL, or the JSON text
				if len(ev.Details) > 0 {
					details = string(ev.Details)
				}
				_, err = tx.Exec(ctx, `INSERT INTO audit_events (id, tenant_id, actor_id, actor_email, action, object_type,
				object_id, ip, user_agent, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
					ev.ID, ev.TenantID, ev.ActorID, ev.ActorEmail, ev.Action, ev.ObjectType, ev.ObjectID, ev.IP, ev.UserAgent,
					details, ev.CreatedAt)
				if err != nil {
					return err
				}
			}
			// Last, so that the rollups another writer adds to are locked
			// only until the commit that follows.
			deltas := scoredDeltas(txs, ps)
			if len(deltas.accounts.moves) > 0 {
				// As keptOnly, on this connection.
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, rollupLock(t.id)); err != nil {
					return err
				}
				rows, err := tx.Query(ctx, `SELECT account FROM account_rollups WHERE tenant_id = $1`, t.id)
				if err != nil {
					return err
				}
				kept, err := pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				deltas.accounts.sumKept(kept)
			}
			for _, st := range deltas.upserts(t.id, func(i int) string { return "$" + strconv.Itoa(i) }) {
				if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		return gorm.ErrDuplicatedKey
	}
	return err
}

// textArray passes ids as one PostgreSQL text[] parameter (GORM would
// spread a slice into a list of parameters).
func textArray(ids []string) pgtype.Array[string] {
	return pgtype.Array[string]{Elements: ids, Dims: []pgtype.ArrayDimension{{Length: int32(len(ids)), LowerBound: 1}}, Valid: true}
}

// Submitter is who sent a transaction, as the tenant knows them: one of its
// API keys or one of its users. Both are empty for a transaction that names
// no sender (seeded, or stored before provenance was kept).
type Submitter struct {
	KeyID, KeyName, KeyPrefix   string
	UserID, UserName, UserEmail string
}

// SubmitterOf looks up who sent tx among the tenant's keys and users.
func SubmitterOf(ctx context.Context, t Tenant, tx *Transaction) (Submitter, error) {
	var s Submitter
	if id := tx.SubmittedByKey; id != nil {
		var k APIKey
		if err := t.scoped(ctx).Where("id = ?", *id).Take(&k).Error; err != nil {
			return s, fmt.Errorf("store: submitter of %s: key: %w", tx.ID, notFound(err))
		}
		s.KeyID, s.KeyName, s.KeyPrefix = k.ID, k.Name, k.Prefix
	}
	if id := tx.SubmittedByUser; id != nil {
		var u User
		if err := t.scoped(ctx).Where("id = ?", *id).Take(&u).Error; err != nil {
			return s, fmt.Errorf("store: submitter of %s: user: %w", tx.ID, notFound(err))
		}
		s.UserID, s.UserName, s.UserEmail = u.ID, u.Name, u.Email
	}
	return s, nil
}
