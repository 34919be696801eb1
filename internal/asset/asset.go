// Package asset owns the asset inventory, the shared anchor every service
// links to: hosts, IPs, domains, URLs, services, devices and applications of
// a tenant, with owner, tags and importance. Discovery lives in
// asset/discovery (a later issue); this package is the model and its CRUD.
package asset

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Kinds lists the asset kinds.
func Kinds() []string {
	return []string{"host", "ip", "domain", "url", "service", "device", "application"}
}

// Limits on what one asset may carry.
const (
	MaxTags       = 32
	MaxTagLen     = 64
	MaxAttributes = 64
	MaxAttrLen    = 1024
)

// Service manages assets.
type Service struct {
	store  store.AssetStore
	audit  *audit.Log
	logger *slog.Logger
}

// Options configures a Service.
type Options struct {
	Logger *slog.Logger
}

// NewService returns an asset Service.
func NewService(s store.AssetStore, a *audit.Log, opts Options) *Service {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Service{store: s, audit: a, logger: l}
}

// Input is what a user may set on an asset.
type Input struct {
	Kind        string
	Name        string
	Address     string
	Owner       string
	Importance  int // 0 means the default, 3
	Tags        []string
	Description string
	Attributes  map[string]string
}

// args are the values a validation message needs.
type args = map[string]any

