package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
)

// batchRows is how many rows are scored and stored together.
const batchRows = 1000

// MaxStoredErrors is how many refused rows of one upload are recorded
// one by one (all are counted).
const MaxStoredErrors = 10_000

// DefaultStale is how long a running job may go without a heartbeat before
// a sweep takes it over: it beats after every batch, a fraction of a second.
const DefaultStale = 30 * time.Second

// Service processes uploads: at once for small files, as jobs for large
// ones, and takes over the jobs of processes that died.
type Service struct {
	db     *store.DB
	scorer *live.Scorer
	lim    Limits
	now    func() time.Time
	owner  string
	stale  time.Duration

	mu   sync.Mutex
	base context.Context // jobs run under it (serve's context)
	wg   sync.WaitGroup

	// afterBatch, when set (tests), runs after each batch a job stores.
	afterBatch func(ctx context.Context, id string, rowsDone int64)
}

// New makes the service; now is the clock (time.Now when nil).
func New(db *store.DB, scorer *live.Scorer, lim Limits, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, scorer: scorer, lim: lim.withDefaults(), now: now, owner: "upload-" + store.NewID(),
		stale: DefaultStale, base: context.Background()}
}

// Limits are the service's limits.
func (s *Service) Limits() Limits { return s.lim }

// SetAfterBatch installs a hook run after every batch of a job (tests).
func (s *Service) SetAfterBatch(fn func(ctx context.Context, id string, rowsDone int64)) {
	s.afterBatch = fn
}

// Start makes ctx the context of the jobs this process runs, takes over
// jobs left by dead processes now, and sweeps again every interval until
// ctx ends.
func (s *Service) Start(ctx context.Context, interval time.Duration) {
	s.mu.Lock()
	s.base = ctx
	s.mu.Unlock()
	if err := s.Sweep(ctx); err != nil {
		slog.Warn("upload sweep failed", "error", err)
	}
	go func() {
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
					slog.Warn("upload sweep failed", "error", err)
				}
			}
		}
	}()
}

// Wait waits for the jobs this process started.
func (s *Service) Wait() { s.wg.Wait() }

// Sweep takes over every job that waits without a runner or whose runner
// stopped beating: it resumes the job from its last stored batch when the
// file is still stored, and marks it interrupted otherwise. A job is never
// left shown as running. It also discards the files that waited too long
// for their uploader's confirmation (expireUnconfirmed).
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	jobs, err := store.AdminUploadJobs(ctx, s.db, now.Add(-s.stale))
	if err != nil {
		return err
	}
	for _, u := range jobs {
		t := store.ForTenant(s.db, u.TenantID)
		ok, err := store.ClaimUpload(ctx, t, u.ID, s.owner, now, now.Add(-s.stale))
		if err != nil {
			return err
		}
		if !ok {
			continue // another replica took it
		}
		has, err := store.HasUploadFile(ctx, t, u.ID)
		if err != nil {
			return err
		}
		if !has {
			p := progressOf(&u)
			if _, err := store.FinishUpload(ctx, t, actorOf(&u), u.ID, s.owner, store.UploadInterrupted,
				"The server processing this file stopped before it was done, and the file is not kept: upload it again to process the rest (rows already stored are recognised by their external id).",
				p, s.now()); err != nil {
				return err
			}
			slog.Info("upload interrupted", "upload_id", u.ID, "tenant_id", u.TenantID, "rows_done", u.RowsDone)
			continue
		}
		slog.Info("upload resumed", "upload_id", u.ID, "tenant_id", u.TenantID, "rows_done", u.RowsDone)
		s.spawn(t, u.ID)
	}
	return s.expireUnconfirmed(ctx, now)
}

// ConfirmWindow is how long a file uploaded again (same SHA-256) waits for
// its uploader to confirm it before the sweep discards it.
const ConfirmWindow = 24 * time.Hour

// sweepActor is who the audit trail names for what a sweep does on its own.
var sweepActor = store.Actor{Email: "system:upload-sweep"}

// expireUnconfirmed cancels the uploads that waited for confirmation longer
// than ConfirmWindow and drops their files, which would otherwise stay in
// the database for good.
func (s *Service) expireUnconfirmed(ctx context.Context, now time.Time) error {
	waiting, err := store.AdminUnconfirmedUploads(ctx, s.db, now.Add(-ConfirmWindow))
	if err != nil {
		return err
	}
	for _, u := range waiting {
		t := store.ForTenant(s.db, u.TenantID)
		err := store.ExpireUpload(ctx, t, sweepActor, u.ID, fmt.Sprintf(
			"Not confirmed within %d hours, so the file was discarded: upload it again to process it.", int(ConfirmWindow.Hours())), now)
		if err != nil && !errors.Is(err, store.ErrUploadEnded) { // confirmed or cancelled meanwhile
			return fmt.Errorf("expire upload %s: %w", u.ID, err)
		}
	}
	return nil
}

