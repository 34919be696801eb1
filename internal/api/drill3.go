package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
)

// Drills over several tenants, and the deletion of attack records.

// DrillParticipant is another tenant a drill covers, with its scope.
type DrillParticipant struct {
	TenantID string     `json:"tenant_id" minLength:"1" maxLength:"200"`
	Scope    DrillScope `json:"scope"`
}

func scopeDTO(sc drill.Scope) DrillScope {
	return DrillScope{CIDRs: sc.CIDRs, Hosts: sc.Hosts, AssetIDs: sc.AssetIDs, ExcludeCIDRs: sc.ExcludeCIDRs, ExcludeHosts: sc.ExcludeHosts,
		ExcludeAssetIDs: sc.ExcludeAssetIDs}
}

type drillRecordRefIn struct {
	TenantParam
	Drill  string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Record string `path:"record" maxLength:"200" doc:"Attack record ID"`
}

func (s *server) registerDrill3(base string, tags []string) {
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "delete-drill-record", Method: http.MethodDelete,
		Path: base + "/{drill}/records/{record}", Summary: "Delete an attack record with its observations and evidence files",
		Description:   "The directing team of the organising tenant only; refused once the drill is finished. Audited.",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteDrillRecord)
}

func (s *server) deleteDrillRecord(ctx context.Context, in *drillRecordRefIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return &noContent{}, s.opts.Drills.DeleteRecord(ctx, t.ID, in.Drill, in.Record)
}
