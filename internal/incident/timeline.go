package incident

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Kinds of timeline items.
const (
	ItemAlertFirst = "alert_first_seen"
	ItemAlertLast  = "alert_last_seen"
	ItemEvent      = "event"
	ItemTaskLog    = "task_log"
	ItemTaskDone   = "task_done"
	ItemPhase      = "phase"
	ItemNote       = "note"
	ItemObservable = "observable"
	ItemEvidence   = "evidence"
	ItemOperator   = "operator_action"
	ItemCreated    = "case_created"
)

// Item is one entry of a case timeline. Source names where it came from:
// "alert:<id>", "event:<id>", "task:<id>", "case", "observable:<id>",
// "evidence:<id>", "audit:<seq>".
type Item struct {
	At     time.Time
	Kind   string
	Source string
	Actor  string
	Text   string
}

// Timeline bounds.
const (
	maxTimelineAlerts = 500
	maxTimelineEvents = 500
	maxAuditScan      = 5 * store.MaxPageSize
	// MaxTimeline bounds the items of one timeline (oldest kept).
	MaxTimeline = 5000
)

// Timeline builds a case's timeline from its alerts (first and last seen),
// the events they reference, the stored entries (phase changes and
// analysts' notes, at the time of the fact), task logs and completions,
// observables and evidence added, and operators' actions on the affected
// assets found in the audit log from the first alert (or the case's
// creation) on: audit entries whose object is one of the assets. Items
// are sorted by time.
func (s *Service) Timeline(ctx context.Context, tenantID, caseID string) ([]Item, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	is := s.store.Incidents()
	c, err := is.Get(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	items := []Item{{At: c.CreatedAt, Kind: ItemCreated, Source: "case", Actor: c.CreatedBy, Text: c.Ref + " " + c.Title}}
	start := c.CreatedAt
	links, err := is.CaseAlerts(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	events := 0
	for i, l := range links {
		if i == maxTimelineAlerts {
			break
		}
		a, err := s.store.Alerts().Get(ctx, tenantID, l.AlertID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		what := a.RuleTitle
		if a.Host != "" {
			what += " on " + a.Host
		}
		items = append(items, Item{At: a.FirstSeen, Kind: ItemAlertFirst, Source: "alert:" + a.ID, Text: fmt.Sprintf("[%s] %s", a.Level, what)})
		if a.LastSeen.After(a.FirstSeen) {
			items = append(items, Item{At: a.LastSeen, Kind: ItemAlertLast, Source: "alert:" + a.ID,
				Text: fmt.Sprintf("[%s] %s (%d times)", a.Level, what, a.Count)})
		}
		if a.FirstSeen.Before(start) {
			start = a.FirstSeen
		}
		for _, eid := range a.EventIDs {
			if events == maxTimelineEvents {
				break
			}
			ev, err := s.store.Events().Get(ctx, tenantID, eid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			events++
			text := ev.Message
			if text == "" {
				text = ev.Original
			}
			if r := []rune(text); len(r) > 500 {
				text = string(r[:500]) + "…"
			}
			items = append(items, Item{At: ev.Time, Kind: ItemEvent, Source: "event:" + ev.ID, Actor: ev.User,
				Text: strings.TrimSpace(ev.Host + " " + text)})
		}
	}
	entries, err := is.Entries(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		kind := ItemNote
		if e.Kind == "phase" {
			kind = ItemPhase
		}
		items = append(items, Item{At: e.At, Kind: kind, Source: "case", Actor: e.Actor, Text: e.Text})
	}
	tasks, err := is.Tasks(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	titles := map[string]string{}
	for _, t := range tasks {
		titles[t.ID] = t.Title
		if !t.DoneAt.IsZero() {
			items = append(items, Item{At: t.DoneAt, Kind: ItemTaskDone, Source: "task:" + t.ID, Actor: t.Owner, Text: t.Status + ": " + t.Title})
		}
	}
	logs, err := is.TaskLogs(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	for _, l := range logs {
		items = append(items, Item{At: l.At, Kind: ItemTaskLog, Source: "task:" + l.TaskID, Actor: l.Author, Text: titles[l.TaskID] + ": " + l.Text})
	}
	obs, err := is.Observables(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	for _, o := range obs {
		text := o.Type + " " + o.Value
		if o.IOC {
			text += " (IOC)"
		}
		items = append(items, Item{At: o.CreatedAt, Kind: ItemObservable, Source: "observable:" + o.ID, Actor: o.CreatedBy, Text: text})
	}
	evs, err := is.Evidence(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		items = append(items, Item{At: e.CreatedAt, Kind: ItemEvidence, Source: "evidence:" + e.ID, Actor: e.CreatedBy,
			Text: fmt.Sprintf("%s (%d bytes, sha256 %s)", e.Name, e.Size, e.SHA256)})
	}
	ops, err := s.operatorActions(ctx, tenantID, c, start)
	if err != nil {
		return nil, err
	}
	items = append(items, ops...)
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Source, b.Source))
	})
	if len(items) > MaxTimeline {
		items = items[:MaxTimeline]
	}
	return items, nil
}

// operatorActions are the audit entries of the tenant on the case's
// assets from since on (a bounded scan of the newest entries).
func (s *Service) operatorActions(ctx context.Context, tenantID string, c store.Incident, since time.Time) ([]Item, error) {
	if len(c.AssetIDs) == 0 {
		return nil, nil
	}
	targets := map[string]bool{}
	for _, id := range c.AssetIDs {
		targets["asset:"+id] = true
	}
	var out []Item
	for off := 0; off < maxAuditScan; off += store.MaxPageSize {
		es, err := s.store.Audit().List(ctx, store.AuditFilter{TenantID: tenantID, Since: since,
			Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if targets[e.Object] {
				out = append(out, Item{At: e.Time, Kind: ItemOperator, Source: fmt.Sprintf("audit:%d", e.Seq), Actor: e.ActorName,
					Text: e.Action + " " + e.Object})
			}
		}
		if len(es) < store.MaxPageSize {
			break
		}
	}
	return out, nil
}
