package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/drill/exercise"
	"github.com/vigil-sec/vigil/internal/store"
)

// DrillScope is what the attacking teams may touch.
type DrillScope struct {
	CIDRs           []string `json:"cidrs,omitempty" maxItems:"10000"`
	Hosts           []string `json:"hosts,omitempty" maxItems:"10000" doc:"Host names; *.domain covers every name below it"`
	AssetIDs        []string `json:"asset_ids,omitempty" maxItems:"10000"`
	ExcludeCIDRs    []string `json:"exclude_cidrs,omitempty" maxItems:"10000"`
	ExcludeHosts    []string `json:"exclude_hosts,omitempty" maxItems:"10000"`
	ExcludeAssetIDs []string `json:"exclude_asset_ids,omitempty" maxItems:"10000"`
}

func (s DrillScope) engine() drill.Scope {
	return drill.Scope{CIDRs: s.CIDRs, Hosts: s.Hosts, AssetIDs: s.AssetIDs, ExcludeCIDRs: s.ExcludeCIDRs, ExcludeHosts: s.ExcludeHosts,
		ExcludeAssetIDs: s.ExcludeAssetIDs}
}

// DrillTeam is one side of a drill.
type DrillTeam struct {
	Name     string   `json:"name" minLength:"1" maxLength:"200"`
	Role     string   `json:"role" enum:"attacker,defender,director"`
	Unit     string   `json:"unit,omitempty" maxLength:"200" doc:"The organisation a defending team protects"`
	Members  []string `json:"members,omitempty" maxItems:"500" doc:"Usernames; when a role lists members, only they act for it"`
	TenantID string   `json:"tenant_id,omitempty" maxLength:"200" doc:"The participant tenant a defending team defends; empty for the drill's own tenant"`
}

// DrillCase is a planned test case.
type DrillCase struct {
	ID        string   `json:"id"`
	Technique string   `json:"technique"`
	Tactic    string   `json:"tactic,omitempty"`
	Name      string   `json:"name"`
	Layers    []string `json:"layers" doc:"Defence layers expected to block or see it"`
	Source    string   `json:"source,omitempty"`
}

