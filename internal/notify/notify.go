// Package notify owns outbound notifications: the message model, the
// channels that deliver it (SMTP e-mail, WeCom, DingTalk and Feishu robots,
// generic signed webhooks and an SMS/voice gateway), the dispatcher that
// queues, rate-limits and retries deliveries per channel, the embedded zh-CN
// and en templates, and the escalation engine that walks on-call steps until
// a notification is acknowledged.
package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Kind says what a notification is about; templates are chosen by kind.
type Kind string

// The notification kinds Vigil sends.
const (
	KindAlert        Kind = "alert"
	KindCase         Kind = "case"
	KindSLABreach    Kind = "sla-breach"
	KindKEVMatch     Kind = "kev-match"
	KindAdvisory     Kind = "advisory"
	KindDigest       Kind = "digest"
	KindUrgentNotice Kind = "urgent-notice"
	KindTest         Kind = "test"
)

// Kinds lists every known kind in a stable order.
func Kinds() []Kind {
	return []Kind{KindAlert, KindCase, KindSLABreach, KindKEVMatch, KindAdvisory, KindDigest, KindUrgentNotice, KindTest}
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds() {
		if v == k {
			return true
		}
	}
	return false
}

// Severity orders notifications; escalation rules and quiet hours compare it.
type Severity string

// Severities from least to most urgent.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank returns the order of s (info 1 … critical 5) and 0 for an unknown value.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityLow:
		return 2
	case SeverityMedium:
		return 3
	case SeverityHigh:
		return 4
	case SeverityCritical:
		return 5
	}
	return 0
}

// Size limits applied to every message before it reaches a channel.
const (
	MaxSubjectBytes    = 998
	MaxBodyBytes       = 256 << 10
	MaxAttachments     = 10
	MaxAttachmentBytes = 5 << 20
	MaxAttachmentTotal = 10 << 20
)

// Attachment is a file sent with a message; only e-mail carries the bytes,
// other channels mention the name.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Message is one notification, rendered in every body format a channel may
// need. Channels pick the format they render: Markdown for robots, Text for
// SMS, HTML plus Text for e-mail.
type Message struct {
	ID          string       `json:"id"`
	Tenant      string       `json:"tenant,omitempty"`
	Kind        Kind         `json:"kind"`
	Severity    Severity     `json:"severity,omitempty"`
	Subject     string       `json:"subject"`
	Text        string       `json:"text,omitempty"`
	Markdown    string       `json:"markdown,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Link        string       `json:"link,omitempty"`
	AckURL      string       `json:"ack_url,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// ErrInvalidMessage is returned (wrapped) for messages that break the limits.
var ErrInvalidMessage = errors.New("invalid message")

// Validate checks the message against the size limits and required fields.
func (m *Message) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, a...))
	}
	switch {
	case m.ID == "":
		return bad("missing id")
	case !m.Kind.Valid():
		return bad("unknown kind %q", m.Kind)
	case m.Severity != "" && m.Severity.Rank() == 0:
		return bad("unknown severity %q", m.Severity)
	case m.Subject == "":
		return bad("missing subject")
	case len(m.Subject) > MaxSubjectBytes:
		return bad("subject longer than %d bytes", MaxSubjectBytes)
	case m.Text == "" && m.Markdown == "" && m.HTML == "":
		return bad("no body")
	case len(m.Link) > 2048 || len(m.AckURL) > 2048:
		return bad("link longer than 2048 bytes")
	case len(m.Attachments) > MaxAttachments:
		return bad("more than %d attachments", MaxAttachments)
	}
	for name, body := range map[string]string{"text": m.Text, "markdown": m.Markdown, "html": m.HTML} {
		if len(body) > MaxBodyBytes {
			return bad("%s body longer than %d bytes", name, MaxBodyBytes)
		}
	}
	for _, s := range []string{m.ID, m.Subject, m.Text, m.Markdown, m.HTML} {
		if !utf8.ValidString(s) {
			return bad("not valid UTF-8")
		}
	}
	total := 0
	for i, a := range m.Attachments {
		if a.Name == "" {
			return bad("attachment %d has no name", i)
		}
		if len(a.Data) > MaxAttachmentBytes {
			return bad("attachment %q larger than %d bytes", a.Name, MaxAttachmentBytes)
		}
		total += len(a.Data)
	}
	if total > MaxAttachmentTotal {
		return bad("attachments larger than %d bytes in total", MaxAttachmentTotal)
	}
	return nil
}

// Receipt is what a channel reports after a successful send.
type Receipt struct {
	Channel    string    `json:"channel"`
	Kind       string    `json:"kind"`
	MessageID  string    `json:"message_id"`
	ProviderID string    `json:"provider_id,omitempty"`
	Status     int       `json:"status,omitempty"`
	At         time.Time `json:"at"`
}

// Channel delivers one message to one destination.
type Channel interface {
	// Send delivers msg once. Errors for which IsTransient is true may be
	// retried; others are final.
	Send(ctx context.Context, msg Message) (Receipt, error)
}

// SendError describes a failed delivery and whether retrying may help.
type SendError struct {
	Channel   string
	Status    int // HTTP status or provider error code, 0 when none
	Transient bool
	Err       error
}

// Error describes the failure; it never contains a robot key or password.
func (e *SendError) Error() string {
	kind := "permanent"
	if e.Transient {
		kind = "transient"
	}
	if e.Status != 0 {
		return fmt.Sprintf("%s: %s failure (status %d): %v", e.Channel, kind, e.Status, e.Err)
	}
	return fmt.Sprintf("%s: %s failure: %v", e.Channel, kind, e.Err)
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying: a 5xx or 429 answer,
// a provider rate-limit code, a timeout or a dropped connection.
func IsTransient(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Transient
	}
	return transientNetErr(err)
}
