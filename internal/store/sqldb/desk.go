package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// desk implements store.DeskStore. Shifts and handover notes are the
// SOC's own (no tenant); notices, recipients and digest sections are
// scoped by tenant like every tenant row.
type desk struct{ s *Store }

var _ store.DeskStore = desk{}

const shiftCols = `id, user_id, username, starts_at, ends_at, note, created_by, created_at`

func scanShift(r rowScanner) (store.Shift, error) {
	var x store.Shift
	err := r.Scan(&x.ID, &x.UserID, &x.Username, timeDest{&x.StartsAt}, timeDest{&x.EndsAt}, &x.Note, &x.CreatedBy, timeDest{&x.CreatedAt})
	return x, err
}

// CreateShift inserts a shift; an unknown user is ErrNotFound.
func (x desk) CreateShift(ctx context.Context, sh *store.Shift) error {
	s := x.s
	if err := ensureID(&sh.ID); err != nil {
		return err
	}
	sh.StartsAt, sh.EndsAt, sh.CreatedAt = norm(sh.StartsAt), norm(sh.EndsAt), s.stamp()
	_, err := s.conn().exec(ctx, `INSERT INTO desk_shifts (`+shiftCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		sh.ID, sh.UserID, sh.Username, s.t(sh.StartsAt), s.t(sh.EndsAt), sh.Note, sh.CreatedBy, s.t(sh.CreatedAt))
	return s.wrap("create shift", err)
}

// DeleteShift removes a shift.
func (x desk) DeleteShift(ctx context.Context, id string) error {
	return x.s.wrap("delete shift", affected(x.s.conn().exec(ctx, `DELETE FROM desk_shifts WHERE id = ?`, id)))
}

// GetShift returns one shift.
func (x desk) GetShift(ctx context.Context, id string) (store.Shift, error) {
	sh, err := scanShift(x.s.conn().queryRow(ctx, `SELECT `+shiftCols+` FROM desk_shifts WHERE id = ?`, id))
	return sh, x.s.wrap("get shift", err)
}

// Shifts lists the shifts overlapping [from, to).
func (x desk) Shifts(ctx context.Context, from, to time.Time) ([]store.Shift, error) {
	ss, err := collect(ctx, x.s.conn(), scanShift, `SELECT `+shiftCols+` FROM desk_shifts
		WHERE starts_at < ? AND ends_at > ? ORDER BY starts_at, username, id LIMIT ?`, x.s.t(to), x.s.t(from), store.MaxPageSize)
	return ss, x.s.wrap("list shifts", err)
}

const handoverCols = `id, shift_id, author_id, author_name, open_items, watch, refs, created_at, acked_by_id, acked_by, acked_at`

func scanHandover(r rowScanner) (store.Handover, error) {
	var h store.Handover
	var refs string
	err := r.Scan(&h.ID, &h.ShiftID, &h.AuthorID, &h.AuthorName, &h.OpenItems, &h.Watch, &refs, timeDest{&h.CreatedAt},
		&h.AckedByID, &h.AckedBy, timeDest{&h.AckedAt})
	if err == nil {
		err = json.Unmarshal([]byte(refs), &h.Refs)
	}
	return h, err
}

// CreateHandover inserts a note.
func (x desk) CreateHandover(ctx context.Context, h *store.Handover) error {
	s := x.s
	if err := ensureID(&h.ID); err != nil {
		return err
	}
	refs := h.Refs
	if refs == nil {
		refs = []store.HandoverRef{}
	}
	b, err := jsonArg(refs)
	if err != nil {
		return err
	}
	h.CreatedAt = s.stamp()
	_, err = s.conn().exec(ctx, `INSERT INTO desk_handovers (`+handoverCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '', NULL)`,
		h.ID, h.ShiftID, h.AuthorID, h.AuthorName, h.OpenItems, h.Watch, b, s.t(h.CreatedAt))
	return s.wrap("create handover", err)
}

// GetHandover returns one note.
func (x desk) GetHandover(ctx context.Context, id string) (store.Handover, error) {
	h, err := scanHandover(x.s.conn().queryRow(ctx, `SELECT `+handoverCols+` FROM desk_handovers WHERE id = ?`, id))
	return h, x.s.wrap("get handover", err)
}

// Handovers returns a page of notes, newest first.
func (x desk) Handovers(ctx context.Context, p store.Page) ([]store.Handover, error) {
	limit, offset := PageBounds(p)
	hs, err := collect(ctx, x.s.conn(), scanHandover, `SELECT `+handoverCols+` FROM desk_handovers
		ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, limit, offset)
	return hs, x.s.wrap("list handovers", err)
}

