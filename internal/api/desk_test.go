package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestDeskAPI: shifts are planned by a platform admin and read by the
// SOC's staff, not by a tenant's analyst; handover notes are written by
// the desk and acknowledged once by someone other than their author;
// digest sections and urgent notices stay within their tenant.
func TestDeskAPI(t *testing.T) {
	h := newHarness(t)
	staff := h.token("", auth.RoleAnalyst) // a global analyst; tokens act for the admin who made them
	now := time.Now().UTC().Truncate(time.Second)
	var sh Shift
	h.want(http.StatusCreated, http.MethodPost, "/api/v1/desk/shifts", h.admin, map[string]any{"user": h.env.AnalystA.Username,
		"starts_at": now.Add(-time.Hour), "ends_at": now.Add(time.Hour), "note": "day"}, &sh)
	if sh.UserID != h.env.AnalystA.ID || !sh.EndsAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("shift %+v", sh)
	}
	h.want(http.StatusForbidden, http.MethodPost, "/api/v1/desk/shifts", staff, map[string]any{"user": "x",
		"starts_at": now, "ends_at": now.Add(time.Hour)}, nil)
	h.want(http.StatusUnprocessableEntity, http.MethodPost, "/api/v1/desk/shifts", h.admin, map[string]any{"user": h.env.AnalystA.Username,
		"starts_at": now, "ends_at": now.Add(8 * 24 * time.Hour)}, nil)
	h.want(http.StatusForbidden, http.MethodGet, "/api/v1/desk/on-duty", h.analystA, nil, nil)
	var duty ShiftList
	h.want(http.StatusOK, http.MethodGet, "/api/v1/desk/on-duty", staff, nil, &duty)
	if len(duty.Items) != 1 || duty.Items[0].ID != sh.ID {
		t.Fatalf("on duty %+v", duty)
	}

	h.want(http.StatusUnprocessableEntity, http.MethodPost, "/api/v1/desk/handovers", staff, map[string]any{"open_items": "x",
		"refs": []map[string]string{{"tenant": h.env.TenantA.Slug, "kind": "alert", "id": "missing"}}}, nil)
	var mine Handover
	h.want(http.StatusCreated, http.MethodPost, "/api/v1/desk/handovers", staff, map[string]any{"open_items": "VPN brute force still open"}, &mine)
	h.want(http.StatusUnprocessableEntity, http.MethodPost, "/api/v1/desk/handovers/"+mine.ID+"/ack", h.admin, nil, nil) // its author
	other := store.User{Username: "night", PasswordHash: "x", GlobalRole: auth.RoleAnalyst}
	if err := h.env.Store.Users().Create(t.Context(), &other); err != nil {
		t.Fatal(err)
	}
	theirs, err := h.env.Alerting.WriteHandover(h.env.As(t.Context(), other), alerting.HandoverInput{OpenItems: "night notes"})
	if err != nil {
		t.Fatal(err)
	}
	h.want(http.StatusNoContent, http.MethodPost, "/api/v1/desk/handovers/"+theirs.ID+"/ack", staff, nil, nil)
	h.want(http.StatusUnprocessableEntity, http.MethodPost, "/api/v1/desk/handovers/"+theirs.ID+"/ack", staff, nil, nil)
	var hs HandoverList
	h.want(http.StatusOK, http.MethodGet, "/api/v1/desk/handovers", staff, nil, &hs)
	if len(hs.Items) != 2 || hs.Items[0].ID != theirs.ID || hs.Items[0].AckedAt == nil || hs.Items[1].AckedAt != nil {
		t.Fatalf("handovers %+v", hs)
	}

	sec := "/api/v1/tenants/" + h.env.TenantA.Slug + "/digest-sections"
	var d DigestSection
	h.want(http.StatusCreated, http.MethodPost, sec, h.analystA, map[string]any{"title": "行业态势", "body": "Ransomware <b>wave</b>"}, &d)
	if d.Body != "Ransomware <b>wave</b>" || d.SentAt != nil {
		t.Fatalf("section %+v", d)
	}
	h.want(http.StatusNotFound, http.MethodGet, sec, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodDelete, sec+"/"+d.ID, h.customer, nil, nil)
	var ds DigestSectionList
	h.want(http.StatusOK, http.MethodGet, sec, h.analystA, nil, &ds)
	if len(ds.Items) != 1 {
		t.Fatalf("sections %+v", ds)
	}
	h.want(http.StatusNoContent, http.MethodDelete, sec+"/"+d.ID, h.analystA, nil, nil)

	res, err := h.env.Alerting.PublishNotice(h.env.AdminCtx(t.Context()), []string{h.env.TenantA.ID},
		alerting.Notice{Title: "Citrix Bleed", Severity: "critical", Harm: "session hijack", RemindHours: 6, Reminders: 3})
	if err != nil || res[0].Err != nil {
		t.Fatalf("publish %+v, %v", res, err)
	}
	notices := "/api/v1/tenants/" + h.env.TenantA.Slug + "/urgent-notices"
	var nl DeskNoticeList
	h.want(http.StatusOK, http.MethodGet, notices, h.analystA, nil, &nl)
	if len(nl.Items) != 1 || nl.Items[0].Title != "Citrix Bleed" || nl.Items[0].RemindHours != 6 || nl.Items[0].MaxReminders != 3 {
		t.Fatalf("notices %+v", nl)
	}
	var st NoticeStatus
	h.want(http.StatusOK, http.MethodGet, notices+"/"+nl.Items[0].ID, h.analystA, nil, &st)
	if st.Notice.ID != nl.Items[0].ID || st.Recipients == nil {
		t.Fatalf("status %+v", st)
	}
	h.want(http.StatusNotFound, http.MethodGet, notices+"/"+nl.Items[0].ID, h.customer, nil, nil)
	h.want(http.StatusNotFound, http.MethodGet, "/api/v1/tenants/"+h.env.TenantB.Slug+"/urgent-notices/"+nl.Items[0].ID, h.admin, nil, nil)
}
