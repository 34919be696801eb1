// Command svccompare is the report side of bench/discovery/services.sh:
// it reads the open ports and services of a "vigil discover --format
// jsonl" run and of an "nmap -sT -sV -oX" run over the same targets and
// prints, per port, both service names and products and whether they
// agree, then the agreement counts. It asserts nothing.
package main

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

func main() {
	vf := flag.String("vigil", "", "vigil discover JSON lines")
	nf := flag.String("nmap", "", "nmap XML (-oX)")
	flag.Parse()
	if err := run(*vf, *nf, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "svccompare:", err)
		os.Exit(1)
	}
}

// svc is one open port's identification by one tool.
type svc struct{ name, product string }

func run(vf, nf string, w io.Writer) error {
	if vf == "" || nf == "" {
		return errors.New("-vigil and -nmap are required")
	}
	v, err := readVigil(vf)
	if err != nil {
		return err
	}
	n, err := readNmap(nf)
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	for k := range v {
		keys[k] = true
	}
	for k := range n {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var both, nameAgree, prodCompared, prodAgree int
	fmt.Fprintf(w, "%-20s %-10s %-10s %-6s %-16s %-28s %s\n", "port", "vigil", "nmap", "name", "vigil product", "nmap product", "product")
	for _, k := range sorted {
		vs, vok := v[k]
		ns, nok := n[k]
		nameOK, prodOK := "-", "-"
		if vok && nok {
			both++
			if sameName(vs.name, ns.name) {
				nameAgree++
				nameOK = "yes"
			} else {
				nameOK = "no"
			}
			if vs.product != "" && ns.product != "" {
				prodCompared++
				if strings.Contains(strings.ToLower(ns.product), strings.ToLower(vs.product)) {
					prodAgree++
					prodOK = "yes"
				} else {
					prodOK = "no"
				}
			}
		}
		fmt.Fprintf(w, "%-20s %-10s %-10s %-6s %-16s %-28s %s\n", k, orDash(vok, vs.name), orDash(nok, ns.name), nameOK,
			dash(vs.product), dash(ns.product), prodOK)
	}
	fmt.Fprintf(w, "open ports: vigil %d, nmap %d, both %d\n", len(v), len(n), both)
	fmt.Fprintf(w, "service names agree: %d of %d\n", nameAgree, both)
	fmt.Fprintf(w, "products agree: %d of %d ports where both name one\n", prodAgree, prodCompared)
	return nil
}

func orDash(ok bool, s string) string {
	if !ok {
		return "(closed)"
	}
	return dash(s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sameName compares service names across the two vocabularies: nmap
// calls TLS "ssl" and HTTPS "http" over an ssl tunnel (read as "https").
func sameName(v, n string) bool {
	norm := func(s string) string {
		switch s {
		case "ssl", "tls":
			return "tls"
		case "http-proxy", "http-alt":
			return "http"
		}
		return s
	}
	return norm(v) == norm(n)
}

var sshProduct = regexp.MustCompile(`^SSH-[0-9.]+-([A-Za-z]+)`)

// product is the software Vigil's identification names when its output
// has no product field (older versions): the SSH banner's implementation,
// or the HTTP Server header's first word.
func product(banner, server string) string {
	if m := sshProduct.FindStringSubmatch(banner); m != nil {
		return m[1]
	}
	if server != "" {
		p, _, _ := strings.Cut(server, "/")
		p, _, _ = strings.Cut(p, " ")
		return p
	}
	return ""
}

func readVigil(path string) (map[string]svc, error) {
	f, err := os.Open(path) // #nosec G304 -- a bench output file
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]svc{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			Host    string `json:"host"`
			Port    int    `json:"port"`
			State   string `json:"state"`
			Service *struct {
				Name    string `json:"name"`
				Product string `json:"product"`
				Banner  string `json:"banner"`
				HTTP    *struct {
					Server string `json:"server"`
				} `json:"http"`
			} `json:"service"`
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.State != "open" {
			continue
		}
		var s svc
		if r.Service != nil {
			var server string
			if r.Service.HTTP != nil {
				server = r.Service.HTTP.Server
			}
			s = svc{name: r.Service.Name, product: r.Service.Product}
			if s.product == "" {
				s.product = product(r.Service.Banner, server)
			}
		}
		out[fmt.Sprintf("%s:%d", r.Host, r.Port)] = s
	}
	return out, sc.Err()
}

func readNmap(path string) (map[string]svc, error) {
	b, err := os.ReadFile(path) // #nosec G304 -- a bench output file
	if err != nil {
		return nil, err
	}
	var run struct {
		Hosts []struct {
			Addrs []struct {
				Addr string `xml:"addr,attr"`
				Type string `xml:"addrtype,attr"`
			} `xml:"address"`
			Ports []struct {
				ID    int `xml:"portid,attr"`
				State struct {
					State string `xml:"state,attr"`
				} `xml:"state"`
				Service struct {
					Name    string `xml:"name,attr"`
					Product string `xml:"product,attr"`
					Tunnel  string `xml:"tunnel,attr"`
				} `xml:"service"`
			} `xml:"ports>port"`
		} `xml:"host"`
	}
	if err := xml.Unmarshal(b, &run); err != nil {
		return nil, err
	}
	out := map[string]svc{}
	for _, h := range run.Hosts {
		var addr string
		for _, a := range h.Addrs {
			if a.Type == "ipv4" || a.Type == "ipv6" {
				addr = a.Addr
			}
		}
		for _, p := range h.Ports {
			if p.State.State != "open" {
				continue
			}
			name := p.Service.Name
			if p.Service.Tunnel == "ssl" {
				if name == "http" {
					name = "https"
				} else if name == "" || name == "unknown" {
					name = "ssl"
				}
			}
			out[fmt.Sprintf("%s:%d", addr, p.ID)] = svc{name: name, product: p.Service.Product}
		}
	}
	return out, nil
}
