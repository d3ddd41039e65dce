package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
)

// File is an uploaded file as the HTTP layer received it.
type File struct {
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	// TooLarge says the body passed the limit and reading stopped there.
	TooLarge bool
	// Open reads the file from its start (a temporary file); nil when
	// there is none.
	Open func() (io.ReadCloser, error)
}

// Uploader is who uploads: the audit actor and the user.
type Uploader struct {
	Actor  store.Actor
	UserID string
}

// Submit records one attempt and, when the file passes every check,
// processes it: at once for up to SyncRows rows, as a job otherwise, or
// not before a confirmation when the tenant has processed the same file
// (by SHA-256) before. It returns the upload as recorded; a refused one
// carries its reason and HTTP status.
func (s *Service) Submit(ctx context.Context, t store.Tenant, who Uploader, f File) (*store.Upload, error) {
	now := s.now().UTC()
	u := &store.Upload{ID: store.NewID(), UserEmail: who.Actor.Email, ClientIP: who.Actor.IP, UserAgent: scoring.Truncate(who.Actor.UserAgent, 512),
		FileName: scoring.Truncate(f.Name, 255), ContentType: scoring.Truncate(f.ContentType, 255), SizeBytes: f.Size, SHA256: f.SHA256, CreatedAt: now}
	if who.UserID != "" {
		u.UserID = &who.UserID
	}
	refused := func(r *Refusal) (*store.Upload, error) {
		u.Status, u.ReasonCode, u.Reason, u.HTTPStatus = store.UploadRefused, r.Code, r.Message, r.Status
		u.FinishedAt = &now
		if err := store.CreateUpload(ctx, t, who.Actor, u, nil, nil); err != nil {
			return nil, err
		}
		return u, nil
	}
	if f.TooLarge {
		return refused(TooLarge(s.lim.MaxBytes))
	}
	if who.UserID != "" {
		msg, err := store.UploadRateExceeded(ctx, t, who.UserID, now, s.lim.Rate)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			return refused(&Refusal{Code: "rate_limited", Message: msg, Status: http.StatusTooManyRequests})
		}
	}
	if f.Open == nil {
		return refused(refuse("no_file", http.StatusUnprocessableEntity, "Choose a .csv or .csv.gz file to upload."))
	}
	if r := CheckName(f.Name); r != nil {
		return refused(r)
	}
	rows, ref, err := s.check(f)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		return refused(ref)
	}
	u.RowsTotal = rows
	rl := &s.lim.Rate
	prev, err := store.PreviousUpload(ctx, t, f.SHA256, u.ID)
	switch {
	case err == nil:
		u.Status = store.UploadConfirm
		u.Reason = fmt.Sprintf("This file (same SHA-256) was uploaded on %s by %s (%s). Process it again?",
			prev.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), prev.UserEmail, prev.FileName)
		u.ReasonCode = "same_file"
		u.HTTPStatus = http.StatusOK
		return u, s.createWithFile(ctx, t, who, u, rl, f)
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if rows > s.lim.SyncRows {
		u.Status, u.HTTPStatus = store.UploadQueued, http.StatusAccepted
		if err := s.createWithFile(ctx, t, who, u, rl, f); err != nil {
			return nil, err
		}
		if u.Status == store.UploadQueued {
			s.Enqueue(t, u.ID)
		}
		return u, nil
	}
	u.Status, u.Owner, u.HTTPStatus = store.UploadRunning, s.owner, http.StatusOK
	u.StartedAt, u.HeartbeatAt = &now, &now
	if err := store.CreateUpload(ctx, t, who.Actor, u, rl, nil); err != nil {
		return nil, err
	}
	if u.Status != store.UploadRunning {
		return u, nil // the rate limit, counted under its lock
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return s.RunNow(ctx, t, u, rc)
}

func (s *Service) check(f File) (int64, *Refusal, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	return Check(rc, f.Name, s.lim)
}

func (s *Service) createWithFile(ctx context.Context, t store.Tenant, who Uploader, u *store.Upload, rl *store.UploadRate, f File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return store.CreateUpload(ctx, t, who.Actor, u, rl, rc)
}

// Confirm processes again a file that waited for its uploader's
// confirmation, as a job.
func (s *Service) Confirm(ctx context.Context, t store.Tenant, a store.Actor, id string) error {
	if err := store.ConfirmUpload(ctx, t, a, id); err != nil {
		return err
	}
	s.Enqueue(t, id)
	return nil
}

// Cancel stops a waiting or running upload.
func (s *Service) Cancel(ctx context.Context, t store.Tenant, a store.Actor, id string) error {
	return store.CancelUpload(ctx, t, a, id, s.now())
}

// Refuse records an attempt refused before the file was looked at (the
// uploader's role may not upload): 403, audited like every attempt.
func (s *Service) Refuse(ctx context.Context, t store.Tenant, who Uploader, f File, r *Refusal) (*store.Upload, error) {
	now := s.now().UTC()
	u := &store.Upload{UserEmail: who.Actor.Email, ClientIP: who.Actor.IP, UserAgent: scoring.Truncate(who.Actor.UserAgent, 512),
		FileName: scoring.Truncate(f.Name, 255), ContentType: scoring.Truncate(f.ContentType, 255), SizeBytes: f.Size, SHA256: f.SHA256,
		CreatedAt: now, FinishedAt: &now, Status: store.UploadRefused, ReasonCode: r.Code, Reason: r.Message, HTTPStatus: r.Status}
	if who.UserID != "" {
		u.UserID = &who.UserID
	}
	if err := store.CreateUpload(ctx, t, who.Actor, u, nil, nil); err != nil {
		return nil, err
	}
	return u, nil
}
