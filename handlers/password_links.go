package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/views"
)

// SetPasswordForm shows the form of a valid one-time set-password link (an
// invitation or a reset); a used, expired or unknown link says so, with 410.
func (s *Server) SetPasswordForm(c echo.Context) error {
	_, u, err := store.AdminFindPasswordLink(c.Request().Context(), s.db, c.Param("token"), s.now())
	if err != nil {
		return s.linkProblem(c, err)
	}
	return render(c, http.StatusOK, views.SetPasswordPage(setPasswordProps(c, u)), nil)
}

// SetPassword sets the password of the link's user and uses the link up;
// the user then signs in with it.
func (s *Server) SetPassword(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	_, u, err := store.AdminFindPasswordLink(ctx, s.db, token, s.now())
	if err != nil {
		return s.linkProblem(c, err)
	}
	props := setPasswordProps(c, u)
	password := c.FormValue("password")
	if password != c.FormValue("confirm") {
		props.Error = "The two passwords differ. Type the same one twice."
		return render(c, http.StatusUnprocessableEntity, views.SetPasswordPage(props), nil)
	}
	actor := store.Actor{IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
	if _, err := store.AdminUsePasswordLink(ctx, s.db, actor, token, password, s.now()); err != nil {
		if msg := passwordMessage(err); msg != "" {
			props.Error = msg
			return render(c, http.StatusUnprocessableEntity, views.SetPasswordPage(props), nil)
		}
		return s.linkProblem(c, err)
	}
	return c.Redirect(http.StatusSeeOther, routePath(c, "LoginForm")+"?password=set")
}

func setPasswordProps(c echo.Context, u *store.User) views.SetPasswordProps {
	return views.SetPasswordProps{Name: u.Name, Email: u.Email, Action: "/set-password/" + c.Param("token"),
		MinLength: store.PasswordMinLength, MaxLength: store.PasswordMaxLength}
}

// linkProblem answers 410 for a link that no longer works, and passes other
// errors on.
func (s *Server) linkProblem(c echo.Context, err error) error {
	if errors.Is(err, store.ErrLinkInvalid) || errors.Is(err, store.ErrNotFound) {
		return render(c, http.StatusGone, views.LinkInvalidPage(), nil)
	}
	return err
}

// passwordMessage says what is wrong with a refused new password, or ""
// when err is not about the password.
func passwordMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrPasswordTooShort):
		return "Choose a longer password: at least 12 characters. A few unrelated words make a good one."
	case errors.Is(err, store.ErrPasswordTooLong):
		return "Choose a shorter password: at most 128 characters."
	case errors.Is(err, store.ErrPasswordCommon):
		return "This password is one of the most common ones, which attackers try first. Choose another."
	case errors.Is(err, store.ErrWrongPassword):
		return "Your current password is not right."
	}
	return ""
}
