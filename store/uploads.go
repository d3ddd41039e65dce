package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Upload statuses. A refused attempt ends at once; an accepted file is
// processed (done), or waits for a confirmation (a file uploaded before)
// or for its job (queued, then running), which may be cancelled or, when
// its process died and its bytes are gone, interrupted.
const (
	UploadRefused     = "refused"
	UploadConfirm     = "confirm"
	UploadQueued      = "queued"
	UploadRunning     = "running"
	UploadDone        = "done"
	UploadCancelled   = "cancelled"
	UploadInterrupted = "interrupted"
	UploadFailed      = "failed"
)

// Audit actions of uploads.
const (
	// ActionUpload is one upload attempt, accepted or refused, with the
	// file's name, declared type, size, SHA-256, outcome and reason.
	ActionUpload        = "upload.attempt"
	ActionUploadConfirm = "upload.confirm"
	ActionUploadCancel  = "upload.cancel"
	ActionUploadExpire  = "upload.expire"
	ActionUploadFinish  = "upload.finish"
	ActionUploadExport  = "upload.errors_export"
	// ActionUploadDenied is a look at the upload pages by a role that may
	// not upload (an attempt to upload is an ActionUpload, refused).
	ActionUploadDenied = "upload.denied"
)

// uploadChunkSize is the largest piece of a file stored in upload_chunks.
const uploadChunkSize = 1 << 20

// ErrUploadEnded is returned when a cancelled or finished upload is asked
// to change.
var ErrUploadEnded = errors.New("the upload has ended already")

// Upload is one upload attempt and, when accepted, its processing.
type Upload struct {
	ID string `gorm:"primaryKey"`
	Owned
	UserID      *string
	UserEmail   string
	ClientIP    string `gorm:"column:client_ip"`
	UserAgent   string
	FileName    string
	ContentType string
	SizeBytes   int64
	SHA256      string `gorm:"column:sha256"`
	Status      string
	// ReasonCode names why an attempt was refused (too_large, extension,
	// binary, utf8, ...); Reason is the message the uploader was shown.
	ReasonCode   string
	Reason       string
	HTTPStatus   int
	RowsTotal    int64
	RowsDone     int64
	RowsScored   int64
	RowsPresent  int64
	RowsRefused  int64
	BandLow      int64
	BandMedium   int64
	BandHigh     int64
	BandCritical int64
	// Owner is the process running the job; HeartbeatAt when it last said so.
	Owner       string
	CreatedAt   time.Time
	StartedAt   *time.Time
	HeartbeatAt *time.Time
	FinishedAt  *time.Time
}

// UploadChunk is a piece of a file waiting for its job.
type UploadChunk struct {
	Owned
	UploadID string `gorm:"primaryKey"`
	Seq      int    `gorm:"primaryKey"`
	Data     []byte
}

// UploadError is one refused row of an upload.
type UploadError struct {
	Owned
	UploadID   string `gorm:"primaryKey"`
	RowNumber  int64  `gorm:"primaryKey"`
	ColumnName string
	Reason     string
	Value      string
}

// Active reports whether the upload still waits or runs.
func (u *Upload) Active() bool {
	return u.Status == UploadConfirm || u.Status == UploadQueued || u.Status == UploadRunning
}

// UploadProgress is what a job has done so far.
type UploadProgress struct {
	RowsDone, RowsScored, RowsPresent, RowsRefused int64
	Bands                                          [4]int64 // low, medium, high, critical
}

func (p UploadProgress) columns() map[string]any {
	return map[string]any{
		"rows_done": p.RowsDone, "rows_scored": p.RowsScored, "rows_present": p.RowsPresent, "rows_refused": p.RowsRefused,
		"band_low": p.Bands[0], "band_medium": p.Bands[1], "band_high": p.Bands[2], "band_critical": p.Bands[3],
	}
}

// UploadRate is how many uploads one user may make: a minute's and a day's.
type UploadRate struct {
	PerMinute, PerDay int
}

// rateLimited is the reason code of an attempt refused by the rate limit;
// such attempts do not count against it.
const rateLimited = "rate_limited"

// uploadsSince counts the user's counted attempts since each time.
func (t Tenant) uploadsSince(ctx context.Context, userID string, minute, day time.Time) (int64, int64, error) {
	var r struct{ Minute, Day int64 }
	err := t.scoped(ctx).Model(&Upload{}).
		Select("COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS minute, COUNT(*) AS day", minute).
		Where("user_id = ? AND created_at >= ? AND reason_code <> ?", userID, day, rateLimited).Scan(&r).Error
	return r.Minute, r.Day, err
}