// AckHandover records who read a note, once.
func (x desk) AckHandover(ctx context.Context, id, byID, by string, at time.Time) error {
	s := x.s
	res, err := s.conn().exec(ctx, `UPDATE desk_handovers SET acked_by_id = ?, acked_by = ?, acked_at = ?
		WHERE id = ? AND acked_at IS NULL`, byID, by, s.t(at), id)
	if err := affected(res, err); errors.Is(err, store.ErrNotFound) {
		if _, gerr := x.GetHandover(ctx, id); gerr != nil {
			return gerr
		}
		return fmt.Errorf("%w: handover %s was acknowledged before", store.ErrConflict, id)
	} else if err != nil {
		return s.wrap("acknowledge handover", err)
	}
	return nil
}

const noticeCols = `n.id, n.tenant_id, n.title, n.severity, n.summary, n.remind_every, n.max_reminders, n.created_by, n.created_at,
	(SELECT COUNT(*) FROM desk_notice_recipients r WHERE r.tenant_id = n.tenant_id AND r.notice_id = n.id),
	(SELECT COUNT(*) FROM desk_notice_recipients r WHERE r.tenant_id = n.tenant_id AND r.notice_id = n.id AND r.read_at IS NOT NULL),
	(SELECT COUNT(*) FROM desk_notice_recipients r WHERE r.tenant_id = n.tenant_id AND r.notice_id = n.id AND r.acked_at IS NOT NULL)`

func scanNotice(r rowScanner) (store.DeskNotice, error) {
	var n store.DeskNotice
	var every int64
	err := r.Scan(&n.ID, &n.TenantID, &n.Title, &n.Severity, &n.Summary, &every, &n.MaxReminders, &n.CreatedBy, timeDest{&n.CreatedAt},
		&n.Recipients, &n.Read, &n.Acked)
	n.RemindEvery = time.Duration(every) * time.Second
	return n, err
}

const recipientCols = `id, notice_id, tenant_id, contact_id, name, via, address, channel_id, status, error, read_at, acked_at,
	acked_by, reminders, next_remind_at, created_at`

func scanRecipient(r rowScanner) (store.NoticeRecipient, error) {
	var x store.NoticeRecipient
	err := r.Scan(&x.ID, &x.NoticeID, &x.TenantID, &x.ContactID, &x.Name, &x.Via, &x.Address, &x.ChannelID, &x.Status, &x.Error,
		timeDest{&x.ReadAt}, timeDest{&x.AckedAt}, &x.AckedBy, &x.Reminders, timeDest{&x.NextRemindAt}, timeDest{&x.CreatedAt})
	return x, err
}

