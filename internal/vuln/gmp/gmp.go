// Package gmp is a client of the Greenbone Management Protocol (GMP), the
// XML protocol gvmd speaks on its Unix socket (/run/gvmd/gvmd.sock) or on
// TLS (port 9390). Vigil uses it to run OpenVAS scans of a tenant's hosts:
// authenticate, create a target and a task, start the task, poll it, and
// fetch the report, which goes through the OpenVAS XML importer.
//
// A GMP session is a stream of commands, each one XML element, each
// answered by one XML element named after the command with "_response"
// and carrying status and status_text attributes (2xx is success). There
// is no framing: a response ends where its root element ends.
package gmp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Well-known identifiers of a stock Greenbone installation.
const (
	// ConfigFullAndFast is the "Full and fast" scan configuration.
	ConfigFullAndFast = "daba56c8-73ec-11df-a475-002264764cea"
	// ScannerOpenVAS is the default OpenVAS scanner.
	ScannerOpenVAS = "08b69003-5fc2-4037-a479-93b440211c73"
	// PortListAllTCPNmapUDP is "All TCP and Nmap top 100 UDP".
	PortListAllTCPNmapUDP = "730ef368-57e2-11e1-a90f-406186ea4fc5"
	// FormatXML is the XML report format, the one the OpenVAS importer reads.
	FormatXML = "a994b278-1f62-11e1-96ac-406186ea4fc5"
)

// Limits of a session.
const (
	// DefaultMaxResponse bounds one response (a report of a large scan is
	// the largest).
	DefaultMaxResponse = 256 << 20
	// DefaultTimeout bounds one command's round trip.
	DefaultTimeout   = 5 * time.Minute
	maxShortResponse = 1 << 20
)

// Options say where gvmd listens and how to log in.
type Options struct {
	// Network is "unix" (Address is the socket path) or "tcp" (Address is
	// host:port, spoken over TLS).
	Network string
	Address string
	// TLS configures the TLS connection of "tcp"; nil verifies the server
	// against the system roots.
	TLS      *tls.Config
	Username string
	Password string
	// Timeout bounds each command; 0 is DefaultTimeout.
	Timeout time.Duration
	// MaxResponse bounds one response in bytes; 0 is DefaultMaxResponse.
	MaxResponse int64
}

// Client is one authenticated GMP session. It is not safe for concurrent
// use: GMP answers commands in order on one connection.
type Client struct {
	conn    net.Conn
	rec     *recorder
	dec     *xml.Decoder
	timeout time.Duration
	max     int64
}

// Error is a GMP response whose status is not 2xx.
type Error struct {
	Command    string
	Status     int
	StatusText string
}

func (e *Error) Error() string {
	return fmt.Sprintf("gmp %s: status %d: %s", e.Command, e.Status, e.StatusText)
}

