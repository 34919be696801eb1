// Package workorder owns operations work orders (工单) and the ops audit
// that checks operators' actual access against them.
//
// An order is a change, a temporary access to assets, a remediation (of a
// finding or a case) or an inspection. It moves through one approval flow
// driven by Transition:
//
//	draft → submitted → approved | rejected
//	approved → in_progress → done → verified
//	done | verified → reopened → in_progress …
//	rejected → draft (revised); draft | submitted | approved | reopened → cancelled
//
// with four roles: the requester asks, an approver (never the requester)
// decides, the executor (named before work starts) does the work, and a
// verifier (never the executor) checks it. SessionsFromEvents turns stored
// SSH, sudo, RDP and bastion log events into access sessions; Match flags
// sessions no approved order covers, access outside an order's window and
// approved orders never used; Report writes the period's ops audit report.
//
// The package holds no store: the service that persists orders calls it.
package workorder

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is the kind of a work order.
type Type string

// Order types.
const (
	TypeChange      Type = "change"      // 变更: a planned change to systems
	TypeAccess      Type = "access"      // 临时访问: temporary access to assets
	TypeRemediation Type = "remediation" // 整改: fix a finding or act on a case
	TypeInspection  Type = "inspection"  // 巡检: a routine check
)

// State is where an order stands in its flow.
type State string

// Order states.
const (
	StateDraft      State = "draft"
	StateSubmitted  State = "submitted"
	StateApproved   State = "approved"
	StateRejected   State = "rejected"
	StateInProgress State = "in_progress"
	StateDone       State = "done"
	StateVerified   State = "verified"
	StateReopened   State = "reopened"
	StateCancelled  State = "cancelled"
)

// Role is the capacity in which a user acts on an order.
type Role string

// Roles.
const (
	RoleRequester Role = "requester"
	RoleApprover  Role = "approver"
	RoleExecutor  Role = "executor"
	RoleVerifier  Role = "verifier"
)

// Action is a step of the flow.
type Action string

// Actions.
const (
	ActionSubmit   Action = "submit"   // requester: draft → submitted
	ActionApprove  Action = "approve"  // approver: submitted → approved
	ActionReject   Action = "reject"   // approver: submitted → rejected
	ActionRevise   Action = "revise"   // requester: rejected → draft
	ActionStart    Action = "start"    // executor: approved | reopened → in_progress
	ActionComplete Action = "complete" // executor: in_progress → done
	ActionVerify   Action = "verify"   // verifier: done → verified
	ActionReopen   Action = "reopen"   // verifier or approver: done | verified → reopened
	ActionCancel   Action = "cancel"   // requester or approver: before work is done
)

// Actor is who acts and in which role. Whether the user may hold the role
// at all (RBAC) is the caller's check; Transition checks the order's own
// rules (separation of duties, named executor and verifier).
type Actor struct {
	User string
	Role Role
}

// Bounds on an order.
const (
	MaxTitle       = 200
	MaxText        = 20_000
	MaxTargets     = 500 // hosts or accounts named by one order
	MaxComments    = 1_000
	MaxAttachments = 100
	MaxWindow      = 90 * 24 * time.Hour // longest access window
)

// Order is one work order.
type Order struct {
	ID          string
	Ref         string // shown to people, e.g. "WO-2026-0012"
	Tenant      string
	Type        Type
	Title       string
	Description string
	State       State
	// SourceRef links a remediation to its finding or case.
	SourceRef string

	Requester string
	Approver  string // set when approved or rejected; may be named in advance
	Executor  string // must be set before work starts
	Verifier  string // may be named in advance; never the executor

	// AssetIDs link the order to inventory assets; matching against access
	// uses Hosts, which the service fills from the assets' names and
	// addresses.
	AssetIDs []string
	// Hosts are the asset host names or addresses the order covers, and
	// Accounts the login accounts it allows on them; no Accounts means the
	// executor's own account name.
	Hosts    []string
	Accounts []string
	// WindowStart and WindowEnd bound when access is allowed. Access
	// orders need them; other orders may set them.
	WindowStart time.Time
	WindowEnd   time.Time
	// Due is when the order should be done (or, for access, closed).
	Due time.Time

	CreatedAt   time.Time
	SubmittedAt time.Time
	DecidedAt   time.Time // approved or rejected
	StartedAt   time.Time
	DoneAt      time.Time
	VerifiedAt  time.Time
	ClosedAt    time.Time // verified or cancelled
	Reopened    int

	Comments    []Comment
	Attachments []Attachment
	History     []Step
}

