package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	riskreg "github.com/vigil-sec/vigil/internal/compliance/register"
	"github.com/vigil-sec/vigil/internal/compliance/risk"
)

// RiskEntryInput is the whole editable state of one risk register entry.
type RiskEntryInput struct {
	Version       int        `json:"version" minimum:"0" doc:"The version read; 0 skips the check"`
	Threat        string     `json:"threat" maxLength:"100"`
	Vulnerability string     `json:"vulnerability" maxLength:"100"`
	Asset         string     `json:"asset,omitempty" maxLength:"100" doc:"Asset of the vulnerability; empty keeps it"`
	Frequency     int        `json:"frequency" minimum:"1" maximum:"5" doc:"Threat frequency T (shared by every entry of the threat)"`
	Severity      int        `json:"severity" minimum:"1" maximum:"5" doc:"Vulnerability severity V (shared by every entry of the vulnerability)"`
	C             int        `json:"c" minimum:"1" maximum:"5"`
	I             int        `json:"i" minimum:"1" maximum:"5"`
	A             int        `json:"a" minimum:"1" maximum:"5"`
	Treatment     string     `json:"treatment,omitempty" maxLength:"20" doc:"reduce, transfer, avoid or accept; empty removes the decision"`
	Owner         string     `json:"owner,omitempty" maxLength:"1000"`
	Due           *time.Time `json:"due,omitempty"`
	Measure       string     `json:"measure,omitempty" maxLength:"1000"`
}

type riskEntryIn struct {
	TenantParam
	Risk     string `path:"risk" maxLength:"100"`
	Scenario string `path:"scenario" maxLength:"100"`
	Body     RiskEntryInput
}

// registerCompliance3 adds the edit of one risk register entry.
func (s *server) registerCompliance3() {
	if s.opts.Assessments == nil {
		return
	}
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "edit-risk-entry", Method: http.MethodPut,
		Path: "/tenants/{tenant}/risks/{risk}/entries/{scenario}", Summary: "Edit one risk register entry",
		Description: "Sets the entry's threat, vulnerability, asset, T, V, C/I/A and treatment; the risk is recomputed by the engine. " +
			"A stale version is 409.", Tags: []string{"risks"}}, s.editRiskEntry)
	s.registerSupervision()
}

func (s *server) editRiskEntry(ctx context.Context, in *riskEntryIn) (*out[RiskAssessment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	e := riskreg.EntryEdit{Threat: b.Threat, Vulnerability: b.Vulnerability, Asset: b.Asset, Frequency: b.Frequency, Severity: b.Severity,
		C: b.C, I: b.I, A: b.A, Treatment: risk.Treatment(b.Treatment), Owner: b.Owner, Measure: b.Measure}
	if b.Due != nil {
		e.Due = *b.Due
	}
	r, err := s.opts.Assessments.Register().EditEntry(ctx, t.ID, in.Risk, b.Version, in.Scenario, e)
	if err != nil {
		return nil, err
	}
	return reply(riskDTO(r))
}
