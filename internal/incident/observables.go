package incident

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Observable types.
const (
	ObsIP      = "ip"
	ObsDomain  = "domain"
	ObsURL     = "url"
	ObsHash    = "hash"
	ObsEmail   = "email"
	ObsFile    = "file"
	ObsUser    = "user"
	ObsProcess = "process"
	ObsOther   = "other"
)

// ObservableTypes returns the observable types.
func ObservableTypes() []string {
	return []string{ObsIP, ObsDomain, ObsURL, ObsHash, ObsEmail, ObsFile, ObsUser, ObsProcess, ObsOther}
}

// Normalize checks an observable value of a type and returns the form it
// is stored and searched in, so the same indicator written two ways is one
// observable: an IP address or CIDR prefix in its canonical form
// (IPv4-mapped IPv6 as IPv4, host bits of a prefix cleared, zones refused), a domain lower-cased without the trailing dot, a
// URL with a lower-case scheme and host, a hash as lower-case hex of an
// MD5, SHA-1, SHA-256 or SHA-512 length, an e-mail address lower-cased.
// Other types keep their text, trimmed. Values are at most MaxObsValue
// bytes of UTF-8 without control characters.
func Normalize(typ, value string) (string, error) {
	v := strings.TrimSpace(value)
	switch {
	case v == "":
		return "", invalid("value", store.CodeRequired, nil, "the value is required")
	case len(v) > MaxObsValue:
		return "", invalid("value", store.CodeTooLarge, map[string]any{"max": MaxObsValue}, "the value has more than %d bytes", MaxObsValue)
	case !utf8.ValidString(v):
		return "", invalid("value", store.CodeInvalidUTF8, nil, "the value must be UTF-8 text")
	case strings.ContainsFunc(v, unicode.IsControl):
		return "", invalid("value", store.CodeInvalidAttribute, nil, "the value contains a control character")
	}
	switch typ {
	case ObsIP:
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return "", invalid("value", store.CodeInvalidIP, map[string]any{"value": quoteValue(v)}, "not an IP address or CIDR prefix")
			}
			if p.Addr().Is4In6() {
				if p.Bits() < 96 {
					return "", invalid("value", store.CodeInvalidIP, map[string]any{"value": quoteValue(v)}, "not an IP address or CIDR prefix")
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			return p.Masked().String(), nil
		}
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return "", invalid("value", store.CodeInvalidIP, map[string]any{"value": quoteValue(v)}, "not an IP address")
		}
		return a.Unmap().String(), nil
	case ObsDomain:
		d := strings.TrimSuffix(strings.ToLower(v), ".")
		if !validDomain(d) {
			return "", invalid("value", store.CodeInvalidDomain, map[string]any{"value": quoteValue(v)}, "not a domain name")
		}
		return d, nil
	case ObsURL:
		u, err := url.Parse(v)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return "", invalid("value", store.CodeInvalidURL, map[string]any{"value": quoteValue(v)}, "not an absolute URL")
		}
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		return u.String(), nil
	case ObsHash:
		h := strings.ToLower(v)
		if _, err := hex.DecodeString(h); err != nil || (len(h) != 32 && len(h) != 40 && len(h) != 64 && len(h) != 128) {
			return "", invalid("value", store.CodeInvalidAttribute, map[string]any{"value": quoteValue(v)},
				"a hash is the hex of an MD5, SHA-1, SHA-256 or SHA-512")
		}
		return h, nil
	case ObsEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" || a.Address != v {
			return "", invalid("value", store.CodeInvalidEmail, map[string]any{"value": quoteValue(v)}, "not an e-mail address")
		}
		return strings.ToLower(a.Address), nil
	case ObsFile, ObsUser, ObsProcess, ObsOther:
		return v, nil
	}
	return "", oneOf("type", typ, ObservableTypes())
}

// validDomain accepts letters, digits, hyphens and underscores in labels
// of 1 to 63 bytes, at least two labels, 253 bytes at most; Unicode names
// are given in their A-label (xn--) form.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// searchValue is the form of a search text for the exact observable match:
// an IP address, hash or e-mail address as Normalize stores it, else the
// text lower-cased when it is a domain, else as typed.
func searchValue(q string) string {
	for _, t := range []string{ObsIP, ObsHash, ObsDomain, ObsEmail, ObsURL} {
		if v, err := Normalize(t, q); err == nil {
			return v
		}
	}
	return q
}

// ObservableInput is one observable to add to a case.
type ObservableInput struct {
	Type        string
	Value       string
	IOC         bool
	Tags        []string
	Description string
	FirstSeen   time.Time
	LastSeen    time.Time
}

