package alerting

import (
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// The digest's week follows the tenant's time zone (store.Tenant.TimeZone,
// checked by the tenant service when it is set): a week runs from Monday
// 00:00 to the next Monday 00:00 on the tenant's clock, so it is 167 or
// 169 hours long when a daylight saving change falls in it, and the digest
// of a week goes out once that Monday has come there.

// TenantZone is the tenant's time zone, UTC when it has none or names one
// this build does not know.
func TenantZone(t store.Tenant) *time.Location {
	if t.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// DigestWeekIn returns the last complete ISO week (Monday to Monday in
// loc) before now and its name ("2026-W48").
func DigestWeekIn(now time.Time, loc *time.Location) (from, to time.Time, period string) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	back := (int(day.Weekday()) + 6) % 7 // days since Monday
	to = day.AddDate(0, 0, -back)
	from = to.AddDate(0, 0, -7)
	y, w := from.ISOWeek()
	return from, to, fmt.Sprintf("%d-W%02d", y, w)
}

// zoneName is how a digest names its time zone.
func zoneName(loc *time.Location) string {
	if loc == nil || loc == time.UTC {
		return "UTC"
	}
	return loc.String()
}
