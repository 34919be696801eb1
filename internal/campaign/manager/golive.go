package manager

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/campaign"
	"github.com/vigil-sec/vigil/internal/campaign/gate"
	"github.com/vigil-sec/vigil/internal/campaign/runner"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// GoLiveInput opens a go-live gate of one system version.
type GoLiveInput struct {
	// AssetID is the system going live; it is the gate's one target.
	AssetID string
	Version string
	Change  string
	Owner   string
	Planned time.Time
	// NewSystem is true for a first go-live, false for a change.
	NewSystem bool
	ASVSLevel int // 1 to 3
	MLPSLevel int // 0 (not graded) to 5
	// DeclaredPorts are the TCP ports the design says are open;
	// TLSPorts serve TLS; ServerName is the certificate's name.
	DeclaredPorts []uint16
	TLSPorts      []uint16
	ServerName    string
	// URLs are the system's web entry points the admin-page and
	// default-credential checks probe; each must be on the asset's host.
	URLs []string
	// RiskyPorts replaces the template's list of risky ports (an open
	// risky port the design does not declare fails the gate); empty
	// keeps the template's list.
	RiskyPorts []uint16
}

// CreateGoLive opens the gate of a release of a tenant's system.
func (s *Service) CreateGoLive(ctx context.Context, tenantID string, in GoLiveInput) (*Loaded, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		field, v          string
		max               int
		required, oneLine bool
	}{{"version", in.Version, MaxText, true, true}, {"owner", in.Owner, MaxText, true, true}, {"change", in.Change, MaxLongText, false, false},
		{"server_name", in.ServerName, MaxText, false, true}} {
		if err := checkText(c.field, c.v, c.max, c.required, c.oneLine); err != nil {
			return nil, err
		}
	}
	if in.Planned.IsZero() {
		return nil, invalid("planned", store.CodeInvalidDate, nil, "the planned go-live date is required")
	}
	if in.ASVSLevel < 1 || in.ASVSLevel > 3 {
		return nil, invalid("asvs_level", store.CodeOutOfRange, map[string]any{"min": 1, "max": 3}, "the ASVS level is 1, 2 or 3")
	}
	if in.MLPSLevel < 0 || in.MLPSLevel > 5 {
		return nil, invalid("mlps_level", store.CodeOutOfRange, map[string]any{"min": 0, "max": 5}, "the MLPS level is 0 (not graded) to 5")
	}
	for name, ps := range map[string][]uint16{"declared_ports": in.DeclaredPorts, "tls_ports": in.TLSPorts, "risky_ports": in.RiskyPorts} {
		if len(ps) > MaxPorts {
			return nil, invalid(name, store.CodeTooMany, map[string]any{"max": MaxPorts}, "at most %d ports", MaxPorts)
		}
		if slices.Contains(ps, 0) {
			return nil, invalid(name, store.CodeOutOfRange, map[string]any{"min": 1, "max": 65535}, "ports are 1 to 65535")
		}
	}
	asset, err := s.store.Assets().Get(ctx, tenantID, strings.TrimSpace(in.AssetID))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, invalid("asset", store.CodeNotInTenant, nil, "choose a system (asset) of this organisation")
		}
		return nil, err
	}
	host := hostOf(asset)
	if host == "" {
		return nil, invalid("asset", store.CodeInvalidHost, nil, "the system has no address to check")
	}
	urls, err := checkURLs(in.URLs, host)
	if err != nil {
		return nil, err
	}
	tg := campaign.Target{AssetID: asset.ID, System: asset.Name, Host: host, DeclaredPorts: sortedPorts(in.DeclaredPorts),
		TLSPorts: sortedPorts(in.TLSPorts), ServerName: strings.TrimSpace(in.ServerName)}
	if len(urls) > 0 {
		tg.Labels = map[string]string{runner.LabelURLs: strings.Join(urls, " ")}
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	rel := gate.Release{System: asset.Name, Version: strings.TrimSpace(in.Version), Change: strings.TrimSpace(in.Change), Owner: strings.TrimSpace(in.Owner),
		Planned: in.Planned.UTC(), NewSystem: in.NewSystem, ASVSLevel: in.ASVSLevel, MLPSLevel: in.MLPSLevel}
	if rel.Change == "" {
		rel.Change = "-"
	}
	g, err := gate.New(rel, campaign.Instance{ID: id, Tenant: tenantID, Targets: []campaign.Target{tg},
		Scope: campaign.Scope{AssetIDs: []string{asset.ID}}, Start: s.now().UTC()}, gate.Options{})
	if err != nil {
		return nil, invalid("", store.CodeInvalidConfig, map[string]any{"reason": err.Error()}, "%s", err.Error())
	}
	if len(in.RiskyPorts) > 0 {
		var list []string
		for _, p := range sortedPorts(in.RiskyPorts) {
			list = append(list, strconv.Itoa(int(p)))
		}
		for i := range g.Campaign.Tasks {
			if g.Campaign.Tasks[i].Kind == campaign.TaskExposedPorts {
				if g.Campaign.Tasks[i].Params == nil {
					g.Campaign.Tasks[i].Params = map[string]string{}
				}
				g.Campaign.Tasks[i].Params[runner.ParamRiskyPorts] = strings.Join(list, ",")
			}
		}
	}
	l := &Loaded{Gate: g, Campaign: g.Campaign}
	last := g.Campaign.Phases[len(g.Campaign.Phases)-1]
	l.Record = store.Campaign{ID: id, TenantID: tenantID, Kind: store.CampaignGoLive, Name: rel.System + " " + rel.Version, AssetID: asset.ID,
		Phase: g.Campaign.Phases[0].ID, Start: g.Campaign.Start, End: last.End, CreatedBy: auth.FromContext(ctx).ActorID()}
	doc, err := l.doc()
	if err != nil {
		return nil, err
	}
	l.Record.Doc = doc
	if err := s.store.Campaigns().Create(ctx, &l.Record, tasksOf(g.Campaign)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, invalid("version", store.CodeOneOf, nil, "this system already has a gate for this version")
		}
		return nil, err
	}
	return l, s.record(ctx, tenantID, "campaign.create", id, map[string]any{"kind": store.CampaignGoLive, "asset": asset.ID,
		"version": rel.Version, "asvs_level": rel.ASVSLevel, "mlps_level": rel.MLPSLevel})
}

