package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/intel"
)

// newIntelCmd builds "vigil intel": load threat-intelligence feeds and
// match events against them offline.
func newIntelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intel",
		Short: "Threat intelligence: parse STIX/MISP/CSV feeds and match events against them",
	}
	cmd.AddCommand(newIntelMatchCmd(), newIntelParseCmd())
	return cmd
}

// intelFeedFlags are the feed-reading flags shared by the subcommands.
type intelFeedFlags struct {
	format      string
	schemas     string
	observables bool
	csvColumn   int
	csvType     string
	csvHeader   bool
	confidence  int
	tlp         string
}

func (f *intelFeedFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "", "feed format: stix, misp-event, misp-feed, csv (default: detect per feed)")
	fl.StringVar(&f.schemas, "stix-schemas", "", "directory of the STIX 2.1 JSON schemas to validate objects against")
	fl.BoolVar(&f.observables, "stix-observables", false, "also turn standalone STIX observables (ipv4-addr, domain-name, url, file, email-addr) into indicators")
	fl.IntVar(&f.csvColumn, "csv-column", 0, "CSV/TXT: 0-based column holding the value")
	fl.StringVar(&f.csvType, "csv-type", "auto", "CSV/TXT: indicator type of every value, or auto to detect per value")
	fl.BoolVar(&f.csvHeader, "csv-header", false, "CSV/TXT: the first record is a header")
	fl.IntVar(&f.confidence, "confidence", 50, "confidence for feeds that state none (0-100)")
	fl.StringVar(&f.tlp, "tlp", "", "TLP for feeds that state none (clear, green, amber, amber+strict, red)")
}

func (f *intelFeedFlags) options() (intel.ParseOptions, error) {
	opts := intel.ParseOptions{
		Confidence:  f.confidence,
		Observables: f.observables,
		CSV:         intel.CSVMapping{Column: f.csvColumn, Type: intel.Type(f.csvType), Header: f.csvHeader},
	}
	if f.tlp != "" {
		t, ok := intel.ParseTLP(f.tlp)
		if !ok {
			return opts, fmt.Errorf("intel: unknown --tlp %q", f.tlp)
		}
		opts.TLP = t
	}
	if f.schemas != "" {
		s, err := intel.LoadSchemas(f.schemas)
		if err != nil {
			return opts, fmt.Errorf("intel: %w", err)
		}
		opts.Schemas = s
	}
	return opts, nil
}

