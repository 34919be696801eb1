package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-sec/vigil/internal/intel"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
)

// TAXII collections.
//
// Every tenant's tools see two read-only collections:
//   - Vigil's curated indicators: the indicators of every loaded feed whose
//     TLP lets them go to customers (intel.Indicator.Shareable), at most
//     MaxShared of them. An indicator's date_added is the feed load that
//     first brought it, so added_after polling gets only what is new.
//   - The tenant's sightings: the indicators its own events matched (live
//     or retro-hunt) within the window, added when first seen. Another
//     tenant's sightings are neither listed nor served.

// MaxShared bounds the curated collection.
const MaxShared = 500_000

// CuratedID is the id of the curated indicators collection.
const CuratedID = "9c7f6a2e-3b1d-4e58-a0f4-5d2c8b6e1a73"

// maxSightings bounds the alerts one sightings page is built from.
const maxSightings = 5000

// sharedEntry is one indicator of the curated collection.
type sharedEntry struct {
	added time.Time
	id    string
	in    intel.Indicator
}

var _ intel.CollectionSource = (*Desk)(nil)

// SightingsID is the id of a tenant's sightings collection.
func SightingsID(tenantID string) string {
	return uuid.NewSHA1(uuid.MustParse(CuratedID), []byte("sightings\x00"+tenantID)).String()
}

// shareIndicators rebuilds the curated collection from indicators; those
// already shared keep their date_added. Called with d.mu held.
func (d *Desk) shareIndicators(ins []intel.Indicator, now time.Time) {
	prev := make(map[string]time.Time, len(d.shared))
	for _, e := range d.shared {
		prev[e.id] = e.added
	}
	seen := map[string]bool{}
	out := make([]sharedEntry, 0, min(len(ins), MaxShared))
	for i := range ins {
		if len(out) >= MaxShared {
			break
		}
		in := ins[i]
		if !in.Shareable() {
			continue
		}
		id := in.STIXID()
		if seen[id] {
			continue
		}
		seen[id] = true
		added, ok := prev[id]
		if !ok {
			added = now
		}
		out = append(out, sharedEntry{added: added.UTC(), id: id, in: in})
	}
	slices.SortFunc(out, func(a, b sharedEntry) int {
		if c := a.added.Compare(b.added); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	d.shared = out
}

// Collections implements intel.CollectionSource; the principal is a tenant
// ID.
func (d *Desk) Collections(ctx context.Context, tenantID string) ([]intel.TAXIICollection, error) {
	t, err := d.st.Tenants().Get(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("taxii collections: %w", err)
	}
	media := []string{"application/stix+json;version=2.1"}
	return []intel.TAXIICollection{
		{ID: CuratedID, Title: "Vigil curated indicators", CanRead: true, MediaTypes: media,
			Description: "Indicators of compromise from the threat feeds the SOC follows, TLP CLEAR, GREEN and AMBER only."},
		{ID: SightingsID(t.ID), Title: "Indicators sighted at " + t.Name, CanRead: true, MediaTypes: media,
			Description: "Indicators that matched this organisation's own events in the last " + strconv.Itoa(int(d.opts.Window.Hours()/24)) + " days."},
	}, nil
}

// Objects implements intel.CollectionSource.
func (d *Desk) Objects(ctx context.Context, tenantID, collectionID string, q intel.ObjectQuery) (intel.ObjectPage, error) {
	switch collectionID {
	case CuratedID:
		d.mu.RLock()
		shared := d.shared
		d.mu.RUnlock()
		return page(shared, q, d.opts.Now())
	case SightingsID(tenantID):
		es, err := d.sighted(ctx, tenantID)
		if err != nil {
			return intel.ObjectPage{}, err
		}
		return page(es, q, d.opts.Now())
	}
	return intel.ObjectPage{}, intel.ErrNoCollection
}

// sighted lists the indicators of the tenant's intel alerts in the window,
// each once, added at its first sighting.
func (d *Desk) sighted(ctx context.Context, tenantID string) ([]sharedEntry, error) {
	f := store.AlertFilter{RulePrefix: hunt.RulePrefix, Since: d.opts.Now().Add(-d.opts.Window), Page: store.Page{Limit: store.MaxPageSize}}
	first := map[string]sharedEntry{}
	for read := 0; read < maxSightings; {
		as, err := d.st.Alerts().List(ctx, tenantID, f)
		if err != nil {
			return nil, fmt.Errorf("taxii sightings: %w", err)
		}
		for _, a := range as {
			in, ok := indicatorOf(a.RuleID)
			if !ok {
				continue
			}
			id := in.STIXID()
			if e, seen := first[id]; seen && !a.FirstSeen.Before(e.added) {
				continue
			}
			in.FirstSeen, in.LastSeen = a.FirstSeen, a.LastSeen
			first[id] = sharedEntry{added: a.FirstSeen.UTC(), id: id, in: in}
		}
		read += len(as)
		if len(as) < f.Limit {
			break
		}
		f.Offset += len(as)
	}
	out := make([]sharedEntry, 0, len(first))
	for _, e := range first {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b sharedEntry) int {
		if c := a.added.Compare(b.added); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out, nil
}

// indicatorOf reads "intel:<type>:<value>" back into an indicator.
func indicatorOf(ruleID string) (intel.Indicator, bool) {
	rest, ok := strings.CutPrefix(ruleID, hunt.RulePrefix)
	if !ok {
		return intel.Indicator{}, false
	}
	typ, value, ok := strings.Cut(rest, ":")
	if !ok || value == "" || !slices.Contains(intel.Types(), intel.Type(typ)) {
		return intel.Indicator{}, false
	}
	return intel.Indicator{Type: intel.Type(typ), Value: value}, true
}

// page serves entries added after q.AddedAfter, q.Limit at a time; next
// tokens are offsets into the ordered entries.
func page(es []sharedEntry, q intel.ObjectQuery, now time.Time) (intel.ObjectPage, error) {
	start, _ := slices.BinarySearchFunc(es, q.AddedAfter, func(e sharedEntry, t time.Time) int {
		if e.added.After(t) {
			return 1
		}
		return -1
	})
	if q.Next != "" {
		n, err := strconv.Atoi(q.Next)
		if err != nil || n < start || n > len(es) {
			return intel.ObjectPage{}, intel.ErrBadPage
		}
		start = n
	}
	end := min(start+max(q.Limit, 1), len(es))
	var p intel.ObjectPage
	for i := start; i < end; i++ {
		obj, err := es[i].in.STIXIndicator(now)
		if err != nil {
			return intel.ObjectPage{}, fmt.Errorf("taxii: %w", err)
		}
		p.Objects = append(p.Objects, json.RawMessage(obj))
	}
	if end > start {
		p.FirstAdded, p.LastAdded = es[start].added, es[end-1].added
	}
	if end < len(es) {
		p.More, p.Next = true, strconv.Itoa(end)
	}
	return p, nil
}