// DrillStateChange is one entry of the state history.
type DrillStateChange struct {
	From   string    `json:"from"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
}

// DrillBoard is the director's live view.
type DrillBoard struct {
	Planned  int `json:"planned"`
	Executed int `json:"executed"`
	Alerted  int `json:"alerted" doc:"Executed cases alerted or blocked"`
	Blocked  int `json:"blocked"`
	Records  int `json:"records"`
	// Reports counts the defender reports.
	Reports DrillBoardReports `json:"reports"`
}

// Drill is an attack/defence drill.
type Drill struct {
	ID                string             `json:"id"`
	Name              string             `json:"name"`
	State             string             `json:"state" enum:"planned,running,paused,finished"`
	Start             time.Time          `json:"start"`
	End               time.Time          `json:"end"`
	RulesOfEngagement string             `json:"rules_of_engagement,omitempty"`
	Scope             DrillScope         `json:"scope" doc:"The scope of the drill's own tenant; for a participant, its own scope"`
	Participants      []DrillParticipant `json:"participants" doc:"Other tenants the drill covers; a participant sees only itself"`
	TenantID          string             `json:"tenant_id" doc:"The tenant running the drill"`
	Teams             []DrillTeam        `json:"teams"`
	Cases             []DrillCase        `json:"cases"`
	Board             DrillBoard         `json:"board"`
	Scores            map[string]int     `json:"scores" doc:"Points per attacking and defending team"`
	StateLog          []DrillStateChange `json:"state_log"`
	Version           int                `json:"version" doc:"Pass it back on transitions; a stale version is a conflict"`
	CreatedAt         time.Time          `json:"created_at"`
	UpdatedAt         time.Time          `json:"updated_at"`
}

func drillDTO(d *exercise.Drill) Drill {
	sc := d.Scope
	out := Drill{ID: d.ID, Name: d.Name, State: string(d.State), Start: d.Window.Start, End: d.Window.End, RulesOfEngagement: d.RulesOfEngagement,
		Scope: DrillScope{CIDRs: sc.CIDRs, Hosts: sc.Hosts, AssetIDs: sc.AssetIDs, ExcludeCIDRs: sc.ExcludeCIDRs, ExcludeHosts: sc.ExcludeHosts,
			ExcludeAssetIDs: sc.ExcludeAssetIDs}, Teams: []DrillTeam{}, Cases: []DrillCase{}, Scores: map[string]int{},
		StateLog: []DrillStateChange{}, Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		Participants: []DrillParticipant{}, TenantID: d.TenantID}
	for _, t := range d.Teams {
		out.Teams = append(out.Teams, DrillTeam{Name: t.Name, Role: string(t.Role), Unit: t.Unit, Members: t.Members, TenantID: t.TenantID})
	}
	for _, p := range d.Participants {
		out.Participants = append(out.Participants, DrillParticipant{TenantID: p.TenantID, Scope: scopeDTO(p.Scope)})
	}
	for _, c := range d.Cases {
		dc := DrillCase{ID: c.ID, Technique: c.Technique, Tactic: c.Tactic, Name: c.Name, Layers: []string{}, Source: c.Source}
		for _, l := range c.Layers {
			dc.Layers = append(dc.Layers, string(l))
		}
		out.Cases = append(out.Cases, dc)
	}
	for _, c := range d.StateLog {
		out.StateLog = append(out.StateLog, DrillStateChange{From: string(c.From), To: string(c.To), At: c.At, By: c.By, Reason: c.Reason})
	}
	b := d.Board()
	out.Board = DrillBoard{Planned: b.Planned, Executed: b.Executed, Alerted: b.Alerted, Blocked: b.Blocked, Records: b.Records,
		Reports: DrillBoardReports{Submitted: b.Reports, Accepted: b.ReportsAccepted}}
	if scores, err := d.Score(); err == nil {
		for k, v := range scores.Attackers {
			out.Scores[k] = v
		}
		for k, v := range scores.Defenders {
			out.Scores[k] = v
		}
	}
	return out
}

// DrillSummary is a drill in a list.
type DrillSummary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DrillInput plans a drill.
type DrillInput struct {
	Name              string             `json:"name" minLength:"1" maxLength:"200"`
	RulesOfEngagement string             `json:"rules_of_engagement,omitempty" maxLength:"20000"`
	Start             time.Time          `json:"start"`
	End               time.Time          `json:"end"`
	Scope             DrillScope         `json:"scope,omitempty" doc:"What may be attacked of the tenant itself; may be empty when participants are listed"`
	Teams             []DrillTeam        `json:"teams" minItems:"3" maxItems:"100"`
	LibraryCases      []string           `json:"library_cases,omitempty" maxItems:"2000" doc:"IDs of cases of the built-in library (vigil drill library)"`
	Participants      []DrillParticipant `json:"participants,omitempty" maxItems:"100" doc:"Other tenants the drill covers, each with its scope; needs assessment.write in each"`
}

// DrillRecordInput is one attack action the attacking team reports.
type DrillRecordInput struct {
	Team        string    `json:"team" minLength:"1" maxLength:"200"`
	What        string    `json:"what" minLength:"1" maxLength:"20000"`
	At          time.Time `json:"at,omitzero" doc:"Defaults to now"`
	Technique   string    `json:"technique" maxLength:"12" doc:"ATT&CK technique, e.g. T1110.001"`
	CaseID      string    `json:"case_id,omitempty" maxLength:"200"`
	From        string    `json:"from,omitempty" maxLength:"200"`
	Host        string    `json:"host,omitempty" maxLength:"200"`
	Address     string    `json:"address,omitempty" maxLength:"200"`
	AssetID     string    `json:"asset_id,omitempty" maxLength:"200"`
	Evidence    []string  `json:"evidence,omitempty" maxItems:"50" doc:"References to stored files; never rendered as markup"`
	Foothold    bool      `json:"foothold,omitempty"`
	Privilege   bool      `json:"privilege,omitempty"`
	Data        bool      `json:"data,omitempty"`
	Achievement string    `json:"achievement,omitempty" enum:"boundary_breached,target_system,important_data,other_system,"`
	Unit        string    `json:"unit,omitempty" maxLength:"200" doc:"Defending unit that owns the target"`
	TenantID    string    `json:"tenant_id,omitempty" maxLength:"200" doc:"The participant tenant whose asset is targeted; empty for the drill's own tenant"`
}

// DrillRecord is a recorded attack action.
type DrillRecord struct {
	ID          string    `json:"id"`
	CaseID      string    `json:"case_id,omitempty"`
	Team        string    `json:"team"`
	What        string    `json:"what"`
	At          time.Time `json:"at"`
	From        string    `json:"from,omitempty"`
	Target      string    `json:"target"`
	Technique   string    `json:"technique"`
	Evidence    []string  `json:"evidence"`
	Foothold    bool      `json:"foothold"`
	Privilege   bool      `json:"privilege"`
	Data        bool      `json:"data"`
	Achievement string    `json:"achievement,omitempty"`
	Unit        string    `json:"unit,omitempty"`
	TenantID    string    `json:"tenant_id,omitempty" doc:"The participant tenant targeted; empty for the drill's own tenant"`
}

func recordDTO(r drill.AttackRecord) DrillRecord {
	return DrillRecord{ID: r.ID, CaseID: r.CaseID, Team: r.Team, What: r.What, At: r.At, From: r.From, Target: r.Target.String(),
		Technique: r.Technique, Evidence: nonNilStrings(r.Evidence), Foothold: r.Result.Foothold, Privilege: r.Result.Privilege,
		Data: r.Result.Data, Achievement: string(r.Achievement), Unit: r.Unit, TenantID: r.TenantID}
}

// DrillTransitionInput starts, pauses (the emergency stop), resumes or finishes
// a drill.
type DrillTransitionInput struct {
	To      string `json:"to" enum:"running,paused,finished"`
	Reason  string `json:"reason,omitempty" maxLength:"20000" doc:"Required for the emergency stop (running → paused)"`
	Version int    `json:"version" minimum:"0" doc:"The version read; 0 takes the current one"`
}

// DrillSuggestion proposes that an alert or incident detected a record.
type DrillSuggestion struct {
	RecordID  string    `json:"record_id"`
	AlertID   string    `json:"alert_id" doc:"An alert ID, or incident:<id>"`
	Rule      string    `json:"rule"`
	Layer     string    `json:"layer"`
	At        time.Time `json:"at"`
	DelayMS   int64     `json:"delay_ms"`
	Matched   string    `json:"matched"`
	Technique string    `json:"technique" enum:"exact,related,unknown"`
}

// DrillConfirmInput accepts a proposed link.
type DrillConfirmInput struct {
	RecordID    string    `json:"record_id" minLength:"1" maxLength:"200"`
	AlertID     string    `json:"alert_id" minLength:"1" maxLength:"300"`
	RespondedAt time.Time `json:"responded_at,omitzero" doc:"When the response began, if it did"`
}

type drillParamIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
}

type drillListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type drillCreateIn struct {
	TenantParam
	Body DrillInput
}

type drillRecordIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillRecordInput
}

type drillTransitionIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillTransitionInput
}

type drillConfirmIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillConfirmInput
}

func (s *server) registerDrills() {
	if s.opts.Drills == nil {
		return
	}
	tags := []string{"drills"}
	base := "/tenants/{tenant}/drills"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drills", Method: http.MethodGet, Path: base,
		Summary: "List attack/defence drills", Description: "Latest start first.", Tags: tags}, s.listDrills)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "create-drill", Method: http.MethodPost, Path: base,
		Summary: "Plan a drill", DefaultStatus: http.StatusCreated, Tags: tags}, s.createDrill)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-drill", Method: http.MethodGet, Path: base + "/{drill}",
		Summary: "Get a drill with its board, scores and state history", Tags: tags}, s.getDrill)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drill-records", Method: http.MethodGet,
		Path: base + "/{drill}/records", Summary: "List a drill's attack records", Tags: tags}, s.listDrillRecords)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "record-drill-attack", Method: http.MethodPost,
		Path: base + "/{drill}/records", Summary: "Record an attack action",
		Description: "The scope guard refuses a target outside the drill's scope (422) and nothing is stored.", DefaultStatus: http.StatusCreated,
		Tags: tags}, s.recordDrillAttack)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "transition-drill", Method: http.MethodPost,
		Path: base + "/{drill}/transitions", Summary: "Start, pause (emergency stop), resume or finish a drill", Tags: tags}, s.transitionDrill)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "drill-suggestions", Method: http.MethodGet,
		Path: base + "/{drill}/suggestions", Summary: "Alerts and incidents that may have detected attack records", Tags: tags}, s.drillSuggestions)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "confirm-drill-detection", Method: http.MethodPost,
		Path: base + "/{drill}/confirmations", Summary: "Confirm that an alert or incident detected an attack record", Tags: tags}, s.confirmDrill)
	s.registerDrillReports(base, tags)
	s.registerDrill3(base, tags)
}

// DrillBoardReports counts a drill's defender reports.
type DrillBoardReports struct {
	Submitted int `json:"submitted"`
	Accepted  int `json:"accepted" doc:"Accepted by the directing team; only these score"`
}

// DrillReport is a defender report (analysis, response, notification,
// coordination, tracing) with the directing team's decision and the
// points it made under the drill's scheme.
type DrillReport struct {
	ID       string    `json:"id"`
	Team     string    `json:"team"`
	Kind     string    `json:"kind" enum:"analysis,response,notification,coordination,tracing"`
	Title    string    `json:"title"`
	Text     string    `json:"text,omitempty"`
	RecordID string    `json:"record_id,omitempty" doc:"The attack record the report is scored on"`
	Related  []string  `json:"related_records" doc:"Further attack records the report covers"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Accepted bool      `json:"accepted"`
	Points   int       `json:"points" doc:"Points counted for it (0 until accepted)"`
}