func sortedPorts(ps []uint16) []uint16 {
	out := slices.Clone(ps)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkURLs keeps http(s) URLs whose host is the target's own host: the
// web checks never leave the campaign's declared targets.
func checkURLs(in []string, host string) ([]string, error) {
	var out []string
	for _, raw := range in {
		raw = strings.TrimSpace(raw)
		if raw == "" || slices.Contains(out, raw) {
			continue
		}
		if len(out) == MaxURLs {
			return nil, invalid("urls", store.CodeTooMany, map[string]any{"max": MaxURLs}, "at most %d URLs", MaxURLs)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 || u.User != nil {
			return nil, invalid("urls", store.CodeInvalidURL, nil, "a URL is http(s)://host[:port]/path")
		}
		if !strings.EqualFold(u.Hostname(), host) {
			return nil, invalid("urls", store.CodeInvalidURL, nil, "a URL must be on the system's own address %s", host)
		}
		out = append(out, raw)
	}
	return out, nil
}

// AcceptInput is a risk acceptance of one open item of a gate.
type AcceptInput struct {
	AssetID string
	Key     string
	Reason  string
	Expires time.Time
}

// Accept records a risk acceptance of an open item; the approver is the
// signed-in user.
func (s *Service) Accept(ctx context.Context, tenantID, id string, in AcceptInput) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	if err := checkText("reason", in.Reason, MaxLongText, true, false); err != nil {
		return err
	}
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if l.Gate == nil {
		return invalid("", store.CodeOneOf, nil, "only a go-live gate takes risk acceptances")
	}
	if l.Record.Closed {
		return invalid("", store.CodeOneOf, nil, "the campaign is closed")
	}
	approver := auth.FromContext(ctx).Name()
	if err := l.Gate.Accept(gate.Acceptance{AssetID: in.AssetID, Key: in.Key, Approver: approver, Reason: strings.TrimSpace(in.Reason),
		Expires: in.Expires.UTC()}, s.now().UTC()); err != nil {
		return invalid("key", store.CodeOneOf, nil, "%s", err.Error())
	}
	if err := s.save(ctx, l, nil); err != nil {
		return err
	}
	return s.record(ctx, tenantID, "campaign.accept", id, map[string]any{"asset": in.AssetID, "key": in.Key, "expires": in.Expires.UTC(), "approver": approver})
}

// Decision is the gate's decision now.
func (s *Service) Decision(l *Loaded) gate.Decision { return l.Gate.Decide(s.now().UTC()) }

// Decide decides the gate now and stores the decision; signOff records
// that the signed-in user signs it off (a failing gate cannot be signed
// off).
func (s *Service) Decide(ctx context.Context, tenantID, id string, signOff bool) (store.CampaignDecision, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.CampaignDecision{}, err
	}
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return store.CampaignDecision{}, err
	}
	if l.Gate == nil {
		return store.CampaignDecision{}, invalid("", store.CodeOneOf, nil, "only a go-live gate is decided")
	}
	d, alerts := l.Gate.Check(s.now().UTC())
	if signOff && d.Outcome == gate.Fail {
		return store.CampaignDecision{}, invalid("", store.CodeOneOf, nil, "a failing gate cannot be signed off")
	}
	sd := decisionToStore(tenantID, id, d, auth.FromContext(ctx).Name(), signOff)
	if err := s.store.Campaigns().AddDecision(ctx, &sd); err != nil {
		return sd, err
	}
	l.Record.Outcome = string(d.Outcome)
	if signOff {
		l.Record.Phase = "decide"
	}
	if err := s.save(ctx, l, nil); err != nil {
		return sd, err
	}
	if err := s.raise(ctx, l, alerts); err != nil {
		return sd, err
	}
	return sd, s.record(ctx, tenantID, "campaign.decide", id, map[string]any{"outcome": d.Outcome, "signed_off": signOff,
		"blocking": len(d.Blocking), "accepted": len(d.Accepted)})
}

