package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// The 7×24 monitoring desk (shifts and handover notes, the SOC's own),
// the recipients of a tenant's urgent notices, and its weekly digest
// sections.

// Shift is one person's turn on the monitoring desk.
type Shift struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

func shiftDTO(s store.Shift) Shift {
	return Shift{ID: s.ID, UserID: s.UserID, Username: s.Username, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Note: s.Note, CreatedAt: s.CreatedAt}
}

// ShiftInput plans a shift.
type ShiftInput struct {
	User     string    `json:"user" minLength:"1" maxLength:"100" doc:"User ID or username"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at" doc:"After starts_at, at most 7 days later"`
	Note     string    `json:"note,omitempty" maxLength:"2000"`
}

// HandoverRef is an alert or case a handover note points at.
type HandoverRef struct {
	Tenant string `json:"tenant" maxLength:"100" doc:"Tenant ID or slug"`
	Kind   string `json:"kind" enum:"alert,case"`
	ID     string `json:"id" maxLength:"100"`
}

// Handover is a note one shift leaves the next.
type Handover struct {
	ID         string        `json:"id"`
	ShiftID    string        `json:"shift_id,omitempty"`
	Author     string        `json:"author"`
	OpenItems  string        `json:"open_items"`
	Watch      string        `json:"watch"`
	Refs       []HandoverRef `json:"refs"`
	HiddenRefs int           `json:"hidden_refs" doc:"References to tenants the caller cannot read, left out"`
	CreatedAt  time.Time     `json:"created_at"`
	AckedBy    string        `json:"acked_by,omitempty"`
	AckedAt    *time.Time    `json:"acked_at,omitempty"`
}

func handoverDTO(v alerting.HandoverView) Handover {
	h := Handover{ID: v.ID, ShiftID: v.ShiftID, Author: v.AuthorName, OpenItems: v.OpenItems, Watch: v.Watch, Refs: []HandoverRef{},
		HiddenRefs: v.Hidden, CreatedAt: v.CreatedAt, AckedBy: v.AckedBy}
	for _, r := range v.Refs {
		h.Refs = append(h.Refs, HandoverRef{Tenant: r.TenantID, Kind: r.Kind, ID: r.ID})
	}
	h.AckedAt = optTime(v.AckedAt)
	return h
}

// HandoverInput is the note a shift writes.
type HandoverInput struct {
	ShiftID   string        `json:"shift_id,omitempty" maxLength:"100"`
	OpenItems string        `json:"open_items" minLength:"1" maxLength:"32000"`
	Watch     string        `json:"watch,omitempty" maxLength:"32000"`
	Refs      []HandoverRef `json:"refs,omitempty" maxItems:"20"`
}

// DeskNotice is an urgent notice as a tenant received it.
type DeskNotice struct {
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	Severity     string    `json:"severity"`
	Summary      string    `json:"summary"`
	RemindHours  int       `json:"remind_hours"`
	MaxReminders int       `json:"max_reminders"`
	CreatedAt    time.Time `json:"created_at"`
	Recipients   int       `json:"recipients"`
	Read         int       `json:"read"`
	Acked        int       `json:"acknowledged"`
}

func deskNoticeDTO(n store.DeskNotice) DeskNotice {
	return DeskNotice{ID: n.ID, Title: n.Title, Severity: n.Severity, Summary: n.Summary, RemindHours: int(n.RemindEvery / time.Hour),
		MaxReminders: n.MaxReminders, CreatedAt: n.CreatedAt, Recipients: n.Recipients, Read: n.Read, Acked: n.Acked}
}

// NoticeRecipient is one contact a notice went to personally.
type NoticeRecipient struct {
	ID        string     `json:"id"`
	ContactID string     `json:"contact_id"`
	Name      string     `json:"name"`
	Via       string     `json:"via" enum:"email,sms"`
	Address   string     `json:"address" doc:"Empty unless the caller may read contacts"`
	Status    string     `json:"status" enum:"queued,failed,no-channel"`
	Error     string     `json:"error,omitempty"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
	AckedAt   *time.Time `json:"acked_at,omitempty"`
	AckedBy   string     `json:"acked_by,omitempty"`
	Reminders int        `json:"reminders"`
}

func recipientDTO(r store.NoticeRecipient) NoticeRecipient {
	return NoticeRecipient{ID: r.ID, ContactID: r.ContactID, Name: r.Name, Via: r.Via, Address: r.Address, Status: r.Status, Error: r.Error,
		ReadAt: optTime(r.ReadAt), AckedAt: optTime(r.AckedAt), AckedBy: r.AckedBy, Reminders: r.Reminders}
}

// NoticeStatus is a notice with who has read and acknowledged it.
type NoticeStatus struct {
	Notice     DeskNotice        `json:"notice"`
	Recipients []NoticeRecipient `json:"recipients"`
}

// DigestSection is analyst text for a tenant's weekly digest.
type DigestSection struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	Author    string     `json:"author"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty" doc:"When a digest carried it; empty while it waits"`
	SentIn    string     `json:"sent_in,omitempty" doc:"The report that carried it"`
}