func drillReportDTO(r drill.DefenceReport, points map[string]int) DrillReport {
	return DrillReport{ID: r.ID, Team: r.Team, Kind: string(r.Kind), Title: r.Title, Text: r.Text, RecordID: r.RecordID,
		Related: nonNilStrings(r.Related), By: r.By, At: r.At, Accepted: r.Accepted, Points: points[r.ID]}
}

// reportPoints are the points each accepted report made.
func reportPoints(d *exercise.Drill) map[string]int {
	out := map[string]int{}
	if sc, err := d.Score(); err == nil {
		for _, l := range sc.Lines {
			if l.Side == drill.RoleDefender && strings.HasPrefix(l.Item, "report_") {
				out[l.Ref] += l.Points
			}
		}
	}
	return out
}

// DrillReportInput submits a defender report; the caller is its author.
type DrillReportInput struct {
	Team     string   `json:"team" minLength:"1" maxLength:"200" doc:"A defending team of the drill"`
	Kind     string   `json:"kind" enum:"analysis,response,notification,coordination,tracing"`
	Title    string   `json:"title" minLength:"1" maxLength:"200"`
	Text     string   `json:"text,omitempty" maxLength:"20000"`
	RecordID string   `json:"record_id,omitempty" maxLength:"200" doc:"The attack record it is scored on"`
	Related  []string `json:"related_records,omitempty" maxItems:"50"`
}