// UploadRateExceeded reports whether the user has used up a limit at now:
// the message to show, or "".
func UploadRateExceeded(ctx context.Context, t Tenant, userID string, now time.Time, rl UploadRate) (string, error) {
	m, d, err := t.uploadsSince(ctx, userID, now.Add(-time.Minute), now.Add(-24*time.Hour))
	if err != nil {
		return "", fmt.Errorf("store: count uploads: %w", err)
	}
	return rl.exceeded(m, d), nil
}

func (rl UploadRate) exceeded(minute, day int64) string {
	switch {
	case rl.PerMinute > 0 && minute >= int64(rl.PerMinute):
		return fmt.Sprintf("You have uploaded %d files in the last minute, the most allowed. Wait a minute and try again.", minute)
	case rl.PerDay > 0 && day >= int64(rl.PerDay):
		return fmt.Sprintf("You have uploaded %d files in the last 24 hours, the most allowed. Try again tomorrow.", day)
	}
	return ""
}

// CreateUpload records an attempt and its audit event in one transaction.
// With rl set (an attempt that passed every other check) it first counts
// the user's attempts under a lock on the user's row, so that concurrent
// uploads on any replica cannot pass the limit together: past it, u becomes
// a refused attempt with HTTP status 429. When u is accepted into a job or
// a confirmation, file's bytes are stored with it for the job to read.
func CreateUpload(ctx context.Context, t Tenant, a Actor, u *Upload, rl *UploadRate, file io.Reader) error {
	if u.ID == "" {
		u.ID = NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	u.CreatedAt = u.CreatedAt.UTC().Truncate(time.Microsecond)
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		if rl != nil && u.UserID != nil {
			if tx.db.Dialector.Name() == "postgres" {
				var id string
				if err := tx.scoped(ctx).Model(&User{}).Clauses(clause.Locking{Strength: "UPDATE"}).
					Where("id = ?", *u.UserID).Pluck("id", &id).Error; err != nil {
					return Event{}, err
				}
			}
			m, d, err := tx.uploadsSince(ctx, *u.UserID, u.CreatedAt.Add(-time.Minute), u.CreatedAt.Add(-24*time.Hour))
			if err != nil {
				return Event{}, err
			}
			if msg := rl.exceeded(m, d); msg != "" {
				u.Status, u.ReasonCode, u.Reason, u.HTTPStatus = UploadRefused, rateLimited, msg, 429
			}
		}
		if err := tx.create(ctx, u); err != nil {
			return Event{}, err
		}
		if file != nil && (u.Status == UploadQueued || u.Status == UploadConfirm) {
			if err := tx.saveChunks(ctx, u.ID, file); err != nil {
				return Event{}, err
			}
		}
		outcome := u.Status // refused, or confirm: waits for the uploader
		if u.Status == UploadRunning || u.Status == UploadQueued {
			outcome = "accepted"
		}
		return Event{Action: ActionUpload, ObjectType: "upload", ObjectID: u.ID, Details: map[string]any{
			"file_name": u.FileName, "content_type": u.ContentType, "size_bytes": u.SizeBytes, "sha256": u.SHA256,
			"outcome": outcome, "status": u.Status, "reason_code": u.ReasonCode, "reason": u.Reason, "http_status": u.HTTPStatus,
			"rows": u.RowsTotal,
		}}, nil
	})
	if err != nil {
		return fmt.Errorf("store: record upload %q: %w", u.FileName, err)
	}
	return nil
}

func (t Tenant) saveChunks(ctx context.Context, uploadID string, r io.Reader) error {
	buf := make([]byte, uploadChunkSize)
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			c := &UploadChunk{UploadID: uploadID, Seq: seq, Data: buf[:n]}
			if cerr := t.create(ctx, c); cerr != nil {
				return fmt.Errorf("store chunk %d: %w", seq, cerr)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// UploadFile streams the stored bytes of an upload, one chunk at a time.
func UploadFile(ctx context.Context, t Tenant, uploadID string) io.Reader {
	return &chunkReader{ctx: ctx, t: t, id: uploadID}
}

type chunkReader struct {
	ctx  context.Context
	t    Tenant
	id   string
	seq  int
	cur  *bytes.Reader
	done bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for {
		if r.cur != nil && r.cur.Len() > 0 {
			return r.cur.Read(p)
		}
		if r.done {
			return 0, io.EOF
		}
		var c UploadChunk
		err := r.t.scoped(r.ctx).Where("upload_id = ? AND seq = ?", r.id, r.seq).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			r.done = true
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: read upload %s chunk %d: %w", r.id, r.seq, err)
		}
		r.seq++
		r.cur = bytes.NewReader(c.Data)
	}
}

// HasUploadFile reports whether an upload's bytes are stored.
func HasUploadFile(ctx context.Context, t Tenant, uploadID string) (bool, error) {
	var n int64
	err := t.scoped(ctx).Model(&UploadChunk{}).Where("upload_id = ? AND seq = 0", uploadID).Count(&n).Error
	return n > 0, err
}

// GetUpload loads one upload of the tenant.
func GetUpload(ctx context.Context, t Tenant, id string) (*Upload, error) {
	var u Upload
	if err := t.scoped(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("store: get upload %s: %w", id, notFound(err))
	}
	return &u, nil
}

// ListUploads lists the tenant's uploads, newest first.
func ListUploads(ctx context.Context, t Tenant, limit int) ([]Upload, error) {
	var rows []Upload
	if err := t.scoped(ctx).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list uploads: %w", err)
	}
	return rows, nil
}

