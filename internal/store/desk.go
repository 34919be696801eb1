package store

import (
	"context"
	"time"
)

// The 7×24 monitoring desk: the SOC's shift schedule and the handover
// notes between shifts (SOC-wide, not a tenant's), the recipients of each
// urgent notice with their own read and acknowledgement state, and the
// sections analysts write for a tenant's next weekly digest.

// Shift is one person's turn on the desk, [StartsAt, EndsAt).
type Shift struct {
	ID        string
	UserID    string
	Username  string // who, as shown
	StartsAt  time.Time
	EndsAt    time.Time
	Note      string
	CreatedBy string
	CreatedAt time.Time
}

// HandoverRef is an object a handover note points at: an alert or a case
// of a tenant.
type HandoverRef struct {
	TenantID string `json:"tenant_id"`
	Kind     string `json:"kind"` // "alert" or "case"
	ID       string `json:"id"`
}

// Handover is the note one shift leaves the next: what is still open and
// what to watch. The next shift acknowledges it as read.
type Handover struct {
	ID         string
	ShiftID    string // the shift it closes ("" when written off schedule)
	AuthorID   string
	AuthorName string
	OpenItems  string
	Watch      string
	Refs       []HandoverRef
	CreatedAt  time.Time
	AckedByID  string
	AckedBy    string
	AckedAt    time.Time // zero until acknowledged
}

// DeskNotice is an urgent notice as one tenant received it, with the
// reminder plan for recipients who have not acknowledged it. Recipients,
// Read and Acked are counts filled by lists.
type DeskNotice struct {
	ID           string
	TenantID     string
	Title        string
	Severity     string
	Summary      string        // what the notice said (its harm), for reminders
	RemindEvery  time.Duration // 0: no reminder
	MaxReminders int
	CreatedBy    string
	CreatedAt    time.Time
	Recipients   int
	Read         int
	Acked        int
}

// NoticeRecipient is one contact an urgent notice went to, on one way of
// reaching them (e-mail or SMS), with its own signed link.
type NoticeRecipient struct {
	ID           string
	NoticeID     string
	TenantID     string
	ContactID    string
	Name         string
	Via          string // "email" or "sms"
	Address      string // the e-mail address or phone number
	ChannelID    string // the tenant channel it was sent through
	Status       string // "queued", "failed" or "no-channel"
	Error        string
	ReadAt       time.Time // the link was opened
	AckedAt      time.Time
	AckedBy      string
	Reminders    int       // reminders sent so far
	NextRemindAt time.Time // zero: no more reminder
	CreatedAt    time.Time
}

// DigestSection is free text an analyst adds to a tenant's next weekly
// digest; SentAt is set when a digest carried it.
type DigestSection struct {
	ID            string
	TenantID      string
	Title         string
	Body          string
	CreatedBy     string
	CreatedByName string
	CreatedAt     time.Time
	SentAt        time.Time
	SentIn        string // the report (digest) that carried it
}

// DeskStore persists the monitoring desk.
type DeskStore interface {
	DigestRunStore // digest.go

	CreateShift(ctx context.Context, s *Shift) error
	DeleteShift(ctx context.Context, id string) error
	GetShift(ctx context.Context, id string) (Shift, error)
	// Shifts lists the shifts overlapping [from, to), by start.
	Shifts(ctx context.Context, from, to time.Time) ([]Shift, error)

	CreateHandover(ctx context.Context, h *Handover) error
	GetHandover(ctx context.Context, id string) (Handover, error)
	// Handovers returns a page of notes, newest first.
	Handovers(ctx context.Context, p Page) ([]Handover, error)
	// AckHandover records who read a note; a note read before is
	// ErrConflict.
	AckHandover(ctx context.Context, id, byID, by string, at time.Time) error

	// CreateNotice stores a tenant's notice and its recipients (IDs and
	// CreatedAt are set on them).
	CreateNotice(ctx context.Context, n *DeskNotice, rs []NoticeRecipient) error
	GetNotice(ctx context.Context, tenantID, id string) (DeskNotice, error)
	// Notices returns a page of the tenant's notices, newest first, with
	// their recipient counts.
	Notices(ctx context.Context, tenantID string, p Page) ([]DeskNotice, error)
	Recipients(ctx context.Context, tenantID, noticeID string) ([]NoticeRecipient, error)
	GetRecipient(ctx context.Context, tenantID, id string) (NoticeRecipient, error)
	SetRecipientStatus(ctx context.Context, tenantID, id, status, errText string) error
	// MarkRecipientRead sets ReadAt when it is not set yet.
	MarkRecipientRead(ctx context.Context, tenantID, id string, at time.Time) error
	// AckRecipient acknowledges for a recipient and stops its reminders;
	// first is false when it was acknowledged before.
	AckRecipient(ctx context.Context, tenantID, id, by string, at time.Time) (first bool, err error)
	// DueReminders lists at most limit unacknowledged recipients whose
	// next reminder is due at now, the earliest first.
	DueReminders(ctx context.Context, now time.Time, limit int) ([]NoticeRecipient, error)
	// ClaimReminder counts one more reminder for a recipient still at
	// sent reminders and unacknowledged, and sets the next one (zero: none);
	// otherwise ErrConflict, so two nodes never send the same reminder.
	ClaimReminder(ctx context.Context, tenantID, id string, sent int, next time.Time) error

	CreateSection(ctx context.Context, s *DigestSection) error
	// Sections returns a page of the tenant's sections: the pending ones
	// first, then the sent ones, newest first within each.
	Sections(ctx context.Context, tenantID string, p Page) ([]DigestSection, error)
	// DeleteSection removes a pending section; a sent or unknown one is
	// ErrNotFound.
	DeleteSection(ctx context.Context, tenantID, id string) error
	// ClaimSections marks at most limit pending sections of the tenant as
	// sent in sentIn at at, the oldest first, and returns them.
	ClaimSections(ctx context.Context, tenantID, sentIn string, at time.Time, limit int) ([]DigestSection, error)
	// ReleaseSections makes the sections claimed for sentIn pending again
	// (the digest could not be sent).
	ReleaseSections(ctx context.Context, tenantID, sentIn string) error
}