// DrillReportDecision is the directing team's decision on a report.
type DrillReportDecision struct {
	Accepted bool `json:"accepted"`
}

// DrillRemediation is a gap of the drill's summary turned into a work
// item, with the work order made for it.
type DrillRemediation struct {
	CaseID      string   `json:"case_id"`
	Title       string   `json:"title"`
	Area        string   `json:"area" enum:"products,policies,system,people,coordination"`
	Priority    string   `json:"priority"`
	Technique   string   `json:"technique"`
	Assets      []string `json:"assets"`
	Advice      string   `json:"advice"`
	WorkOrderID string   `json:"work_order_id,omitempty" doc:"The remediation work order, once made"`
}

// DrillRemediateInput asks for a gap's work order.
type DrillRemediateInput struct {
	CaseID string `json:"case_id" minLength:"1" maxLength:"200" doc:"The gap's case"`
	Lang   string `json:"lang,omitempty" enum:"en,zh-CN," doc:"Language of the order's title and advice"`
}

type drillReportSubmitIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillReportInput
}

type drillReportDecideIn struct {
	TenantParam
	Drill  string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Report string `path:"report" maxLength:"200" doc:"Report ID"`
	Body   DrillReportDecision
}

type drillRemediationIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Lang  string `query:"lang" enum:"en,zh-CN," doc:"Language of titles and advice"`
}

type drillRemediateIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Body  DrillRemediateInput
}

type drillFilesIn struct {
	TenantParam
	Drill  string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Record string `path:"record" maxLength:"200" doc:"Attack record ID"`
}

