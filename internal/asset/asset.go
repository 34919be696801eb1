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

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

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
		return invalid("address is required for a %s asset", kind)
	}
	if len(addr) > 2048 {
		return invalid("address must be at most 2048 characters")
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
		return invalid("%q is not an IP address or CIDR", addr)
	case "domain":
		if !isHost(addr) || !strings.Contains(addr, ".") {
			return invalid("%q is not a domain name", addr)
		}
	case "url":
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return invalid("%q is not an http(s) URL", addr)
		}
	case "service":
		h, p, err := net.SplitHostPort(addr)
		if err != nil || p == "" || (h != "" && !isHost(h) && !validIP(h)) {
			return invalid("%q is not host:port", addr)
		}
	default: // host, device, application: an IP or a hostname
		if !validIP(addr) && !isHost(addr) {
			return invalid("%q is not an IP address or host name", addr)
		}
	}
	return nil
}

func validIP(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

func (in Input) apply(a *store.Asset) error {
	if !slices.Contains(Kinds(), in.Kind) {
		return invalid("kind must be one of %s", strings.Join(Kinds(), ", "))
	}
	a.Kind = in.Kind
	name := strings.TrimSpace(in.Name)
	addr := strings.TrimSpace(in.Address)
	if name == "" {
		name = addr
	}
	if name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return invalid("name must be 1 to 200 characters")
	}
	a.Name = name
	if err := checkAddress(a.Kind, addr); err != nil {
		return err
	}
	a.Address = addr
	a.Owner = strings.TrimSpace(in.Owner)
	if utf8.RuneCountInString(a.Owner) > 200 {
		return invalid("owner must be at most 200 characters")
	}
	a.Importance = in.Importance
	if a.Importance == 0 {
		a.Importance = 3
	}
	if a.Importance < 1 || a.Importance > 5 {
		return invalid("importance must be 1 to 5")
	}
	tags := make([]string, 0, len(in.Tags))
	for _, t := range in.Tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTagLen || !tagRE.MatchString(t) {
			return invalid("tag %q must be at most %d letters, digits or . _ : / -", t, MaxTagLen)
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > MaxTags {
		return invalid("at most %d tags", MaxTags)
	}
	slices.Sort(tags)
	a.Tags = tags
	a.Description = strings.TrimSpace(in.Description)
	if utf8.RuneCountInString(a.Description) > 4000 {
		return invalid("description must be at most 4000 characters")
	}
	if len(in.Attributes) > MaxAttributes {
		return invalid("at most %d attributes", MaxAttributes)
	}
	a.Attributes = make(map[string]string, len(in.Attributes))
	for k, v := range in.Attributes {
		if k == "" || len(k) > MaxTagLen || len(v) > MaxAttrLen {
			return invalid("attribute names must be 1 to %d bytes and values at most %d", MaxTagLen, MaxAttrLen)
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
	if len(f.Query) > 200 {
		return nil, 0, invalid("search text must be at most 200 characters")
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
