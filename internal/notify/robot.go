package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// robot holds what the HTTP channels share: the name, the guarded client,
// the clock.
type robot struct {
	name   string
	kind   string
	client *http.Client
	now    func() time.Time
}

func newRobot(cfg ChannelConfig, env Env) (robot, error) {
	to, err := cfg.timeout()
	if err != nil {
		return robot{}, err
	}
	return robot{name: cfg.Name, kind: cfg.Kind, client: newHTTPClient(cfg.AllowPrivate, to), now: env.now}, nil
}

// providerAnswer is the {errcode, errmsg} / {code, msg} answer of the
// Chinese robot APIs.
type providerAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	Code    *int   `json:"code"`
	Msg     string `json:"msg"`
}

// post sends body and checks the provider's error code; codes listed in
// transientCodes (rate limits, busy) may be retried.
func (r robot) post(ctx context.Context, endpoint string, body any, header http.Header, msgID string, transientCodes ...int) (Receipt, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return Receipt{}, &SendError{Channel: r.name, Err: fmt.Errorf("encode body: %w", err)}
	}
	res, err := postJSON(ctx, r.client, r.name, endpoint, data, header)
	if err != nil {
		return Receipt{}, err
	}
	var ans providerAnswer
	if len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, &ans); err != nil {
			return Receipt{}, &SendError{Channel: r.name, Status: res.Status, Err: fmt.Errorf("decode answer: %w", err)}
		}
	}
	code, text := 0, ""
	switch {
	case ans.ErrCode != nil:
		code, text = *ans.ErrCode, ans.ErrMsg
	case ans.Code != nil:
		code, text = *ans.Code, ans.Msg
	}
	if code != 0 {
		transient := false
		for _, c := range transientCodes {
			transient = transient || c == code
		}
		return Receipt{}, &SendError{Channel: r.name, Status: code, Transient: transient, Err: fmt.Errorf("provider error %d: %s", code, truncate(text, 200))}
	}
	return Receipt{Channel: r.name, Kind: r.kind, MessageID: msgID, Status: res.Status, At: r.now().UTC()}, nil
}

// prepare validates msg before any channel-specific work.
func prepare(name string, msg *Message) error {
	if err := msg.Validate(); err != nil {
		return &SendError{Channel: name, Err: err}
	}
	return nil
}

var errMissingSecret = errors.New("missing secret")
