package traffic

// inputSink is a Handler for the reader tests that keeps copies of every
// record.
type inputSink struct {
	conns  []Conn
	dns    []DNS
	http   []HTTP
	tls    []TLS
	alerts []Alert
	files  []File
}

func (s *inputSink) Conn(c *Conn) { s.conns = append(s.conns, *c) }
func (s *inputSink) DNS(d *DNS) {
	cp := *d
	cp.Answers = append([]string(nil), d.Answers...)
	cp.TTLs = append(cp.TTLs[:0:0], d.TTLs...)
	s.dns = append(s.dns, cp)
}
func (s *inputSink) HTTP(h *HTTP)   { s.http = append(s.http, *h) }
func (s *inputSink) TLS(t *TLS)     { s.tls = append(s.tls, *t) }
func (s *inputSink) Alert(a *Alert) { s.alerts = append(s.alerts, *a) }
func (s *inputSink) File(f *File)   { s.files = append(s.files, *f) }

func (s *inputSink) total() int {
	return len(s.conns) + len(s.dns) + len(s.http) + len(s.tls) + len(s.alerts) + len(s.files)
}

var _ Handler = (*inputSink)(nil)