// Dial connects to gvmd and authenticates.
func Dial(ctx context.Context, o Options) (*Client, error) {
	var d net.Dialer
	var conn net.Conn
	var err error
	switch o.Network {
	case "unix":
		conn, err = d.DialContext(ctx, "unix", o.Address)
	case "tcp":
		cfg := o.TLS
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		td := tls.Dialer{NetDialer: &d, Config: cfg}
		conn, err = td.DialContext(ctx, "tcp", o.Address)
	default:
		return nil, fmt.Errorf("gmp: network must be unix or tcp, not %q", o.Network)
	}
	if err != nil {
		return nil, fmt.Errorf("gmp: connect: %w", err)
	}
	c := NewClient(conn, o)
	if err := c.Authenticate(ctx, o.Username, o.Password); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// NewClient speaks GMP on an open connection (not yet authenticated).
func NewClient(conn net.Conn, o Options) *Client {
	c := &Client{conn: conn, timeout: o.Timeout, max: o.MaxResponse}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.max <= 0 {
		c.max = DefaultMaxResponse
	}
	c.rec = &recorder{r: bufio.NewReader(conn)}
	c.dec = xml.NewDecoder(c.rec)
	c.dec.Strict = true
	return c
}

// Close ends the session.
func (c *Client) Close() error { return c.conn.Close() }

// recorder keeps the bytes the decoder reads, so a response's raw XML
// can be handed on; it reads byte by byte from a buffer, so the decoder
// never reads past the response it is decoding.
type recorder struct {
	r     *bufio.Reader
	buf   bytes.Buffer
	limit int64
}

func (r *recorder) ReadByte() (byte, error) {
	b, err := r.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if int64(r.buf.Len()) >= r.limit {
		return 0, fmt.Errorf("response larger than %d bytes", r.limit)
	}
	r.buf.WriteByte(b)
	return b, nil
}

func (r *recorder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// command sends cmd (a complete XML element) and returns the raw XML of
// its response, after checking the response's name and status.
func (c *Client) command(ctx context.Context, name string, cmd []byte, limit int64) ([]byte, error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := c.conn.Write(cmd); err != nil {
		return nil, fmt.Errorf("gmp %s: send: %w", name, err)
	}
	raw, root, err := c.readResponse(min(limit, c.max))
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("gmp %s: %w", name, err)
	}
	if root.Name.Local != name+"_response" {
		return nil, fmt.Errorf("gmp %s: got <%s>, want <%s_response>", name, root.Name.Local, name)
	}
	var status, text string
	for _, a := range root.Attr {
		switch a.Name.Local {
		case "status":
			status = a.Value
		case "status_text":
			text = a.Value
		}
	}
	n, err := strconv.Atoi(status)
	if err != nil {
		return nil, fmt.Errorf("gmp %s: response without a valid status (%q)", name, status)
	}
	if n < 200 || n > 299 {
		return nil, &Error{Command: name, Status: n, StatusText: text}
	}
	return raw, nil
}

// readResponse reads one XML element from the stream and returns its raw
// bytes and its root. Document type declarations are refused: GMP never
// sends them, and refusing them rules out entity tricks.
func (c *Client) readResponse(limit int64) ([]byte, xml.StartElement, error) {
	c.rec.buf.Reset()
	c.rec.limit = limit
	var root xml.StartElement
	depth := 0
	start := -1
	for {
		off := int(c.dec.InputOffset())
		tok, err := c.dec.RawToken()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, root, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, root, errors.New("document type declarations are refused")
		case xml.StartElement:
			if depth == 0 {
				root = t.Copy()
				// The offset is the decoder's over the whole stream;
				// the buffer holds this response's bytes only.
				start = len(c.rec.buf.Bytes()) - (int(c.dec.InputOffset()) - off)
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				b := c.rec.buf.Bytes()
				return bytes.Clone(b[max(start, 0):]), root, nil
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, root, errors.New("text outside a response element")
			}
		}
	}
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Authenticate logs in; every other command needs it first.
func (c *Client) Authenticate(ctx context.Context, username, password string) error {
	cmd := "<authenticate><credentials><username>" + esc(username) + "</username><password>" + esc(password) +
		"</password></credentials></authenticate>"
	_, err := c.command(ctx, "authenticate", []byte(cmd), maxShortResponse)
	return err
}

type createResponse struct {
	ID string `xml:"id,attr"`
}

func (c *Client) create(ctx context.Context, name, cmd string) (string, error) {
	raw, err := c.command(ctx, name, []byte(cmd), maxShortResponse)
	if err != nil {
		return "", err
	}
	var r createResponse
	if err := xml.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("gmp %s: %w", name, err)
	}
	if r.ID == "" {
		return "", fmt.Errorf("gmp %s: response has no id", name)
	}
	return r.ID, nil
}

// Target is what create_target needs.
type Target struct {
	Name  string
	Hosts []string // IP addresses, host names or CIDR ranges
	// PortListID names the port list; "" is PortListAllTCPNmapUDP.
	PortListID string
	Comment    string
}

// CreateTarget creates a target and returns its ID.
func (c *Client) CreateTarget(ctx context.Context, t Target) (string, error) {
	if t.Name == "" || len(t.Hosts) == 0 {
		return "", errors.New("gmp create_target: a name and hosts are needed")
	}
	pl := t.PortListID
	if pl == "" {
		pl = PortListAllTCPNmapUDP
	}
	cmd := "<create_target><name>" + esc(t.Name) + "</name><comment>" + esc(t.Comment) + "</comment><hosts>" +
		esc(strings.Join(t.Hosts, ",")) + `</hosts><port_list id="` + esc(pl) + `"/></create_target>`
	return c.create(ctx, "create_target", cmd)
}

// Task is what create_task needs.
type Task struct {
	Name     string
	TargetID string
	// ConfigID and ScannerID default to ConfigFullAndFast and
	// ScannerOpenVAS.
	ConfigID  string
	ScannerID string
	Comment   string
}

// CreateTask creates a task and returns its ID.
func (c *Client) CreateTask(ctx context.Context, t Task) (string, error) {
	if t.Name == "" || t.TargetID == "" {
		return "", errors.New("gmp create_task: a name and a target are needed")
	}
	cfg, sc := t.ConfigID, t.ScannerID
	if cfg == "" {
		cfg = ConfigFullAndFast
	}
	if sc == "" {
		sc = ScannerOpenVAS
	}
	cmd := "<create_task><name>" + esc(t.Name) + "</name><comment>" + esc(t.Comment) + `</comment><config id="` +
		esc(cfg) + `"/><target id="` + esc(t.TargetID) + `"/><scanner id="` + esc(sc) + `"/></create_task>`
	return c.create(ctx, "create_task", cmd)
}

// StartTask starts a task and returns the ID of the report it writes.
func (c *Client) StartTask(ctx context.Context, taskID string) (string, error) {
	raw, err := c.command(ctx, "start_task", []byte(`<start_task task_id="`+esc(taskID)+`"/>`), maxShortResponse)
	if err != nil {
		return "", err
	}
	var r struct {
		ReportID string `xml:"report_id"`
	}
	if err := xml.Unmarshal(raw, &r); err != nil {
		return "", fmt.Errorf("gmp start_task: %w", err)
	}
	return r.ReportID, nil
}

