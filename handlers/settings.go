package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/views"
)

// settingsLinks are the settings hub's entries, each shown to the roles
// that may open its page.
var settingsLinks = []struct {
	label, description, route string
	perm                      Permission
}{
	{"Users", "Invite people, change their role, disable them, reset a password or a second factor.", "UserList", PermViewUsers},
	{"API keys", "Keys that machines use to score transactions and read results.", "APIKeyList", PermManageAPIKeys},
	{"Sign-in security", "Who must sign in with a second factor.", "SecurityShow", PermManageSettings},
	{"SLA policy", "How long a case of each priority may stay open before it is overdue.", "SLAShow", PermManageSLA},
	{"Alert rules", "Rules checked every minute, the alerts they open and their webhooks.", "AlertRuleList", PermManageAlertRules},
	{"Cost model", "What a missed fraud, a review and a wrongly declined payment cost; the cost tuner's curves.", "TunerShow", PermViewMonitoring},
	{"Models", "Model versions, thresholds, promotion and the shadow challenger.", "ModelList", PermViewModels},
	{"Watchlists", "Blocked and trusted accounts.", "WatchlistList", PermViewWatchlist},
}

// SettingsShow is the settings hub: the settings pages the viewer may
// open, and the names of those an admin manages.
func (s *Server) SettingsShow(c echo.Context) error {
	role := currentPrincipal(c).User.Role
	var props views.SettingsProps
	for _, l := range settingsLinks {
		if Can(role, l.perm) {
			props.Links = append(props.Links, views.SettingsLink{Label: l.label, Description: l.description, Href: routePath(c, l.route)})
		} else {
			props.Closed = append(props.Closed, l.label)
		}
	}
	return render(c, http.StatusOK, views.SettingsPage(props), nil)
}
