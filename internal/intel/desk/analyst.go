package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/intel/hunt"
	"github.com/vigil-sec/vigil/internal/store"
)

// Analyst advisory states. A draft is seen by the SOC's analysts only; a
// published advisory is matched against every tenant like a feed's; a
// withdrawn one no longer is.
const (
	StateDraft     = "draft"
	StatePublished = "published"
	StateWithdrawn = "withdrawn"
)

// SourceAnalyst is the Source of every analyst-written advisory.
const SourceAnalyst = "analyst"

// maxAnalystAdvisories bounds the published analyst advisories loaded.
const maxAnalystAdvisories = 5000

// AdvisoryInput is what an analyst writes.
type AdvisoryInput struct {
	Title       string
	Severity    string
	Description string
	Action      string
	CVEs        []string
	Affected    []hunt.Affected
}

// AnalystAdvisory is a stored analyst advisory with its content.
type AnalystAdvisory struct {
	store.AnalystAdvisory
	Advisory hunt.Advisory
}

// requireAnalyst lets through the SOC's staff: whoever may work cases in
// at least one tenant (analysts, experts, administrators).
func requireAnalyst(ctx context.Context) error {
	p := auth.FromContext(ctx)
	if p.Anonymous() {
		return auth.ErrUnauthenticated
	}
	if !p.CanAny(auth.PermIncidentWrite) {
		return auth.ErrForbidden
	}
	return nil
}

// CanWriteAdvisories reports whether the principal of ctx may read drafts
// and write analyst advisories.
func CanWriteAdvisories(ctx context.Context) bool { return requireAnalyst(ctx) == nil }

// WriteAdvisory creates an analyst advisory (id "") as a draft, or
// rewrites one at version. The content is checked like a feed's advisory;
// the errors say which field is wrong. A published advisory stays
// published and is matched again at once.
func (d *Desk) WriteAdvisory(ctx context.Context, id string, version int, in AdvisoryInput) (AnalystAdvisory, error) {
	if err := requireAnalyst(ctx); err != nil {
		return AnalystAdvisory{}, err
	}
	var cur store.AnalystAdvisory
	if id != "" {
		var err error
		if cur, err = d.st.Advisories().Get(ctx, id); err != nil {
			return AnalystAdvisory{}, err
		}
		if cur.State == StateWithdrawn {
			return AnalystAdvisory{}, store.NewFieldError("state", store.CodeOneOf, map[string]any{"allowed": []string{StateDraft, StatePublished}},
				"a withdrawn advisory cannot be changed; write a new one")
		}
		cur.Version = version
	} else {
		cur = store.AnalystAdvisory{State: StateDraft, Author: auth.FromContext(ctx).ActorID()}
	}
	adv := hunt.Advisory{ID: "pending", Title: in.Title, Severity: in.Severity, Description: strings.TrimSpace(in.Description),
		Action: strings.TrimSpace(in.Action), CVEs: in.CVEs, Affected: in.Affected, Source: SourceAnalyst}
	if err := adv.Check(); err != nil {
		return AnalystAdvisory{}, fmt.Errorf("%w: %s", store.ErrInvalid, strings.TrimPrefix(err.Error(), `advisory "pending": `))
	}
	cur.Title, cur.Severity = adv.Title, adv.Severity
	if err := d.saveAdvisory(ctx, &cur, adv); err != nil {
		return AnalystAdvisory{}, err
	}
	return d.finish(ctx, cur, "advisory.write")
}

// SetAdvisoryState publishes or withdraws an analyst advisory at version.
// Publishing stamps the time the warning counts from; a withdrawn
// advisory stays withdrawn.
func (d *Desk) SetAdvisoryState(ctx context.Context, id string, version int, state string) (AnalystAdvisory, error) {
	if err := requireAnalyst(ctx); err != nil {
		return AnalystAdvisory{}, err
	}
	if state != StatePublished && state != StateWithdrawn {
		return AnalystAdvisory{}, store.NewFieldError("state", store.CodeOneOf, map[string]any{"allowed": []string{StatePublished, StateWithdrawn}},
			"an advisory is published or withdrawn")
	}
	cur, err := d.st.Advisories().Get(ctx, id)
	if err != nil {
		return AnalystAdvisory{}, err
	}
	a, err := decodeAdvisory(cur)
	if err != nil {
		return AnalystAdvisory{}, err
	}
	switch {
	case cur.State == state:
		return a, nil
	case cur.State == StateWithdrawn:
		return AnalystAdvisory{}, store.NewFieldError("state", store.CodeOneOf, map[string]any{"allowed": []string{StateDraft, StatePublished}},
			"a withdrawn advisory cannot be published again; write a new one")
	}
	cur.State, cur.Version = state, version
	if state == StatePublished {
		cur.PublishedAt = d.opts.Now().UTC()
	}
	if err := d.saveAdvisory(ctx, &cur, a.Advisory); err != nil {
		return AnalystAdvisory{}, err
	}
	return d.finish(ctx, cur, "advisory."+map[string]string{StatePublished: "publish", StateWithdrawn: "withdraw"}[state])
}

