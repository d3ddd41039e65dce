package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/upload"
	"github.com/sentinel-fraud/sentinel/views"
)

// uploadRoute is the route that takes transaction files: its body is
// streamed to a temporary file behind the configured limit (spoolUpload)
// instead of the multipart parser.
const uploadRoute = "UploadCreate"

// ctxUploadFile is the context key of the spooled upload.
const ctxUploadFile = "sentinel.upload_file"

// ctxUploadLimit is the context key of the server's upload body limit.
const ctxUploadLimit = "sentinel.upload_limit"

// uploadHistory is how many uploads the upload page lists.
const uploadHistory = 50

// spooled is the file of an upload request as it was streamed to disk.
type spooled struct {
	name, contentType string
	size              int64
	sha               string
	path              string // temporary file; "" when there was no file part
	tooLarge          bool
}

func (f *spooled) file() upload.File {
	uf := upload.File{Name: f.name, ContentType: f.contentType, Size: f.size, SHA256: f.sha, TooLarge: f.tooLarge}
	if f.path != "" && !f.tooLarge {
		path := f.path
		uf.Open = func() (io.ReadCloser, error) { return os.Open(path) }
	}
	return uf
}

// withUploadLimit tells the body reader the server's upload limit.
func (s *Server) withUploadLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Set(ctxUploadLimit, s.uploads.Limits().MaxBytes+64<<10) // the file and the form's few fields
		return next(c)
	}
}

// spoolUpload reads the multipart body of an upload behind limit, which is
// in place before the first byte is read: text fields into the form, the
// file part through SHA-256 into a temporary file. A body past the limit
// stops being read there, and the upload is marked too large for the
// handler to refuse (413) and record, once it knows who sent it: the
// fields before the file (the CSRF token first) are kept.
func spoolUpload(c echo.Context, limit int64) error {
	r := c.Request()
	_, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || params["boundary"] == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
	mr := multipart.NewReader(r.Body, params["boundary"])
	values := url.Values{}
	sp := &spooled{}
	c.Set(ctxUploadFile, sp)
	var tooBig *http.MaxBytesError
	for fields := 0; ; fields++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if errors.As(err, &tooBig) {
			sp.tooLarge = true
			break
		}
		if err != nil || fields > 20 {
			return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
		}
		if part.FormName() == "file" && part.FileName() != "" && sp.path == "" {
			sp.name, sp.contentType = filepath.Base(part.FileName()), part.Header.Get(echo.HeaderContentType)
			if !cleanText(sp.name) {
				sp.name = "(a name that is not valid text)"
			}
			f, err := os.CreateTemp("", "sentinel-upload-*")
			if err != nil {
				return fmt.Errorf("upload: temporary file: %w", err)
			}
			sp.path = f.Name()
			h := sha256.New()
			n, err := io.Copy(io.MultiWriter(f, h), part)
			sp.size = n
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if errors.As(err, &tooBig) {
				sp.tooLarge = true
				break
			}
			if err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
			}
			sp.sha = hex.EncodeToString(h.Sum(nil))
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 64<<10))
		if errors.As(err, &tooBig) {
			sp.tooLarge = true
			break
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
		}
		values.Add(part.FormName(), string(v))
	}
	r.Form, r.PostForm = values, values
	r.MultipartForm = &multipart.Form{Value: values, File: map[string][]*multipart.FileHeader{}}
	return nil
}

// removeSpooled deletes an upload's temporary file.
func removeSpooled(c echo.Context) {
	if sp, ok := c.Get(ctxUploadFile).(*spooled); ok && sp.path != "" {
		_ = os.Remove(sp.path)
	}
}

// auditUploadDenial records an upload attempt (or a look at the upload
// pages) by a role that may not upload: every attempt leaves its trace.
func (s *Server) auditUploadDenial(c echo.Context, p *principal) {
	ctx := c.Request().Context()
	if c.Request().Method == http.MethodPost && routeName(c) == uploadRoute {
		f := upload.File{}
		if sp, ok := c.Get(ctxUploadFile).(*spooled); ok {
			f = sp.file()
		}
		who := upload.Uploader{Actor: actorOf(c, p), UserID: p.User.ID}
		if _, err := s.uploads.Refuse(ctx, p.Tenant, who, f, &upload.Refusal{Code: "forbidden", Status: http.StatusForbidden,
			Message: "Your role (" + p.User.Role + ") may not upload transactions."}); err != nil {
			c.Logger().Error(err)
		}
		return
	}
	if err := store.Record(ctx, p.Tenant, actorOf(c, p), store.Event{Action: store.ActionUploadDenied, ObjectType: "upload",
		Details: map[string]any{"method": c.Request().Method, "path": c.Request().URL.Path, "role": p.User.Role}}); err != nil {
		c.Logger().Error(err)
	}
}

