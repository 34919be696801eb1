package logs

import (
	"bytes"
	"strings"
)

// netfilterParser reads the kernel log lines iptables' LOG target and
// nftables' log statement write, with or without a syslog or dmesg prefix:
//
//	[kern header] [prefix]IN=eth0 OUT= MAC=… SRC=1.2.3.4 DST=5.6.7.8 LEN=60 … PROTO=TCP SPT=1234 DPT=22 …
//
// The log prefix (e.g. "[UFW BLOCK]") becomes event.action.
type netfilterParser struct{}

var _ Parser = netfilterParser{}

// Name implements Parser.
func (netfilterParser) Name() string { return "netfilter" }

// Sniff implements sniffer.
func (netfilterParser) Sniff(line []byte) bool {
	return bytes.Contains(line, []byte("IN=")) && bytes.Contains(line, []byte("SRC="))
}

// Parse implements Parser.
func (p netfilterParser) Parse(line []byte, meta Meta) (Event, error) {
	line = trimRecord(line)
	ev := newEvent(p.Name(), line, meta)
	s := ev.Original
	i := strings.Index(s, "IN=")
	if i < 0 {
		return Event{}, errSyntax(p.Name(), "no IN=")
	}
	if h, err := parseBSD(s[:i], ev.Received, false); err == nil && h.hasTime {
		h.msg = ""
		h.apply(&ev)
	}
	if err := netfilterFields(ev.Fields, s); err != nil {
		return Event{}, err
	}
	ev.LogSource = LogSource{Product: "linux", Category: "firewall"}
	return ev, nil
}

// netfilterFields reads the KEY=VALUE part of a netfilter log message and
// its prefix (the text before IN=, less any kernel timestamp).
func netfilterFields(f map[string]any, s string) error {
	i := strings.Index(s, "IN=")
	if i < 0 || (i > 0 && s[i-1] != ' ' && s[i-1] != ']') {
		return errSyntax("netfilter", "no IN= field")
	}
	pre := s[:i]
	if k := strings.Index(pre, "kernel:"); k >= 0 {
		pre = pre[k+len("kernel:"):]
	}
	pre = strings.TrimSpace(pre)
	if strings.HasPrefix(pre, "[") {
		if e := strings.IndexByte(pre, ']'); e > 0 && isKernelStamp(pre[1:e]) {
			pre = strings.TrimSpace(pre[e+1:])
		}
	}
	if pre != "" {
		f["event.action"] = strings.TrimSpace(strings.TrimRight(strings.Trim(pre, "[]"), ": "))
		f["log.prefix"] = pre
	}
	kv := map[string]string{}
	for _, w := range strings.Fields(s[i:]) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			f["netfilter.flags."+w] = true
			continue
		}
		kv[k] = v
		f["netfilter."+strings.ToLower(k)] = v
	}
	if !setIP(f, "source.ip", kv["SRC"]) {
		return errSyntax("netfilter", "bad SRC=%q", kv["SRC"])
	}
	setIP(f, "destination.ip", kv["DST"])
	setStr(f, "observer.ingress.interface.name", kv["IN"])
	setStr(f, "observer.egress.interface.name", kv["OUT"])
	if pr := kv["PROTO"]; pr != "" {
		f["network.transport"] = protoName(pr)
	}
	setPort(f, "source.port", kv["SPT"])
	setPort(f, "destination.port", kv["DPT"])
	if n := kv["LEN"]; n != "" {
		setInt(f, "network.bytes", n)
	}
	f["event.category"] = "network"
	return nil
}

func isKernelStamp(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}
