// Package handlers is Sentinel's HTTP layer: Echo handlers that parse
// requests, call tenant-scoped store functions and render templ views.
package handlers

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/assets"
	"github.com/sentinel-fraud/sentinel/replay"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/upload"
)

// Config is what the HTTP layer needs from the command line.
type Config struct {
	// SecureCookies marks cookies Secure and sends HSTS; set it behind TLS.
	SecureCookies bool
	// TrustProxy takes the client address from X-Forwarded-For; set it only
	// behind a proxy that overwrites that header.
	TrustProxy bool
	// APIRate is how many requests a second each API key may send (per
	// replica), with bursts of up to APIBurst; 0 means no limit.
	APIRate  float64
	APIBurst int
	// Metrics, when set, counts and times every request; its registry is
	// served on a listener of its own (Metrics.Handler), never by New's router.
	Metrics *Metrics
	// Now is the clock of second-factor codes and set-password links; nil
	// is time.Now. Tests set a fake one.
	Now func() time.Time
	// ExportLimit is the most rows one CSV export writes; 0 means 1,000,000.
	ExportLimit int
	// BulkLimit is the most transactions one bulk decision changes; 0
	// means 10,000.
	BulkLimit int
	// Uploads processes uploaded transaction files; when nil, the server
	// makes its own with UploadLimits (tests).
	Uploads      *upload.Service
	UploadLimits upload.Limits
	// Replay runs replays; nil makes one on the real clock (whose recovery
	// loop, Engine.Run, the caller starts or not).
	Replay *replay.Engine
}

// Session lifetimes: an idle session ends after IdleTimeout, any session
// after SessionLifetime.
const (
	IdleTimeout     = 30 * time.Minute
	SessionLifetime = 12 * time.Hour
)

// Server holds the dependencies of every handler.
type Server struct {
	db       *store.DB
	sessions *scs.SessionManager
	scorer   *live.Scorer
	registry *live.Registry
	keys     keyCache
	limiter  *keyLimiter
	cfg      Config
	outage   outageLog
	now      func() time.Time
	uploads  *upload.Service
	replay   *replay.Engine
}

// New builds the Echo application with every route and middleware; scorer
// holds the tenants' live models.
func New(db *store.DB, scorer *live.Scorer, cfg Config) *echo.Echo {
	sm := scs.New()
	sm.Store = store.NewSessionStore(db)
	sm.Lifetime = SessionLifetime
	sm.IdleTimeout = IdleTimeout
	sm.Cookie.Name = "sentinel_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.SecureCookies
	sm.Cookie.Path = "/"

	go assets.Precompress() // before the first page asks for them
	s := &Server{db: db, sessions: sm, scorer: scorer, cfg: cfg, limiter: newKeyLimiter(cfg.APIRate, cfg.APIBurst), now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	s.registry = live.NewRegistry(scorer)
	s.uploads = cfg.Uploads
	if s.uploads == nil {
		s.uploads = upload.New(db, scorer, cfg.UploadLimits, s.now)
	}
	s.replay = cfg.Replay
	if s.replay == nil {
		s.replay = replay.New(db, scorer, replay.RealClock{}, "")
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	if cfg.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	if cfg.Metrics != nil {
		e.Use(cfg.Metrics.observe(e)) // first, so outside all of routes' middleware
	}
	s.routes(e)
	return e
}