func sectionDTO(d store.DigestSection) DigestSection {
	return DigestSection{ID: d.ID, Title: d.Title, Body: d.Body, Author: d.CreatedByName, CreatedAt: d.CreatedAt, SentAt: optTime(d.SentAt), SentIn: d.SentIn}
}

// DigestSectionInput is a section to add.
type DigestSectionInput struct {
	Title string `json:"title" minLength:"1" maxLength:"800"`
	Body  string `json:"body" minLength:"1" maxLength:"16000" doc:"Plain text, at most 4000 characters"`
}

type shiftListIn struct {
	From time.Time `query:"from" doc:"Start of the window (RFC 3339); default now"`
	To   time.Time `query:"to" doc:"End of the window; default 7 days after from, at most 62 days"`
}

type shiftCreateIn struct{ Body ShiftInput }

type shiftParamIn struct {
	Shift string `path:"shift" maxLength:"100" doc:"Shift ID"`
}

type handoverListIn struct {
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"50"`
	Offset int `query:"offset" minimum:"0"`
}

type handoverCreateIn struct{ Body HandoverInput }

type handoverParamIn struct {
	Handover string `path:"handover" maxLength:"100" doc:"Handover ID"`
}

type deskNoticeListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type deskNoticeParamIn struct {
	TenantParam
	Notice string `path:"notice" maxLength:"100" doc:"Notice ID"`
}

type sectionListIn struct {
	TenantParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0"`
}

type sectionCreateIn struct {
	TenantParam
	Body DigestSectionInput
}

type sectionParamIn struct {
	TenantParam
	Section string `path:"section" maxLength:"100" doc:"Section ID"`
}

