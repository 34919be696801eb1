package tenant

import (
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

// args are the values a validation message needs.
type args = map[string]any

// invalid is a validation failure of field; the message is English.
func invalid(field, code string, a args, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// text trims s and checks its length in characters. field is the input
// name, label how the English message calls it.
func text(field, label, s string, min, max int) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) {
		return "", invalid(field, store.CodeInvalidUTF8, nil, "%s is not valid UTF-8", label)
	}
	if n < min {
		if min == 1 {
			return "", invalid(field, store.CodeRequired, nil, "%s is required", label)
		}
		return "", invalid(field, store.CodeTooShort, args{"min": min}, "%s must be at least %d characters", label, min)
	}
	if n > max {
		return "", invalid(field, store.CodeTooLong, args{"max": max}, "%s must be at most %d characters", label, max)
	}
	return s, nil
}

// maxEmailLen is the longest address SMTP carries.
const maxEmailLen = 254

func optionalEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > maxEmailLen {
		return "", invalid("email", store.CodeTooLong, args{"max": maxEmailLen}, "email is too long")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", invalid("email", store.CodeInvalidEmail, args{"value": s}, "email %q is not a valid address", s)
	}
	return s, nil
}

// oneOf checks v is one of allowed; label names field in the message.
func oneOf(field, label, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return invalid(field, store.CodeOneOf, args{"allowed": allowed, "value": v},
		"%s must be one of %s", label, strings.Join(allowed, ", "))
}