// CreateNotice stores a notice and its recipients in one transaction.
func (x desk) CreateNotice(ctx context.Context, n *store.DeskNotice, rs []store.NoticeRecipient) error {
	s := x.s
	now := s.stamp()
	n.CreatedAt = now
	for i := range rs {
		if err := ensureID(&rs[i].ID); err != nil {
			return err
		}
		rs[i].NoticeID, rs[i].TenantID, rs[i].CreatedAt = n.ID, n.TenantID, now
		rs[i].NextRemindAt = norm(rs[i].NextRemindAt)
	}
	err := s.inTx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO desk_notices (id, tenant_id, title, severity, summary, remind_every, max_reminders, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n.ID, n.TenantID, n.Title, n.Severity, n.Summary, int64(n.RemindEvery/time.Second), n.MaxReminders,
			n.CreatedBy, s.t(now)); err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := c.exec(ctx, `INSERT INTO desk_notice_recipients (`+recipientCols+`)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '', 0, ?, ?)`, r.ID, r.NoticeID, r.TenantID, r.ContactID, r.Name, r.Via,
				r.Address, r.ChannelID, r.Status, r.Error, s.t(r.NextRemindAt), s.t(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap("create notice", err)
	}
	n.Recipients = len(rs)
	return nil
}

// GetNotice returns one of the tenant's notices.
func (x desk) GetNotice(ctx context.Context, tenantID, id string) (store.DeskNotice, error) {
	n, err := scanNotice(x.s.conn().queryRow(ctx, `SELECT `+noticeCols+` FROM desk_notices n WHERE n.tenant_id = ? AND n.id = ?`, tenantID, id))
	return n, x.s.wrap("get notice", err)
}

// Notices returns a page of the tenant's notices, newest first.
func (x desk) Notices(ctx context.Context, tenantID string, p store.Page) ([]store.DeskNotice, error) {
	limit, offset := PageBounds(p)
	ns, err := collect(ctx, x.s.conn(), scanNotice, `SELECT `+noticeCols+` FROM desk_notices n WHERE n.tenant_id = ?
		ORDER BY n.created_at DESC, n.id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return ns, x.s.wrap("list notices", err)
}

// Recipients lists a notice's recipients by name.
func (x desk) Recipients(ctx context.Context, tenantID, noticeID string) ([]store.NoticeRecipient, error) {
	rs, err := collect(ctx, x.s.conn(), scanRecipient, `SELECT `+recipientCols+` FROM desk_notice_recipients
		WHERE tenant_id = ? AND notice_id = ? ORDER BY name, via, id`, tenantID, noticeID)
	return rs, x.s.wrap("list notice recipients", err)
}

// GetRecipient returns one recipient of the tenant.
func (x desk) GetRecipient(ctx context.Context, tenantID, id string) (store.NoticeRecipient, error) {
	r, err := scanRecipient(x.s.conn().queryRow(ctx, `SELECT `+recipientCols+` FROM desk_notice_recipients
		WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return r, x.s.wrap("get notice recipient", err)
}

// SetRecipientStatus records how the notice went out to a recipient; a
// recipient it could not reach gets no reminder.
func (x desk) SetRecipientStatus(ctx context.Context, tenantID, id, status, errText string) error {
	q := `UPDATE desk_notice_recipients SET status = ?, error = ? WHERE tenant_id = ? AND id = ?`
	if status != "queued" {
		q = `UPDATE desk_notice_recipients SET status = ?, error = ?, next_remind_at = NULL WHERE tenant_id = ? AND id = ?`
	}
	return x.s.wrap("set notice recipient status", affected(x.s.conn().exec(ctx, q, status, errText, tenantID, id)))
}

// MarkRecipientRead sets read_at once.
func (x desk) MarkRecipientRead(ctx context.Context, tenantID, id string, at time.Time) error {
	s := x.s
	if _, err := s.conn().exec(ctx, `UPDATE desk_notice_recipients SET read_at = ? WHERE tenant_id = ? AND id = ? AND read_at IS NULL`,
		s.t(at), tenantID, id); err != nil {
		return s.wrap("mark notice read", err)
	}
	_, err := x.GetRecipient(ctx, tenantID, id)
	return err
}

// AckRecipient acknowledges once; reading is implied.
func (x desk) AckRecipient(ctx context.Context, tenantID, id, by string, at time.Time) (bool, error) {
	s := x.s
	res, err := s.conn().exec(ctx, `UPDATE desk_notice_recipients SET acked_at = ?, acked_by = ?, next_remind_at = NULL,
		read_at = COALESCE(read_at, ?) WHERE tenant_id = ? AND id = ? AND acked_at IS NULL`, s.t(at), by, s.t(at), tenantID, id)
	if err := affected(res, err); errors.Is(err, store.ErrNotFound) {
		if _, gerr := x.GetRecipient(ctx, tenantID, id); gerr != nil {
			return false, gerr
		}
		return false, nil
	} else if err != nil {
		return false, s.wrap("acknowledge notice", err)
	}
	return true, nil
}

// DueReminders lists unacknowledged recipients whose reminder is due.
func (x desk) DueReminders(ctx context.Context, now time.Time, limit int) ([]store.NoticeRecipient, error) {
	limit = min(max(limit, 1), store.MaxPageSize)
	rs, err := collect(ctx, x.s.conn(), scanRecipient, `SELECT `+recipientCols+` FROM desk_notice_recipients
		WHERE next_remind_at IS NOT NULL AND next_remind_at <= ? AND acked_at IS NULL ORDER BY next_remind_at, id LIMIT ?`,
		x.s.t(norm(now)), limit)
	return rs, x.s.wrap("due notice reminders", err)
}

// ClaimReminder moves a recipient from sent to sent+1 reminders.
func (x desk) ClaimReminder(ctx context.Context, tenantID, id string, sent int, next time.Time) error {
	s := x.s
	res, err := s.conn().exec(ctx, `UPDATE desk_notice_recipients SET reminders = reminders + 1, next_remind_at = ?
		WHERE tenant_id = ? AND id = ? AND reminders = ? AND acked_at IS NULL AND next_remind_at IS NOT NULL`,
		s.t(next), tenantID, id, sent)
	if err := affected(res, err); errors.Is(err, store.ErrNotFound) {
		if _, gerr := x.GetRecipient(ctx, tenantID, id); gerr != nil {
			return gerr
		}
		return fmt.Errorf("%w: reminder of %s was taken or is not due", store.ErrConflict, id)
	} else if err != nil {
		return s.wrap("claim notice reminder", err)
	}
	return nil
}

const sectionCols = `id, tenant_id, title, body, created_by, created_by_name, created_at, sent_at, sent_in`

func scanSection(r rowScanner) (store.DigestSection, error) {
	var d store.DigestSection
	err := r.Scan(&d.ID, &d.TenantID, &d.Title, &d.Body, &d.CreatedBy, &d.CreatedByName, timeDest{&d.CreatedAt},
		timeDest{&d.SentAt}, &d.SentIn)
	return d, err
}

// CreateSection inserts a pending section; an unknown tenant is ErrNotFound.
func (x desk) CreateSection(ctx context.Context, d *store.DigestSection) error {
	s := x.s
	if err := ensureID(&d.ID); err != nil {
		return err
	}
	d.CreatedAt, d.SentAt, d.SentIn = s.stamp(), time.Time{}, ""
	_, err := s.conn().exec(ctx, `INSERT INTO digest_sections (`+sectionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, '')`,
		d.ID, d.TenantID, d.Title, d.Body, d.CreatedBy, d.CreatedByName, s.t(d.CreatedAt))
	return s.wrap("create digest section", err)
}

// Sections lists pending sections first, then sent ones, newest first.
func (x desk) Sections(ctx context.Context, tenantID string, p store.Page) ([]store.DigestSection, error) {
	limit, offset := PageBounds(p)
	ds, err := collect(ctx, x.s.conn(), scanSection, `SELECT `+sectionCols+` FROM digest_sections WHERE tenant_id = ?
		ORDER BY CASE WHEN sent_at IS NULL THEN 0 ELSE 1 END, created_at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return ds, x.s.wrap("list digest sections", err)
}

// DeleteSection removes a pending section.
func (x desk) DeleteSection(ctx context.Context, tenantID, id string) error {
	return x.s.wrap("delete digest section", affected(x.s.conn().exec(ctx,
		`DELETE FROM digest_sections WHERE tenant_id = ? AND id = ? AND sent_at IS NULL`, tenantID, id)))
}

// ClaimSections marks the oldest pending sections sent, atomically: a
// section claimed by one digest is never in another.
func (x desk) ClaimSections(ctx context.Context, tenantID, sentIn string, at time.Time, limit int) ([]store.DigestSection, error) {
	s := x.s
	limit = min(max(limit, 1), store.MaxPageSize)
	ds, err := collect(ctx, s.conn(), scanSection, `UPDATE digest_sections SET sent_at = ?, sent_in = ?
		WHERE tenant_id = ? AND sent_at IS NULL AND id IN (SELECT id FROM digest_sections WHERE tenant_id = ? AND sent_at IS NULL
		ORDER BY created_at, id LIMIT ?) RETURNING `+sectionCols, s.t(at), sentIn, tenantID, tenantID, limit)
	if err != nil {
		return nil, s.wrap("claim digest sections", err)
	}
	slices.SortFunc(ds, func(a, b store.DigestSection) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return ds, nil
}

// ReleaseSections makes the sections of sentIn pending again.
func (x desk) ReleaseSections(ctx context.Context, tenantID, sentIn string) error {
	_, err := x.s.conn().exec(ctx, `UPDATE digest_sections SET sent_at = NULL, sent_in = '' WHERE tenant_id = ? AND sent_in = ?`,
		tenantID, sentIn)
	return x.s.wrap("release digest sections", err)
}
