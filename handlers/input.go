package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/replay"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/upload"
)

// errBadText is the answer to text that no field may hold.
var errBadText = echo.NewHTTPError(http.StatusBadRequest,
	"The request holds a NUL character or text that is not valid UTF-8. Remove it and try again.")

// validText refuses, with 400 at the boundary, a request whose path, query
// or form (urlencoded or multipart, whose files are not text) holds a NUL
// character or invalid UTF-8: no handler or database ever sees one
// (PostgreSQL would refuse it with an error of its own). JSON bodies are
// checked where they are decoded. A multipart body is read behind its
// route's size limit.
func validText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if !cleanText(r.URL.Path) || !cleanValues(r.URL.Query()) {
			return errBadText
		}
		switch mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); mt {
		case echo.MIMEApplicationForm:
			if err := r.ParseForm(); err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
			}
			if !cleanValues(r.PostForm) {
				return errBadText
			}
		case echo.MIMEMultipartForm:
			defer removeSpooled(c)
			if err := parseMultipart(c); err != nil {
				return err
			}
			if !cleanValues(r.MultipartForm.Value) {
				return errBadText
			}
		}
		return next(c)
	}
}

func cleanValues(v url.Values) bool {
	for k, vs := range v {
		if !cleanText(k) {
			return false
		}
		for _, s := range vs {
			if !cleanText(s) {
				return false
			}
		}
	}
	return true
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

// cleanJSON reports whether a JSON body is valid UTF-8 and escapes no NUL
// (encoding/json would quietly replace invalid bytes and keep the NUL).
func cleanJSON(b []byte) bool {
	return utf8.Valid(b) && !bytes.Contains(b, []byte(`\u0000`))
}

// bidiControls are the characters that reorder text on screen: in a
// rationale or a name they can make one text read as another.
const bidiControls = "\u061C\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069"

// freeTextProblem says what is wrong with free text a person typed (a
// rationale, a note, a name), or "" when nothing is. Line breaks and tabs
// are fine; NUL, invalid UTF-8 and bidirectional controls are not.
func freeTextProblem(field, s string) string {
	switch {
	case !cleanText(s):
		return fmt.Sprintf("The %s holds a NUL character or invalid text.", field)
	case strings.ContainsAny(s, bidiControls):
		return fmt.Sprintf("The %s holds a bidirectional control character, which can make text display as something else. Remove it.", field)
	}
	return ""
}

// maxMultipartBody is the largest multipart body a browser form may send,
// unless its route takes files and names a larger limit in uploadLimits.
const maxMultipartBody = 1 << 20

// uploadLimits are the largest bodies of the routes that take files, by
// route name: the largest file and room for the form's other fields.
// UploadCreate's is the server's configured limit (--upload-max-bytes);
// the default is here.
var uploadLimits = map[string]int64{
	"ModelImport":     live.MaxModelFile + 64<<10,
	"WatchlistImport": maxWatchlistFile,
	uploadRoute:       upload.DefaultMaxBytes + 64<<10,
	"ReplayStart":     replay.MaxFileBytes + 64<<10,
}

// parseMultipart reads a multipart form behind a body limit: the limit is
// in place before the parser reads a byte, and a body past it stops there
// with 413.
func parseMultipart(c echo.Context) error {
	r := c.Request()
	limit := int64(maxMultipartBody)
	name := routeName(c)
	if n, ok := uploadLimits[name]; ok {
		limit = n
	}
	if name == uploadRoute {
		if n, ok := c.Get(ctxUploadLimit).(int64); ok {
			limit = n
		}
		return spoolUpload(c, limit)
	}
	r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
	err := r.ParseMultipartForm(8 << 20) // parts past 8 MiB wait in temporary files
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("The upload is larger than the %d MB allowed; send a smaller file.", limit>>20)).SetInternal(err)
	case err != nil:
		return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.").SetInternal(err)
	}
	return nil
}

// routeName is the name of the route that matched the request.
func routeName(c echo.Context) string {
	for _, rt := range c.Echo().Routes() {
		if rt.Method == c.Request().Method && rt.Path == c.Path() {
			return rt.Name
		}
	}
	return ""
}