func decisionToStore(tenantID, id string, d gate.Decision, by string, signOff bool) store.CampaignDecision {
	sd := store.CampaignDecision{TenantID: tenantID, CampaignID: id, Outcome: string(d.Outcome), Reasons: d.Reasons, NextExpiry: d.NextExpiry,
		DecidedBy: by, SignedOff: signOff, At: d.At}
	for _, it := range d.Accepted {
		c := store.CampaignCondition{AssetID: it.AssetID, Key: it.Key, Title: it.Title, Severity: string(it.Severity)}
		if it.Acceptance != nil {
			c.Approver, c.Reason, c.Expires = it.Acceptance.Approver, it.Acceptance.Reason, it.Acceptance.Expires
		}
		sd.Conditions = append(sd.Conditions, c)
	}
	return sd
}

// RuleAcceptanceExpired is the rule id of the alerts raised when a risk
// acceptance of a go-live gate expires with its item still open.
const RuleAcceptanceExpired = "campaign:acceptance-expired"

// raise stores each gate alert as a tenant alert and hands it on.
func (s *Service) raise(ctx context.Context, l *Loaded, alerts []gate.Alert) error {
	var errs []error
	for _, a := range alerts {
		level := string(a.Severity)
		if level == "info" || level == "" {
			level = "informational"
		}
		al := store.Alert{TenantID: l.Record.TenantID, GroupKey: "golive/" + l.Record.ID + "/" + a.AssetID + "/" + a.Key + "/" + a.Expired.UTC().Format(time.RFC3339),
			RuleID: RuleAcceptanceExpired, RuleTitle: truncateText(a.Message, 500), Level: level, Tags: []string{"golive-check"}, AssetID: a.AssetID,
			Host: l.Campaign.Name, Status: "new", Note: "campaign " + l.Record.ID, FirstSeen: s.now().UTC(), LastSeen: s.now().UTC()}
		isNew, err := s.store.Alerts().Raise(ctx, &al, 365*24*time.Hour, []string{"new", "acknowledged", "escalated"}, 1)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if isNew && s.onAlert != nil {
			if err := s.onAlert(ctx, al); err != nil {
				s.log.Warn("acceptance alert not delivered", "campaign", l.Record.ID, "err", err)
			}
		}
		errs = append(errs, s.record(ctx, l.Record.TenantID, "campaign.acceptance_expired", l.Record.ID,
			map[string]any{"asset": a.AssetID, "key": a.Key, "expired": a.Expired, "alert": al.ID, "after": a.After}))
	}
	return errors.Join(errs...)
}