func (s *server) registerDesk() {
	tags := []string{"monitoring desk"}
	read, triage := platformWide(auth.PermEventRead), platformWide(auth.PermEventTriage)
	register(s, read, huma.Operation{OperationID: "list-desk-shifts", Method: http.MethodGet, Path: "/desk/shifts",
		Summary: "List the monitoring desk's shifts in a window", Tags: tags}, s.listShifts)
	register(s, read, huma.Operation{OperationID: "list-desk-on-duty", Method: http.MethodGet, Path: "/desk/on-duty",
		Summary: "Who is on shift now", Tags: tags}, s.onDuty)
	register(s, platformWide(auth.PermUserAdmin), huma.Operation{OperationID: "create-desk-shift", Method: http.MethodPost,
		Path: "/desk/shifts", Summary: "Plan a shift", DefaultStatus: http.StatusCreated, Tags: tags}, s.createShift)
	register(s, platformWide(auth.PermUserAdmin), huma.Operation{OperationID: "delete-desk-shift", Method: http.MethodDelete,
		Path: "/desk/shifts/{shift}", Summary: "Delete a shift", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteShift)
	register(s, read, huma.Operation{OperationID: "list-desk-handovers", Method: http.MethodGet, Path: "/desk/handovers",
		Summary: "List handover notes, newest first", Tags: tags}, s.listHandovers)
	register(s, triage, huma.Operation{OperationID: "create-desk-handover", Method: http.MethodPost, Path: "/desk/handovers",
		Summary: "Write the shift's handover note", Description: "References name alerts and cases of tenants the caller can read.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createHandover)
	register(s, triage, huma.Operation{OperationID: "ack-desk-handover", Method: http.MethodPost, Path: "/desk/handovers/{handover}/ack",
		Summary: "Acknowledge a handover note as read", Description: "The next shift acknowledges a note, once; its author cannot.",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.ackHandover)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "list-urgent-notices", Method: http.MethodGet,
		Path: "/tenants/{tenant}/urgent-notices", Summary: "List the urgent notices published to the tenant", Tags: tags}, s.listDeskNotices)
	register(s, inTenant(auth.PermEventRead), huma.Operation{OperationID: "get-urgent-notice", Method: http.MethodGet,
		Path: "/tenants/{tenant}/urgent-notices/{notice}", Summary: "Who has read and acknowledged an urgent notice", Tags: tags}, s.getDeskNotice)
	register(s, inTenant(auth.PermReportRead), huma.Operation{OperationID: "list-digest-sections", Method: http.MethodGet,
		Path: "/tenants/{tenant}/digest-sections", Summary: "List the sections of the tenant's weekly digest, pending first", Tags: tags}, s.listSections)
	register(s, inTenant(auth.PermIncidentWrite), huma.Operation{OperationID: "create-digest-section", Method: http.MethodPost,
		Path: "/tenants/{tenant}/digest-sections", Summary: "Add a section to the tenant's next weekly digest",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createSection)
	register(s, inTenant(auth.PermIncidentWrite), huma.Operation{OperationID: "delete-digest-section", Method: http.MethodDelete,
		Path: "/tenants/{tenant}/digest-sections/{section}", Summary: "Withdraw a section not sent yet",
		DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteSection)
}

// ShiftList is a list of shifts.
type ShiftList struct {
	Items []Shift `json:"items"`
}

func (s *server) listShifts(ctx context.Context, in *shiftListIn) (*out[ShiftList], error) {
	from, to := in.From, in.To
	if from.IsZero() {
		from = time.Now()
	}
	if to.IsZero() {
		to = from.Add(7 * 24 * time.Hour)
	}
	ss, err := s.opts.Alerting.Shifts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return reply(ShiftList{Items: items(ss, shiftDTO)})
}

func (s *server) onDuty(ctx context.Context, _ *noInput) (*out[ShiftList], error) {
	ss, err := s.opts.Alerting.OnDuty(ctx)
	if err != nil {
		return nil, err
	}
	return reply(ShiftList{Items: items(ss, shiftDTO)})
}

func (s *server) createShift(ctx context.Context, in *shiftCreateIn) (*out[Shift], error) {
	sh, err := s.opts.Alerting.AddShift(ctx, alerting.ShiftInput{User: in.Body.User, StartsAt: in.Body.StartsAt, EndsAt: in.Body.EndsAt, Note: in.Body.Note})
	if err != nil {
		return nil, err
	}
	return reply(shiftDTO(sh))
}

func (s *server) deleteShift(ctx context.Context, in *shiftParamIn) (*noContent, error) {
	return nil, s.opts.Alerting.DeleteShift(ctx, in.Shift)
}

// HandoverList is a list of handover notes.
type HandoverList struct {
	Items []Handover `json:"items"`
}

func (s *server) listHandovers(ctx context.Context, in *handoverListIn) (*out[HandoverList], error) {
	hs, err := s.opts.Alerting.Handovers(ctx, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(HandoverList{Items: items(hs, handoverDTO)})
}

func (s *server) createHandover(ctx context.Context, in *handoverCreateIn) (*out[Handover], error) {
	hi := alerting.HandoverInput{ShiftID: in.Body.ShiftID, OpenItems: in.Body.OpenItems, Watch: in.Body.Watch}
	for _, r := range in.Body.Refs {
		hi.Refs = append(hi.Refs, store.HandoverRef{TenantID: r.Tenant, Kind: r.Kind, ID: r.ID})
	}
	h, err := s.opts.Alerting.WriteHandover(ctx, hi)
	if err != nil {
		return nil, err
	}
	v := alerting.HandoverView{Handover: h}
	for _, r := range h.Refs {
		v.Refs = append(v.Refs, alerting.HandoverRefView{HandoverRef: r})
	}
	return reply(handoverDTO(v))
}

func (s *server) ackHandover(ctx context.Context, in *handoverParamIn) (*noContent, error) {
	return nil, s.opts.Alerting.AckHandover(ctx, in.Handover)
}

// DeskNoticeList is a list of a tenant's urgent notices.
type DeskNoticeList struct {
	Items []DeskNotice `json:"items"`
}

func (s *server) listDeskNotices(ctx context.Context, in *deskNoticeListIn) (*out[DeskNoticeList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ns, err := s.opts.Alerting.DeskNotices(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(DeskNoticeList{Items: items(ns, deskNoticeDTO)})
}

func (s *server) getDeskNotice(ctx context.Context, in *deskNoticeParamIn) (*out[NoticeStatus], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	n, rs, err := s.opts.Alerting.NoticeStatus(ctx, t.ID, in.Notice)
	if err != nil {
		return nil, err
	}
	return reply(NoticeStatus{Notice: deskNoticeDTO(n), Recipients: items(rs, recipientDTO)})
}

// DigestSectionList is a list of digest sections.
type DigestSectionList struct {
	Items []DigestSection `json:"items"`
}

func (s *server) listSections(ctx context.Context, in *sectionListIn) (*out[DigestSectionList], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := s.opts.Alerting.DigestSections(ctx, t.ID, store.Page{Limit: in.Limit, Offset: in.Offset})
	if err != nil {
		return nil, err
	}
	return reply(DigestSectionList{Items: items(ds, sectionDTO)})
}

func (s *server) createSection(ctx context.Context, in *sectionCreateIn) (*out[DigestSection], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.opts.Alerting.AddDigestSection(ctx, t.ID, in.Body.Title, in.Body.Body)
	if err != nil {
		return nil, err
	}
	return reply(sectionDTO(d))
}

func (s *server) deleteSection(ctx context.Context, in *sectionParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Alerting.DeleteDigestSection(ctx, t.ID, in.Section)
}
