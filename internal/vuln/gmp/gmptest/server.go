// Package gmptest is a GMP server for tests, written from the protocol's
// documentation (GMP 22.4: authenticate, create_target, create_task,
// start_task, get_tasks, get_reports) because gvmd is not installable on
// the test machines. It is not gvmd: it keeps its objects in memory, a
// started task is "Running" for its first get_tasks and then ends with
// the status the test chose, and every report is the one it was given.
package gmptest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
)

// formatXML is the XML report format's ID (gmp.FormatXML; this package
// cannot import gmp, whose own tests use it).
const formatXML = "a994b278-1f62-11e1-96ac-406186ea4fc5"

// Server answers GMP commands on the connections it accepts.
type Server struct {
	user, pass string
	report     []byte // a <report> element in the XML report format
	// End is the status a started task ends with ("Done" by default;
	// "Interrupted" or "Stopped" make a failed scan).
	End string

	mu      sync.Mutex
	targets map[string]target
	tasks   map[string]*task
	log     []string // command names in order
}

type target struct {
	hosts    []string
	portList string
}

type task struct {
	name, target, config, scanner, report string
	polls                                 int
	started                               bool
}

// Task is a task as created, with its target's hosts and port list.
type Task struct {
	Name, Config, Scanner, PortList string
	Hosts                           []string
}

// New returns a server that accepts user and pass and serves report (a
// report file of the XML format; its XML declaration is dropped).
func New(report []byte, user, pass string) *Server {
	// A report file starts with an XML declaration, which cannot stand
	// inside a response.
	if bytes.HasPrefix(report, []byte("<?xml")) {
		report = report[bytes.Index(report, []byte("?>"))+2:]
	}
	return &Server{user: user, pass: pass, report: bytes.TrimSpace(report), End: "Done",
		targets: map[string]target{}, tasks: map[string]*task{}}
}

// Serve accepts connections on l until it is closed, each served in its
// own goroutine.
func (s *Server) Serve(l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
}

// Log returns the names of the commands received, in order.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Tasks returns the tasks created.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Task
	for _, t := range s.tasks {
		tg := s.targets[t.target]
		out = append(out, Task{Name: t.name, Config: t.config, Scanner: t.scanner, PortList: tg.portList, Hosts: tg.hosts})
	}
	return out
}

// command is any GMP command element.
type command struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Creds   struct {
		Username string `xml:"username"`
		Password string `xml:"password"`
	} `xml:"credentials"`
	Name     string `xml:"name"`
	Hosts    string `xml:"hosts"`
	PortList struct {
		ID string `xml:"id,attr"`
	} `xml:"port_list"`
	Config struct {
		ID string `xml:"id,attr"`
	} `xml:"config"`
	Target struct {
		ID string `xml:"id,attr"`
	} `xml:"target"`
	Scanner struct {
		ID string `xml:"id,attr"`
	} `xml:"scanner"`
}

func (c *command) attr(name string) string {
	for _, a := range c.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (s *Server) serve(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	dec := xml.NewDecoder(conn)
	authed := false
	n := 0
	for {
		var c command
		if err := dec.Decode(&c); err != nil {
			return
		}
		n++
		s.mu.Lock()
		s.log = append(s.log, c.XMLName.Local)
		resp := s.answer(&c, &authed, n)
		s.mu.Unlock()
		if _, err := conn.Write([]byte(resp + "\n")); err != nil {
			return
		}
	}
}

func status(name string, code int, text string) string {
	return fmt.Sprintf(`<%s_response status="%d" status_text="%s"/>`, name, code, text)
}

func (s *Server) answer(c *command, authed *bool, n int) string {
	name := c.XMLName.Local
	if name == "authenticate" {
		if c.Creds.Username == s.user && c.Creds.Password == s.pass {
			*authed = true
			return `<authenticate_response status="200" status_text="OK"><role>Admin</role><timezone>UTC</timezone></authenticate_response>`
		}
		return status(name, 400, "Authentication failed")
	}
	if !*authed {
		return status(name, 401, "Authenticate first")
	}
	switch name {
	case "create_target":
		if c.Name == "" || c.Hosts == "" {
			return status(name, 400, "CREATE_TARGET requires a name and hosts")
		}
		id := fmt.Sprintf("target-%d", n)
		s.targets[id] = target{hosts: strings.Split(c.Hosts, ","), portList: c.PortList.ID}
		return fmt.Sprintf(`<create_target_response status="201" status_text="OK, resource created" id="%s"/>`, id)
	case "create_task":
		if _, ok := s.targets[c.Target.ID]; !ok {
			return status(name, 404, "Failed to find target")
		}
		id := fmt.Sprintf("task-%d", n)
		s.tasks[id] = &task{name: c.Name, target: c.Target.ID, config: c.Config.ID, scanner: c.Scanner.ID}
		return fmt.Sprintf(`<create_task_response status="201" status_text="OK, resource created" id="%s"/>`, id)
	case "start_task":
		t, ok := s.tasks[c.attr("task_id")]
		if !ok {
			return status(name, 404, "Failed to find task")
		}
		t.started, t.report = true, fmt.Sprintf("report-%d", n)
		return fmt.Sprintf(`<start_task_response status="202" status_text="OK, request submitted"><report_id>%s</report_id></start_task_response>`, t.report)
	case "get_tasks":
		id := c.attr("task_id")
		t, ok := s.tasks[id]
		if !ok {
			return status(name, 404, "Failed to find task")
		}
		st, progress := "New", "-1"
		if t.started {
			t.polls++
			st, progress = "Running", "42"
			if t.polls > 1 {
				st, progress = s.End, "-1"
			}
		}
		return fmt.Sprintf(`<get_tasks_response status="200" status_text="OK"><apply_overrides>0</apply_overrides>`+
			`<task id="%s"><name>%s</name><status>%s</status><progress>%s</progress><last_report><report id="%s">`+
			`<timestamp>2026-01-01T00:00:00Z</timestamp></report></last_report></task>`+
			`<filters id=""><term>apply_overrides=0</term></filters><task_count>1<filtered>1</filtered></task_count></get_tasks_response>`,
			id, t.name, st, progress, t.report)
	case "get_reports":
		if c.attr("format_id") != formatXML || c.attr("ignore_pagination") != "1" {
			return status(name, 400, "unexpected report request")
		}
		for _, t := range s.tasks {
			if t.report == c.attr("report_id") && t.polls > 1 {
				return `<get_reports_response status="200" status_text="OK">` + string(s.report) +
					`<filters id=""><term>rows=-1</term></filters><report_count>1</report_count></get_reports_response>`
			}
		}
		return status(name, 404, "Failed to find report")
	}
	return status(name, 400, "Bogus command name")
}