// AddObservables adds observables to a case (at most MaxObsBatch per call
// and MaxObservables per case); one the case already has is merged.
func (s *Service) AddObservables(ctx context.Context, tenantID, caseID string, in []ObservableInput) ([]store.IncidentObservable, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, invalid("observables", store.CodeRequired, nil, "add at least one observable")
	}
	if len(in) > MaxObsBatch {
		return nil, invalid("observables", store.CodeTooMany, map[string]any{"max": MaxObsBatch}, "at most %d observables at once", MaxObsBatch)
	}
	actor := auth.FromContext(ctx).ActorID()
	obs := make([]store.IncidentObservable, 0, len(in))
	for _, o := range in {
		v, err := Normalize(o.Type, o.Value)
		if err != nil {
			return nil, err
		}
		tags, err := checkTags("tags", o.Tags, MaxObsTags)
		if err != nil {
			return nil, err
		}
		if err := checkText("description", o.Description, MaxNote, false); err != nil {
			return nil, err
		}
		if !o.FirstSeen.IsZero() && !o.LastSeen.IsZero() && o.LastSeen.Before(o.FirstSeen) {
			return nil, invalid("last_seen", store.CodeEndBeforeStart, nil, "last seen is before first seen")
		}
		obs = append(obs, store.IncidentObservable{Type: o.Type, Value: v, IOC: o.IOC, Tags: tags, Description: o.Description,
			FirstSeen: o.FirstSeen, LastSeen: o.LastSeen, CreatedBy: actor})
	}
	have, err := s.store.Incidents().Observables(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	if len(have)+len(obs) > MaxObservables {
		return nil, invalid("observables", store.CodeTooMany, map[string]any{"max": MaxObservables}, "a case holds at most %d observables", MaxObservables)
	}
	if err := s.store.Incidents().AddObservables(ctx, tenantID, caseID, obs); err != nil {
		return nil, err
	}
	detail := make([]string, 0, min(len(obs), 50))
	for i, o := range obs {
		if i == 50 {
			break
		}
		detail = append(detail, o.Type+":"+o.Value)
	}
	return obs, s.record(ctx, tenantID, "incident.observables", caseID, map[string]any{"count": len(obs), "observables": detail})
}

// SetIOC flags or unflags an observable of a case as an indicator of
// compromise.
func (s *Service) SetIOC(ctx context.Context, tenantID, caseID, observableID string, ioc bool) error {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return err
	}
	obs, err := s.store.Incidents().Observables(ctx, tenantID, caseID)
	if err != nil {
		return err
	}
	for _, o := range obs {
		if o.ID == observableID {
			o.IOC = ioc
			if err := s.store.Incidents().UpdateObservable(ctx, &o); err != nil {
				return err
			}
			return s.record(ctx, tenantID, "incident.observable.ioc", caseID, map[string]any{"observable": o.Type + ":" + o.Value, "ioc": ioc})
		}
	}
	return fmt.Errorf("observable %s: %w", observableID, store.ErrNotFound)
}

// Sighting is an observable of a case also seen on other cases.
type Sighting struct {
	Observable store.IncidentObservable
	Others     []store.IncidentObservable // on other cases of the tenant, newest first
}

// maxSightings bounds the other cases listed per observable.
const maxSightings = 20

// Observables lists a case's observables.
func (s *Service) Observables(ctx context.Context, tenantID, caseID string) ([]store.IncidentObservable, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Incidents().Observables(ctx, tenantID, caseID)
}

// Sightings lists the case's observables that other cases of the tenant
// also have.
func (s *Service) Sightings(ctx context.Context, tenantID, caseID string) ([]Sighting, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	obs, err := s.store.Incidents().Observables(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	var out []Sighting
	for _, o := range obs {
		others, err := s.store.Incidents().Sightings(ctx, tenantID, caseID, o.Type, o.Value, maxSightings)
		if err != nil {
			return nil, err
		}
		if len(others) > 0 {
			out = append(out, Sighting{Observable: o, Others: others})
		}
	}
	return out, nil
}

// Enrichment is what a threat intelligence source knows of an observable.
type Enrichment struct {
	Source     string
	Verdict    string // e.g. malicious, suspicious, unknown
	Confidence int    // 0..100
	Tags       []string
	Summary    string
	Reference  string // a link or identifier in the source
}

// Enricher looks an observable up, for the analyst's view; the service
// stores nothing it returns.
type Enricher interface {
	Enrich(ctx context.Context, tenantID string, o store.IncidentObservable) ([]Enrichment, error)
}

// Enrich asks the configured Enricher about an observable of a case;
// without one it returns nothing.
func (s *Service) Enrich(ctx context.Context, tenantID, caseID, observableID string) ([]Enrichment, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	obs, err := s.store.Incidents().Observables(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	for _, o := range obs {
		if o.ID == observableID {
			if s.enricher == nil {
				return nil, nil
			}
			return s.enricher.Enrich(ctx, tenantID, o)
		}
	}
	return nil, fmt.Errorf("observable %s: %w", observableID, store.ErrNotFound)
}
