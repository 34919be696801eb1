package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// AuditEntry is one link of the hash-chained audit log.
type AuditEntry struct {
	Seq       int64           `json:"seq" doc:"Position in the chain, 1-based and gapless"`
	Time      time.Time       `json:"time"`
	ActorID   string          `json:"actor_id"`
	ActorName string          `json:"actor_name"`
	TenantID  string          `json:"tenant_id,omitempty" doc:"Absent for platform-wide actions"`
	Action    string          `json:"action" doc:"Dotted verb, e.g. asset.create"`
	Object    string          `json:"object" doc:"kind:id of the object acted on"`
	Detail    json.RawMessage `json:"detail" doc:"Action-specific JSON object"`
	IP        string          `json:"ip"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

func auditDTO(e store.AuditEntry) AuditEntry {
	detail := json.RawMessage(e.Detail)
	if !json.Valid(detail) {
		// Stored details are JSON; anything else is passed on as a string.
		detail, _ = json.Marshal(e.Detail)
	}
	return AuditEntry{Seq: e.Seq, Time: e.Time, ActorID: e.ActorID, ActorName: e.ActorName, TenantID: e.TenantID,
		Action: e.Action, Object: e.Object, Detail: detail, IP: e.IP, PrevHash: e.PrevHash, Hash: e.Hash}
}

// AuditList is one page of audit entries.
type AuditList struct {
	Items  []AuditEntry `json:"items"`
	Limit  int          `json:"limit"`
	Offset int          `json:"offset"`
}

// AuditQuery filters and pages an audit list.
type AuditQuery struct {
	Actor  string    `query:"actor" maxLength:"200" doc:"Only entries of this actor ID"`
	Action string    `query:"action" maxLength:"100" doc:"Only entries of this action"`
	Since  time.Time `query:"since" doc:"Only entries at or after this time (RFC 3339)"`
	Until  time.Time `query:"until" doc:"Only entries before this time (RFC 3339)"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int       `query:"offset" minimum:"0" doc:"Entries to skip"`
}

func (f AuditQuery) filter(tenantID string) store.AuditFilter {
	return store.AuditFilter{TenantID: tenantID, Actor: f.Actor, Action: f.Action, Since: f.Since, Until: f.Until,
		Page: store.Page{Limit: f.Limit, Offset: f.Offset}}
}

type tenantAuditIn struct {
	TenantParam
	AuditQuery
}

type globalAuditIn struct {
	AuditQuery
}

func (s *server) registerAudit() {
	tags := []string{"audit"}
	register(s, inTenant(auth.PermAuditRead), huma.Operation{OperationID: "list-tenant-audit", Method: http.MethodGet,
		Path: "/tenants/{tenant}/audit", Summary: "Read a tenant's audit log", Tags: tags}, s.listTenantAudit)
	register(s, platformWide(auth.PermAuditRead), huma.Operation{OperationID: "list-audit", Method: http.MethodGet,
		Path: "/audit", Summary: "Read the whole audit log",
		Description: "Every tenant's and the platform's entries; for global auditors and admins.", Tags: tags},
		s.listGlobalAudit)
}

func (s *server) auditList(ctx context.Context, f store.AuditFilter) (*out[AuditList], error) {
	es, err := s.opts.Audit.List(ctx, f)
	if err != nil {
		return nil, err
	}
	l := AuditList{Items: items(es, auditDTO), Limit: f.Limit, Offset: f.Offset}
	return reply(l)
}

func (s *server) listTenantAudit(ctx context.Context, in *tenantAuditIn) (*out[AuditList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.auditList(ctx, in.filter(t.ID))
}

func (s *server) listGlobalAudit(ctx context.Context, in *globalAuditIn) (*out[AuditList], error) {
	return s.auditList(ctx, in.filter(""))
}