// saveAdvisory stores cur with adv as its document, creating it when it
// has no ID yet.
func (d *Desk) saveAdvisory(ctx context.Context, cur *store.AnalystAdvisory, adv hunt.Advisory) error {
	if cur.ID == "" {
		// The ID is the store's; the document carries it too.
		cur.Doc = []byte(`{}`)
		if err := d.st.Advisories().Create(ctx, cur); err != nil {
			return err
		}
		cur.Version = 1
	}
	adv.ID = "analyst-" + cur.ID
	adv.Published = cur.PublishedAt
	doc, err := json.Marshal(adv)
	if err != nil {
		return fmt.Errorf("encode advisory: %w", err)
	}
	cur.Doc = doc
	return d.st.Advisories().Update(ctx, cur)
}

// finish audits a change, reloads the published advisories and returns
// the stored advisory.
func (d *Desk) finish(ctx context.Context, cur store.AnalystAdvisory, action string) (AnalystAdvisory, error) {
	a, err := decodeAdvisory(cur)
	if err != nil {
		return a, err
	}
	if d.opts.Audit != nil {
		if err := d.opts.Audit.Record(ctx, audit.Event{Action: action, Object: "advisory:" + cur.ID,
			Detail: map[string]any{"title": cur.Title, "severity": cur.Severity, "state": cur.State, "version": cur.Version}}); err != nil {
			return a, err
		}
	}
	return a, d.LoadAnalyst(ctx)
}

// AnalystAdvisories lists analyst advisories in a state ("" for all),
// most recently changed first.
func (d *Desk) AnalystAdvisories(ctx context.Context, state string, page store.Page) ([]AnalystAdvisory, error) {
	if err := requireAnalyst(ctx); err != nil {
		return nil, err
	}
	list, err := d.st.Advisories().List(ctx, store.AdvisoryFilter{State: state, Page: page})
	if err != nil {
		return nil, err
	}
	out := make([]AnalystAdvisory, 0, len(list))
	for _, r := range list {
		a, err := decodeAdvisory(r)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// AnalystAdvisory returns one analyst advisory.
func (d *Desk) AnalystAdvisory(ctx context.Context, id string) (AnalystAdvisory, error) {
	if err := requireAnalyst(ctx); err != nil {
		return AnalystAdvisory{}, err
	}
	r, err := d.st.Advisories().Get(ctx, id)
	if err != nil {
		return AnalystAdvisory{}, err
	}
	return decodeAdvisory(r)
}

func decodeAdvisory(r store.AnalystAdvisory) (AnalystAdvisory, error) {
	a := AnalystAdvisory{AnalystAdvisory: r}
	if err := json.Unmarshal(r.Doc, &a.Advisory); err != nil {
		return a, fmt.Errorf("advisory %s: stored document: %w", r.ID, err)
	}
	return a, nil
}

// LoadAnalyst reloads the published analyst advisories into the desk (at
// start, after each change here, and on every feed refresh so every node
// sees another's changes) and clears the tenants' cached warnings.
func (d *Desk) LoadAnalyst(ctx context.Context) error {
	var advs []hunt.Advisory
	var errs []error
	for off := 0; off < maxAnalystAdvisories; off += store.MaxPageSize {
		list, err := d.st.Advisories().List(ctx, store.AdvisoryFilter{State: StatePublished, Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
		if err != nil {
			return fmt.Errorf("intel desk: analyst advisories: %w", err)
		}
		for _, r := range list {
			a, err := decodeAdvisory(r)
			if err == nil {
				// The range of each product is compiled again.
				err = a.Advisory.Check()
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			advs = append(advs, a.Advisory)
		}
		if len(list) < store.MaxPageSize {
			break
		}
	}
	d.mu.Lock()
	d.analyst = advs
	d.mergeAdvisories()
	d.gen++
	clear(d.cache)
	d.mu.Unlock()
	return errors.Join(errs...)
}

// mergeAdvisories sets the served advisories: the feeds' and the
// analysts', newest first. d.mu is held.
func (d *Desk) mergeAdvisories() {
	all := make([]hunt.Advisory, 0, len(d.fromFeeds)+len(d.analyst))
	all = append(append(all, d.fromFeeds...), d.analyst...)
	slices.SortStableFunc(all, func(a, b hunt.Advisory) int { return b.Published.Compare(a.Published) })
	d.advisories = all
}

// Preview matches one advisory against a tenant's assets and findings, as
// its warnings would once it is published.
func (d *Desk) Preview(ctx context.Context, tenantID string, adv hunt.Advisory) (hunt.AdvisoryMatch, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return hunt.AdvisoryMatch{}, err
	}
	ms, err := hunt.MatchMany(ctx, d.st, tenantID, []hunt.Advisory{adv}, hunt.MatchOptions{})
	if err != nil || len(ms) == 0 {
		return hunt.AdvisoryMatch{}, err
	}
	return ms[0], nil
}
