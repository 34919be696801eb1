package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/traffic"
	"github.com/vigil-sec/vigil/internal/traffic/analyze"
)

// newTrafficCmd builds "vigil traffic": traffic risk analysis offline.
func newTrafficCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "traffic",
		Short: "Analyse traffic metadata (Zeek, Suricata EVE, pcap) for compromised hosts, attacks and violations",
	}
	cmd.AddCommand(newTrafficAnalyzeCmd(), newTrafficTraceCmd())
	return cmd
}

type trafficFlags struct {
	zeek, eve, pcap  string
	internal         []string
	policy, safelist string
	minScore         float64
	hosts            bool
	report, lang     string
	tenant           string
}

func newTrafficAnalyzeCmd() *cobra.Command {
	var fl trafficFlags
	cmd := &cobra.Command{
		Use:   "analyze --zeek DIR | --eve FILE | --pcap FILE [--internal CIDR...] [--policy FILE] [--safelist FILE] [--min-score X] [--report FILE.html|.pdf|.xlsx [--lang zh-CN]]",
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

--report FILE also writes the traffic risk report of the run: period,
sources analysed, findings by class (with a chart), the top risky internal
hosts and external sources with their explained scores, beacons, DNS
tunnels, scans, lateral movement, attacks, violations and recommendations.
The format follows the file's extension: .html (self-contained), .pdf
(printed by headless Chromium: $VIGIL_CHROMIUM, else chromium on PATH) or
.xlsx. --lang zh-CN writes it in Chinese; --tenant names the customer.

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
	f.StringVar(&fl.report, "report", "", "also write the traffic risk report to FILE (.html, .pdf or .xlsx)")
	f.StringVar(&fl.lang, "lang", "en", "report language: en or zh-CN")
	f.StringVar(&fl.tenant, "tenant", "", "customer named in the report")
	return cmd
}

// trafficInput is the one input named by --zeek, --eve or --pcap.
type trafficInput struct {
	name, kind string
}

func oneTrafficInput(verb, zeek, eve, pcap string) (trafficInput, error) {
	var in []trafficInput
	for _, c := range []trafficInput{{zeek, "zeek"}, {eve, "eve"}, {pcap, "pcap"}} {
		if c.name != "" {
			in = append(in, c)
		}
	}
	if len(in) != 1 {
		return trafficInput{}, fmt.Errorf("traffic %s: give exactly one of --zeek, --eve or --pcap", verb)
	}
	return in[0], nil
}

// read hands the input's records to h.
func (in trafficInput) read(ctx context.Context, h traffic.Handler) (traffic.Stats, error) {
	if in.kind == "zeek" {
		return traffic.ReadZeekDir(ctx, in.name, h)
	}
	read := traffic.ReadEVE
	if in.kind == "pcap" {
		read = traffic.ReadPcap
	}
	f, err := os.Open(in.name) // #nosec G304 -- the user names the input file
	if err != nil {
		return traffic.Stats{}, err
	}
	defer func() { _ = f.Close() }()
	return read(ctx, f, in.name, h)
}

// reportFormat tells the report format from the file's extension.
func reportFormat(name string) (report.Format, error) {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
	f, err := report.ParseFormat(ext)
	if err != nil {
		return "", fmt.Errorf("--report %s: the file must end in .html, .pdf or .xlsx", name)
	}
	return f, nil
}

func runTrafficAnalyze(cmd *cobra.Command, fl trafficFlags) error {
	in, err := oneTrafficInput("analyze", fl.zeek, fl.eve, fl.pcap)
	if err != nil {
		return err
	}
	var format report.Format
	if fl.report != "" {
		if format, err = reportFormat(fl.report); err != nil {
			return err
		}
		if fl.lang != "en" && fl.lang != "zh-CN" {
			return fmt.Errorf("--lang %q: want en or zh-CN", fl.lang)
		}
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
	st, err := in.read(ctx, a)
	if err != nil {
		return fmt.Errorf("traffic analyze: %w", err)
	}
	fs := a.Findings()
	if fl.report != "" {
		src := analyze.ReportSource{Name: filepath.Base(in.name), Kind: in.kind, Lines: st.Lines, Records: st.Records, Skipped: st.Skipped}
		if err := writeTrafficReport(ctx, cmd, fl, format, src, fs, a); err != nil {
			return err
		}
	}
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

// writeTrafficReport renders the run's traffic risk report to fl.report
// (mode 0600), only once rendering succeeded.
func writeTrafficReport(ctx context.Context, cmd *cobra.Command, fl trafficFlags, format report.Format,
	src analyze.ReportSource, fs []analyze.Finding, a *analyze.Analyzer) error {
	from, to := a.Period()
	doc, err := analyze.ReportDocument(analyze.ReportInput{Tenant: fl.tenant, Lang: fl.lang, GeneratedAt: time.Now().UTC(),
		From: from, To: to, Sources: []analyze.ReportSource{src}, Findings: fs, Zones: a.Zones()})
	if err != nil {
		return err
	}
	opts := report.Options{
		Logger:      slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		BrowserPath: os.Getenv("VIGIL_CHROMIUM"),
	}
	var buf bytes.Buffer
	if err := report.Render(ctx, doc, format, &buf, opts); err != nil {
		return fmt.Errorf("traffic report: %w", err)
	}
	if err := os.WriteFile(fl.report, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("traffic report: %w", err)
	}
	return nil
}

func newTrafficTraceCmd() *cobra.Command {
	var zeek, eve, pcap, host, at string
	var window time.Duration
	cmd := &cobra.Command{
		Use:   "trace --zeek DIR | --eve FILE | --pcap FILE --host IP --at TIME [--window 1h]",
		Short: "Write one host's timeline (connections, DNS, HTTP, TLS, alerts, files) around a time as JSON lines",
		Long: `trace re-reads the input and writes, as one JSON object a line in time
order, every record of --host (as source or destination) within --window
either side of --at: time, kind (conn, dns, http, tls, alert, file), source,
destination, port and a one-line summary. --at is an RFC 3339 time
(2023-01-04T15:12:40Z) or Unix seconds. At most 10,000 events are written;
when more matched, the earliest are kept and a note goes to standard error.
The lines can be attached to an incident as its network evidence.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := oneTrafficInput("trace", zeek, eve, pcap)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("--host %q: %w", host, err)
			}
			t, err := parseTraceTime(at)
			if err != nil {
				return err
			}
			if window <= 0 {
				return errors.New("--window must be positive")
			}
			events, truncated, err := analyze.Trace(cmd.Context(), ip, t, window, func(ctx context.Context, h traffic.Handler) error {
				_, err := in.read(ctx, h)
				return err
			})
			if err != nil {
				return fmt.Errorf("traffic trace: %w", err)
			}
			out := json.NewEncoder(cmd.OutOrStdout())
			for _, e := range events {
				if err := out.Encode(e); err != nil {
					return fmt.Errorf("traffic trace: %w", err)
				}
			}
			if truncated {
				fmt.Fprintf(cmd.ErrOrStderr(), "traffic trace: more than %d events; the earliest are written\n", analyze.MaxTraceEvents)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&zeek, "zeek", "", "Zeek log directory")
	f.StringVar(&eve, "eve", "", "Suricata EVE JSON file")
	f.StringVar(&pcap, "pcap", "", "pcap file")
	f.StringVar(&host, "host", "", "address of the host to trace")
	f.StringVar(&at, "at", "", "time of the event: RFC 3339 or Unix seconds")
	f.DurationVar(&window, "window", time.Hour, "time either side of --at")
	_ = cmd.MarkFlagRequired("host")
	_ = cmd.MarkFlagRequired("at")
	return cmd
}

// parseTraceTime reads an RFC 3339 time or Unix seconds (with a fraction).
func parseTraceTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && v < 1e11 {
		sec := int64(v)
		return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--at %q: want an RFC 3339 time or Unix seconds", s)
}