// invalid is a validation failure of field; the message is English.
func invalid(field, code string, a args, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

// Other limits on an asset's text, in characters.
const (
	maxNameLen        = 200
	maxAddressLen     = 2048
	maxOwnerLen       = 200
	maxDescriptionLen = 4000
	maxQueryLen       = 200
)

var (
	hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,62}[a-z0-9_])?)*\.?$`)
	tagRE      = regexp.MustCompile(`^[\p{L}\p{N}._:/-]+$`)
)

// checkAddress validates the address against the kind. Empty is allowed
// for applications and devices, which may be known by name only.
func checkAddress(kind, addr string) error {
	if addr == "" {
		if kind == "application" || kind == "device" || kind == "host" {
			return nil
		}
		return invalid("address", store.CodeRequired, args{"kind": kind}, "address is required for a %s asset", kind)
	}
	if len(addr) > maxAddressLen {
		return invalid("address", store.CodeTooLong, args{"max": maxAddressLen}, "address must be at most %d characters", maxAddressLen)
	}
	isHost := func(s string) bool { return len(s) <= 253 && hostnameRE.MatchString(s) }
	switch kind {
	case "ip":
		if _, err := netip.ParseAddr(addr); err == nil {
			return nil
		}
		if _, err := netip.ParsePrefix(addr); err == nil {
			return nil
		}
		return invalid("address", store.CodeInvalidIP, args{"value": addr}, "%q is not an IP address or CIDR", addr)
	case "domain":
		if !isHost(addr) || !strings.Contains(addr, ".") {
			return invalid("address", store.CodeInvalidDomain, args{"value": addr}, "%q is not a domain name", addr)
		}
	case "url":
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return invalid("address", store.CodeInvalidURL, args{"value": addr}, "%q is not an http(s) URL", addr)
		}
	case "service":
		h, p, err := net.SplitHostPort(addr)
		if err != nil || p == "" || (h != "" && !isHost(h) && !validIP(h)) {
			return invalid("address", store.CodeInvalidHostPort, args{"value": addr}, "%q is not host:port", addr)
		}
	default: // host, device, application: an IP or a hostname
		if !validIP(addr) && !isHost(addr) {
			return invalid("address", store.CodeInvalidHost, args{"value": addr}, "%q is not an IP address or host name", addr)
		}
	}
	return nil
}

func validIP(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

func (in Input) apply(a *store.Asset) error {
	if !slices.Contains(Kinds(), in.Kind) {
		return invalid("kind", store.CodeOneOf, args{"allowed": Kinds(), "value": in.Kind},
			"kind must be one of %s", strings.Join(Kinds(), ", "))
	}
	a.Kind = in.Kind
	name := strings.TrimSpace(in.Name)
	addr := strings.TrimSpace(in.Address)
	if name == "" {
		name = addr
	}
	const nameMsg = "name must be 1 to %d characters"
	switch {
	case name == "":
		return invalid("name", store.CodeRequired, nil, nameMsg, maxNameLen)
	case !utf8.ValidString(name):
		return invalid("name", store.CodeInvalidUTF8, nil, nameMsg, maxNameLen)
	case utf8.RuneCountInString(name) > maxNameLen:
		return invalid("name", store.CodeTooLong, args{"max": maxNameLen}, nameMsg, maxNameLen)
	}
	a.Name = name
	if err := checkAddress(a.Kind, addr); err != nil {
		return err
	}
	a.Address = addr
	a.Owner = strings.TrimSpace(in.Owner)
	if utf8.RuneCountInString(a.Owner) > maxOwnerLen {
		return invalid("owner", store.CodeTooLong, args{"max": maxOwnerLen}, "owner must be at most %d characters", maxOwnerLen)
	}
	a.Importance = in.Importance
	if a.Importance == 0 {
		a.Importance = 3
	}
	if a.Importance < 1 || a.Importance > 5 {
		return invalid("importance", store.CodeOutOfRange, args{"min": 1, "max": 5}, "importance must be 1 to 5")
	}
	tags := make([]string, 0, len(in.Tags))
	for _, t := range in.Tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTagLen || !tagRE.MatchString(t) {
			return invalid("tags", store.CodeInvalidTag, args{"value": t, "max": MaxTagLen},
				"tag %q must be at most %d letters, digits or . _ : / -", t, MaxTagLen)
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > MaxTags {
		return invalid("tags", store.CodeTooMany, args{"max": MaxTags}, "at most %d tags", MaxTags)
	}
	slices.Sort(tags)
	a.Tags = tags
	a.Description = strings.TrimSpace(in.Description)
	if utf8.RuneCountInString(a.Description) > maxDescriptionLen {
		return invalid("description", store.CodeTooLong, args{"max": maxDescriptionLen},
			"description must be at most %d characters", maxDescriptionLen)
	}
	if len(in.Attributes) > MaxAttributes {
		return invalid("attributes", store.CodeTooMany, args{"max": MaxAttributes}, "at most %d attributes", MaxAttributes)
	}
	a.Attributes = make(map[string]string, len(in.Attributes))
	for k, v := range in.Attributes {
		if k == "" || len(k) > MaxTagLen || len(v) > MaxAttrLen {
			return invalid("attributes", store.CodeInvalidAttribute, args{"max_name": MaxTagLen, "max_value": MaxAttrLen},
				"attribute names must be 1 to %d bytes and values at most %d", MaxTagLen, MaxAttrLen)
		}
		a.Attributes[k] = v
	}
	return nil
}

// Create adds an asset to a tenant.
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (store.Asset, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.Asset{}, err
	}
	a := store.Asset{TenantID: tenantID}
	if err := in.apply(&a); err != nil {
		return store.Asset{}, err
	}
	if err := s.store.Create(ctx, &a); err != nil {
		return store.Asset{}, fmt.Errorf("create asset: %w", err)
	}
	return a, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "asset.create", Object: "asset:" + a.ID,
		Detail: map[string]any{"name": a.Name, "kind": a.Kind, "address": a.Address, "importance": a.Importance}})
}

// Update replaces an asset's editable fields.
func (s *Service) Update(ctx context.Context, tenantID, id string, in Input) (store.Asset, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.Asset{}, err
	}
	a, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return store.Asset{}, fmt.Errorf("update asset: %w", err)
	}
	if err := in.apply(&a); err != nil {
		return store.Asset{}, err
	}
	if err := s.store.Update(ctx, &a); err != nil {
		return store.Asset{}, fmt.Errorf("update asset: %w", err)
	}
	return a, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "asset.update", Object: "asset:" + a.ID,
		Detail: map[string]any{"name": a.Name, "kind": a.Kind, "address": a.Address, "importance": a.Importance}})
}

// Delete removes an asset.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	a, err := s.store.Get(ctx, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete asset: %w", err)
	}
	if err := s.store.Delete(ctx, tenantID, id); err != nil {
		return fmt.Errorf("delete asset: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "asset.delete", Object: "asset:" + id,
		Detail: map[string]string{"name": a.Name}})
}

// Get returns one asset.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.Asset, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.Asset{}, err
	}
	return s.store.Get(ctx, tenantID, id)
}

// List returns a page of a tenant's assets and the total matching count.
func (s *Service) List(ctx context.Context, tenantID string, f store.AssetFilter) ([]store.Asset, int, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, 0, err
	}
	if len(f.Query) > maxQueryLen {
		return nil, 0, invalid("q", store.CodeTooLong, args{"max": maxQueryLen}, "search text must be at most %d characters", maxQueryLen)
	}
	list, err := s.store.List(ctx, tenantID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list assets: %w", err)
	}
	n, err := s.store.Count(ctx, tenantID, f)
	if err != nil {
		return nil, 0, fmt.Errorf("count assets: %w", err)
	}
	return list, n, nil
}
