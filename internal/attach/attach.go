// Package attach keeps files uploaded to an object of a tenant — a work
// order, a drill, an assessment item, a risk — with size and count limits,
// a content type sniffed from the bytes, and a SHA-256 checked again on
// every download. The owning service decides who may attach to and read
// its objects and passes the permission it requires; this package checks
// it against the tenant and audits every upload, download and removal.
//
// Files are never served inline: surfaces send them as attachments of
// type application/octet-stream with nosniff (see Headers).
package attach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"

	"github.com/vigil-sec/vigil/internal/audit"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Limits unless Options says otherwise.
const (
	DefaultMaxSize     = 50 << 20 // bytes per file
	DefaultMaxPerOwner = 200      // files per object
	MaxName            = 255      // characters of a file name
	MaxNote            = 2000     // characters of a note
)

// ErrTampered means a stored content no longer has the SHA-256 recorded
// when it was uploaded; it is not served.
var ErrTampered = errors.New("attachment content does not match its recorded SHA-256")

// Owner names the object a file is attached to.
type Owner struct {
	TenantID string
	Kind     string // "work_order", "drill", "assessment_item", "risk", ...
	ID       string
	// AuthTenant, when set, is the tenant the permission is checked in
	// instead of TenantID: the owning service shares the object with
	// another tenant (a participant of a drill) and has checked that this
	// tenant may reach it. The file stays in TenantID.
	AuthTenant string
}

// authTenant is the tenant the permission on o is checked in.
func (o Owner) authTenant() string {
	if o.AuthTenant != "" {
		return o.AuthTenant
	}
	return o.TenantID
}

// Input is one uploaded file; Content is read up to the size limit.
type Input struct {
	Name         string
	DeclaredType string // the Content-Type the uploader sent
	Note         string
	Content      io.Reader
}

// Options configures a Service.
type Options struct {
	MaxSize     int64
	MaxPerOwner int
	Logger      *slog.Logger
}

// Service stores and serves attachments.
type Service struct {
	store       store.AttachmentStore
	audit       *audit.Log
	maxSize     int64
	maxPerOwner int
	logger      *slog.Logger
}

// New returns a Service over the store's attachments.
func New(s store.AttachmentStore, a *audit.Log, opts Options) *Service {
	svc := &Service{store: s, audit: a, maxSize: opts.MaxSize, maxPerOwner: opts.MaxPerOwner, logger: opts.Logger}
	if svc.maxSize <= 0 {
		svc.maxSize = DefaultMaxSize
	}
	if svc.maxPerOwner <= 0 {
		svc.maxPerOwner = DefaultMaxPerOwner
	}
	if svc.logger == nil {
		svc.logger = slog.New(slog.DiscardHandler)
	}
	return svc
}

// MaxSize is the largest file accepted, for surfaces that bound a request
// body before parsing it.
func (s *Service) MaxSize() int64 { return s.maxSize }

func validOwner(o Owner) error {
	if o.TenantID == "" || o.ID == "" {
		return store.NewFieldError("owner", store.CodeRequired, nil, "the object to attach to is missing")
	}
	if o.Kind == "" || len(o.Kind) > 40 || strings.Trim(o.Kind, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return store.NewFieldError("owner", store.CodeInvalidAttribute, nil, "an attachment kind is lower-case letters and underscores")
	}
	return nil
}

// Add stores a file on owner after checking that the principal holds perm
// in the owner's tenant. The owning service has already checked that the
// object exists and accepts files.
func (s *Service) Add(ctx context.Context, perm auth.Perm, o Owner, in Input) (store.Attachment, error) {
	if err := auth.Require(ctx, perm, o.authTenant()); err != nil {
		return store.Attachment{}, err
	}
	if err := validOwner(o); err != nil {
		return store.Attachment{}, err
	}
	if in.Content == nil {
		return store.Attachment{}, store.NewFieldError("file", store.CodeRequired, nil, "upload a file")
	}
	declared := ""
	if in.DeclaredType != "" {
		mt, _, err := mime.ParseMediaType(in.DeclaredType)
		if err != nil {
			return store.Attachment{}, store.NewFieldError("content_type", store.CodeInvalidAttribute, nil, "not a media type")
		}
		declared = mt
	}
	note := strings.TrimSpace(strings.ToValidUTF8(in.Note, "\uFFFD"))
	if n := len([]rune(note)); n > MaxNote {
		return store.Attachment{}, store.NewFieldError("note", store.CodeTooLong, map[string]any{"max": MaxNote}, "a note is at most %d characters", MaxNote)
	}
	data, err := io.ReadAll(io.LimitReader(in.Content, s.maxSize+1))
	if err != nil {
		return store.Attachment{}, fmt.Errorf("read attachment: %w", err)
	}
	if int64(len(data)) > s.maxSize {
		return store.Attachment{}, store.NewFieldError("file", store.CodeTooLarge, map[string]any{"max": s.maxSize},
			"a file is at most %d bytes", s.maxSize)
	}
	if len(data) == 0 {
		return store.Attachment{}, store.NewFieldError("file", store.CodeRequired, nil, "the file is empty")
	}
	n, err := s.store.Count(ctx, o.TenantID, o.Kind, o.ID)
	if err != nil {
		return store.Attachment{}, err
	}
	if n >= s.maxPerOwner {
		return store.Attachment{}, store.NewFieldError("file", store.CodeTooMany, map[string]any{"max": s.maxPerOwner},
			"an object holds at most %d files", s.maxPerOwner)
	}
	sum := sha256.Sum256(data)
	a := store.Attachment{TenantID: o.TenantID, OwnerKind: o.Kind, OwnerID: o.ID, Name: CleanName(in.Name, "file"),
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), SniffedType: SniffType(data), DeclaredType: declared,
		Note: note, CreatedBy: auth.FromContext(ctx).ActorID()}
	if err := s.store.Add(ctx, &a, data); err != nil {
		return a, err
	}
	return a, s.record(ctx, o, "attachment.add", map[string]any{"attachment": a.ID, "name": a.Name, "sha256": a.SHA256, "size": a.Size})
}

