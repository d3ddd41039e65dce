package handlers

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/sentinel-fraud/sentinel/assets"
)

// Asset serves an embedded file. A URL with the current content hash is
// cached for a year; an old hash still gets the file, uncached. Text files
// go out gzipped (compressed once, at startup) to clients that accept it.
// The ETag names the content and its encoding, so a revalidation of an old
// URL answers 304.
func (s *Server) Asset(c echo.Context) error {
	name := c.Param("name")
	current, ok := assets.Hash(name)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	b, err := fs.ReadFile(assets.FS, name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	h := c.Response().Header()
	if c.Param("hash") == current {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set(echo.HeaderContentType, ctype)
	etag := current
	if gz, ok := assets.Gzipped(name); ok {
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		if acceptsGzip(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
			b, etag = gz, current+"-gzip"
			h.Set(echo.HeaderContentEncoding, "gzip")
			// ServeContent leaves the length out once an encoding is set.
			h.Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(b))
	return nil
}

// Compression of everything but assets (which Asset serves precompressed).
// Level 5 compresses HTML and JSON nearly as well as the default level, for
// less CPU; a response under gzipMinLength (an htmx poll with nothing new,
// a probe) goes out as it is, since gzip would save no packet on it.
// CSV downloads (up to a million rows, half a gigabyte) use the fastest
// level instead: at level 5 compressing was a third of an export's CPU; at
// level 1 files come out about 15% larger and it costs about half.
const (
	gzipLevel     = 5
	gzipCSVLevel  = gzip.BestSpeed
	gzipMinLength = 1400
)

// compress gzips pages, fragments and API answers for clients that accept
// gzip, with Echo's middleware; Vary: Accept-Encoding goes on every one.
func compress() echo.MiddlewareFunc {
	pages := middleware.GzipWithConfig(middleware.GzipConfig{Level: gzipLevel, MinLength: gzipMinLength})
	files := middleware.GzipWithConfig(middleware.GzipConfig{Level: gzipCSVLevel, MinLength: gzipMinLength})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		compressed, download := pages(next), files(next)
		return func(c echo.Context) error {
			r := c.Request()
			switch {
			case strings.HasPrefix(r.URL.Path, "/assets/"):
				return next(c)
			case !acceptsGzip(r.Header.Get(echo.HeaderAcceptEncoding)):
				// Echo's middleware looks for "gzip" anywhere in the
				// header, so it would compress for "gzip;q=0".
				c.Response().Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
				return next(c)
			case strings.HasSuffix(r.URL.Path, ".csv"):
				return download(c)
			}
			return compressed(c)
		}
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: named
// (or as x-gzip) with a quality above zero, or covered by a "*" that is.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			return q > 0
		case "*":
			star = q > 0
		}
	}
	return star
}