func truncateText(v string, n int) string {
	r := []rune(v)
	if len(r) <= n {
		return v
	}
	return string(r[:n-1]) + "…"
}

// CheckAcceptances is the periodic job: it decides every open gate of
// every tenant at now and raises an alert for each risk acceptance that
// expired with its item still open (once per acceptance). A gate whose
// outcome changed gets a new decision by "system".
func (s *Service) CheckAcceptances(ctx context.Context) error {
	tenants, err := s.store.Tenants().List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		for off := 0; ; off += store.MaxPageSize {
			cs, err := s.store.Campaigns().List(ctx, t.ID, store.CampaignFilter{Kind: store.CampaignGoLive, OpenOnly: true,
				Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
			if err != nil {
				errs = append(errs, err)
				break
			}
			for _, c := range cs {
				errs = append(errs, s.checkGate(ctx, t.ID, c.ID))
			}
			if len(cs) < store.MaxPageSize {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) checkGate(ctx context.Context, tenantID, id string) error {
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return err
	}
	before := l.Record.Outcome
	d, alerts := l.Gate.Check(s.now().UTC())
	if len(alerts) == 0 && string(d.Outcome) == before {
		return nil
	}
	if before != "" && string(d.Outcome) != before {
		sd := decisionToStore(tenantID, id, d, "system", false)
		if err := s.store.Campaigns().AddDecision(ctx, &sd); err != nil {
			return err
		}
		l.Record.Outcome = string(d.Outcome)
	}
	if err := s.save(ctx, l, nil); err != nil {
		return err
	}
	return s.raise(ctx, l, alerts)
}

// Close closes a campaign: nothing more is run or recorded.
func (s *Service) Close(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if l.Record.Closed {
		return nil
	}
	l.Record.Closed = true
	if err := s.save(ctx, l, nil); err != nil {
		return err
	}
	return s.record(ctx, tenantID, "campaign.close", id, nil)
}

// GateReport renders the go-live report of a gate's current decision and
// archives it.
func (s *Service) GateReport(ctx context.Context, tenantID, id string, format report.Format, lang string) (store.Report, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.Report{}, err
	}
	if s.archive == nil {
		return store.Report{}, errors.New("reports are not configured")
	}
	l, err := s.load(ctx, tenantID, id)
	if err != nil {
		return store.Report{}, err
	}
	if l.Gate == nil {
		return store.Report{}, invalid("", store.CodeOneOf, nil, "only a go-live gate has a go-live report")
	}
	doc, err := l.Gate.Report(l.Gate.Decide(s.now().UTC()), lang)
	if err != nil {
		return store.Report{}, fmt.Errorf("go-live report: %w", err)
	}
	if t, err := s.store.Tenants().Get(ctx, tenantID); err == nil {
		doc.Tenant = t.Name
	}
	return s.archive.Generate(ctx, archive.Request{TenantID: tenantID, Service: ServiceGoLive, Kind: "golive-report", SourceID: id, Format: format, Doc: doc})
}

// ParsePorts parses a comma- or space-separated list of TCP ports.
func ParsePorts(field, v string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil || n == 0 {
			return nil, invalid(field, store.CodeOutOfRange, map[string]any{"min": 1, "max": 65535}, "ports are numbers from 1 to 65535")
		}
		out = append(out, uint16(n))
		if len(out) > MaxPorts {
			return nil, invalid(field, store.CodeTooMany, map[string]any{"max": MaxPorts}, "at most %d ports", MaxPorts)
		}
	}
	return out, nil
}
