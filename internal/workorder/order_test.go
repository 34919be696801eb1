package workorder

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func newAccess() *Order {
	return &Order{ID: "o1", Ref: "WO-2026-0001", Type: TypeAccess, Title: "Restart app on web01", State: StateDraft,
		Requester: "rita", Hosts: []string{"web01"}, Accounts: []string{"deploy"},
		WindowStart: at("08:30:00"), WindowEnd: at("10:00:00"), Due: at("10:00:00"), CreatedAt: at("07:00:00")}
}

var (
	rita     = Actor{User: "rita", Role: RoleRequester}
	alan     = Actor{User: "alan", Role: RoleApprover}
	ed       = Actor{User: "ed", Role: RoleExecutor}
	vera     = Actor{User: "vera", Role: RoleVerifier}
	edVerify = Actor{User: "ed", Role: RoleVerifier}
)

// TestFlow walks an access order from draft to verified and checks each
// step's record.
func TestFlow(t *testing.T) {
	o := newAccess()
	steps := []struct {
		a     Action
		actor Actor
		now   string
		want  State
	}{
		{ActionSubmit, rita, "07:10:00", StateSubmitted},
		{ActionApprove, alan, "07:30:00", StateApproved},
		{ActionStart, ed, "08:31:00", StateInProgress},
		{ActionComplete, ed, "09:25:00", StateDone},
		{ActionReopen, vera, "09:40:00", StateReopened},
		{ActionStart, ed, "09:41:00", StateInProgress},
		{ActionComplete, ed, "09:50:00", StateDone},
		{ActionVerify, vera, "10:30:00", StateVerified},
	}
	if err := Assign(o, "ed", alan, at("07:31:00")); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if err := Transition(o, s.a, s.actor, at(s.now)); err != nil {
			t.Fatalf("%s by %s: %v", s.a, s.actor.User, err)
		}
		if o.State != s.want {
			t.Fatalf("after %s: state %s, want %s", s.a, o.State, s.want)
		}
	}
	if o.Approver != "alan" || o.Verifier != "vera" || o.Reopened != 1 || !o.StartedAt.Equal(at("08:31:00")) ||
		!o.ClosedAt.Equal(at("10:30:00")) || len(o.History) != len(steps)+1 || !o.Closed() {
		t.Fatalf("order after flow: %+v", o)
	}
	if h := o.History[1]; h.From != StateDraft || h.To != StateSubmitted || h.Actor != rita {
		t.Fatalf("history[1] = %+v", h)
	}
}

// TestRefusals: each rule of the flow, with the reason in the error.
func TestRefusals(t *testing.T) {
	submitted := func() *Order {
		o := newAccess()
		if err := Transition(o, ActionSubmit, rita, at("07:10:00")); err != nil {
			t.Fatal(err)
		}
		return o
	}
	approved := func() *Order {
		o := submitted()
		if err := Transition(o, ActionApprove, alan, at("07:30:00")); err != nil {
			t.Fatal(err)
		}
		return o
	}
	done := func() *Order {
		o := approved()
		o.Executor = "ed"
		for _, a := range []Action{ActionStart, ActionComplete} {
			if err := Transition(o, a, ed, at("09:00:00")); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	cases := []struct {
		name  string
		o     func() *Order
		a     Action
		actor Actor
		now   string
		want  string
	}{
		{"own approval", func() *Order {
			o := newAccess()
			_ = Transition(o, ActionSubmit, rita, at("07:10:00"))
			return o
		}, ActionApprove, Actor{User: "rita", Role: RoleApprover}, "07:20:00", "may not decide on their own request"},
		{"wrong role", submitted, ActionApprove, Actor{User: "ed", Role: RoleExecutor}, "07:20:00", "role executor may not approve"},
		{"wrong state", newAccess, ActionApprove, alan, "07:20:00", "needs state submitted"},
		{"other requester", newAccess, ActionSubmit, Actor{User: "mallory", Role: RoleRequester}, "07:10:00", "only the requester rita may submit"},
		{"window over at submit", newAccess, ActionSubmit, rita, "10:00:00", "access window already ended"},
		{"no executor", approved, ActionStart, ed, "08:40:00", "no executor is assigned"},
		{"not the executor", func() *Order { o := approved(); o.Executor = "eve"; return o }, ActionStart, ed, "08:40:00", "assigned to eve"},
		{"before window", func() *Order { o := approved(); o.Executor = "ed"; return o }, ActionStart, ed, "08:00:00", "window opens at 2026-03-02T08:30:00Z"},
		{"after window", func() *Order { o := approved(); o.Executor = "ed"; return o }, ActionStart, ed, "10:00:00", "window closed"},
		{"executor verifies", done, ActionVerify, edVerify, "10:00:00", "executor may not verify their own work"},
		{"named verifier", func() *Order { o := done(); o.Verifier = "vic"; return o }, ActionVerify, vera, "10:00:00", "names vic as verifier"},
		{"cancel done work", done, ActionCancel, rita, "10:00:00", "needs state draft or submitted or approved or reopened"},
		{"unknown", newAccess, Action("launch"), rita, "07:00:00", "unknown action"},
		{"no user", newAccess, ActionSubmit, Actor{Role: RoleRequester}, "07:00:00", "no user"},
		{"invalid order", func() *Order { o := newAccess(); o.Hosts = nil; return o }, ActionSubmit, rita, "07:10:00", "names at least one host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.o()
			before := o.State
			hist := len(o.History)
			err := Transition(o, c.a, c.actor, at(c.now))
			if err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want refusal containing %q", err, c.want)
			}
			if o.State != before || len(o.History) != hist {
				t.Fatalf("refused transition changed the order: %s → %s", before, o.State)
			}
		})
	}
}

