package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxResponseBytes bounds how much of a provider's answer is read.
const maxResponseBytes = 64 << 10

// defaultHTTPTimeout bounds one HTTP delivery attempt.
const defaultHTTPTimeout = 10 * time.Second

// newHTTPClient returns a client whose every connection goes through the
// SSRF-guarded dialer, that ignores proxy settings from the environment
// (a proxy would dial on our behalf) and that does not follow redirects.
func newHTTPClient(allowPrivate bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = defaultHTTPTimeout
	}
	d := newDialer(allowPrivate, timeout)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// httpResult is a bounded provider answer.
type httpResult struct {
	Status int
	Body   []byte
}

// postJSON posts body and classifies the outcome: 2xx returns the answer,
// 429 and 5xx are transient, other statuses permanent; refused addresses are
// permanent, timeouts and network errors transient.
func postJSON(ctx context.Context, c *http.Client, channel, endpoint string, body []byte, header http.Header) (httpResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return httpResult{}, &SendError{Channel: channel, Err: fmt.Errorf("build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Vigil-Notify/1")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return httpResult{}, &SendError{Channel: channel, Transient: transientNetErr(err), Err: scrubURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return httpResult{}, &SendError{Channel: channel, Status: resp.StatusCode, Transient: true, Err: fmt.Errorf("read response: %w", err)}
	}
	res := httpResult{Status: resp.StatusCode, Body: data}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return res, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return res, &SendError{Channel: channel, Status: resp.StatusCode, Transient: true, Err: errors.New(http.StatusText(resp.StatusCode))}
	default:
		return res, &SendError{Channel: channel, Status: resp.StatusCode, Err: errors.New(http.StatusText(resp.StatusCode))}
	}
}

// transientNetErr reports whether a transport error may go away by itself.
func transientNetErr(err error) bool {
	if errors.Is(err, ErrBlockedAddress) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// scrubURLError drops the request URL from a transport error: robot URLs
// carry their access key in the query.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return fmt.Errorf("post: %w", ue.Err)
	}
	return fmt.Errorf("post: %w", err)
}