// PreviousUpload is the latest accepted upload of a file with this SHA-256
// other than except, or ErrNotFound.
func PreviousUpload(ctx context.Context, t Tenant, sha, except string) (*Upload, error) {
	var u Upload
	err := t.scoped(ctx).Where("sha256 = ? AND id <> ? AND status NOT IN ?", sha, except,
		[]string{UploadRefused, UploadConfirm, UploadCancelled}).Order("id DESC").Take(&u).Error
	if err != nil {
		return nil, fmt.Errorf("store: previous upload: %w", notFound(err))
	}
	return &u, nil
}

// ConfirmUpload queues an upload that waited for its uploader's
// confirmation (a file uploaded before).
func ConfirmUpload(ctx context.Context, t Tenant, a Actor, id string) error {
	return change(ctx, t, a, func(tx Tenant) (Event, error) {
		res := tx.scoped(ctx).Model(&Upload{}).Where("id = ? AND status = ?", id, UploadConfirm).
			Update("status", UploadQueued)
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected == 0 {
			if _, err := GetUpload(ctx, tx, id); err != nil {
				return Event{}, err
			}
			return Event{}, ErrUploadEnded
		}
		return Event{Action: ActionUploadConfirm, ObjectType: "upload", ObjectID: id}, nil
	})
}

// CancelUpload cancels a waiting or running upload; a running job sees it
// at its next batch and stops. The rows it stored stay.
func CancelUpload(ctx context.Context, t Tenant, a Actor, id string, now time.Time) error {
	return t.endUpload(ctx, a, id, []string{UploadConfirm, UploadQueued, UploadRunning}, nil, ActionUploadCancel, now)
}

// UploadExpired is the reason code of an upload cancelled because nobody
// confirmed it in time.
const UploadExpired = "expired"

// ExpireUpload cancels an upload that still waits for its uploader's
// confirmation, saying why in reason (code UploadExpired), and drops its
// file. It is ErrUploadEnded when the upload no longer waits.
func ExpireUpload(ctx context.Context, t Tenant, a Actor, id, reason string, now time.Time) error {
	return t.endUpload(ctx, a, id, []string{UploadConfirm}, map[string]any{"reason_code": UploadExpired, "reason": reason},
		ActionUploadExpire, now)
}

// endUpload cancels an upload in one of the states from (also setting the
// columns set), drops its stored file and records action, in one
// transaction.
func (t Tenant) endUpload(ctx context.Context, a Actor, id string, from []string, set map[string]any, action string, now time.Time) error {
	return change(ctx, t, a, func(tx Tenant) (Event, error) {
		cols := map[string]any{"status": UploadCancelled, "finished_at": now.UTC()}
		maps.Copy(cols, set)
		res := tx.scoped(ctx).Model(&Upload{}).Where("id = ? AND status IN ?", id, from).Updates(cols)
		if res.Error != nil {
			return Event{}, res.Error
		}
		if res.RowsAffected == 0 {
			if _, err := GetUpload(ctx, tx, id); err != nil {
				return Event{}, err
			}
			return Event{}, ErrUploadEnded
		}
		if err := tx.scoped(ctx).Where("upload_id = ?", id).Delete(&UploadChunk{}).Error; err != nil {
			return Event{}, err
		}
		return Event{Action: action, ObjectType: "upload", ObjectID: id}, nil
	})
}

