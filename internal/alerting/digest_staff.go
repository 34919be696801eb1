package alerting

import (
	"cmp"
	"context"
	"slices"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Who can be on the desk's shift: SOC staff, that is an enabled user
// whose global role, or role in at least one tenant, triages alerts
// (admin, expert, analyst). A customer or an auditor cannot be put on
// shift, through the form or the API.

// maxShiftStaff bounds the users the shift form lists.
const maxShiftStaff = 2000

// onShiftEligible reports whether u may be on shift.
func (s *Service) onShiftEligible(ctx context.Context, u store.User) (bool, error) {
	if u.Disabled {
		return false, nil
	}
	if auth.RoleHas(u.GlobalRole, auth.PermEventTriage) {
		return true, nil
	}
	ms, err := s.store.Users().Memberships(ctx, u.ID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ms, func(m store.Membership) bool { return auth.RoleHas(m.Role, auth.PermEventTriage) }), nil
}

// ShiftStaff lists the users who can be on shift, by username, for the
// planner's picker.
func (s *Service) ShiftStaff(ctx context.Context) ([]store.User, error) {
	if err := requireGlobal(ctx, auth.PermUserAdmin); err != nil {
		return nil, err
	}
	us, err := s.store.Users().List(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.User
	for _, u := range us {
		if len(out) >= maxShiftStaff {
			break
		}
		ok, err := s.onShiftEligible(ctx, u)
		if err != nil {
			return nil, err
		}
		if ok {
			u.PasswordHash = ""
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b store.User) int { return cmp.Compare(a.Username, b.Username) })
	return out, nil
}