func newIntelMatchCmd() *cobra.Command {
	var (
		feeds  []string
		ff     intelFeedFlags
		allow  string
		minCon int
		decay  string
		at     string
	)
	cmd := &cobra.Command{
		Use:   "match --feed FEED [--feed FEED]... EVENTS.jsonl",
		Short: "Match JSON-lines events against indicator feeds; write hits as JSON lines",
		Long: `match loads every --feed (a STIX 2.1 bundle, a MISP event export, a MISP
feed directory with manifest.json, or a CSV/TXT list; the format is detected
unless --format says it), then reads EVENTS.jsonl ("-" for standard input), one
ECS-style JSON event per line (nested objects or dotted keys), and writes one
JSON line per hit: indicator, type, field, value, source, confidence (after
decay), tlp, refs and the event.

Fields checked: source.ip, destination.ip, client.ip, server.ip, host.ip,
related.ip (addresses and CIDRs, longest prefix); dns.question.name,
url.domain, destination.domain, source.domain, server.domain, client.domain,
tls.client.server_name, related.hosts (domains and their subdomains);
url.full, url.original; file.hash.*, process.hash.*, related.hash; e-mail
address fields; file.name. STIX patterns beyond plain values are evaluated on
the whole event.

Objects a feed could not use are reported on standard error with the reason;
they do not stop the run. Indicators outside their validity window, below
--min-confidence after --decay, or on --allow entries give no hits.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(feeds) == 0 {
				return fmt.Errorf("intel match: at least one --feed is required")
			}
			opts, err := ff.options()
			if err != nil {
				return err
			}
			mo := intel.MatcherOptions{MinConfidence: minCon}
			if mo.Decay, err = parseDecay(decay); err != nil {
				return err
			}
			if at != "" {
				ts, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("intel match: --at: %w", err)
				}
				mo.Now = func() time.Time { return ts }
			}
			if allow != "" {
				data, err := os.ReadFile(allow) // #nosec G304 -- the operator names the allow-list
				if err != nil {
					return fmt.Errorf("intel match: %w", err)
				}
				if mo.AllowList, err = intel.NewAllowList(strings.Split(string(data), "\n")); err != nil {
					return fmt.Errorf("intel match: %s: %w", allow, err)
				}
			}
			m := intel.NewMatcher(mo)
			reg := intel.NewRegistry()
			for _, path := range feeds {
				feed, err := reg.LoadPath(cmd.Context(), path, ff.format, opts)
				if err != nil {
					return err
				}
				reportRejections(cmd.ErrOrStderr(), path, feed)
				for _, in := range feed.Indicators {
					if err := m.Add(in); err != nil {
						fmt.Fprintf(cmd.ErrOrStderr(), "intel: %s: %s %s: %v\n", path, in.Type, in.Value, err)
					}
				}
			}
			return matchEvents(cmd, m, args[0])
		},
	}
	cmd.Flags().StringArrayVar(&feeds, "feed", nil, "feed file or MISP feed directory (repeatable)")
	ff.register(cmd)
	cmd.Flags().StringVar(&allow, "allow", "", "allow-list file: one address, CIDR or domain per line ('#' comments)")
	cmd.Flags().IntVar(&minCon, "min-confidence", 0, "drop hits whose confidence after decay is below this")
	cmd.Flags().StringVar(&decay, "decay", "", "confidence decay after last seen: linear:DURATION (reaches 0) or half-life:DURATION, e.g. half-life:720h")
	cmd.Flags().StringVar(&at, "at", "", "evaluate validity and decay at this RFC 3339 time instead of now")
	return cmd
}

func parseDecay(s string) (intel.Decay, error) {
	if s == "" {
		return intel.Decay{}, nil
	}
	mode, dur, ok := strings.Cut(s, ":")
	d, err := time.ParseDuration(dur)
	if !ok || err != nil || d <= 0 {
		return intel.Decay{}, fmt.Errorf("intel: --decay %q: want linear:DURATION or half-life:DURATION", s)
	}
	switch intel.DecayMode(mode) {
	case intel.DecayLinear:
		return intel.Decay{Mode: intel.DecayLinear, Lifetime: d}, nil
	case intel.DecayHalfLife:
		return intel.Decay{Mode: intel.DecayHalfLife, HalfLife: d}, nil
	}
	return intel.Decay{}, fmt.Errorf("intel: --decay %q: unknown mode %q", s, mode)
}

func reportRejections(w io.Writer, path string, feed *intel.Feed) {
	fmt.Fprintf(w, "intel: %s: %s, %d indicators, %d rejected\n", path, feed.Format, len(feed.Indicators), len(feed.Rejected))
	for _, r := range feed.Rejected {
		where := r.Where
		if r.ID != "" {
			where += " " + r.ID
		}
		fmt.Fprintf(w, "intel: %s: %s: %s\n", path, where, r.Reason)
	}
}

// intelHit is one output line of intel match.
type intelHit struct {
	Indicator  string         `json:"indicator"`
	Type       intel.Type     `json:"type"`
	Field      string         `json:"field"`
	Value      string         `json:"value"`
	Source     string         `json:"source"`
	Confidence int            `json:"confidence"`
	TLP        intel.TLP      `json:"tlp,omitempty"`
	Refs       []string       `json:"refs,omitempty"`
	Tags       []string       `json:"tags,omitempty"`
	Event      map[string]any `json:"event"`
}

const maxIntelEventLine = 1 << 20

func matchEvents(cmd *cobra.Command, m *intel.Matcher, name string) error {
	var r io.Reader = cmd.InOrStdin()
	if name != "-" {
		f, err := os.Open(name) // #nosec G304 -- the operator names the events file
		if err != nil {
			return fmt.Errorf("intel match: %w", err)
		}
		defer f.Close()
		r = f
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxIntelEventLine)
	enc := json.NewEncoder(cmd.OutOrStdout())
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			return fmt.Errorf("intel match: %s line %d: %w", name, line, err)
		}
		for _, h := range m.Match(intel.FlattenEvent(raw)) {
			out := intelHit{
				Indicator: h.Indicator.Value, Type: h.Indicator.Type, Field: h.Field, Value: h.Value,
				Source: h.Indicator.Source, Confidence: h.Confidence, TLP: h.Indicator.TLP,
				Refs: h.Indicator.Refs, Tags: h.Indicator.Tags, Event: raw,
			}
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("intel match: %s line %d: %w", name, line+1, err)
	}
	return nil
}

func newIntelParseCmd() *cobra.Command {
	var ff intelFeedFlags
	cmd := &cobra.Command{
		Use:   "parse FEED",
		Short: "Parse one feed and print its indicators and rejections as JSON lines",
		Long: `parse reads one feed (STIX 2.1 bundle, MISP event, MISP feed directory or
CSV/TXT list) and writes one JSON line per indicator, then one line per
rejected object ({"rejected": {...}}), then the object counts
({"counts": {...}}).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := ff.options()
			if err != nil {
				return err
			}
			feed, err := intel.NewRegistry().LoadPath(cmd.Context(), args[0], ff.format, opts)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, in := range feed.Indicators {
				if err := enc.Encode(in); err != nil {
					return err
				}
			}
			for _, r := range feed.Rejected {
				if err := enc.Encode(map[string]any{"rejected": r}); err != nil {
					return err
				}
			}
			return enc.Encode(map[string]any{"format": feed.Format, "counts": feed.Counts})
		},
	}
	ff.register(cmd)
	return cmd
}
