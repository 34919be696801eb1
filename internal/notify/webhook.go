package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of a signed webhook delivery. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), the
// timestamp Unix seconds; receivers should refuse stale timestamps.
const (
	HeaderSignature = "X-Vigil-Signature"
	HeaderTimestamp = "X-Vigil-Timestamp"
	HeaderMessageID = "X-Vigil-Message-ID"
)

// WebhookSettings are the non-secret options of a generic JSON webhook. The
// optional secret "signing_secret" signs each delivery; "bearer_token" is
// sent as an Authorization header.
type WebhookSettings struct {
	URL string `json:"url"`
	// Headers are extra request headers (not Authorization, Host or Content-*).
	Headers map[string]string `json:"headers,omitempty"`
}

type webhookChannel struct {
	robot
	url     string
	header  http.Header
	signing string
}

var _ Channel = (*webhookChannel)(nil)

func newWebhookChannel(cfg ChannelConfig, env Env) (Channel, error) {
	var s WebhookSettings
	if err := settingsInto(cfg, &s); err != nil {
		return nil, err
	}
	sec, err := secretsFor(cfg, "signing_secret", "bearer_token")
	if err != nil {
		return nil, err
	}
	return newSignedPoster(cfg, env, s.URL, s.Headers, sec)
}

func newSignedPoster(cfg ChannelConfig, env Env, rawURL string, headers map[string]string, sec map[string]string) (*webhookChannel, error) {
	if _, err := checkURL(rawURL, cfg.AllowPrivate); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Kind, err)
	}
	if len(headers) > 20 {
		return nil, fmt.Errorf("%s: more than 20 headers", cfg.Kind)
	}
	h := http.Header{}
	for k, v := range headers {
		ck := http.CanonicalHeaderKey(k)
		if ck == "Authorization" || ck == "Host" || strings.HasPrefix(ck, "Content-") || strings.HasPrefix(ck, "X-Vigil-") {
			return nil, fmt.Errorf("%s: header %q may not be set in settings", cfg.Kind, k)
		}
		if strings.ContainsAny(k+v, "\r\n") || len(k)+len(v) > 1024 {
			return nil, fmt.Errorf("%s: header %q is malformed or too long", cfg.Kind, k)
		}
		h.Set(ck, v)
	}
	if tok := sec["bearer_token"]; tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	r, err := newRobot(cfg, env)
	if err != nil {
		return nil, err
	}
	return &webhookChannel{robot: r, url: rawURL, header: h, signing: sec["signing_secret"]}, nil
}

// SignWebhook returns the X-Vigil-Signature value for body sent at ts.
func SignWebhook(secret string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a delivery's signature and that its timestamp is
// within maxAge of now; receivers (and tests) use it.
func VerifyWebhook(secret, signature, timestamp string, body []byte, now time.Time, maxAge time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: bad timestamp %q", timestamp)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > maxAge || d < -maxAge {
		return fmt.Errorf("webhook: timestamp outside %s", maxAge)
	}
	if !hmac.Equal([]byte(SignWebhook(secret, ts, body)), []byte(signature)) {
		return fmt.Errorf("webhook: signature mismatch")
	}
	return nil
}

// webhookAttachment lists an attachment without its bytes.
type webhookAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// webhookPayload is the JSON document a generic webhook receives.
type webhookPayload struct {
	ID          string              `json:"id"`
	Tenant      string              `json:"tenant,omitempty"`
	Kind        Kind                `json:"kind"`
	Severity    Severity            `json:"severity,omitempty"`
	Subject     string              `json:"subject"`
	Text        string              `json:"text,omitempty"`
	Markdown    string              `json:"markdown,omitempty"`
	HTML        string              `json:"html,omitempty"`
	Link        string              `json:"link,omitempty"`
	AckURL      string              `json:"ack_url,omitempty"`
	Attachments []webhookAttachment `json:"attachments,omitempty"`
	SentAt      time.Time           `json:"sent_at"`
}

// Send posts the message as JSON, signed when a signing secret is set.
func (c *webhookChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if err := prepare(c.name, &msg); err != nil {
		return Receipt{}, err
	}
	now := c.now()
	p := webhookPayload{ID: msg.ID, Tenant: msg.Tenant, Kind: msg.Kind, Severity: msg.Severity, Subject: msg.Subject,
		Text: msg.Text, Markdown: msg.Markdown, HTML: msg.HTML, Link: msg.Link, AckURL: msg.AckURL, SentAt: now.UTC()}
	for _, a := range msg.Attachments {
		p.Attachments = append(p.Attachments, webhookAttachment{Name: a.Name, ContentType: a.ContentType, Size: len(a.Data)})
	}
	return c.postSigned(ctx, p, msg.ID, now)
}

func (c *webhookChannel) postSigned(ctx context.Context, payload any, msgID string, now time.Time) (Receipt, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return Receipt{}, &SendError{Channel: c.name, Err: fmt.Errorf("encode body: %w", err)}
	}
	h := c.header.Clone()
	h.Set(HeaderMessageID, msgID)
	if c.signing != "" {
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderSignature, SignWebhook(c.signing, now, body))
	}
	res, err := postJSON(ctx, c.client, c.name, c.url, body, h)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{Channel: c.name, Kind: c.kind, MessageID: msgID, Status: res.Status, At: now.UTC()}, nil
}
