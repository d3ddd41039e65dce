package views

// Target ids shared by handlers and templates.
const (
	IDMain = "main"
)

// Target ids of the drift, tuner and alerts pages.
const (
	IDDriftFeature = "drift-feature"
	IDTunerCurves  = "tuner-curves"
	IDAlertBell    = "alert-bell"
)
