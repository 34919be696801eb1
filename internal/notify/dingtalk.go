package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
)

const (
	dingtalkEndpoint = "https://oapi.dingtalk.com/robot/send"
	dingtalkBodyMax  = 20000
)

// DingTalkSettings are the non-secret options of a DingTalk custom robot.
// The secrets are "access_token" and, when the robot uses 加签 signing,
// "secret" (the SEC… string).
type DingTalkSettings struct {
	// Endpoint overrides the robot API URL.
	Endpoint string `json:"endpoint,omitempty"`
	// MsgType is "markdown" (default) or "text".
	MsgType string `json:"msgtype,omitempty"`
	// AtMobiles are phone numbers to @.
	AtMobiles []string `json:"at_mobiles,omitempty"`
	// AtAll mentions everyone in the group.
	AtAll bool `json:"at_all,omitempty"`
}

type dingtalkChannel struct {
	robot
	settings DingTalkSettings
	endpoint string
	secret   string
}

var _ Channel = (*dingtalkChannel)(nil)

func newDingTalkChannel(cfg ChannelConfig, env Env) (Channel, error) {
	var s DingTalkSettings
	if err := settingsInto(cfg, &s); err != nil {
		return nil, err
	}
	sec, err := secretsFor(cfg, "access_token", "secret")
	if err != nil {
		return nil, err
	}
	if sec["access_token"] == "" {
		return nil, fmt.Errorf("%w: access_token", errMissingSecret)
	}
	switch s.MsgType {
	case "":
		s.MsgType = "markdown"
	case "markdown", "text":
	default:
		return nil, fmt.Errorf("dingtalk: msgtype %q: want markdown or text", s.MsgType)
	}
	if len(s.AtMobiles) > 50 {
		return nil, fmt.Errorf("dingtalk: more than 50 at_mobiles")
	}
	if s.Endpoint == "" {
		s.Endpoint = dingtalkEndpoint
	}
	u, err := checkURL(s.Endpoint, cfg.AllowPrivate)
	if err != nil {
		return nil, fmt.Errorf("dingtalk: %w", err)
	}
	q := u.Query()
	q.Set("access_token", sec["access_token"])
	u.RawQuery = q.Encode()
	r, err := newRobot(cfg, env)
	if err != nil {
		return nil, err
	}
	return &dingtalkChannel{robot: r, settings: s, endpoint: u.String(), secret: sec["secret"]}, nil
}

// dingtalkSign computes the robot signature for a millisecond timestamp:
// HMAC-SHA256 keyed with the secret over "timestamp\nsecret", base64, then
// URL-encoded, ready to append as &sign=.
func dingtalkSign(timestampMs int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMs, 10) + "\n" + secret))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

type dingtalkAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

type dingtalkBody struct {
	MsgType  string `json:"msgtype"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown,omitempty"`
	Text *struct {
		Content string `json:"content"`
	} `json:"text,omitempty"`
	At *dingtalkAt `json:"at,omitempty"`
}

// Send posts msg to the robot, signed when a secret is set. errcode 130101
// (sending too fast) and -1 (busy) are transient.
func (c *dingtalkChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if err := prepare(c.name, &msg); err != nil {
		return Receipt{}, err
	}
	body := dingtalkBody{MsgType: c.settings.MsgType}
	if len(c.settings.AtMobiles) > 0 || c.settings.AtAll {
		body.At = &dingtalkAt{AtMobiles: c.settings.AtMobiles, IsAtAll: c.settings.AtAll}
	}
	if c.settings.MsgType == "markdown" {
		md := markdownOf(msg)
		if msg.Link != "" {
			md += "\n\n[" + EscapeMarkdown(msg.Link) + "](" + markdownURL(msg.Link) + ")"
		}
		body.Markdown = &struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		}{Title: truncateRunes(msg.Subject, 64), Text: truncate(md, dingtalkBodyMax)}
	} else {
		body.Text = &struct {
			Content string `json:"content"`
		}{Content: truncate(withLink(textOf(msg), msg.Link), dingtalkBodyMax)}
	}
	endpoint := c.endpoint
	if c.secret != "" {
		ts := c.now().UnixMilli()
		endpoint += fmt.Sprintf("&timestamp=%d&sign=%s", ts, dingtalkSign(ts, c.secret))
	}
	return c.post(ctx, endpoint, body, nil, msg.ID, 130101, -1)
}
