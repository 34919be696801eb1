package bizsys

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

func sys(id string, c, i, a int, data string, mlps int) store.BusinessSystem {
	return store.BusinessSystem{ID: id, Name: "sys-" + id, Confidentiality: c, Integrity: i, Availability: a,
		DataSensitivity: data, MLPSLevel: mlps}
}

// The expected values below were worked out by hand from the rule in
// importance.go, not computed by the code.
func TestImplied(t *testing.T) {
	cases := []struct {
		name string
		b    store.BusinessSystem
		want int
	}{
		{"highest need wins", sys("a", 2, 3, 1, "internal", 0), 3},
		{"availability alone", sys("a", 1, 1, 5, "public", 0), 5},
		{"all low public ungraded", sys("a", 1, 1, 1, "public", 0), 1},
		{"confidential raises 2 to 4", sys("a", 2, 2, 2, "confidential", 0), 4},
		{"confidential keeps 5", sys("a", 5, 1, 1, "confidential", 0), 5},
		{"secret is 5", sys("a", 1, 1, 1, "secret", 0), 5},
		{"mlps 2 adds nothing", sys("a", 2, 1, 1, "internal", 2), 2},
		{"mlps 3 raises to 4", sys("a", 1, 2, 1, "internal", 3), 4},
		{"mlps 4 is 5", sys("a", 1, 1, 1, "public", 4), 5},
		{"mlps 5 is 5", sys("a", 1, 1, 1, "public", 5), 5},
		{"zero needs clamp to 1", sys("a", 0, 0, 0, "internal", 0), 1},
	}
	for _, c := range cases {
		if got := Implied(c.b); got != c.want {
			t.Errorf("%s: Implied = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestEffectiveImportance(t *testing.T) {
	low := sys("low", 2, 2, 2, "internal", 0)       // implies 2
	graded := sys("graded", 3, 3, 3, "internal", 3) // implies 4
	secret := sys("secret", 1, 1, 1, "secret", 0)   // implies 5
	cases := []struct {
		name     string
		own      int
		systems  []store.BusinessSystem
		want     int
		wantFrom string
	}{
		{"no systems keeps own", 3, nil, 3, ""},
		{"lower system never lowers", 4, []store.BusinessSystem{low}, 4, ""},
		{"equal system does not claim it", 2, []store.BusinessSystem{low}, 2, ""},
		{"graded system raises", 2, []store.BusinessSystem{low, graded}, 4, "graded"},
		{"highest system wins", 1, []store.BusinessSystem{graded, secret, low}, 5, "secret"},
		{"own 5 stays", 5, []store.BusinessSystem{secret}, 5, ""},
	}
	for _, c := range cases {
		e := EffectiveImportance(c.own, c.systems)
		if e.Importance != c.want || e.SystemID != c.wantFrom || e.Own != c.own {
			t.Errorf("%s: got %+v, want importance %d from %q", c.name, e, c.want, c.wantFrom)
		}
		if e.Raised() != (c.wantFrom != "") {
			t.Errorf("%s: Raised = %v", c.name, e.Raised())
		}
	}
}
