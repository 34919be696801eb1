package notify

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// WeCom (企业微信) group robot limits: markdown content up to 4096 bytes, text
// up to 2048; 20 messages a minute per robot.
const (
	wecomMarkdownMax = 4096
	wecomTextMax     = 2048
	wecomEndpoint    = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
)

// WeComSettings are the non-secret options of a WeCom robot. The robot key
// is the secret "key".
type WeComSettings struct {
	// Endpoint overrides the robot API URL (a test server or a relay).
	Endpoint string `json:"endpoint,omitempty"`
	// MsgType is "markdown" (default) or "text".
	MsgType string `json:"msgtype,omitempty"`
	// MentionedMobiles are phone numbers to @ in text messages; "@all" for everyone.
	MentionedMobiles []string `json:"mentioned_mobile_list,omitempty"`
}

type wecomChannel struct {
	robot
	settings WeComSettings
	endpoint string
}

var _ Channel = (*wecomChannel)(nil)

func newWeComChannel(cfg ChannelConfig, env Env) (Channel, error) {
	var s WeComSettings
	if err := settingsInto(cfg, &s); err != nil {
		return nil, err
	}
	sec, err := secretsFor(cfg, "key")
	if err != nil {
		return nil, err
	}
	if sec["key"] == "" {
		return nil, fmt.Errorf("%w: key", errMissingSecret)
	}
	switch s.MsgType {
	case "":
		s.MsgType = "markdown"
	case "markdown", "text":
	default:
		return nil, fmt.Errorf("wecom: msgtype %q: want markdown or text", s.MsgType)
	}
	if len(s.MentionedMobiles) > 50 {
		return nil, fmt.Errorf("wecom: more than 50 mentioned mobiles")
	}
	if s.Endpoint == "" {
		s.Endpoint = wecomEndpoint
	}
	u, err := checkURL(s.Endpoint, cfg.AllowPrivate)
	if err != nil {
		return nil, fmt.Errorf("wecom: %w", err)
	}
	q := u.Query()
	q.Set("key", sec["key"])
	u.RawQuery = q.Encode()
	r, err := newRobot(cfg, env)
	if err != nil {
		return nil, err
	}
	return &wecomChannel{robot: r, settings: s, endpoint: u.String()}, nil
}

type wecomContent struct {
	Content          string   `json:"content"`
	MentionedMobiles []string `json:"mentioned_mobile_list,omitempty"`
}

type wecomBody struct {
	MsgType  string        `json:"msgtype"`
	Markdown *wecomContent `json:"markdown,omitempty"`
	Text     *wecomContent `json:"text,omitempty"`
}

// Send posts msg to the robot. errcode 45009 (API frequency limit) and -1
// (system busy) are transient.
func (c *wecomChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if err := prepare(c.name, &msg); err != nil {
		return Receipt{}, err
	}
	body := wecomBody{MsgType: c.settings.MsgType}
	if c.settings.MsgType == "markdown" {
		md := markdownOf(msg)
		if msg.Link != "" {
			md += "\n\n[" + EscapeMarkdown(msg.Link) + "](" + markdownURL(msg.Link) + ")"
		}
		body.Markdown = &wecomContent{Content: truncate(md, wecomMarkdownMax)}
	} else {
		body.Text = &wecomContent{Content: truncate(withLink(textOf(msg), msg.Link), wecomTextMax), MentionedMobiles: c.settings.MentionedMobiles}
	}
	return c.post(ctx, c.endpoint, body, nil, msg.ID, 45009, -1)
}

// withLink appends the link to a plain-text body.
func withLink(text, link string) string {
	if link == "" {
		return text
	}
	return text + "\n" + link
}

// markdownURL returns link for use inside a Markdown link target, or "#" when
// it is not an absolute http(s) URL (javascript: and friends stay inert).
func markdownURL(link string) string {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "#"
	}
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u.String())
}