// UploadList shows the upload form and the tenant's upload history.
func (s *Server) UploadList(c echo.Context) error {
	return s.renderUploads(c, http.StatusOK, views.UploadsProps{})
}

func (s *Server) renderUploads(c echo.Context, status int, props views.UploadsProps) error {
	p := currentPrincipal(c)
	rows, err := store.ListUploads(c.Request().Context(), p.Tenant, uploadHistory)
	if err != nil {
		return err
	}
	for i := range rows {
		props.Rows = append(props.Rows, s.uploadRow(c, &rows[i]))
	}
	lim := s.uploads.Limits()
	props.MaxSize = fmt.Sprintf("%d MB", lim.MaxBytes>>20)
	props.MaxRows = formatCount(lim.MaxRows)
	props.SyncRows = formatCount(lim.SyncRows)
	props.Required = requiredColumnsText
	return render(c, status, views.UploadsPage(props), nil)
}

// UploadCreate takes a file: refused with its reason and status, processed
// (small files), queued as a job (large ones) or held for confirmation (a
// file the tenant uploaded before). Every outcome is recorded and audited.
func (s *Server) UploadCreate(c echo.Context) error {
	p := currentPrincipal(c)
	sp, _ := c.Get(ctxUploadFile).(*spooled)
	if sp == nil {
		sp = &spooled{}
	}
	who := upload.Uploader{Actor: actorOf(c, p), UserID: p.User.ID}
	u, err := s.uploads.Submit(c.Request().Context(), p.Tenant, who, sp.file())
	if err != nil {
		return err
	}
	if u.Status == store.UploadRefused {
		if u.HTTPStatus == http.StatusTooManyRequests {
			c.Response().Header().Set("Retry-After", "60")
		}
		return s.renderUploads(c, u.HTTPStatus, views.UploadsProps{Error: u.Reason, ErrorFile: u.FileName})
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UploadShow", u.ID))
}

// UploadShow is one upload: its record, counts, progress while it runs
// (the fragment htmx polls), and links to its transactions and refused rows.
func (s *Server) UploadShow(c echo.Context) error {
	p := currentPrincipal(c)
	u, err := store.GetUpload(c.Request().Context(), p.Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	props := views.UploadProps{Row: s.uploadRow(c, u), Progress: s.uploadProgress(c, u)}
	return render(c, http.StatusOK, views.UploadPage(props), views.UploadBody(props))
}

// UploadCancel stops a waiting or running upload.
func (s *Server) UploadCancel(c echo.Context) error {
	p := currentPrincipal(c)
	id := c.Param("id")
	err := s.uploads.Cancel(c.Request().Context(), p.Tenant, actorOf(c, p), id)
	if err != nil && !errors.Is(err, store.ErrUploadEnded) {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UploadShow", id))
}

// UploadConfirm processes again a file uploaded before, once its uploader
// (or another senior analyst or admin) says so.
func (s *Server) UploadConfirm(c echo.Context) error {
	p := currentPrincipal(c)
	id := c.Param("id")
	err := s.uploads.Confirm(c.Request().Context(), p.Tenant, actorOf(c, p), id)
	if err != nil && !errors.Is(err, store.ErrUploadEnded) {
		return err
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "UploadShow", id))
}

// uploadErrorHeader is the error report's header.
var uploadErrorHeader = []string{"row", "column", "reason", "value"}

// UploadErrors downloads the refused rows of an upload as CSV: row number,
// column, reason and the cell as given, made safe for spreadsheets.
// Audited like every export.
func (s *Server) UploadErrors(c echo.Context) error {
	p := currentPrincipal(c)
	ctx := c.Request().Context()
	u, err := store.GetUpload(ctx, p.Tenant, c.Param("id"))
	if err != nil {
		return err
	}
	tenant, err := store.GetTenant(ctx, p.Tenant)
	if err != nil {
		return err
	}
	out, err := newCSVStream(c, exportFilename(tenant.Slug, "upload-errors", s.now()), uploadErrorHeader)
	if err != nil {
		return err
	}
	n := 0
	err = store.EachUploadError(ctx, p.Tenant, u.ID, func(e *store.UploadError) error {
		var rec csvRecord
		rec.integer(e.RowNumber)
		rec.text(e.ColumnName)
		rec.text(e.Reason)
		rec.text(e.Value)
		n++
		return out.write(rec)
	})
	note := ""
	if u.RowsRefused > int64(n) && err == nil {
		note = fmt.Sprintf("%d more refused rows are counted but not listed (the first %d are).", u.RowsRefused-int64(n), upload.MaxStoredErrors)
	}
	if err == nil && note != "" {
		err = out.end(note)
	}
	return s.finishExport(c, out, store.ActionUploadExport, url.Values{"upload": {u.ID}}, 0, n, false, err)
}

// uploadRow is an upload as the pages show it.
func (s *Server) uploadRow(c echo.Context, u *store.Upload) views.UploadRow {
	ctx := c.Request().Context()
	r := views.UploadRow{
		ID: u.ID, Href: string(views.URL(ctx, "UploadShow", u.ID)), User: u.UserEmail, ClientIP: u.ClientIP, UserAgent: u.UserAgent,
		When: u.CreatedAt.UTC().Format("2006-01-02 15:04:05"), File: u.FileName, ContentType: u.ContentType,
		Size: formatBytes(u.SizeBytes), SHA256: u.SHA256, Status: u.Status, StatusLabel: uploadStatusLabels[u.Status],
		Reason: u.Reason, ReasonCode: u.ReasonCode, Outcome: word(uploadOutcomeWords, u.ReasonCode), HTTPStatus: u.HTTPStatus,
		Rows: formatCount(u.RowsTotal), Scored: formatCount(u.RowsScored), Present: formatCount(u.RowsPresent),
		Refused: formatCount(u.RowsRefused), Active: u.Active(),
	}
	if u.Status != store.UploadRefused {
		r.Read = formatCount(u.RowsDone)
	}
	for i, b := range scoring.Bands {
		n := [4]int64{u.BandLow, u.BandMedium, u.BandHigh, u.BandCritical}[i]
		r.Bands = append(r.Bands, views.BandCount{Band: string(b), Count: formatCount(n)})
	}
	if u.FinishedAt != nil && u.StartedAt != nil {
		r.Duration = u.FinishedAt.Sub(*u.StartedAt).Round(10 * time.Millisecond).String()
	}
	if u.RowsScored > 0 || u.RowsDone > 0 {
		r.InvestigateHref = string(views.WithQuery(views.URL(ctx, "InvestigateList"), url.Values{"upload": {u.ID}}))
	}
	if u.RowsRefused > 0 {
		r.ErrorsHref = string(views.URL(ctx, "UploadErrors", u.ID))
	}
	return r
}

// uploadProgress is a running upload's progress: rows done, rate, ETA.
func (s *Server) uploadProgress(c echo.Context, u *store.Upload) views.UploadProgress {
	ctx := c.Request().Context()
	pr := views.UploadProgress{ID: u.ID, Active: u.Active(), Status: u.Status, StatusLabel: uploadStatusLabels[u.Status],
		Done: formatCount(u.RowsDone), Total: formatCount(u.RowsTotal), PollHref: string(views.URL(ctx, "UploadShow", u.ID))}
	if u.RowsTotal > 0 {
		pr.Percent = int(u.RowsDone * 100 / u.RowsTotal)
	}
	if u.Status == store.UploadRunning && u.StartedAt != nil && u.RowsDone > 0 {
		elapsed := s.now().Sub(*u.StartedAt).Seconds()
		if elapsed > 0 {
			rate := float64(u.RowsDone) / elapsed
			pr.Rate = formatCount(int64(rate)) + " rows/s"
			if rate > 0 {
				eta := time.Duration(float64(u.RowsTotal-u.RowsDone) / rate * float64(time.Second)).Round(time.Second)
				pr.ETA = eta.String()
			}
		}
	}
	pr.CanCancel = u.Active()
	pr.CanConfirm = u.Status == store.UploadConfirm
	pr.Poll = u.Status == store.UploadQueued || u.Status == store.UploadRunning
	if pr.CanConfirm {
		pr.Previous = u.Reason
	}
	return pr
}

// requiredColumnsText names the columns an upload needs, for the form.
var requiredColumnsText = "step, type, amount, nameOrig, oldbalanceOrg, newbalanceOrig, nameDest, oldbalanceDest, newbalanceDest (or their snake_case names: name_orig, old_balance_org, …); optional external_id and isFraud"

// formatBytes writes a size in B, KB or MB.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
