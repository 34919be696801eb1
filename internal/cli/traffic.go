package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/traffic"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
)

// newTrafficCmd builds "vigil traffic": traffic risk analysis offline.
func newTrafficCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "traffic",
		Short: "Analyse traffic metadata (Zeek, Suricata EVE, pcap) for compromised hosts, attacks and violations",
	}
	cmd.AddCommand(newTrafficAnalyzeCmd())
	return cmd
}

type trafficFlags struct {
	zeek, eve, pcap  string
	internal         []string
	policy, safelist string
	minScore         float64
	hosts            bool
}

func newTrafficAnalyzeCmd() *cobra.Command {
	var fl trafficFlags
	cmd := &cobra.Command{
		Use:   "analyze --zeek DIR | --eve FILE | --pcap FILE [--internal CIDR...] [--policy FILE] [--safelist FILE] [--min-score X]",
		Short: "Write one JSON line per finding (beacon, DNS tunnel, scan, violation...) with its score and explanation",
		Long: `analyze reads one input — a Zeek log directory (conn, dns, http, ssl, x509,
files, notice; TSV or JSON, plain or gzip), a Suricata EVE JSON file or a
pcap file — and writes one JSON object per finding to standard output,
highest score first: class (beacon, long_connection, dns_tunnel, dga,
rare_destination, intel_match, scan_horizontal, scan_vertical, brute_force,
lateral_movement, violation, external_attack), source and destination
with their zones, port, domain, score 0-1, severity, first and last seen,
counts, named sub-scores and a plain explanation.

Internal and external are decided by --internal prefixes (default: RFC
1918, shared, loopback, link-local and IPv6 unique-local ranges), never by
the log's flags. --policy names a YAML rule file (see
internal/traffic/analyze/policy.example.yaml); flows matching a deny rule
are violations. --safelist adds a file of domains and CIDRs (one a line)
whose findings are dropped, on top of the built-in safelist of CDNs,
update services and NTP. With --hosts, a ranking of internal hosts follows
the findings as objects with a "host" key.

A summary (records read, lines skipped with the first reasons) goes to
standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTrafficAnalyze(cmd, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.zeek, "zeek", "", "Zeek log directory")
	f.StringVar(&fl.eve, "eve", "", "Suricata EVE JSON file")
	f.StringVar(&fl.pcap, "pcap", "", "pcap file")
	f.StringSliceVar(&fl.internal, "internal", nil, "internal prefix (repeatable or comma-separated)")
	f.StringVar(&fl.policy, "policy", "", "YAML policy of deny rules")
	f.StringVar(&fl.safelist, "safelist", "", "extra safelist: domains and CIDRs, one a line")
	f.Float64Var(&fl.minScore, "min-score", 0, "drop findings scoring below this (0-1)")
	f.BoolVar(&fl.hosts, "hosts", false, "also write the internal host risk ranking")
	return cmd
}

func runTrafficAnalyze(cmd *cobra.Command, fl trafficFlags) error {
	n := 0
	for _, s := range []string{fl.zeek, fl.eve, fl.pcap} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("traffic analyze: give exactly one of --zeek, --eve or --pcap")
	}
	opt := analyze.Options{MinScore: fl.minScore}
	for _, s := range fl.internal {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("--internal %q: %w", s, err)
		}
		opt.Internal = append(opt.Internal, p)
	}
	if fl.policy != "" {
		f, err := os.Open(fl.policy) // #nosec G304 -- the user names the policy file
		if err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		p, err := analyze.ParsePolicy(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("--policy %s: %w", fl.policy, err)
		}
		opt.Policy = p
	}
	if fl.safelist != "" {
		f, err := os.Open(fl.safelist) // #nosec G304 -- the user names the safelist file
		if err != nil {
			return fmt.Errorf("--safelist: %w", err)
		}
		sl, err := analyze.ParseSafelistWithDefault(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("--safelist %s: %w", fl.safelist, err)
		}
		opt.Safelist = sl
	}
	a, err := analyze.New(opt)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var st traffic.Stats
	switch {
	case fl.zeek != "":
		st, err = traffic.ReadZeekDir(ctx, fl.zeek, a)
	default:
		name := fl.eve
		read := traffic.ReadEVE
		if fl.pcap != "" {
			name, read = fl.pcap, traffic.ReadPcap
		}
		var f *os.File
		f, err = os.Open(name) // #nosec G304 -- the user names the input file
		if err != nil {
			return fmt.Errorf("traffic analyze: %w", err)
		}
		st, err = read(ctx, f, name, a)
		_ = f.Close()
	}
	if err != nil {
		return fmt.Errorf("traffic analyze: %w", err)
	}
	fs := a.Findings()
	out := json.NewEncoder(cmd.OutOrStdout())
	for _, f := range fs {
		if err := out.Encode(f); err != nil {
			return fmt.Errorf("traffic analyze: %w", err)
		}
	}
	if fl.hosts {
		for _, h := range analyze.RankHosts(fs, a.Zones()) {
			if err := out.Encode(h); err != nil {
				return fmt.Errorf("traffic analyze: %w", err)
			}
		}
	}
	skips := st.Skips
	if len(skips) > 10 {
		skips = skips[:10]
	}
	summary, err := json.Marshal(struct {
		Lines    int64          `json:"lines"`
		Records  int64          `json:"records"`
		Skipped  int64          `json:"skipped"`
		Findings int            `json:"findings"`
		Skips    []traffic.Skip `json:"first_skips,omitempty"`
	}{st.Lines, st.Records, st.Skipped, len(fs), skips})
	if err != nil {
		return fmt.Errorf("traffic summary: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s\n", summary)
	return nil
}
