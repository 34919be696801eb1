package weblog

import (
	"strings"
	"time"
)

// Record is one parsed access-log line.
type Record struct {
	Time     time.Time     `json:"time"`
	ClientIP string        `json:"client_ip"`
	Method   string        `json:"method,omitempty"`
	URI      string        `json:"uri,omitempty"` // path + "?" + query, as logged
	Path     string        `json:"path,omitempty"`
	Query    string        `json:"query,omitempty"`
	Proto    string        `json:"proto,omitempty"`
	Status   int           `json:"status"`
	Size     int64         `json:"size"`
	Referer  string        `json:"referer,omitempty"`
	UA       string        `json:"ua,omitempty"`
	Host     string        `json:"host,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Line     int           `json:"line"`
	Raw      string        `json:"-"`
}

// setURI fills URI, Path and Query from a request target.
func (r *Record) setURI(u string) {
	r.URI = u
	if i := strings.IndexByte(u, '?'); i >= 0 {
		r.Path, r.Query = u[:i], u[i+1:]
	} else {
		r.Path, r.Query = u, ""
	}
}

// setRequest splits a request line "GET /x?y HTTP/1.1". A request line
// without a method and protocol (a bare target, or garbage sent by a
// scanner) keeps the whole text as URI.
func (r *Record) setRequest(line string) {
	if line == "-" || line == "" {
		return
	}
	m, rest, ok := strings.Cut(line, " ")
	if !ok {
		r.setURI(line)
		return
	}
	r.Method = m
	if i := strings.LastIndexByte(rest, ' '); i >= 0 && strings.HasPrefix(rest[i+1:], "HTTP/") {
		r.Proto = rest[i+1:]
		rest = rest[:i]
	}
	r.setURI(rest)
}

// Request is the request line rebuilt from its parts.
func (r *Record) Request() string {
	s := r.Method
	if s != "" {
		s += " "
	}
	s += r.URI
	if r.Proto != "" {
		s += " " + r.Proto
	}
	return s
}
