// Package bizsys manages business systems (应用系统): a tenant's assets
// grouped by the business purpose they serve, with owner, application
// contact, MLPS grade, data sensitivity and security needs gathered with
// the customer. A system's needs raise the importance of its member assets
// (see Implied and EffectiveImportance).
package bizsys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Data sensitivity classes, least to most sensitive.
const (
	SensitivityPublic       = "public"
	SensitivityInternal     = "internal"
	SensitivityConfidential = "confidential"
	SensitivitySecret       = "secret"
)

// Sensitivities lists the data sensitivity classes, least sensitive first.
func Sensitivities() []string {
	return []string{SensitivityPublic, SensitivityInternal, SensitivityConfidential, SensitivitySecret}
}

// Limits on a system, in characters or items.
const (
	MaxNameLen        = 200
	MaxOwnerLen       = 200
	MaxDescriptionLen = 4000
	// MaxSystems is how many systems a tenant may have.
	MaxSystems = 1000
	// MaxMembers is how many assets one system may hold.
	MaxMembers = 5000
)

// Service manages business systems.
type Service struct {
	store store.Store
	audit *audit.Log
}

// NewService returns a business system Service.
func NewService(s store.Store, a *audit.Log) *Service {
	return &Service{store: s, audit: a}
}

// Input is what a user may set on a business system.
type Input struct {
	Name            string
	Description     string
	Owner           string
	ContactID       string // a contact of the tenant, "" for none
	MLPSLevel       int    // 0 not graded, else 1 to 5
	DataSensitivity string // "" means internal
	Confidentiality int    // 1 to 5; 0 means the default, 3
	Integrity       int
	Availability    int
	// Version is the version the edit started from; Update refuses a
	// stale one. 0 on Update means overwrite whatever is stored.
	Version int
}

type args = map[string]any

func invalid(field, code string, a args, format string, fa ...any) error {
	return store.NewFieldError(field, code, a, format, fa...)
}

func checkText(field, v string, maxLen int, required bool) error {
	switch {
	case required && v == "":
		return invalid(field, store.CodeRequired, nil, "%s is required", field)
	case !utf8.ValidString(v):
		return invalid(field, store.CodeInvalidUTF8, nil, "%s must be UTF-8 text", field)
	case utf8.RuneCountInString(v) > maxLen:
		return invalid(field, store.CodeTooLong, args{"max": maxLen}, "%s must be at most %d characters", field, maxLen)
	}
	return nil
}

func need(field string, n int) (int, error) {
	if n == 0 {
		return 3, nil
	}
	if n < 1 || n > 5 {
		return 0, invalid(field, store.CodeOutOfRange, args{"min": 1, "max": 5}, "%s must be 1 to 5", field)
	}
	return n, nil
}

// apply validates in and writes it to b; the contact is checked against
// the tenant.
func (s *Service) apply(ctx context.Context, in Input, b *store.BusinessSystem) error {
	name := strings.TrimSpace(in.Name)
	if err := checkText("name", name, MaxNameLen, true); err != nil {
		return err
	}
	if strings.ContainsAny(name, "\r\n") {
		return invalid("name", store.CodeInvalidUTF8, nil, "name must be one line")
	}
	desc, owner := strings.TrimSpace(in.Description), strings.TrimSpace(in.Owner)
	if err := checkText("description", desc, MaxDescriptionLen, false); err != nil {
		return err
	}
	if err := checkText("owner", owner, MaxOwnerLen, false); err != nil {
		return err
	}
	if in.MLPSLevel < 0 || in.MLPSLevel > 5 {
		return invalid("mlps_level", store.CodeOutOfRange, args{"min": 0, "max": 5}, "MLPS level must be 0 (not graded) to 5")
	}
	sens := strings.TrimSpace(in.DataSensitivity)
	if sens == "" {
		sens = SensitivityInternal
	}
	if !slices.Contains(Sensitivities(), sens) {
		return invalid("data_sensitivity", store.CodeOneOf, args{"allowed": Sensitivities(), "value": sens},
			"data sensitivity must be one of %s", strings.Join(Sensitivities(), ", "))
	}
	c, err := need("confidentiality", in.Confidentiality)
	if err != nil {
		return err
	}
	i, err := need("integrity", in.Integrity)
	if err != nil {
		return err
	}
	a, err := need("availability", in.Availability)
	if err != nil {
		return err
	}
	contact := strings.TrimSpace(in.ContactID)
	if contact != "" {
		if len(contact) > 100 {
			return invalid("contact", store.CodeNotInTenant, nil, "choose a contact of this organisation")
		}
		if _, err := s.store.Contacts().Get(ctx, b.TenantID, contact); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return invalid("contact", store.CodeNotInTenant, nil, "choose a contact of this organisation")
			}
			return err
		}
	}
	b.Name, b.Description, b.Owner, b.ContactID = name, desc, owner, contact
	b.MLPSLevel, b.DataSensitivity = in.MLPSLevel, sens
	b.Confidentiality, b.Integrity, b.Availability = c, i, a
	return nil
}

func conflictName(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: a business system named %q already exists", store.ErrConflict, name)
	}
	return err
}

func detail(b store.BusinessSystem) map[string]any {
	return map[string]any{"name": b.Name, "mlps_level": b.MLPSLevel, "data_sensitivity": b.DataSensitivity,
		"confidentiality": b.Confidentiality, "integrity": b.Integrity, "availability": b.Availability,
		"owner": b.Owner, "contact": b.ContactID}
}

