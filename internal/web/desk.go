package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// The 7×24 monitoring desk under the SOC area (/soc/desk: shifts, who is
// on duty, handover notes), a tenant's urgent notices with who has read
// and acknowledged them, the sections of its next weekly digest, and the
// public page of a notice's personal link.

// deskPath is the SOC-wide desk page.
const deskPath = "/soc/desk"

// deskDays is how far the schedule on the page reaches.
const deskDays = 7

func (s *server) registerDesk(t string) {
	if s.opts.Alerting == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	s.handle(get, deskPath, signedIn(), s.deskPage)
	s.handle(post, deskPath+"/shifts", signedIn(), s.deskShiftAdd)
	s.handle(post, deskPath+"/shifts/{shift}/delete", signedIn(), s.deskShiftDelete)
	s.handle(post, deskPath+"/handovers", signedIn(), s.deskHandoverWrite)
	s.handle(post, deskPath+"/handovers/{handover}/ack", signedIn(), s.deskHandoverAck)
	n := t + "/notifications/notices"
	s.handle(get, n, inTenant(auth.PermEventRead), s.tenantNotices)
	s.handle(get, n+"/{notice}", inTenant(auth.PermEventRead), s.tenantNotice)
	d := t + "/notifications/digest"
	s.handle(get, d, inTenant(auth.PermReportRead), s.digestPage)
	s.handle(post, d, inTenant(auth.PermIncidentWrite), s.digestAdd)
	s.handle(post, d+"/{section}/delete", inTenant(auth.PermIncidentWrite), s.digestDelete)
	s.handle(get, alerting.NoticeAckPath, public(), s.noticeAckForm)
	s.handle(post, alerting.NoticeAckPath, public(), s.noticeAckConfirm)
}

type deskPage struct {
	Base
	Now       time.Time
	OnDuty    []store.Shift
	Shifts    []store.Shift
	Handovers []alerting.HandoverView
	CanPlan   bool
	CanWrite  bool
	Staff     []store.User // who can be put on shift (the planner's picker)
}

// deskPage shows who is on shift, the schedule of the coming week and
// the latest handover notes. Only the SOC's own staff (a global role with
// event.read) see it.
func (s *server) deskPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := auth.FromContext(ctx)
	now := time.Now().UTC()
	v := &deskPage{Now: now, CanPlan: p.Can(auth.PermUserAdmin, ""), CanWrite: p.Can(auth.PermEventTriage, "")}
	var err error
	if v.OnDuty, err = s.opts.Alerting.OnDuty(ctx); err != nil {
		return err
	}
	day := now.Truncate(24 * time.Hour)
	if v.Shifts, err = s.opts.Alerting.Shifts(ctx, day.Add(-24*time.Hour), day.Add(deskDays*24*time.Hour)); err != nil {
		return err
	}
	if v.Handovers, err = s.opts.Alerting.Handovers(ctx, store.Page{Limit: 30}); err != nil {
		return err
	}
	if v.CanPlan {
		if v.Staff, err = s.opts.Alerting.ShiftStaff(ctx); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "desk", v)
	return nil
}

// parseUTC reads a datetime-local field, in UTC.
func parseUTC(field, v string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(v), time.UTC)
	if err != nil {
		return time.Time{}, store.NewFieldError(field, store.CodeInvalidDate, nil, "a date and time (UTC) is required")
	}
	return t, nil
}

func (s *server) deskShiftAdd(w http.ResponseWriter, r *http.Request) error {
	from, err := parseUTC("starts_at", r.PostFormValue("starts_at"))
	if err != nil {
		return err
	}
	to, err := parseUTC("ends_at", r.PostFormValue("ends_at"))
	if err != nil {
		return err
	}
	if _, err := s.opts.Alerting.AddShift(r.Context(), alerting.ShiftInput{User: r.PostFormValue("user"), StartsAt: from, EndsAt: to,
		Note: r.PostFormValue("note")}); err != nil {
		return err
	}
	redirect(w, r, deskPath)
	return nil
}

func (s *server) deskShiftDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Alerting.DeleteShift(r.Context(), chi.URLParam(r, "shift")); err != nil {
		return err
	}
	redirect(w, r, deskPath)
	return nil
}

// deskHandoverWrite records the shift's note. References are typed one
// per line as "tenant alert|case ID" (the tenant by slug).
func (s *server) deskHandoverWrite(w http.ResponseWriter, r *http.Request) error {
	in := alerting.HandoverInput{ShiftID: r.PostFormValue("shift_id"), OpenItems: r.PostFormValue("open_items"), Watch: r.PostFormValue("watch")}
	for i, line := range strings.Split(r.PostFormValue("refs"), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || i >= 4*alerting.MaxHandoverRefs {
			return store.NewFieldError("refs", store.CodeOneOf, nil, "a reference is one line: tenant, alert or case, ID")
		}
		in.Refs = append(in.Refs, store.HandoverRef{TenantID: f[0], Kind: f[1], ID: f[2]})
	}
	if _, err := s.opts.Alerting.WriteHandover(r.Context(), in); err != nil {
		return err
	}
	redirect(w, r, deskPath)
	return nil
}

