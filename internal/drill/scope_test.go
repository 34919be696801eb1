package drill

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	g, err := NewGuard(testScope())
	must(t, err)
	in := []Target{
		{Address: "10.20.1.5"},
		{Address: "10.20.1.0/24"},
		{Address: "10.20.128.0/17"},
		{Address: "::ffff:10.20.3.4"},
		{Address: "2001:db8:20:1::7"},
		{Host: "ar-win-dc.attackrange.local"},
		{Host: "AR-WIN-DC.attackrange.local."},
		{Host: "portal.example", Address: "10.20.0.10"},
		{AssetID: "asset-dc"},
		{AssetID: "asset-dc", Host: "ar-win-dc.attackrange.local", Address: "10.20.5.5"},
	}
	for _, tg := range in {
		if err := g.Check(tg); err != nil {
			t.Errorf("%v refused: %v", tg, err)
		}
	}
	out := []struct {
		t   Target
		why string
	}{
		{Target{}, "needs"},
		{Target{Address: "10.21.0.1"}, "not inside"},
		{Target{Address: "2001:db8:20::/47"}, "not inside"},
		{Target{Address: "10.20.99.7"}, "excluded"},
		{Target{Address: "10.20.0.0/16"}, "excluded"}, // a sweep that touches the exclusion
		{Target{Address: "not-an-ip"}, "not an address"},
		{Target{Host: "backup.attackrange.local"}, "excluded"},
		{Target{Host: "attackrange.local"}, "not in scope"}, // *.x covers names below x only
		{Target{Host: "evil-attackrange.local"}, "not in scope"},
		{Target{Host: "portal.example", Address: "192.0.2.1"}, "not inside"},
		{Target{AssetID: "asset-billing"}, "excluded"},
		{Target{AssetID: "asset-unknown"}, "not in scope"},
		{Target{AssetID: "asset-dc", Host: "other.example"}, "not in scope"},
	}
	for _, c := range out {
		err := g.Check(c.t)
		if !errors.Is(err, ErrOutOfScope) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%v: got %v, want out of scope (%s)", c.t, err, c.why)
		}
	}
}

// An attack record against an out-of-scope asset is refused and not kept.
func TestRecordOutOfScopeRefused(t *testing.T) {
	d := newTestDrill(t)
	must(t, d.Transition(StateRunning, "dave", "", t0))
	for i, tg := range []Target{{AssetID: "asset-billing"}, {Host: "backup.attackrange.local"}, {Address: "198.51.100.7"}} {
		err := d.RecordAttack(AttackRecord{ID: "r" + string(rune('a'+i)), Team: "red-1", What: "exploit", At: t0.Add(time.Hour), Target: tg, Technique: "T1190"})
		if !errors.Is(err, ErrOutOfScope) {
			t.Errorf("%v: got %v, want ErrOutOfScope", tg, err)
		} else if !strings.Contains(err.Error(), "refused") {
			t.Errorf("error does not say the record was refused: %v", err)
		}
	}
	if len(d.Records) != 0 {
		t.Fatalf("refused records were kept: %+v", d.Records)
	}
}
