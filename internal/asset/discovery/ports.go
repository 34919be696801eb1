package discovery

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxPortSpecLen bounds a port spec string.
const maxPortSpecLen = 8192

// CommonPort is one entry of the built-in list of common ports.
type CommonPort struct {
	Port uint16
	Name string
}

// commonPorts is Vigil's own list of TCP ports commonly exposed by
// internet-facing and internal hosts, most significant first. It is ordered
// by judgement (web, remote access, mail, databases, then middleware and
// management services), not derived from any other scanner's frequency data.
// "top:N" takes the first N entries.
var commonPorts = [...]CommonPort{
	{80, "http"}, {443, "https"}, {22, "ssh"}, {21, "ftp"}, {25, "smtp"},
	{23, "telnet"}, {3389, "rdp"}, {445, "microsoft-ds"}, {8080, "http-alt"}, {8443, "https-alt"},
	{53, "domain"}, {110, "pop3"}, {143, "imap"}, {993, "imaps"}, {995, "pop3s"},
	{587, "submission"}, {465, "smtps"}, {139, "netbios-ssn"}, {135, "msrpc"}, {3306, "mysql"},
	{5432, "postgresql"}, {1433, "ms-sql"}, {1521, "oracle"}, {6379, "redis"}, {27017, "mongodb"},
	{5900, "vnc"}, {111, "rpcbind"}, {2049, "nfs"}, {389, "ldap"}, {636, "ldaps"},
	{8000, "http-alt"}, {8888, "http-alt"}, {8081, "http-alt"}, {9000, "http-alt"}, {9090, "http-alt"},
	{9200, "elasticsearch"}, {9300, "elasticsearch-transport"}, {11211, "memcached"}, {5672, "amqp"}, {15672, "rabbitmq-management"},
	{1883, "mqtt"}, {8883, "mqtts"}, {4222, "nats"}, {8222, "nats-monitor"}, {6443, "kubernetes-api"},
	{10250, "kubelet"}, {2375, "docker"}, {2376, "docker-tls"}, {2379, "etcd"}, {5601, "kibana"},
	{3000, "http-alt"}, {5000, "http-alt"}, {7001, "weblogic"}, {8009, "ajp"}, {8181, "http-alt"},
	{9443, "https-alt"}, {4443, "https-alt"}, {10000, "webmin"}, {5985, "winrm"}, {5986, "winrm-https"},
	{88, "kerberos"}, {464, "kpasswd"}, {3268, "ldap-gc"}, {1723, "pptp"}, {1194, "openvpn"},
	{179, "bgp"}, {873, "rsync"}, {3690, "svn"}, {9418, "git"}, {631, "ipp"},
	{9100, "jetdirect"}, {515, "printer"}, {548, "afp"}, {554, "rtsp"}, {5060, "sip"},
	{1080, "socks"}, {3128, "http-proxy"}, {8118, "http-proxy"}, {6000, "x11"}, {902, "vmware-auth"},
	{5938, "teamviewer"}, {2082, "cpanel"}, {2083, "cpanel-ssl"}, {2181, "zookeeper"}, {9092, "kafka"},
	{8500, "consul"}, {8200, "vault"}, {7474, "neo4j"}, {5984, "couchdb"}, {8086, "influxdb"},
	{9042, "cassandra"}, {26257, "cockroachdb"}, {4369, "epmd"}, {11210, "couchbase"}, {6667, "irc"},
	{5222, "xmpp"}, {7077, "spark"}, {8088, "hadoop-yarn"}, {50070, "hadoop-namenode"}, {9999, "http-alt"},
}

// CommonPorts returns the built-in list of common ports, most significant
// first.
func CommonPorts() []CommonPort { return slices.Clone(commonPorts[:]) }

// PortName returns the conventional service name of a port in the built-in
// list, or "".
func PortName(p uint16) string {
	for _, c := range commonPorts {
		if c.Port == p {
			return c.Name
		}
	}
	return ""
}

// ParsePorts parses a port spec in the style of nmap's -p: a comma-separated
// list of ports ("22,80,443"), ranges ("1-1024", "-1024" from 1, "60000-"
// to 65535), "-" for every port, and "top:N" for the first N entries of
// CommonPorts. It returns the ports sorted and deduplicated.
func ParsePorts(spec string) ([]uint16, error) {
	if len(spec) > maxPortSpecLen {
		return nil, fmt.Errorf("port spec longer than %d bytes", maxPortSpecLen)
	}
	var set [65536]bool
	seen := false
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n, ok := strings.CutPrefix(part, "top:"); ok {
			k, err := strconv.Atoi(n)
			if err != nil || k < 1 || k > len(commonPorts) {
				return nil, fmt.Errorf("port spec %q: top:N needs 1 <= N <= %d", part, len(commonPorts))
			}
			for _, c := range commonPorts[:k] {
				set[c.Port] = true
			}
			seen = true
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		first, last := 1, 65535
		var err error
		if !isRange {
			if first, err = parsePort(lo); err != nil {
				return nil, fmt.Errorf("port spec %q: %w", part, err)
			}
			last = first
		} else {
			if lo != "" {
				if first, err = parsePort(lo); err != nil {
					return nil, fmt.Errorf("port spec %q: %w", part, err)
				}
			}
			if hi != "" {
				if last, err = parsePort(hi); err != nil {
					return nil, fmt.Errorf("port spec %q: %w", part, err)
				}
			}
			if last < first {
				return nil, fmt.Errorf("port spec %q: range end before start", part)
			}
		}
		for p := first; p <= last; p++ {
			set[p] = true
		}
		seen = true
	}
	if !seen {
		return nil, fmt.Errorf("empty port spec")
	}
	var out []uint16
	for p := 1; p < len(set); p++ {
		if set[p] {
			out = append(out, uint16(p)) // #nosec G115 -- p < 65536
		}
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid port %q", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range 1-65535", n)
	}
	return n, nil
}
