package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

type attachments struct{ s *Store }

// Attachments returns the attachment store.
func (s *Store) Attachments() store.AttachmentStore { return attachments{s} }

const attachmentCols = `id, tenant_id, owner_kind, owner_id, name, sha256, size, sniffed_type, declared_type, note, created_by, created_at`

func scanAttachment(r rowScanner) (store.Attachment, error) {
	var a store.Attachment
	err := r.Scan(&a.ID, &a.TenantID, &a.OwnerKind, &a.OwnerID, &a.Name, &a.SHA256, &a.Size, &a.SniffedType, &a.DeclaredType,
		&a.Note, &a.CreatedBy, timeDest{&a.CreatedAt})
	return a, err
}

// Add stores the record and, when the tenant has no content with that
// hash yet, the content.
func (x attachments) Add(ctx context.Context, a *store.Attachment, content []byte) error {
	s := x.s
	if err := ensureID(&a.ID); err != nil {
		return err
	}
	now := s.stamp()
	err := s.inTx(ctx, func(c conn) error {
		var n int
		if err := c.queryRow(ctx, `SELECT COUNT(*) FROM attachment_blobs WHERE tenant_id = ? AND sha256 = ?`, a.TenantID, a.SHA256).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := c.exec(ctx, `INSERT INTO attachment_blobs (tenant_id, sha256, size, content, created_at) VALUES (?, ?, ?, ?, ?)`,
				a.TenantID, a.SHA256, len(content), nonNil(content), s.t(now)); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, `INSERT INTO attachments (`+attachmentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TenantID, a.OwnerKind, a.OwnerID, a.Name, a.SHA256, a.Size, a.SniffedType, a.DeclaredType, a.Note, a.CreatedBy, s.t(now))
		return err
	})
	if err != nil {
		return s.wrap("add attachment", err)
	}
	a.CreatedAt = now
	return nil
}

// Get returns one attachment's record.
func (x attachments) Get(ctx context.Context, tenantID, id string) (store.Attachment, error) {
	a, err := scanAttachment(x.s.conn().queryRow(ctx, `SELECT `+attachmentCols+` FROM attachments WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return a, x.s.wrap("get attachment", err)
}

// Content returns the stored bytes of an attachment.
func (x attachments) Content(ctx context.Context, tenantID, id string) ([]byte, error) {
	var b []byte
	err := x.s.conn().queryRow(ctx, `SELECT b.content FROM attachments a JOIN attachment_blobs b
		ON b.tenant_id = a.tenant_id AND b.sha256 = a.sha256 WHERE a.tenant_id = ? AND a.id = ?`, tenantID, id).Scan(&b)
	return b, x.s.wrap("read attachment", err)
}

// List returns an owner's attachments, oldest first.
func (x attachments) List(ctx context.Context, tenantID, ownerKind, ownerID string) ([]store.Attachment, error) {
	as, err := collect(ctx, x.s.conn(), scanAttachment, `SELECT `+attachmentCols+` FROM attachments
		WHERE tenant_id = ? AND owner_kind = ? AND owner_id = ? ORDER BY created_at, id`, tenantID, ownerKind, ownerID)
	return as, x.s.wrap("list attachments", err)
}

// Count is the number of an owner's attachments.
func (x attachments) Count(ctx context.Context, tenantID, ownerKind, ownerID string) (int, error) {
	var n int
	err := x.s.conn().queryRow(ctx, `SELECT COUNT(*) FROM attachments WHERE tenant_id = ? AND owner_kind = ? AND owner_id = ?`,
		tenantID, ownerKind, ownerID).Scan(&n)
	return n, x.s.wrap("count attachments", err)
}

// Delete removes the record and the content when nothing else refers to it.
func (x attachments) Delete(ctx context.Context, tenantID, id string) error {
	s := x.s
	err := s.inTx(ctx, func(c conn) error {
		var sum string
		if err := c.queryRow(ctx, `SELECT sha256 FROM attachments WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&sum); err != nil {
			return err
		}
		if _, err := c.exec(ctx, `DELETE FROM attachments WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
			return err
		}
		_, err := c.exec(ctx, `DELETE FROM attachment_blobs WHERE tenant_id = ? AND sha256 = ?
			AND NOT EXISTS (SELECT 1 FROM attachments WHERE tenant_id = ? AND sha256 = ?)`, tenantID, sum, tenantID, sum)
		return err
	})
	return s.wrap("delete attachment", err)
}
