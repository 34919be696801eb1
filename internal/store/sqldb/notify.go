package sqldb

import (
	"context"

	"github.com/vigil-sec/vigil/internal/store"
)

// notifyChannels implements store.NotifyChannelStore, scoped by tenant.
type notifyChannels struct{ s *Store }

const channelCols = `id, tenant_id, name, kind, config, secret_id, min_level, enabled, created_at`

func scanChannel(r rowScanner) (store.NotifyChannel, error) {
	var c store.NotifyChannel
	var cfg string
	err := r.Scan(&c.ID, &c.TenantID, &c.Name, &c.Kind, &cfg, &c.SecretID, &c.MinLevel, &c.Enabled, timeDest{&c.CreatedAt})
	c.Config = []byte(cfg)
	return c, err
}

// Create inserts a channel, setting its ID (when empty) and CreatedAt.
func (x notifyChannels) Create(ctx context.Context, c *store.NotifyChannel) error {
	s := x.s
	if err := ensureID(&c.ID); err != nil {
		return err
	}
	now := s.stamp()
	c.CreatedAt = now
	_, err := s.conn().exec(ctx, `INSERT INTO notify_channels (`+channelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Name, c.Kind, string(c.Config), c.SecretID, c.MinLevel, c.Enabled, s.t(now))
	return s.wrap("create notification channel", err)
}

// Get returns one channel of a tenant.
func (x notifyChannels) Get(ctx context.Context, tenantID, id string) (store.NotifyChannel, error) {
	c, err := scanChannel(x.s.conn().queryRow(ctx, `SELECT `+channelCols+` FROM notify_channels WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return c, x.s.wrap("get notification channel", err)
}

// List returns a tenant's channels by name.
func (x notifyChannels) List(ctx context.Context, tenantID string) ([]store.NotifyChannel, error) {
	cs, err := collect(ctx, x.s.conn(), scanChannel, `SELECT `+channelCols+` FROM notify_channels WHERE tenant_id = ? ORDER BY lower(name), id`, tenantID)
	return cs, x.s.wrap("list notification channels", err)
}

// Delete removes a channel.
func (x notifyChannels) Delete(ctx context.Context, tenantID, id string) error {
	err := affected(x.s.conn().exec(ctx, `DELETE FROM notify_channels WHERE tenant_id = ? AND id = ?`, tenantID, id))
	return x.s.wrap("delete notification channel", err)
}

// Record stores one delivery attempt.
func (x notifyChannels) Record(ctx context.Context, d *store.NotifyDelivery) error {
	s := x.s
	if err := ensureID(&d.ID); err != nil {
		return err
	}
	at := norm(d.At)
	if at.IsZero() {
		at = s.stamp()
	}
	d.At = at
	_, err := s.conn().exec(ctx, `INSERT INTO notify_deliveries (id, tenant_id, channel_id, message_id, subject, attempt, status, error, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.TenantID, d.ChannelID, d.MessageID, d.Subject, d.Attempt, d.Status, d.Error, s.t(at))
	return s.wrap("record delivery", err)
}

// Deliveries returns a tenant's latest delivery attempts.
func (x notifyChannels) Deliveries(ctx context.Context, tenantID string, p store.Page) ([]store.NotifyDelivery, error) {
	limit, offset := PageBounds(p)
	ds, err := collect(ctx, x.s.conn(), func(r rowScanner) (store.NotifyDelivery, error) {
		var d store.NotifyDelivery
		return d, r.Scan(&d.ID, &d.TenantID, &d.ChannelID, &d.MessageID, &d.Subject, &d.Attempt, &d.Status, &d.Error, timeDest{&d.At})
	}, `SELECT id, tenant_id, channel_id, message_id, subject, attempt, status, error, at FROM notify_deliveries
		WHERE tenant_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, tenantID, limit, offset)
	return ds, x.s.wrap("list deliveries", err)
}
