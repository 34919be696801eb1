package tenant

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/store"
)

var (
	slugRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9._@-]{2,64}$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

// text trims s and checks its length in characters.
func text(field, s string, min, max int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) {
		return "", invalid("%s is not valid UTF-8", field)
	}
	if n < min {
		if min == 1 {
			return "", invalid("%s is required", field)
		}
		return "", invalid("%s must be at least %d characters", field, min)
	}
	if n > max {
		return "", invalid("%s must be at most %d characters", field, max)
	}
	return s, nil
}

func optionalEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 254 {
		return "", invalid("email is too long")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", invalid("email %q is not a valid address", s)
	}
	return s, nil
}

func oneOf(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return invalid("%s must be one of %s", field, strings.Join(allowed, ", "))
}