// Comment is a note on an order.
type Comment struct {
	At     time.Time
	Author string
	Text   string
}

// Attachment is a file attached to an order; the content is kept
// elsewhere, addressed by its SHA-256.
type Attachment struct {
	At          time.Time
	Author      string
	Name        string
	SHA256      string
	Size        int64
	ContentType string
}

// Step is one recorded transition.
type Step struct {
	At     time.Time
	Action Action
	Actor  Actor
	From   State
	To     State
}

// RefusedError says why a transition was refused.
type RefusedError struct {
	Action Action
	State  State
	Reason string
}

// Error implements error.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("work order: %s refused in state %s: %s", e.Action, e.State, e.Reason)
}

// ErrRefused matches every RefusedError with errors.Is.
var ErrRefused = errors.New("work order: transition refused")

// Is makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refuse(o *Order, a Action, format string, args ...any) error {
	return &RefusedError{Action: a, State: o.State, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks the order's content: type, title, sizes, targets and the
// access window. Transition calls it on submit.
func (o *Order) Validate() error {
	switch o.Type {
	case TypeChange, TypeAccess, TypeRemediation, TypeInspection:
	default:
		return fmt.Errorf("work order: unknown type %q", o.Type)
	}
	if t := strings.TrimSpace(o.Title); t == "" || utf8.RuneCountInString(t) > MaxTitle {
		return fmt.Errorf("work order: title must be 1 to %d characters", MaxTitle)
	}
	if utf8.RuneCountInString(o.Description) > MaxText {
		return fmt.Errorf("work order: description longer than %d characters", MaxText)
	}
	if o.Requester == "" {
		return errors.New("work order: no requester")
	}
	if len(o.Hosts) > MaxTargets || len(o.Accounts) > MaxTargets {
		return fmt.Errorf("work order: more than %d hosts or accounts", MaxTargets)
	}
	for _, h := range append(slices.Clone(o.Hosts), o.Accounts...) {
		if strings.TrimSpace(h) == "" || len(h) > 255 || strings.ContainsAny(h, " \t\r\n") {
			return fmt.Errorf("work order: bad host or account %q", h)
		}
	}
	if len(o.Comments) > MaxComments || len(o.Attachments) > MaxAttachments {
		return errors.New("work order: too many comments or attachments")
	}
	hasWindow := !o.WindowStart.IsZero() || !o.WindowEnd.IsZero()
	if o.Type == TypeAccess {
		if len(o.Hosts) == 0 {
			return errors.New("work order: an access order names at least one host")
		}
		if !hasWindow {
			return errors.New("work order: an access order needs a time window")
		}
	}
	if hasWindow {
		if o.WindowStart.IsZero() || o.WindowEnd.IsZero() || !o.WindowEnd.After(o.WindowStart) {
			return errors.New("work order: the window needs a start before its end")
		}
		if o.WindowEnd.Sub(o.WindowStart) > MaxWindow {
			return fmt.Errorf("work order: window longer than %d days", int(MaxWindow/(24*time.Hour)))
		}
	}
	if o.Type == TypeRemediation && o.SourceRef == "" {
		return errors.New("work order: a remediation names the finding or case it fixes")
	}
	return nil
}

// Transition applies action by actor at now, or refuses it with a
// *RefusedError (errors.Is ErrRefused) and leaves the order unchanged.
func Transition(o *Order, a Action, actor Actor, now time.Time) error {
	if actor.User == "" {
		return refuse(o, a, "no user")
	}
	role := func(want ...Role) error {
		if !slices.Contains(want, actor.Role) {
			return refuse(o, a, "role %s may not %s (needs %s)", actor.Role, a, joinRoles(want))
		}
		return nil
	}
	state := func(want ...State) error {
		if !slices.Contains(want, o.State) {
			return refuse(o, a, "needs state %s", joinStates(want))
		}
		return nil
	}
	var to State
	switch a {
	case ActionSubmit:
		if err := first(role(RoleRequester), state(StateDraft)); err != nil {
			return err
		}
		if actor.User != o.Requester {
			return refuse(o, a, "only the requester %s may submit", o.Requester)
		}
		if err := o.Validate(); err != nil {
			return refuse(o, a, "%v", strings.TrimPrefix(err.Error(), "work order: "))
		}
		if o.Type == TypeAccess && !o.WindowEnd.After(now) {
			return refuse(o, a, "the access window already ended at %s", o.WindowEnd.UTC().Format(time.RFC3339))
		}
		to = StateSubmitted
	case ActionApprove, ActionReject:
		if err := first(role(RoleApprover), state(StateSubmitted)); err != nil {
			return err
		}
		if actor.User == o.Requester {
			return refuse(o, a, "an approver may not decide on their own request")
		}
		if o.Approver != "" && o.Approver != actor.User {
			return refuse(o, a, "the order names %s as approver", o.Approver)
		}
		if a == ActionApprove && o.Type == TypeAccess && !o.WindowEnd.After(now) {
			return refuse(o, a, "the access window already ended at %s", o.WindowEnd.UTC().Format(time.RFC3339))
		}
		to = StateApproved
		if a == ActionReject {
			to = StateRejected
		}
	case ActionRevise:
		if err := first(role(RoleRequester), state(StateRejected)); err != nil {
			return err
		}
		if actor.User != o.Requester {
			return refuse(o, a, "only the requester %s may revise", o.Requester)
		}
		to = StateDraft
	case ActionStart:
		if err := first(role(RoleExecutor), state(StateApproved, StateReopened)); err != nil {
			return err
		}
		if o.Executor == "" {
			return refuse(o, a, "no executor is assigned")
		}
		if actor.User != o.Executor {
			return refuse(o, a, "the order is assigned to %s", o.Executor)
		}
		if !o.WindowStart.IsZero() && now.Before(o.WindowStart) {
			return refuse(o, a, "the window opens at %s", o.WindowStart.UTC().Format(time.RFC3339))
		}
		if !o.WindowEnd.IsZero() && !now.Before(o.WindowEnd) {
			return refuse(o, a, "the window closed at %s", o.WindowEnd.UTC().Format(time.RFC3339))
		}
		to = StateInProgress
	case ActionComplete:
		if err := first(role(RoleExecutor), state(StateInProgress)); err != nil {
			return err
		}
		if actor.User != o.Executor {
			return refuse(o, a, "the order is assigned to %s", o.Executor)
		}
		to = StateDone
	case ActionVerify:
		if err := first(role(RoleVerifier), state(StateDone)); err != nil {
			return err
		}
		if actor.User == o.Executor {
			return refuse(o, a, "the executor may not verify their own work")
		}
		if o.Verifier != "" && o.Verifier != actor.User {
			return refuse(o, a, "the order names %s as verifier", o.Verifier)
		}
		to = StateVerified
	case ActionReopen:
		if err := first(role(RoleVerifier, RoleApprover), state(StateDone, StateVerified)); err != nil {
			return err
		}
		if actor.User == o.Executor {
			return refuse(o, a, "the executor may not reopen their own work")
		}
		to = StateReopened
	case ActionCancel:
		if err := first(role(RoleRequester, RoleApprover), state(StateDraft, StateSubmitted, StateApproved, StateReopened)); err != nil {
			return err
		}
		if actor.Role == RoleRequester && actor.User != o.Requester {
			return refuse(o, a, "only the requester %s or an approver may cancel", o.Requester)
		}
		to = StateCancelled
	default:
		return refuse(o, a, "unknown action")
	}
	from := o.State
	switch a {
	case ActionSubmit:
		o.SubmittedAt = now
	case ActionApprove, ActionReject:
		o.Approver, o.DecidedAt = actor.User, now
	case ActionStart:
		if o.StartedAt.IsZero() {
			o.StartedAt = now
		}
	case ActionComplete:
		o.DoneAt = now
	case ActionVerify:
		o.Verifier, o.VerifiedAt, o.ClosedAt = actor.User, now, now
	case ActionReopen:
		o.Reopened++
		o.DoneAt, o.VerifiedAt, o.ClosedAt = time.Time{}, time.Time{}, time.Time{}
	case ActionCancel:
		o.ClosedAt = now
	case ActionRevise:
		o.Approver, o.DecidedAt = "", time.Time{}
	}
	o.State = to
	o.History = append(o.History, Step{At: now, Action: a, Actor: actor, From: from, To: to})
	return nil
}

func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

func joinStates(ss []State) string {
	s := make([]string, len(ss))
	for i, r := range ss {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// Assign names the executor. The requester or an approver may assign while
// the order is not yet in progress or closed; the executor may not be the
// order's verifier.
func Assign(o *Order, executor string, actor Actor, now time.Time) error {
	const a Action = "assign"
	if executor == "" || strings.ContainsAny(executor, " \t\r\n") {
		return refuse(o, a, "bad executor %q", executor)
	}
	if actor.Role != RoleRequester && actor.Role != RoleApprover {
		return refuse(o, a, "role %s may not assign (needs requester or approver)", actor.Role)
	}
	if actor.Role == RoleRequester && actor.User != o.Requester {
		return refuse(o, a, "only the requester %s or an approver may assign", o.Requester)
	}
	if !slices.Contains([]State{StateDraft, StateSubmitted, StateApproved, StateReopened}, o.State) {
		return refuse(o, a, "needs state draft, submitted, approved or reopened")
	}
	if executor == o.Verifier {
		return refuse(o, a, "%s is the verifier and may not also execute", executor)
	}
	o.Executor = executor
	o.History = append(o.History, Step{At: now, Action: a, Actor: actor, From: o.State, To: o.State})
	return nil
}

// AddComment appends a comment.
func (o *Order) AddComment(c Comment) error {
	if strings.TrimSpace(c.Text) == "" || utf8.RuneCountInString(c.Text) > MaxText {
		return fmt.Errorf("work order: a comment has 1 to %d characters", MaxText)
	}
	if c.Author == "" {
		return errors.New("work order: a comment needs an author")
	}
	if len(o.Comments) >= MaxComments {
		return fmt.Errorf("work order: more than %d comments", MaxComments)
	}
	o.Comments = append(o.Comments, c)
	return nil
}

// AddAttachment records an attachment.
func (o *Order) AddAttachment(a Attachment) error {
	if len(a.SHA256) != 64 || strings.Trim(strings.ToLower(a.SHA256), "0123456789abcdef") != "" {
		return errors.New("work order: an attachment needs a hex SHA-256")
	}
	if strings.TrimSpace(a.Name) == "" || len(a.Name) > 255 || a.Size < 0 || a.Author == "" {
		return errors.New("work order: an attachment needs a name, a size and an author")
	}
	if len(o.Attachments) >= MaxAttachments {
		return fmt.Errorf("work order: more than %d attachments", MaxAttachments)
	}
	o.Attachments = append(o.Attachments, a)
	return nil
}

// Closed reports whether the order needs no more work: verified,
// rejected or cancelled.
func (o *Order) Closed() bool {
	switch o.State {
	case StateVerified, StateRejected, StateCancelled:
		return true
	}
	return false
}

// Overdue reports whether an order whose work is not done has passed its
// due time at now, and by how much. Done orders waiting for verification
// and closed orders are never overdue.
func (o *Order) Overdue(now time.Time) (bool, time.Duration) {
	if o.Closed() || o.State == StateDone || o.Due.IsZero() || !now.After(o.Due) {
		return false, 0
	}
	return true, now.Sub(o.Due)
}

// DefaultDue is the due time for order o created at created: the window end for an order with a window, else a day for an
// access order, three days for a change, a week for an inspection and two
// weeks for a remediation.
func DefaultDue(o *Order, created time.Time) time.Time {
	if !o.WindowEnd.IsZero() {
		return o.WindowEnd
	}
	day := 24 * time.Hour
	switch o.Type {
	case TypeAccess:
		return created.Add(day)
	case TypeChange:
		return created.Add(3 * day)
	case TypeInspection:
		return created.Add(7 * day)
	}
	return created.Add(14 * day)
}

// Authorising reports whether the order, in its current state, authorises
// access to its hosts: it was approved and is not cancelled, rejected or
// back in draft.
func (o *Order) Authorising() bool {
	switch o.State {
	case StateApproved, StateInProgress, StateDone, StateVerified, StateReopened:
		return true
	}
	return false
}