// Create adds a business system to a tenant.
func (s *Service) Create(ctx context.Context, tenantID string, in Input) (store.BusinessSystem, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.BusinessSystem{}, err
	}
	b := store.BusinessSystem{TenantID: tenantID}
	if err := s.apply(ctx, in, &b); err != nil {
		return store.BusinessSystem{}, err
	}
	existing, err := s.store.BusinessSystems().List(ctx, tenantID)
	if err != nil {
		return store.BusinessSystem{}, err
	}
	if len(existing) >= MaxSystems {
		return store.BusinessSystem{}, invalid("", store.CodeTooMany, args{"max": MaxSystems}, "at most %d business systems", MaxSystems)
	}
	if err := s.store.BusinessSystems().Create(ctx, &b); err != nil {
		return store.BusinessSystem{}, fmt.Errorf("create business system: %w", conflictName(err, b.Name))
	}
	return b, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "bizsys.create", Object: "bizsys:" + b.ID, Detail: detail(b)})
}

// Update replaces a system's editable fields; a stale in.Version is
// store.ErrConflict.
func (s *Service) Update(ctx context.Context, tenantID, id string, in Input) (store.BusinessSystem, error) {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return store.BusinessSystem{}, err
	}
	b, err := s.store.BusinessSystems().Get(ctx, tenantID, id)
	if err != nil {
		return store.BusinessSystem{}, fmt.Errorf("update business system: %w", err)
	}
	if in.Version != 0 {
		b.Version = in.Version
	}
	if err := s.apply(ctx, in, &b); err != nil {
		return store.BusinessSystem{}, err
	}
	if err := s.store.BusinessSystems().Update(ctx, &b); err != nil {
		return store.BusinessSystem{}, fmt.Errorf("update business system: %w", conflictName(err, b.Name))
	}
	return b, s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "bizsys.update", Object: "bizsys:" + b.ID, Detail: detail(b)})
}

// Delete removes a system; its assets stay.
func (s *Service) Delete(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	b, err := s.store.BusinessSystems().Get(ctx, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete business system: %w", err)
	}
	if err := s.store.BusinessSystems().Delete(ctx, tenantID, id); err != nil {
		return fmt.Errorf("delete business system: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "bizsys.delete", Object: "bizsys:" + id,
		Detail: map[string]any{"name": b.Name}})
}

// Get returns one system.
func (s *Service) Get(ctx context.Context, tenantID, id string) (store.BusinessSystem, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return store.BusinessSystem{}, err
	}
	return s.store.BusinessSystems().Get(ctx, tenantID, id)
}

// List returns a tenant's systems ordered by name.
func (s *Service) List(ctx context.Context, tenantID string) ([]store.BusinessSystem, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.BusinessSystems().List(ctx, tenantID)
}

// Members returns the member assets of a system, ordered by ID.
func (s *Service) Members(ctx context.Context, tenantID, id string) ([]store.Asset, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, err
	}
	return MemberAssets(ctx, s.store, tenantID, id)
}

// MemberAssets returns the member assets of a system without an
// authorisation check, for services that resolve a scope they already
// authorised.
func MemberAssets(ctx context.Context, st store.Store, tenantID, id string) ([]store.Asset, error) {
	if _, err := st.BusinessSystems().Get(ctx, tenantID, id); err != nil {
		return nil, err
	}
	ids, err := st.BusinessSystems().MemberIDs(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	out := make([]store.Asset, 0, len(ids))
	for _, aid := range ids {
		a, err := st.Assets().Get(ctx, tenantID, aid)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// AddMember puts an asset of the tenant into a system.
func (s *Service) AddMember(ctx context.Context, tenantID, id, assetID string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	b, err := s.store.BusinessSystems().Get(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if b.Members >= MaxMembers {
		return invalid("asset", store.CodeTooMany, args{"max": MaxMembers}, "a business system holds at most %d assets", MaxMembers)
	}
	assetID = strings.TrimSpace(assetID)
	if assetID == "" {
		return invalid("asset", store.CodeRequired, nil, "choose an asset")
	}
	if _, err := s.store.Assets().Get(ctx, tenantID, assetID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return invalid("asset", store.CodeNotInTenant, nil, "choose an asset of this organisation")
		}
		return err
	}
	if err := s.store.BusinessSystems().AddMember(ctx, tenantID, id, assetID); err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "bizsys.member.add", Object: "bizsys:" + id,
		Detail: map[string]any{"asset": assetID}})
}

// RemoveMember takes an asset out of a system.
func (s *Service) RemoveMember(ctx context.Context, tenantID, id, assetID string) error {
	if err := auth.Require(ctx, auth.PermAssetWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.BusinessSystems().RemoveMember(ctx, tenantID, id, assetID); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return s.audit.Record(ctx, audit.Event{TenantID: tenantID, Action: "bizsys.member.remove", Object: "bizsys:" + id,
		Detail: map[string]any{"asset": assetID}})
}

// SystemsOf returns the systems an asset belongs to and its effective
// importance.
func (s *Service) SystemsOf(ctx context.Context, tenantID string, a store.Asset) ([]store.BusinessSystem, Effective, error) {
	if err := auth.Require(ctx, auth.PermAssetRead, tenantID); err != nil {
		return nil, Effective{}, err
	}
	bs, err := s.store.BusinessSystems().SystemsOf(ctx, tenantID, a.ID)
	if err != nil {
		return nil, Effective{}, err
	}
	return bs, EffectiveImportance(a.Importance, bs), nil
}