type drillFileIn struct {
	TenantParam
	Drill  string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Record string `path:"record" maxLength:"200" doc:"Attack record ID"`
	File   string `path:"file" maxLength:"100" doc:"Attachment ID"`
}

type drillFileAddIn struct {
	TenantParam
	Drill   string `path:"drill" maxLength:"100" doc:"Drill ID"`
	Record  string `path:"record" maxLength:"200" doc:"Attack record ID"`
	RawBody huma.MultipartFormFiles[AttachmentForm]
}

type drillOwnFilesIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
}

type drillOwnFileIn struct {
	TenantParam
	Drill string `path:"drill" maxLength:"100" doc:"Drill ID"`
	File  string `path:"file" maxLength:"100" doc:"Attachment ID"`
}

type drillOwnFileAddIn struct {
	TenantParam
	Drill   string `path:"drill" maxLength:"100" doc:"Drill ID"`
	RawBody huma.MultipartFormFiles[AttachmentForm]
}

// registerDrillReports adds defender reports, gap remediation and
// evidence files.
func (s *server) registerDrillReports(base string, tags []string) {
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drill-reports", Method: http.MethodGet,
		Path: base + "/{drill}/reports", Summary: "List a drill's defender reports", Description: "Oldest first, with the points each made.",
		Tags: tags}, s.listDrillReports)
	register(s, inTenant(auth.PermEventTriage), huma.Operation{OperationID: "submit-drill-report", Method: http.MethodPost,
		Path: base + "/{drill}/reports", Summary: "Submit a defender report",
		Description: "Analysis, response, notification, coordination or tracing, by a defending team (its members when it lists " +
			"them); the caller is the author. It scores once the directing team accepts it, as the drill's scheme says.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.submitDrillReport)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "decide-drill-report", Method: http.MethodPost,
		Path: base + "/{drill}/reports/{report}/decision", Summary: "Accept or reject a defender report",
		Description: "The directing team's decision (its members when it lists them).", Tags: tags}, s.decideDrillReport)
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drill-remediation", Method: http.MethodGet,
		Path: base + "/{drill}/remediation", Summary: "List the gaps of a drill to remediate", Description: "Worst first, each with " +
			"its work order once made.", Tags: tags}, s.listDrillRemediation)
	register(s, inTenant(auth.PermAssessWrite), huma.Operation{OperationID: "remediate-drill-gap", Method: http.MethodPost,
		Path: base + "/{drill}/remediation", Summary: "Make the remediation work order of a gap",
		Description: "The order (type remediation, in draft, requested by the caller) names the drill and case as its source, " +
			"and the drill keeps the order's ID. A gap gets one order: asking again is 409. Needs the right to request work orders too.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.remediateDrillGap)

	limit := s.uploadLimit()
	files := base + "/{drill}/attachments"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drill-attachments", Method: http.MethodGet, Path: files,
		Summary: "List a drill's own files", Tags: tags}, func(ctx context.Context, in *drillOwnFilesIn) (*out[AttachmentList], error) {
		return s.drillFiles(ctx, in.Drill, "")
	})
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "add-drill-attachment", Method: http.MethodPost, Path: files,
		Summary: "Attach a file to a drill", Description: "A multipart form with \"file\" and an optional \"note\"; the directing " +
			"team (assessment.write) may.", DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: limit, Middlewares: s.uploadBody(limit)},
		func(ctx context.Context, in *drillOwnFileAddIn) (*out[Attachment], error) {
			return s.addDrillFile(ctx, in.Drill, "", in.RawBody.Data())
		})
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-drill-attachment", Method: http.MethodGet, Path: files + "/{file}",
		Summary: "Download a drill's file", Description: "Served as application/octet-stream after its SHA-256 is checked. Audited.", Tags: tags},
		func(ctx context.Context, in *drillOwnFileIn) (*fileDownload, error) {
			return s.getDrillFile(ctx, in.Drill, "", in.File)
		})
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "delete-drill-attachment", Method: http.MethodDelete, Path: files + "/{file}",
		Summary: "Remove a drill's file", DefaultStatus: http.StatusNoContent, Tags: tags},
		func(ctx context.Context, in *drillOwnFileIn) (*noContent, error) {
			return s.deleteDrillFile(ctx, in.Drill, "", in.File)
		})

	rfiles := base + "/{drill}/records/{record}/attachments"
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "list-drill-record-attachments", Method: http.MethodGet, Path: rfiles,
		Summary: "List an attack record's evidence files", Tags: tags}, func(ctx context.Context, in *drillFilesIn) (*out[AttachmentList], error) {
		return s.drillFiles(ctx, in.Drill, in.Record)
	})
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "add-drill-record-attachment", Method: http.MethodPost, Path: rfiles,
		Summary: "Attach evidence to an attack record", Description: "A multipart form with \"file\" and an optional \"note\": the " +
			"attacking team's proof (assessment.write, the record's team) or the defenders' screenshots (event.triage).",
		DefaultStatus: http.StatusCreated, Tags: tags, MaxBodyBytes: limit, Middlewares: s.uploadBody(limit)},
		func(ctx context.Context, in *drillFileAddIn) (*out[Attachment], error) {
			return s.addDrillFile(ctx, in.Drill, in.Record, in.RawBody.Data())
		})
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "get-drill-record-attachment", Method: http.MethodGet, Path: rfiles + "/{file}",
		Summary: "Download an attack record's evidence file", Description: "Served as application/octet-stream after its SHA-256 is checked. Audited.",
		Tags: tags}, func(ctx context.Context, in *drillFileIn) (*fileDownload, error) {
		return s.getDrillFile(ctx, in.Drill, in.Record, in.File)
	})
	register(s, inTenant(auth.PermAssessRead), huma.Operation{OperationID: "delete-drill-record-attachment", Method: http.MethodDelete,
		Path: rfiles + "/{file}", Summary: "Remove an attack record's evidence file", DefaultStatus: http.StatusNoContent, Tags: tags},
		func(ctx context.Context, in *drillFileIn) (*noContent, error) {
			return s.deleteDrillFile(ctx, in.Drill, in.Record, in.File)
		})
}

