package api

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestPolicyReviews(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/policy-reviews"
	rules, err := os.ReadFile("../policy/testdata/router.rules")
	if err != nil {
		t.Fatal(err)
	}
	var r PolicyReview
	h.want(http.StatusCreated, pst, base, h.adminA, PolicyReviewInput{Name: "core router", Format: "iptables-save",
		Config: string(rules)}, &r)
	if r.ID == "" || r.Result == nil || r.Rules == 0 || r.Findings != len(r.Result.Findings) || r.Family != 4 {
		t.Fatalf("created %+v", r)
	}
	var l PolicyReviewList
	h.want(http.StatusOK, get, base, h.analystA, nil, &l)
	if l.Total != 1 || l.Items[0].Result != nil {
		t.Fatalf("list %+v", l)
	}
	var got PolicyReview
	h.want(http.StatusOK, get, base+"/"+r.ID, h.analystA, nil, &got)
	if got.Result == nil || len(got.Result.Findings) != r.Findings {
		t.Fatalf("get %+v", got)
	}

	// A refused configuration names the line; an unknown format is a 422
	// before the parser runs.
	p := h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, PolicyReviewInput{Name: "bad",
		Format: "iptables-save", Config: "*filter\n:INPUT DROP [0:0]\n-A INPUT --frobnicate -j ACCEPT\nCOMMIT\n"})
	if msg := fmt.Sprintf("%s %+v", p.Detail, p.Errors); !strings.Contains(msg, "line 3") {
		t.Fatalf("problem %s", msg)
	}
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, PolicyReviewInput{Name: "bad", Format: "pf", Config: "x"})

	// Roles and tenants.
	h.wantProblem(http.StatusForbidden, pst, base, h.analystA, PolicyReviewInput{Name: "x", Format: "iptables-save", Config: string(rules)})
	h.wantProblem(http.StatusNotFound, get, "/api/v1/tenants/globex/policy-reviews/"+r.ID, h.admin, nil)
	h.wantProblem(http.StatusForbidden, get, "/api/v1/tenants/globex/policy-reviews", h.customer, nil)

	h.want(http.StatusNoContent, pst, base+"/"+r.ID+"/accept", h.adminA, nil, nil)
	h.want(http.StatusOK, get, base+"/"+r.ID, h.adminA, nil, &got)
	if !got.Accepted || got.AcceptedAt == nil {
		t.Fatalf("after accept %+v", got)
	}
	h.want(http.StatusNoContent, del, base+"/"+r.ID, h.adminA, nil, nil)
	h.wantProblem(http.StatusNotFound, get, base+"/"+r.ID, h.adminA, nil)
}

func TestNotificationChannels(t *testing.T) {
	h := newHarness(t)
	base := "/api/v1/tenants/acme/notification-channels"
	in := NotificationChannelInput{Name: "relay", Kind: "webhook", MinLevel: "high",
		Settings: []byte(`{"url":"http://127.0.0.1:9/hook"}`), Secrets: map[string]string{"signing_secret": "k3y"}}
	// A loopback address needs allow_private, which only platform admins may set.
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, in)
	in.AllowPrivate = true
	h.wantProblem(http.StatusUnprocessableEntity, pst, base, h.adminA, in)
	var c NotificationChannel
	h.want(http.StatusCreated, pst, base, h.admin, in, &c)
	if !c.HasSecret || strings.Contains(string(c.Config), "k3y") {
		t.Fatalf("created %+v", c)
	}
	var list []NotificationChannel
	h.want(http.StatusOK, get, base, h.analystA, nil, &list)
	if len(list) != 1 || strings.Contains(fmt.Sprint(list), "k3y") {
		t.Fatalf("list %+v", list)
	}
	var tr TestResult
	h.want(http.StatusOK, pst, base+"/"+c.ID+"/test", h.admin, nil, &tr)
	if tr.Sent || tr.Error == "" {
		t.Fatalf("test to an unreachable relay: %+v", tr)
	}
	h.wantProblem(http.StatusForbidden, pst, base, h.analystA, in)
	h.want(http.StatusNoContent, del, base+"/"+c.ID, h.admin, nil, nil)
}
