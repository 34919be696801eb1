package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

const (
	feishuEndpoint = "https://open.feishu.cn/open-apis/bot/v2/hook/"
	feishuBodyMax  = 20000
)

// FeishuSettings are the non-secret options of a Feishu / Lark custom bot.
// The secrets are "token" (the last path element of the hook URL) and, when
// signature verification is on, "secret".
type FeishuSettings struct {
	// Endpoint is the hook URL prefix; the token is appended. Use
	// https://open.larksuite.com/open-apis/bot/v2/hook/ for Lark.
	Endpoint string `json:"endpoint,omitempty"`
	// MsgType is "interactive" (a card with lark_md, default) or "text".
	MsgType string `json:"msgtype,omitempty"`
}

type feishuChannel struct {
	robot
	settings FeishuSettings
	endpoint string
	secret   string
}

var _ Channel = (*feishuChannel)(nil)

func newFeishuChannel(cfg ChannelConfig, env Env) (Channel, error) {
	var s FeishuSettings
	if err := settingsInto(cfg, &s); err != nil {
		return nil, err
	}
	sec, err := secretsFor(cfg, "token", "secret")
	if err != nil {
		return nil, err
	}
	if sec["token"] == "" {
		return nil, fmt.Errorf("%w: token", errMissingSecret)
	}
	switch s.MsgType {
	case "":
		s.MsgType = "interactive"
	case "interactive", "text":
	default:
		return nil, fmt.Errorf("feishu: msgtype %q: want interactive or text", s.MsgType)
	}
	if s.Endpoint == "" {
		s.Endpoint = feishuEndpoint
	}
	if !strings.HasSuffix(s.Endpoint, "/") {
		s.Endpoint += "/"
	}
	endpoint := s.Endpoint + url.PathEscape(sec["token"])
	if _, err := checkURL(endpoint, cfg.AllowPrivate); err != nil {
		return nil, fmt.Errorf("feishu: %w", err)
	}
	r, err := newRobot(cfg, env)
	if err != nil {
		return nil, err
	}
	return &feishuChannel{robot: r, settings: s, endpoint: endpoint, secret: sec["secret"]}, nil
}

// feishuSign computes the bot signature for a timestamp in seconds:
// "timestamp\nsecret" is the HMAC-SHA256 key, the message is empty, the
// result is base64.
func feishuSign(timestamp int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestamp, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type feishuText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type feishuBody struct {
	Timestamp string         `json:"timestamp,omitempty"`
	Sign      string         `json:"sign,omitempty"`
	MsgType   string         `json:"msg_type"`
	Content   map[string]any `json:"content,omitempty"`
	Card      map[string]any `json:"card,omitempty"`
}

// Send posts msg to the bot, signed when a secret is set. Code 11232
// (frequency limited) is transient.
func (c *feishuChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if err := prepare(c.name, &msg); err != nil {
		return Receipt{}, err
	}
	body := feishuBody{MsgType: c.settings.MsgType}
	if c.settings.MsgType == "text" {
		body.Content = map[string]any{"text": truncate(withLink(textOf(msg), msg.Link), feishuBodyMax)}
	} else {
		md := msg.Markdown
		if md == "" {
			md = EscapeMarkdown(msg.Text)
		}
		if msg.Link != "" {
			md += "\n\n[" + EscapeMarkdown(msg.Link) + "](" + markdownURL(msg.Link) + ")"
		}
		body.Card = map[string]any{
			"header": map[string]any{"title": feishuText{Tag: "plain_text", Content: truncateRunes(msg.Subject, 100)}},
			"elements": []any{
				map[string]any{"tag": "div", "text": feishuText{Tag: "lark_md", Content: truncate(md, feishuBodyMax)}},
			},
		}
	}
	if c.secret != "" {
		ts := c.now().Unix()
		body.Timestamp = strconv.FormatInt(ts, 10)
		body.Sign = feishuSign(ts, c.secret)
	}
	return c.post(ctx, c.endpoint, body, nil, msg.ID, 11232)
}