func TestAssign(t *testing.T) {
	o := newAccess()
	o.Verifier = "vera"
	if err := Assign(o, "vera", alan, at("07:00:00")); err == nil || !strings.Contains(err.Error(), "verifier and may not also execute") {
		t.Errorf("verifier as executor: %v", err)
	}
	if err := Assign(o, "ed", ed, at("07:00:00")); err == nil {
		t.Error("executor assigned themselves")
	}
	if err := Assign(o, "ed", rita, at("07:00:00")); err != nil || o.Executor != "ed" {
		t.Errorf("requester assigns: %v, executor %q", err, o.Executor)
	}
}

func TestValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Order){
		"type":        func(o *Order) { o.Type = "party" },
		"title":       func(o *Order) { o.Title = " " },
		"window":      func(o *Order) { o.WindowEnd = o.WindowStart },
		"long window": func(o *Order) { o.WindowEnd = o.WindowStart.Add(MaxWindow + time.Hour) },
		"host":        func(o *Order) { o.Hosts = []string{"web 01"} },
		"remediation": func(o *Order) { o.Type = TypeRemediation },
		"requester":   func(o *Order) { o.Requester = "" },
	} {
		o := newAccess()
		mutate(o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o := newAccess()
	o.Type, o.SourceRef = TypeRemediation, "finding:42"
	if err := o.Validate(); err != nil {
		t.Errorf("remediation with source: %v", err)
	}
}

// TestOverdue: due 10:00, checked at 11:30 → 1h30m late; closed orders
// are never overdue.
func TestOverdue(t *testing.T) {
	o := newAccess()
	late, by := o.Overdue(at("11:30:00"))
	if !late || by != 90*time.Minute {
		t.Fatalf("overdue = %v, %v", late, by)
	}
	if late, _ := o.Overdue(at("09:59:00")); late {
		t.Fatal("overdue before due")
	}
	o.State = StateCancelled
	if late, _ := o.Overdue(at("11:30:00")); late {
		t.Fatal("cancelled order overdue")
	}
	c := &Order{Type: TypeChange}
	if got := DefaultDue(c, at("08:00:00")); !got.Equal(at("08:00:00").Add(72 * time.Hour)) {
		t.Fatalf("DefaultDue(change) = %v", got)
	}
	if got := DefaultDue(newAccess(), at("08:00:00")); !got.Equal(at("10:00:00")) {
		t.Fatalf("DefaultDue(access with window) = %v", got)
	}
}

func TestCommentsAndAttachments(t *testing.T) {
	o := newAccess()
	if err := o.AddComment(Comment{At: at("07:00:00"), Author: "alan", Text: "Only during the maintenance window."}); err != nil {
		t.Fatal(err)
	}
	if err := o.AddComment(Comment{Author: "alan", Text: "  "}); err == nil {
		t.Error("empty comment accepted")
	}
	good := Attachment{Author: "ed", Name: "change-plan.pdf", Size: 2048, SHA256: strings.Repeat("ab", 32)}
	if err := o.AddAttachment(good); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.SHA256 = "xyz"
	if err := o.AddAttachment(bad); err == nil {
		t.Error("bad hash accepted")
	}
	if len(o.Comments) != 1 || len(o.Attachments) != 1 {
		t.Fatalf("comments %d attachments %d", len(o.Comments), len(o.Attachments))
	}
}