// List returns an owner's files after checking the principal holds perm.
func (s *Service) List(ctx context.Context, perm auth.Perm, o Owner) ([]store.Attachment, error) {
	if err := auth.Require(ctx, perm, o.authTenant()); err != nil {
		return nil, err
	}
	return s.store.List(ctx, o.TenantID, o.Kind, o.ID)
}

// Open returns a file of owner with its content after checking perm and
// the SHA-256; the download is audited. A file of another owner is
// store.ErrNotFound.
func (s *Service) Open(ctx context.Context, perm auth.Perm, o Owner, id string) (store.Attachment, []byte, error) {
	if err := auth.Require(ctx, perm, o.authTenant()); err != nil {
		return store.Attachment{}, nil, err
	}
	a, err := s.get(ctx, o, id)
	if err != nil {
		return a, nil, err
	}
	data, err := s.store.Content(ctx, o.TenantID, id)
	if err != nil {
		return a, nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != a.SHA256 || int64(len(data)) != a.Size {
		aerr := s.record(ctx, o, "attachment.verify_failed", map[string]any{"attachment": a.ID, "expected": a.SHA256, "got": got})
		return a, nil, errors.Join(fmt.Errorf("attachment %s %q: %w", a.ID, a.Name, ErrTampered), aerr)
	}
	return a, data, s.record(ctx, o, "attachment.download", map[string]any{"attachment": a.ID, "sha256": a.SHA256})
}

// Delete removes a file of owner after checking perm; audited.
func (s *Service) Delete(ctx context.Context, perm auth.Perm, o Owner, id string) error {
	if err := auth.Require(ctx, perm, o.authTenant()); err != nil {
		return err
	}
	a, err := s.get(ctx, o, id)
	if err != nil {
		return err
	}
	if err := s.store.Delete(ctx, o.TenantID, id); err != nil {
		return err
	}
	return s.record(ctx, o, "attachment.delete", map[string]any{"attachment": a.ID, "name": a.Name, "sha256": a.SHA256})
}

func (s *Service) get(ctx context.Context, o Owner, id string) (store.Attachment, error) {
	a, err := s.store.Get(ctx, o.TenantID, id)
	if err != nil {
		return a, err
	}
	if a.OwnerKind != o.Kind || a.OwnerID != o.ID {
		return store.Attachment{}, store.ErrNotFound
	}
	return a, nil
}

func (s *Service) record(ctx context.Context, o Owner, action string, detail map[string]any) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.Record(ctx, audit.Event{TenantID: o.TenantID, Action: action, Object: o.Kind + ":" + o.ID, Detail: detail})
}

// Headers sets the response headers that make a browser save a file
// rather than render it: the bytes are attacker-controlled.
func Headers(h http.Header, a store.Attachment) {
	h.Set("Content-Type", "application/octet-stream")
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})
	if cd == "" {
		cd = "attachment"
	}
	h.Set("Content-Disposition", cd)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("X-Attachment-SHA256", a.SHA256)
}

// CleanName keeps the base name of an uploaded file, without control
// characters or backslashes, at most MaxName characters; an empty or
// meaningless name becomes fallback.
func CleanName(name, fallback string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\\' {
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, "_"))
	name = strings.TrimSpace(path.Base("/" + name))
	if name == "/" || name == "." || name == ".." || name == "" {
		name = fallback
	}
	if r := []rune(name); len(r) > MaxName {
		name = string(r[:MaxName])
	}
	return name
}

// SniffType is the content type of a file from its first bytes
// (http.DetectContentType's algorithm, without parameters).
func SniffType(data []byte) string {
	t := http.DetectContentType(data[:min(len(data), 512)])
	if mt, _, err := mime.ParseMediaType(t); err == nil {
		return mt
	}
	return "application/octet-stream"
}