// actorOf is the uploader, on whose behalf a job acts.
func actorOf(u *store.Upload) store.Actor {
	a := store.Actor{Email: u.UserEmail, IP: u.ClientIP, UserAgent: u.UserAgent}
	if u.UserID != nil {
		a.UserID = *u.UserID
	}
	return a
}

func progressOf(u *store.Upload) store.UploadProgress {
	return store.UploadProgress{RowsDone: u.RowsDone, RowsScored: u.RowsScored, RowsPresent: u.RowsPresent,
		RowsRefused: u.RowsRefused, Bands: [4]int64{u.BandLow, u.BandMedium, u.BandHigh, u.BandCritical}}
}

// Enqueue starts the job of a queued upload on this process.
func (s *Service) Enqueue(t store.Tenant, id string) {
	ctx := s.baseCtx()
	ok, err := store.ClaimUpload(ctx, t, id, s.owner, s.now(), s.now().Add(-s.stale))
	if err != nil {
		slog.Error("upload claim failed", "upload_id", id, "error", err)
		return
	}
	if ok {
		s.spawnClaimed(t, id)
	}
}

func (s *Service) baseCtx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// spawn runs a claimed job on a goroutine of its own.
func (s *Service) spawn(t store.Tenant, id string) { s.spawnClaimed(t, id) }

func (s *Service) spawnClaimed(t store.Tenant, id string) {
	ctx := s.baseCtx()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.runJob(ctx, t, id); err != nil && ctx.Err() == nil {
			slog.Error("upload job failed", "upload_id", id, "error", err)
		}
	}()
}

// runJob processes a claimed job from its stored file, from the row after
// the last one stored.
func (s *Service) runJob(ctx context.Context, t store.Tenant, id string) error {
	u, err := store.GetUpload(ctx, t, id)
	if err != nil {
		return err
	}
	p := progressOf(u)
	err = s.process(ctx, t, u, store.UploadFile(ctx, t, id), &p, true)
	if ctx.Err() != nil {
		return ctx.Err() // the process stops: the job stays running for a sweep to take over
	}
	if errors.Is(err, errNotMine) {
		return nil
	}
	status, reason := store.UploadDone, ""
	if err != nil {
		status, reason = store.UploadFailed, "Processing stopped on an error; the rows before it are stored. Upload the file again to finish it."
		slog.Error("upload job", "upload_id", id, "error", err)
	}
	_, ferr := store.FinishUpload(ctx, t, actorOf(u), id, s.owner, status, reason, p, s.now())
	return ferr
}

// errNotMine stops a job that was cancelled or taken over.
var errNotMine = errors.New("the job is no longer this process's")

// RunNow processes an upload recorded as running by this process (a small
// file) while its uploader waits, from r, and finishes it.
func (s *Service) RunNow(ctx context.Context, t store.Tenant, u *store.Upload, r io.Reader) (*store.Upload, error) {
	var p store.UploadProgress
	err := s.process(ctx, t, u, r, &p, false)
	status, reason := store.UploadDone, ""
	if err != nil {
		status, reason = store.UploadFailed, "Processing stopped on an error; the rows before it are stored."
	}
	if _, ferr := store.FinishUpload(context.WithoutCancel(ctx), t, actorOf(u), u.ID, s.owner, status, reason, p, s.now()); ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, err
	}
	return store.GetUpload(ctx, t, u.ID)
}

// Owner is this process's name as a job runner.
func (s *Service) Owner() string { return s.owner }

// batch is a run of rows on its way through scoring: the inputs, their
// row numbers, the rows refused while reading, and the outcome.
type batch struct {
	ins     []live.Input
	rowOf   []int64
	refused []store.UploadError
	seen    int64 // rows read up to and including this batch
	res     []live.BatchResult
	err     error
	done    chan struct{}
}

