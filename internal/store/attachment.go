package store

import (
	"context"
	"time"
)

// Attachment is a file kept with an object of a tenant: a work order, a
// drill, an assessment item, a risk. OwnerKind names the kind of object and
// OwnerID the object; the content is stored once per tenant and SHA-256.
type Attachment struct {
	ID           string
	TenantID     string
	OwnerKind    string
	OwnerID      string
	Name         string // base name as uploaded, cleaned
	SHA256       string // hex of the content
	Size         int64
	SniffedType  string // from the content; what the file really is
	DeclaredType string // what the uploader said; never trusted for serving
	Note         string
	CreatedBy    string
	CreatedAt    time.Time
}

// AttachmentStore persists attachments. Whether the owner exists and who
// may attach to it is the owning service's business; the store checks
// only the tenant.
type AttachmentStore interface {
	// Add stores a's record and its content. A content already stored for
	// the tenant under the same SHA-256 is not stored again.
	Add(ctx context.Context, a *Attachment, content []byte) error
	Get(ctx context.Context, tenantID, id string) (Attachment, error)
	// Content returns the stored bytes of an attachment.
	Content(ctx context.Context, tenantID, id string) ([]byte, error)
	// List returns an owner's attachments, oldest first.
	List(ctx context.Context, tenantID, ownerKind, ownerID string) ([]Attachment, error)
	// Count is the number of an owner's attachments.
	Count(ctx context.Context, tenantID, ownerKind, ownerID string) (int, error)
	// Delete removes an attachment; a content no other attachment of the
	// tenant refers to goes with it.
	Delete(ctx context.Context, tenantID, id string) error
}
