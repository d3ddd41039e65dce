package handlers

import (
	"io/fs"
	"mime"
	"net/http"
	"path"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/assets"
)

// Asset serves an embedded file. A URL with the current content hash is
// cached for a year; an old hash still gets the file, uncached.
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
	if c.Param("hash") == current {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Response().Header().Set("Cache-Control", "no-cache")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return c.Blob(http.StatusOK, ctype, b)
}
