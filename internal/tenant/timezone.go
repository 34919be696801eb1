package tenant

import (
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// maxTimeZone bounds a time zone name (the longest IANA names are about
// 30 characters).
const maxTimeZone = 64

// TimeZone checks a tenant's time zone: "" or "UTC" is UTC (stored as
// ""), anything else must be an IANA zone name that time.LoadLocation
// knows. "Local" is refused: it would mean the server's zone.
func TimeZone(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || name == "UTC":
		return "", nil
	case len(name) > maxTimeZone:
		return "", invalid("time_zone", store.CodeTooLong, args{"max": maxTimeZone}, "time zone must be at most %d characters", maxTimeZone)
	case strings.EqualFold(name, "Local"):
		return "", invalid("time_zone", store.CodeInvalidTimeZone, args{"value": name}, "time zone %q is not an IANA zone name", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return "", invalid("time_zone", store.CodeInvalidTimeZone, args{"value": name}, "time zone %q is not an IANA zone name", name)
	}
	return name, nil
}