func (s *server) deskHandoverAck(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Alerting.AckHandover(r.Context(), chi.URLParam(r, "handover")); err != nil {
		return err
	}
	redirect(w, r, deskPath)
	return nil
}

type noticesListPage struct {
	Base
	URL     string
	Notices []store.DeskNotice
}

func (s *server) tenantNotices(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	ns, err := s.opts.Alerting.DeskNotices(r.Context(), t.ID, store.Page{Limit: 100})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "desk_notices", &noticesListPage{URL: channelsBase(t) + "/notices", Notices: ns})
	return nil
}

type noticeStatusPage struct {
	Base
	URL        string
	Notice     store.DeskNotice
	Recipients []store.NoticeRecipient
	Pending    int // neither acknowledged nor unreachable
}

func (s *server) tenantNotice(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	n, rs, err := s.opts.Alerting.NoticeStatus(r.Context(), t.ID, chi.URLParam(r, "notice"))
	if err != nil {
		return err
	}
	v := &noticeStatusPage{URL: channelsBase(t) + "/notices", Notice: n, Recipients: rs}
	for _, x := range rs {
		if x.AckedAt.IsZero() && x.Status == "queued" {
			v.Pending++
		}
	}
	s.render(w, r, http.StatusOK, "desk_notice", v)
	return nil
}

type digestPage struct {
	Base
	URL      string
	Sections []store.DigestSection
	CanWrite bool
	MaxTitle int
	MaxBody  int
}

func (s *server) digestPage(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	ds, err := s.opts.Alerting.DigestSections(r.Context(), t.ID, store.Page{Limit: 50})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "desk_digest", &digestPage{URL: channelsBase(t) + "/digest", Sections: ds,
		CanWrite: auth.FromContext(r.Context()).Can(auth.PermIncidentWrite, t.ID), MaxTitle: alerting.MaxSectionTitle, MaxBody: alerting.MaxSectionBody})
	return nil
}

func (s *server) digestAdd(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if _, err := s.opts.Alerting.AddDigestSection(r.Context(), t.ID, r.PostFormValue("title"), r.PostFormValue("body")); err != nil {
		return err
	}
	redirect(w, r, channelsBase(t)+"/digest")
	return nil
}

func (s *server) digestDelete(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if err := s.opts.Alerting.DeleteDigestSection(r.Context(), t.ID, chi.URLParam(r, "section")); err != nil {
		return err
	}
	redirect(w, r, channelsBase(t)+"/digest")
	return nil
}

// noticeAckPage is the public page of a personal notice link: opening it
// marks the notice read, the form acknowledges it.
type noticeAckPage struct {
	Base
	Token  string
	Result alerting.NoticeAck
	Done   bool
}

func (s *server) noticeAckForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	res, err := s.opts.Alerting.OpenNotice(r.Context(), token)
	if err != nil {
		s.log.Info("notice link refused", "err", err)
		s.renderError(w, r, http.StatusNotFound, "error.notice_link_invalid", "")
		return nil
	}
	s.render(w, r, http.StatusOK, "notice_ack", &noticeAckPage{Token: token, Result: res, Done: !res.Recipient.AckedAt.IsZero()})
	return nil
}

func (s *server) noticeAckConfirm(w http.ResponseWriter, r *http.Request) error {
	res, err := s.opts.Alerting.AckNotice(r.Context(), r.PostFormValue("token"), r.PostFormValue("name"))
	if err != nil {
		s.log.Info("notice acknowledgement refused", "err", err)
		s.renderError(w, r, http.StatusNotFound, "error.notice_link_invalid", "")
		return nil
	}
	s.render(w, r, http.StatusOK, "notice_ack", &noticeAckPage{Result: res, Done: true})
	return nil
}

// reminderFields reads the reminder plan of the urgent notice form.
func reminderFields(r *http.Request) (hours, times int) {
	hours, _ = strconv.Atoi(strings.TrimSpace(r.PostFormValue("remind_hours")))
	times, _ = strconv.Atoi(strings.TrimSpace(r.PostFormValue("reminders")))
	if hours <= 0 {
		return 0, 0
	}
	return hours, times
}

// deskMessageIDs are the messages the desk pages build from data: the
// kinds of a handover reference, how a recipient was reached and how its
// message went, and the two escalation kinds the desk adds.
func deskMessageIDs() []string {
	return []string{"desk.kind.alert", "desk.kind.case", "dnotice.via.email", "dnotice.via.sms",
		"dnotice.status.queued", "dnotice.status.failed", "dnotice.status.no-channel", "esc.kind.kev-match", "esc.kind.advisory"}
}