func (s *server) listDrillReports(ctx context.Context, in *drillParamIn) (*out[[]DrillReport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Get(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	pts := reportPoints(d)
	return reply(items(d.Reports, func(r drill.DefenceReport) DrillReport { return drillReportDTO(r, pts) }))
}

func (s *server) submitDrillReport(ctx context.Context, in *drillReportSubmitIn) (*out[DrillReport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	_, rp, err := s.opts.Drills.SubmitReport(ctx, t.ID, in.Drill, exercise.ReportInput{Team: b.Team, Kind: drill.ReportKind(b.Kind),
		Title: b.Title, Text: b.Text, RecordID: b.RecordID, Related: b.Related})
	if err != nil {
		return nil, err
	}
	return reply(drillReportDTO(rp, nil))
}

func (s *server) decideDrillReport(ctx context.Context, in *drillReportDecideIn) (*out[DrillReport], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.DecideReport(ctx, t.ID, in.Drill, in.Report, in.Body.Accepted)
	if err != nil {
		return nil, err
	}
	rp, _ := d.Report(in.Report)
	return reply(drillReportDTO(rp, reportPoints(d)))
}

func (s *server) listDrillRemediation(ctx context.Context, in *drillRemediationIn) (*out[[]DrillRemediation], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Get(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(items(d.RemediationRows(in.Lang), func(r exercise.RemediationRow) DrillRemediation {
		return DrillRemediation{CaseID: r.CaseID, Title: r.Title, Area: string(r.Area), Priority: r.Priority, Technique: r.Technique,
			Assets: nonNilStrings(r.Assets), Advice: r.Advice, WorkOrderID: r.WorkOrderID}
	}))
}

func (s *server) remediateDrillGap(ctx context.Context, in *drillRemediateIn) (*out[WorkOrder], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.opts.Drills.Remediate(ctx, t.ID, in.Drill, in.Body.CaseID, in.Body.Lang)
	if err != nil {
		return nil, err
	}
	return reply(workOrderDTO(o))
}

func (s *server) drillFiles(ctx context.Context, drillID, recordID string) (*out[AttachmentList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := s.opts.Drills.Files(ctx, t.ID, drillID, recordID)
	if err != nil {
		return nil, err
	}
	return reply(AttachmentList{Items: items(fs, attachmentDTO)})
}

func (s *server) addDrillFile(ctx context.Context, drillID, recordID string, f *AttachmentForm) (*out[Attachment], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	defer f.File.Close()
	a, err := s.opts.Drills.AddFile(ctx, t.ID, drillID, recordID, formInput(f))
	if err != nil {
		return nil, err
	}
	return reply(attachmentDTO(a))
}

func (s *server) getDrillFile(ctx context.Context, drillID, recordID, fileID string) (*fileDownload, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	a, data, err := s.opts.Drills.OpenFile(ctx, t.ID, drillID, recordID, fileID)
	if err != nil {
		return nil, err
	}
	return download(a, data), nil
}

func (s *server) deleteDrillFile(ctx context.Context, drillID, recordID, fileID string) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return &noContent{}, s.opts.Drills.DeleteFile(ctx, t.ID, drillID, recordID, fileID)
}

func (s *server) listDrills(ctx context.Context, in *drillListIn) (*out[[]DrillSummary], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := s.opts.Drills.List(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(items(ds, func(d store.Drill) DrillSummary {
		return DrillSummary{ID: d.ID, Name: d.Name, State: d.State, Start: d.Start, End: d.End, Version: d.Version, UpdatedAt: d.UpdatedAt}
	}))
}

func (s *server) createDrill(ctx context.Context, in *drillCreateIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	p := exercise.Plan{Name: b.Name, RulesOfEngagement: b.RulesOfEngagement, Window: drill.Window{Start: b.Start, End: b.End},
		Scope: b.Scope.engine(), LibraryCases: b.LibraryCases}
	for _, tm := range b.Teams {
		p.Teams = append(p.Teams, drill.Team{Name: tm.Name, Role: drill.Role(tm.Role), Unit: tm.Unit, Members: tm.Members, TenantID: tm.TenantID})
	}
	for _, pt := range b.Participants {
		p.Participants = append(p.Participants, drill.Participant{TenantID: pt.TenantID, Scope: pt.Scope.engine()})
	}
	d, err := s.opts.Drills.Create(ctx, t.ID, p)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}

func (s *server) getDrill(ctx context.Context, in *drillParamIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Get(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}

func (s *server) listDrillRecords(ctx context.Context, in *drillParamIn) (*out[[]DrillRecord], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Get(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(items(d.Records, recordDTO))
}

func (s *server) recordDrillAttack(ctx context.Context, in *drillRecordIn) (*out[DrillRecord], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	_, rec, err := s.opts.Drills.RecordAttack(ctx, t.ID, in.Drill, drill.AttackRecord{Team: b.Team, What: b.What, At: b.At,
		Technique: b.Technique, CaseID: b.CaseID, From: b.From, Target: drill.Target{Host: b.Host, Address: b.Address, AssetID: b.AssetID},
		Evidence: b.Evidence, Result: drill.Result{Foothold: b.Foothold, Privilege: b.Privilege, Data: b.Data},
		Achievement: drill.Achievement(b.Achievement), Unit: b.Unit, TenantID: b.TenantID})
	if err != nil {
		return nil, err
	}
	return reply(recordDTO(rec))
}

func (s *server) transitionDrill(ctx context.Context, in *drillTransitionIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Transition(ctx, t.ID, in.Drill, in.Body.Version, drill.State(in.Body.To), in.Body.Reason)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}

func (s *server) drillSuggestions(ctx context.Context, in *drillParamIn) (*out[[]DrillSuggestion], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	sugs, err := s.opts.Drills.Suggestions(ctx, t.ID, in.Drill)
	if err != nil {
		return nil, err
	}
	return reply(items(sugs, func(x drill.Suggestion) DrillSuggestion {
		return DrillSuggestion{RecordID: x.RecordID, AlertID: x.AlertID, Rule: x.Rule, Layer: string(x.Layer), At: x.At,
			DelayMS: x.Delay.Milliseconds(), Matched: x.Matched, Technique: x.Technique}
	}))
}

func (s *server) confirmDrill(ctx context.Context, in *drillConfirmIn) (*out[Drill], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Drills.Confirm(ctx, t.ID, in.Drill, in.Body.RecordID, in.Body.AlertID, in.Body.RespondedAt)
	if err != nil {
		return nil, err
	}
	return reply(drillDTO(d))
}