// ClaimUpload makes owner the runner of a queued upload, or of a running
// one whose heartbeat is older than stale (its process died). It reports
// whether owner got it.
func ClaimUpload(ctx context.Context, t Tenant, id, owner string, now, stale time.Time) (bool, error) {
	now = now.UTC()
	res := t.scoped(ctx).Model(&Upload{}).
		Where("id = ? AND (status = ? OR (status = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?)))",
			id, UploadQueued, UploadRunning, stale.UTC()).
		Updates(map[string]any{"status": UploadRunning, "owner": owner, "heartbeat_at": now,
			"started_at": gorm.Expr("COALESCE(started_at, ?)", now)})
	if res.Error != nil {
		return false, fmt.Errorf("store: claim upload %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// SaveUploadProgress records a job's progress and the rows it refused, and
// beats its heart. It returns false when the job is no longer this
// owner's to run (cancelled, or taken over): the job must stop.
func SaveUploadProgress(ctx context.Context, t Tenant, id, owner string, p UploadProgress, errs []UploadError, now time.Time) (bool, error) {
	var mine bool
	err := t.Tx(ctx, func(tx Tenant) error {
		cols := p.columns()
		cols["heartbeat_at"] = now.UTC()
		res := tx.scoped(ctx).Model(&Upload{}).Where("id = ? AND status = ? AND owner = ?", id, UploadRunning, owner).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if mine = res.RowsAffected == 1; !mine || len(errs) == 0 {
			return nil
		}
		for i := range errs {
			errs[i].UploadID = id
			errs[i].setTenant(tx.id)
		}
		// A row refused again after a takeover keeps its first record.
		return tx.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(errs, 200).Error
	})
	if err != nil {
		return false, fmt.Errorf("store: upload %s progress: %w", id, err)
	}
	return mine, nil
}

// FinishUpload ends an upload (done, failed or interrupted) with its last
// progress, deletes its stored bytes and writes the audit event, unless it
// ended otherwise meanwhile (cancelled): then it reports false.
func FinishUpload(ctx context.Context, t Tenant, a Actor, id, owner, status, reason string, p UploadProgress, now time.Time) (bool, error) {
	var mine bool
	err := change(ctx, t, a, func(tx Tenant) (Event, error) {
		cols := p.columns()
		cols["status"], cols["finished_at"], cols["heartbeat_at"] = status, now.UTC(), now.UTC()
		if reason != "" {
			cols["reason"] = reason
		}
		q := tx.scoped(ctx).Model(&Upload{}).Where("id = ? AND status IN ?", id, []string{UploadQueued, UploadRunning})
		if owner != "" {
			q = q.Where("owner = ?", owner)
		}
		res := q.Updates(cols)
		if res.Error != nil {
			return Event{}, res.Error
		}
		if mine = res.RowsAffected == 1; !mine {
			return Event{}, errNothing
		}
		if err := tx.scoped(ctx).Where("upload_id = ?", id).Delete(&UploadChunk{}).Error; err != nil {
			return Event{}, err
		}
		return Event{Action: ActionUploadFinish, ObjectType: "upload", ObjectID: id, Details: map[string]any{
			"outcome": status, "reason": reason, "rows_done": p.RowsDone, "rows_scored": p.RowsScored,
			"rows_present": p.RowsPresent, "rows_refused": p.RowsRefused,
		}}, nil
	})
	if errors.Is(err, errNothing) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: finish upload %s: %w", id, err)
	}
	return true, nil
}

// errNothing rolls back a change that found nothing to change.
var errNothing = errors.New("nothing to change")

// SaveUploadErrors records refused rows of an upload processed at once.
func SaveUploadErrors(ctx context.Context, t Tenant, id string, errs []UploadError) error {
	if len(errs) == 0 {
		return nil
	}
	for i := range errs {
		errs[i].UploadID = id
		errs[i].setTenant(t.id)
	}
	if err := t.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(errs, 200).Error; err != nil {
		return fmt.Errorf("store: upload %s errors: %w", id, err)
	}
	return nil
}

// EachUploadError calls fn with each refused row of an upload, by row
// number, in pages.
func EachUploadError(ctx context.Context, t Tenant, id string, fn func(*UploadError) error) error {
	var after int64 = -1
	for {
		var rows []UploadError
		if err := t.scoped(ctx).Where("upload_id = ? AND row_number > ?", id, after).Order("row_number").
			Limit(1000).Find(&rows).Error; err != nil {
			return fmt.Errorf("store: upload %s errors: %w", id, err)
		}
		for i := range rows {
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
		if len(rows) < 1000 {
			return nil
		}
		after = rows[len(rows)-1].RowNumber
	}
}

// AdminUnconfirmedUploads lists every tenant's uploads that have waited
// for their uploader's confirmation since before the given time.
func AdminUnconfirmedUploads(ctx context.Context, db *DB, before time.Time) ([]Upload, error) {
	var rows []Upload
	err := db.gorm.WithContext(ctx).Where("status = ? AND created_at < ?", UploadConfirm, before.UTC()).Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: unconfirmed uploads: %w", err)
	}
	return rows, nil
}

// AdminUploadJobs lists every tenant's uploads that wait for a job or run
// one whose heartbeat is older than stale: the work a sweep takes over.
func AdminUploadJobs(ctx context.Context, db *DB, stale time.Time) ([]Upload, error) {
	var rows []Upload
	err := db.gorm.WithContext(ctx).Where(
		"(status = ? AND created_at < ?) OR (status = ? AND (heartbeat_at IS NULL OR heartbeat_at < ?))",
		UploadQueued, stale.UTC(), UploadRunning, stale.UTC()).Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: upload jobs: %w", err)
	}
	return rows, nil
}