// TaskStatus is a task's progress as get_tasks reports it.
type TaskStatus struct {
	ID     string
	Name   string
	Status string // "New", "Requested", "Queued", "Running", "Done", "Stopped", "Interrupted", ...
	// Progress is the percentage done, -1 when gvmd gives none.
	Progress     int
	LastReportID string
}

// Finished reports whether the task will not change any more by itself.
func (s TaskStatus) Finished() bool {
	switch s.Status {
	case "Done", "Stopped", "Interrupted":
		return true
	}
	return false
}

// GetTask returns one task's status.
func (c *Client) GetTask(ctx context.Context, taskID string) (TaskStatus, error) {
	raw, err := c.command(ctx, "get_tasks", []byte(`<get_tasks task_id="`+esc(taskID)+`"/>`), maxShortResponse*16)
	if err != nil {
		return TaskStatus{}, err
	}
	var r struct {
		Tasks []struct {
			ID         string `xml:"id,attr"`
			Name       string `xml:"name"`
			Status     string `xml:"status"`
			Progress   string `xml:"progress"`
			LastReport struct {
				Report struct {
					ID string `xml:"id,attr"`
				} `xml:"report"`
			} `xml:"last_report"`
		} `xml:"task"`
	}
	if err := xml.Unmarshal(raw, &r); err != nil {
		return TaskStatus{}, fmt.Errorf("gmp get_tasks: %w", err)
	}
	for _, t := range r.Tasks {
		if t.ID != taskID {
			continue
		}
		p, err := strconv.Atoi(strings.TrimSpace(t.Progress))
		if err != nil {
			p = -1
		}
		return TaskStatus{ID: t.ID, Name: t.Name, Status: strings.TrimSpace(t.Status), Progress: p,
			LastReportID: t.LastReport.Report.ID}, nil
	}
	return TaskStatus{}, fmt.Errorf("gmp get_tasks: task %s not in the response", taskID)
}

// GetReport returns a report in the XML format: the <report> element of
// the get_reports response, as the OpenVAS importer reads it. All results
// are included (no pagination, overrides applied as gvmd has them).
func (c *Client) GetReport(ctx context.Context, reportID string) ([]byte, error) {
	cmd := `<get_reports report_id="` + esc(reportID) + `" format_id="` + FormatXML +
		`" details="1" ignore_pagination="1" filter="apply_overrides=1 min_qod=70 rows=-1 first=1 levels=chml"/>`
	raw, err := c.command(ctx, "get_reports", []byte(cmd), c.max)
	if err != nil {
		return nil, err
	}
	rep, err := childElement(raw, "report")
	if err != nil {
		return nil, fmt.Errorf("gmp get_reports: %w", err)
	}
	return rep, nil
}

// childElement returns the raw bytes of the first child element of the
// root of doc named name.
func childElement(doc []byte, name string) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	depth, start := 0, int64(-1)
	for {
		off := dec.InputOffset()
		tok, err := dec.RawToken()
		if err != nil {
			if err == io.EOF {
				return nil, fmt.Errorf("no <%s> in the response", name)
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && start < 0 && t.Name.Local == name {
				start = off
			}
		case xml.EndElement:
			if depth == 2 && start >= 0 && t.Name.Local == name {
				return doc[start:dec.InputOffset()], nil
			}
			depth--
		}
	}
}

// ScanOptions name a scan of hosts.
type ScanOptions struct {
	Name  string
	Hosts []string
	// ConfigID, ScannerID and PortListID default to a stock installation's
	// "Full and fast", OpenVAS scanner and "All TCP and Nmap top 100 UDP".
	ConfigID, ScannerID, PortListID string
	// Poll is the time between two get_tasks; 0 is 30 seconds.
	Poll time.Duration
}

// Scan creates a target and a task for the hosts, starts it, waits until
// it is finished (or ctx ends) and returns its report as XML.
func (c *Client) Scan(ctx context.Context, o ScanOptions) ([]byte, error) {
	target, err := c.CreateTarget(ctx, Target{Name: o.Name, Hosts: o.Hosts, PortListID: o.PortListID,
		Comment: "created by Vigil"})
	if err != nil {
		return nil, err
	}
	task, err := c.CreateTask(ctx, Task{Name: o.Name, TargetID: target, ConfigID: o.ConfigID, ScannerID: o.ScannerID,
		Comment: "created by Vigil"})
	if err != nil {
		return nil, err
	}
	report, err := c.StartTask(ctx, task)
	if err != nil {
		return nil, err
	}
	poll := o.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	for {
		st, err := c.GetTask(ctx, task)
		if err != nil {
			return nil, err
		}
		if st.LastReportID != "" && report == "" {
			report = st.LastReportID
		}
		if st.Finished() {
			if st.Status != "Done" {
				return nil, fmt.Errorf("gmp: task %s ended %s", task, st.Status)
			}
			break
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	if report == "" {
		return nil, fmt.Errorf("gmp: task %s finished without a report", task)
	}
	return c.GetReport(ctx, report)
}
