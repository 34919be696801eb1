package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/alerting"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// NotificationChannel is a way a tenant is told about alerts. Its secrets
// are never returned.
type NotificationChannel struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	MinLevel  string          `json:"min_level"`
	Config    json.RawMessage `json:"config" doc:"The channel configuration without its secrets"`
	HasSecret bool            `json:"has_secret"`
	CreatedAt time.Time       `json:"created_at"`
}

func channelDTO(c store.NotifyChannel) NotificationChannel {
	return NotificationChannel{ID: c.ID, Name: c.Name, Kind: c.Kind, MinLevel: c.MinLevel, Config: json.RawMessage(c.Config),
		HasSecret: c.SecretID != "", CreatedAt: c.CreatedAt}
}

// NotificationChannelInput configures a channel.
type NotificationChannelInput struct {
	Name         string            `json:"name" maxLength:"200"`
	Kind         string            `json:"kind" doc:"email, wecom, dingtalk, feishu, webhook or sms"`
	MinLevel     string            `json:"min_level" enum:"informational,low,medium,high,critical"`
	Settings     json.RawMessage   `json:"settings,omitempty" doc:"Kind-specific settings, e.g. {\"url\": \"https://…\"}"`
	Secrets      map[string]string `json:"secrets,omitempty" maxProperties:"16" doc:"Kind-specific secrets; stored encrypted, never returned"`
	AllowPrivate bool              `json:"allow_private,omitempty" doc:"Let the channel reach loopback or private addresses (platform administrators only)"`
}

type channelCreateIn struct {
	TenantParam
	Body NotificationChannelInput
}

type channelParamIn struct {
	TenantParam
	Channel string `path:"channel" maxLength:"100" doc:"Channel ID"`
}

type channelListIn struct {
	TenantParam
}

// TestResult says whether a test message went through.
type TestResult struct {
	Sent  bool   `json:"sent"`
	Error string `json:"error,omitempty"`
}

func (s *server) registerChannels() {
	tags := []string{"notifications"}
	base := "/tenants/{tenant}/notification-channels"
	register(s, inTenant(auth.PermServiceRead), huma.Operation{OperationID: "list-notification-channels", Method: http.MethodGet,
		Path: base, Summary: "List the tenant's notification channels", Tags: tags}, s.listChannels)
	register(s, inTenant(auth.PermSecretWrite), huma.Operation{OperationID: "create-notification-channel", Method: http.MethodPost,
		Path: base, Summary: "Add a notification channel", Description: "The channel is built (and its address checked " +
			"against loopback and private networks) before it is stored; secrets go to the encrypted vault.",
		DefaultStatus: http.StatusCreated, Tags: tags}, s.createChannel)
	register(s, inTenant(auth.PermSecretWrite), huma.Operation{OperationID: "delete-notification-channel", Method: http.MethodDelete,
		Path: base + "/{channel}", Summary: "Delete a notification channel", DefaultStatus: http.StatusNoContent, Tags: tags}, s.deleteChannel)
	register(s, inTenant(auth.PermSecretWrite), huma.Operation{OperationID: "test-notification-channel", Method: http.MethodPost,
		Path: base + "/{channel}/test", Summary: "Send a test message now", Tags: tags}, s.testChannel)
}

func (s *server) listChannels(ctx context.Context, _ *channelListIn) (*out[[]NotificationChannel], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := s.opts.Alerting.List(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	return reply(items(cs, channelDTO))
}

func (s *server) createChannel(ctx context.Context, in *channelCreateIn) (*out[NotificationChannel], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.opts.Alerting.Create(ctx, t.ID, alerting.Input{Name: in.Body.Name, Kind: in.Body.Kind, MinLevel: in.Body.MinLevel,
		Settings: in.Body.Settings, Secrets: in.Body.Secrets, AllowPrivate: in.Body.AllowPrivate})
	if err != nil {
		return nil, err
	}
	return reply(channelDTO(c))
}

func (s *server) deleteChannel(ctx context.Context, in *channelParamIn) (*noContent, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	return nil, s.opts.Alerting.Delete(ctx, t.ID, in.Channel)
}

func (s *server) testChannel(ctx context.Context, in *channelParamIn) (*out[TestResult], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.opts.Alerting.Test(ctx, t.ID, in.Channel); err != nil {
		if errors.Is(err, auth.ErrForbidden) || errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		// The channel answered badly or not at all: a result, not a
		// failure of this call; the delivery log keeps it too.
		return reply(TestResult{Sent: false, Error: err.Error()})
	}
	return reply(TestResult{Sent: true})
}
