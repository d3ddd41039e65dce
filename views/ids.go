package views

// Target ids shared by handlers and templates.
const (
	IDMain = "main"
)