// process reads the file of u (checked before) and scores its rows in
// batches after the first p.RowsDone, adding to p. Several batches are in
// flight at once (one per core, at least two), so that one is scored while
// another is stored; they are counted in order, so that RowsDone is always
// a prefix of the file that is stored. A job (job true) saves its progress
// and refused rows after every batch and stops with errNotMine when it was
// cancelled or taken over; a small file saves its refused rows at the end.
func (s *Service) process(ctx context.Context, t store.Tenant, u *store.Upload, r io.Reader, p *store.UploadProgress, job bool) error {
	g, closeFn, ref := open(r, IsGzipName(u.FileName), s.lim)
	defer closeFn()
	if ref != nil {
		return ref
	}
	rd, err := training.NewTextReader(g)
	if err != nil {
		return fmt.Errorf("upload %s: header: %w", u.ID, err)
	}
	defer rd.Close()
	ctx, cancel := context.WithCancel(ctx)
	skip := p.RowsDone
	stored := p.RowsRefused // refused rows recorded so far (at most MaxStoredErrors)
	var errs []store.UploadError
	userID := ""
	if u.UserID != nil {
		userID = *u.UserID
	}
	refuseRow := func(e store.UploadError) {
		p.RowsRefused++
		if stored < MaxStoredErrors {
			stored++
			errs = append(errs, e)
		}
	}
	var inflight []*batch
	var wg sync.WaitGroup
	defer func() {
		cancel() // batches still in flight after an error or a cancel stop
		wg.Wait()
	}()
	// account counts the oldest batch in flight once it is done.
	account := func() error {
		b := inflight[0]
		inflight = inflight[1:]
		<-b.done
		if b.err != nil {
			return b.err
		}
		for _, e := range b.refused {
			refuseRow(e)
		}
		for i, r := range b.res {
			switch {
			case r.Invalid != nil:
				e := store.UploadError{RowNumber: b.rowOf[i], Reason: r.Invalid.Error()}
				var ve *scoring.ValidationError
				if errors.As(r.Invalid, &ve) && len(ve.Fields) > 0 {
					e.ColumnName, e.Reason = ve.Fields[0].Field, ve.Fields[0].Message
				}
				if e.ColumnName == "external_id" {
					e.Value = b.ins[i].ExternalID
				}
				refuseRow(e)
			case r.Created || (r.Scored.Transaction.UploadID != nil && *r.Scored.Transaction.UploadID == u.ID):
				// Stored by this upload: now, or by a batch in flight when
				// the process before a takeover stopped.
				p.RowsScored++
				p.Bands[bandIndex(r.Scored.Prediction.Band)]++
			default:
				p.RowsPresent++
			}
		}
		p.RowsDone = b.seen
		if job {
			mine, err := store.SaveUploadProgress(ctx, t, u.ID, s.owner, *p, errs, s.now())
			if err != nil {
				return err
			}
			if !mine {
				return errNotMine
			}
			errs = errs[:0]
			if s.afterBatch != nil {
				s.afterBatch(ctx, u.ID, p.RowsDone)
			}
		}
		return ctx.Err()
	}
	workers := max(2, runtime.GOMAXPROCS(0))
	newBatch := func() *batch {
		return &batch{ins: make([]live.Input, 0, batchRows), rowOf: make([]int64, 0, batchRows)}
	}
	cur := newBatch()
	send := func() error {
		b := cur
		cur = newBatch()
		b.done = make(chan struct{})
		inflight = append(inflight, b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(b.done)
			if len(b.ins) > 0 {
				b.res, b.err = s.scorer.ScoreBatch(ctx, t, b.ins, nil)
				if b.err != nil {
					b.err = fmt.Errorf("upload %s: score rows %d-%d: %w", u.ID, b.rowOf[0], b.rowOf[len(b.rowOf)-1], b.err)
				}
			}
		}()
		for len(inflight) >= workers {
			if err := account(); err != nil {
				return err
			}
		}
		return nil
	}
	var seen int64
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if g.refusal() != nil {
			return g.refusal()
		}
		var re *training.RowError
		if err != nil && !errors.As(err, &re) {
			return fmt.Errorf("upload %s: %w", u.ID, err)
		}
		seen++
		if seen <= skip {
			continue // stored before a takeover
		}
		if re != nil {
			cur.refused = append(cur.refused, store.UploadError{RowNumber: re.Row, ColumnName: re.Field, Reason: re.Reason, Value: re.Value})
		} else {
			in := live.Input{ExternalID: row.ExternalID, Tx: row.Tx, Source: store.SourceUpload, UserID: userID, UploadID: u.ID}
			if in.ExternalID == "" {
				// The row's own id: the same row of the same upload is the
				// same transaction, so a job taken over does not store a
				// row twice.
				in.ExternalID = u.ID + "-" + strconv.FormatInt(row.Number, 10)
			}
			if row.Label >= 0 {
				f := row.Label == 1
				in.IsFraud = &f
			}
			cur.ins = append(cur.ins, in)
			cur.rowOf = append(cur.rowOf, row.Number)
		}
		if seen%batchRows == 0 {
			cur.seen = seen
			if err := send(); err != nil {
				return err
			}
		}
	}
	if g.refusal() != nil {
		return g.refusal()
	}
	if cur.seen = seen; len(cur.ins) > 0 || len(cur.refused) > 0 || seen > p.RowsDone {
		if err := send(); err != nil {
			return err
		}
	}
	for len(inflight) > 0 {
		if err := account(); err != nil {
			return err
		}
	}
	if !job {
		return store.SaveUploadErrors(ctx, t, u.ID, errs)
	}
	return nil
}

func bandIndex(b string) int {
	switch scoring.Band(b) {
	case scoring.BandMedium:
		return 1
	case scoring.BandHigh:
		return 2
	case scoring.BandCritical:
		return 3
	}
	return 0
}
