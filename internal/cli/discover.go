package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/asset/discovery"
)

// newDiscoverCmd builds "vigil discover": a TCP connect scan of targets
// inside an explicit scope, with service fingerprints of open ports.
func newDiscoverCmd() *cobra.Command {
	var (
		ports       string
		rate        float64
		concurrency int
		timeout     time.Duration
		exclude     []string
		scope       []string
		noFP        bool
		method      string
		ping        bool
		arp         bool
		subdomains  string
		dnsServer   string
	)
	cmd := &cobra.Command{
		Use:   "discover TARGET... [-p PORTS] [--method connect|syn] [--ping] [--arp] [--rate N] [--concurrency N] [--timeout D] [--exclude X] [--scope CIDR,...]",
		Short: "Scan targets for open TCP ports and identify their services",
		Long: `discover scans every port of every TARGET (a TCP connect scan, or a SYN scan
with --method syn) and prints one JSON line per open port with what it
learned of the service (banner, product and version, TLS certificate; for
web services the HTTP status, Server header, page title, favicon hash and
the redirect chain within --scope), then a summary on standard error.

A TARGET is an address, a CIDR prefix, a range (192.0.2.1-20 or
192.0.2.1-192.0.2.20) or a host name. Every target must lie inside --scope;
without --scope only loopback (127.0.0.0/8, ::1) may be scanned. Scan only
networks you are authorised to test.

PORTS is a list like 22,80,443, ranges like 1-1024, "-" for all ports, or
top:N for the first N of Vigil's built-in list of common ports.

--method syn sends bare SYNs on a raw socket instead of completing each
handshake (root or CAP_NET_RAW); without raw sockets the scan falls back to
connect and says so. --ping first asks every target whether it is up (ICMP
echo and a TCP ping of ports 80 and 443) and scans only those that answer.
--arp adds ARP requests to that host discovery (and implies --ping) for the
IPv4 targets on a directly attached Ethernet segment, so a host that drops
every ping is still found; it needs root or CAP_NET_RAW and says when it
could not be used.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sc, err := discovery.ParseScope(scope)
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			sc = sc.Add(discovery.LoopbackPrefixes()...)
			resolver := dnsResolver(dnsServer)
			var domains []string
			if subdomains != "" {
				words, err := readWordlist(subdomains)
				if err != nil {
					return fmt.Errorf("discover: %w", err)
				}
				domains = domainArgs(args)
				extra, err := expandSubdomains(ctx, cmd.ErrOrStderr(), domains, discovery.SubdomainOptions{Resolver: resolver, Words: words}, sc, nil)
				if err != nil {
					return fmt.Errorf("discover: %w", err)
				}
				args = append(args, extra...)
			}
			portList, err := discovery.ParsePorts(ports)
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			targets, err := discovery.ParseTargets(ctx, args, discovery.TargetOptions{
				Scope:    sc,
				Exclude:  exclude,
				Resolver: resolver,
			})
			if err != nil {
				if errors.Is(err, discovery.ErrOutOfScope) && len(scope) == 0 {
					return fmt.Errorf("discover: %w (without --scope only loopback may be scanned)", err)
				}
				return fmt.Errorf("discover: %w", err)
			}
			m, err := discovery.ParseMethod(method)
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			s, err := discovery.New(discovery.Options{
				Scope:       sc,
				Method:      m,
				Ping:        ping || arp,
				ARP:         arp,
				Rate:        rate,
				Concurrency: concurrency,
				Timeout:     timeout,
				Fingerprint: !noFP,
			})
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			var werr error
			var sans []string
			scan := func(targets *discovery.Targets) error {
				sum, err := s.Scan(ctx, targets, portList, func(r discovery.Result) {
					if r.State != discovery.Open || werr != nil {
						return
					}
					if r.Service != nil && r.Service.TLS != nil {
						sans = append(sans, r.Service.TLS.SANs...)
					}
					werr = enc.Encode(r)
				})
				if sum.Fallback != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "discover: %s\n", sum.Fallback)
				}
				if d := sum.Discovery; d != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "discover: host discovery: %d of %d hosts up in %s (%s)\n",
						d.Up, d.Hosts, d.Elapsed.Round(time.Millisecond), strings.Join(d.Methods, "; "))
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "discover: %s scan: %d hosts, %d ports probed: %d open, %d closed, %d filtered in %s\n",
					sum.Method, sum.HostsUp, sum.Probed, sum.Open, sum.Closed, sum.Filtered, sum.Elapsed.Round(time.Millisecond))
				if err != nil {
					return fmt.Errorf("discover: %w", err)
				}
				return werr
			}
			if err := scan(targets); err != nil {
				return err
			}
			if len(domains) == 0 || len(sans) == 0 {
				return nil
			}
			// Certificate names under the domains lead to more hosts.
			scanned := map[netip.Addr]bool{}
			for a := range targets.All() {
				scanned[a] = true
			}
			extra, err := expandSubdomains(ctx, cmd.ErrOrStderr(), domains, discovery.SubdomainOptions{Resolver: resolver, SANs: sans}, sc, scanned)
			if err != nil || len(extra) == 0 {
				return err
			}
			more, err := discovery.ParseTargets(ctx, extra, discovery.TargetOptions{Scope: sc, Exclude: exclude, Resolver: resolver})
			if err != nil {
				return fmt.Errorf("discover: %w", err)
			}
			return scan(more)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&ports, "ports", "p", "top:100", "ports: 22,80,443, 1-1024, - for all, top:N")
	f.Float64Var(&rate, "rate", discovery.DefaultRate, "connection attempts per second")
	f.IntVar(&concurrency, "concurrency", discovery.DefaultConcurrency, "connections in flight at most (0: rate × timeout, within the open-file limit)")
	f.DurationVar(&timeout, "timeout", discovery.DefaultTimeout, "timeout of each connection attempt and fingerprint step")
	f.StringSliceVar(&exclude, "exclude", nil, "addresses, prefixes, ranges or host names not to scan")
	f.StringSliceVar(&scope, "scope", nil, "CIDR prefixes the scan may touch (loopback is always allowed)")
	f.BoolVar(&noFP, "no-fingerprint", false, "only report port states; do not identify services")
	f.StringVar(&method, "method", string(discovery.MethodConnect), "scan method: connect, or syn (raw sockets; falls back to connect without them)")
	f.BoolVar(&ping, "ping", false, "scan only hosts that answer ICMP echo or a TCP ping of ports 80 and 443")
	f.BoolVar(&arp, "arp", false, "with --ping, also ask IPv4 targets on local Ethernet segments by ARP (root or CAP_NET_RAW)")
	f.StringVar(&subdomains, "subdomains", "", "wordlist FILE: also scan WORD.DOMAIN for every domain target, and names under it seen in certificates")
	f.StringVar(&dnsServer, "dns-server", "", "resolve names with this DNS server (host:port) instead of the system's")
	cmd.AddCommand(newDiscoverImportCmd())
	return cmd
}
