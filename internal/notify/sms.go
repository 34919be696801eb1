package notify

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// SMS gateway limits.
const (
	smsDefaultMaxRunes = 140
	smsMaxRunesLimit   = 500
	smsMaxNumbers      = 50
)

// SMSSettings configure an SMS or voice-call gateway reached as a signed
// JSON webhook: Vigil posts {id, mode, to, text} and the gateway (a vendor
// adapter run by the operator) places the messages or calls. Secrets are
// "signing_secret" and "bearer_token", as for the generic webhook.
type SMSSettings struct {
	URL string `json:"url"`
	// Numbers are E.164 phone numbers (+8613800000000).
	Numbers []string `json:"numbers"`
	// Mode is "sms" (default) or "voice".
	Mode string `json:"mode,omitempty"`
	// MaxRunes bounds the text (default 140, at most 500).
	MaxRunes int `json:"max_runes,omitempty"`
	// Headers are extra request headers.
	Headers map[string]string `json:"headers,omitempty"`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{5,14}$`)

type smsChannel struct {
	*webhookChannel
	settings SMSSettings
}

var _ Channel = (*smsChannel)(nil)

func newSMSChannel(cfg ChannelConfig, env Env) (Channel, error) {
	var s SMSSettings
	if err := settingsInto(cfg, &s); err != nil {
		return nil, err
	}
	if len(s.Numbers) == 0 || len(s.Numbers) > smsMaxNumbers {
		return nil, fmt.Errorf("sms: want 1-%d numbers, have %d", smsMaxNumbers, len(s.Numbers))
	}
	for _, n := range s.Numbers {
		if !e164.MatchString(n) {
			return nil, fmt.Errorf("sms: number %q is not E.164 (+ and 6-15 digits)", n)
		}
	}
	switch s.Mode {
	case "":
		s.Mode = "sms"
	case "sms", "voice":
	default:
		return nil, fmt.Errorf("sms: mode %q: want sms or voice", s.Mode)
	}
	if s.MaxRunes == 0 {
		s.MaxRunes = smsDefaultMaxRunes
	}
	if s.MaxRunes < 10 || s.MaxRunes > smsMaxRunesLimit {
		return nil, fmt.Errorf("sms: max_runes %d out of range 10-%d", s.MaxRunes, smsMaxRunesLimit)
	}
	sec, err := secretsFor(cfg, "signing_secret", "bearer_token")
	if err != nil {
		return nil, err
	}
	w, err := newSignedPoster(cfg, env, s.URL, s.Headers, sec)
	if err != nil {
		return nil, err
	}
	return &smsChannel{webhookChannel: w, settings: s}, nil
}

type smsPayload struct {
	ID       string   `json:"id"`
	Mode     string   `json:"mode"`
	To       []string `json:"to"`
	Text     string   `json:"text"`
	Severity Severity `json:"severity,omitempty"`
}

// Send posts the short text: the subject, then the ack link when there is
// room, bounded to MaxRunes.
func (c *smsChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if err := prepare(c.name, &msg); err != nil {
		return Receipt{}, err
	}
	text := strings.Join(strings.Fields(msg.Subject), " ")
	if msg.AckURL != "" && len([]rune(text))+1+len([]rune(msg.AckURL)) <= c.settings.MaxRunes {
		text += " " + msg.AckURL
	}
	p := smsPayload{ID: msg.ID, Mode: c.settings.Mode, To: c.settings.Numbers, Text: truncateRunes(text, c.settings.MaxRunes), Severity: msg.Severity}
	return c.postSigned(ctx, p, msg.ID, c.now())
}
