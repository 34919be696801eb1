package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/policy"
)

// newPolicyCmd builds "vigil policy": analyse a firewall rule set offline,
// compare two versions of it, and ask what it does with one flow.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Analyse firewall rule sets: shadowed, redundant, conflicting and unused rules, required policy, diffs, flow decisions",
	}
	cmd.AddCommand(newPolicyAnalyzeCmd(), newPolicyDiffCmd(), newPolicyQueryCmd())
	return cmd
}

func formatList() string { return strings.Join(policy.Formats(), ", ") }

type analyzeFlags struct {
	format, hits, window, now, require, write string
	family                                    int
	counters, propose, merge, summary         bool
}

func newPolicyAnalyzeCmd() *cobra.Command {
	var fl analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze --format F FILE [--hits CSV | --counters] [--window 90d] [--require FILE] [--propose [--merge] [--write OUT]] [--summary]",
		Short: "Report shadowed, redundant, conflicting, over-broad and unused rules as JSON lines",
		Long: `analyze parses FILE in the --format given (` + formatList() + `) and
writes one JSON line per finding: kind, chain, line, rule, reason,
related_lines, conflicting and, where the analysis computed one, evidence
(the exact packets concerned as boxes, their count and one example packet
with the decision the rule set makes for it).

Kinds: shadowed, redundant, over-broad, conflict (a rule partly decided
first by an earlier rule with another action), not-analysed,
logging-disabled, no-security-profile and the parser's observations;
unused and stale with --hits (a CSV "rule_id_or_line,hits,last_hit_rfc3339")
or --counters (the [packets:bytes] of iptables-save -c in FILE) over
--window; missing and violation with --require (one statement per line, e.g.
"allow tcp from 10.1.0.0/24 to 10.2.0.5 port 5432", "deny any from any to
10.2.0.0/24 port 5432 except from 10.1.0.0/24", "only tcp from 10.1.0.0/24
to 10.2.0.0/24 port 5432"; "chain NAME" sets the chain of the lines after).

With --propose, a last line {"proposal": ...} lists the rules to remove and
the exact proof (an empty diff) that the proposed rule set decides every
packet as FILE does; --merge also joins adjacent rules with the same
action whose union is one rule (iptables input); --write OUT writes it as iptables-save text (iptables
input only). --summary adds a {"summary": ...} line for reports.

The analysis is exact over every packet, not sampled.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPolicyAnalyze(cmd, args[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", "iptables-save", "input format: "+formatList())
	f.IntVar(&fl.family, "family", 4, "address family of the rule set: 4 or 6")
	f.StringVar(&fl.hits, "hits", "", "CSV of hit counts: rule_id_or_line,hits,last_hit_rfc3339")
	f.BoolVar(&fl.counters, "counters", false, "use the [packets:bytes] counters of FILE (iptables-save -c)")
	f.StringVar(&fl.window, "window", "90d", "window of the hit counts: e.g. 90d, 2w, 36h")
	f.StringVar(&fl.now, "now", "", "end of the window, RFC 3339 (default: now)")
	f.StringVar(&fl.require, "require", "", "required-policy file to check")
	f.BoolVar(&fl.propose, "propose", false, "propose an optimised rule set, proven equivalent")
	f.BoolVar(&fl.merge, "merge", false, "with --propose: also join adjacent iptables rules whose union is one rule")
	f.StringVar(&fl.write, "write", "", "with --propose: write the proposed iptables-save rule set to this file")
	f.BoolVar(&fl.summary, "summary", false, "add a summary line for before/after reports")
	_ = f.MarkHidden("now")
	return cmd
}

func runPolicyAnalyze(cmd *cobra.Command, name string, fl analyzeFlags) error {
	ctx := cmd.Context()
	data, rs, err := loadPolicy(name, fl.format, policy.Family(fl.family))
	if err != nil {
		return err
	}
	base, err := policy.Analyze(ctx, rs, policy.Options{})
	if err != nil {
		return fmt.Errorf("policy analyze: %w", err)
	}
	var findings []policy.Detail
	for _, f := range base {
		findings = append(findings, policy.Detail{Finding: f})
	}
	cp, err := policy.Compile(ctx, rs, 0)
	if err != nil {
		return fmt.Errorf("policy analyze: %w", err)
	}
	conflicts, err := cp.Conflicts(ctx)
	if err != nil {
		return fmt.Errorf("policy analyze: %w", err)
	}
	findings = append(findings, conflicts...)
	findings = append(findings, policy.Hygiene(rs)...)
	if fl.hits != "" || fl.counters {
		usage, err := policyUsage(data, rs, fl)
		if err != nil {
			return err
		}
		findings = append(findings, usage...)
	}
	if fl.require != "" {
		rep, err := policyRequire(cmd, cp, fl.require)
		if err != nil {
			return err
		}
		findings = append(findings, rep.Findings...)
	}
	slices.SortStableFunc(findings, func(a, b policy.Detail) int { return a.Line - b.Line })
	enc := json.NewEncoder(cmd.OutOrStdout())
	for _, f := range findings {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	var prop *policy.Proposal
	if fl.propose {
		if prop, err = policy.Propose(ctx, rs, policy.ProposeOptions{Compiled: cp, Merge: fl.merge}); err != nil {
			return fmt.Errorf("policy analyze: %w", err)
		}
		if err := enc.Encode(map[string]any{"proposal": prop}); err != nil {
			return err
		}
		if fl.write != "" {
			if err := writeProposal(ctx, rs, prop, data, fl.write); err != nil {
				return err
			}
		}
	} else if fl.write != "" {
		return errors.New("policy analyze: --write needs --propose")
	}
	if fl.summary {
		return enc.Encode(map[string]any{"summary": policy.Summarize(rs, findings, prop)})
	}
	return nil
}

func policyUsage(data []byte, rs *policy.RuleSet, fl analyzeFlags) ([]policy.Detail, error) {
	window, err := policy.ParseWindow(fl.window)
	if err != nil {
		return nil, fmt.Errorf("policy analyze: --window: %w", err)
	}
	opts := policy.UsageOptions{Window: window}
	if fl.now != "" {
		if opts.Now, err = time.Parse(time.RFC3339, fl.now); err != nil {
			return nil, fmt.Errorf("policy analyze: --now: %w", err)
		}
	}
	var h *policy.Hits
	switch {
	case fl.hits != "" && fl.counters:
		return nil, errors.New("policy analyze: --hits and --counters are exclusive")
	case fl.counters:
		if rs.Format != "iptables-save" {
			return nil, errors.New("policy analyze: --counters needs an iptables-save -c input")
		}
		h, err = policy.ParseIptablesCounters(bytes.NewReader(data))
	default:
		var f *os.File
		f, err = os.Open(fl.hits) // #nosec G304 -- the operator names the file
		if err != nil {
			return nil, fmt.Errorf("policy analyze: %w", err)
		}
		defer f.Close()
		h, err = policy.ParseHitsCSV(f)
		if err != nil {
			err = fmt.Errorf("%s: %w", fl.hits, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("policy analyze: %w", err)
	}
	return policy.Usage(rs, h, opts), nil
}

func policyRequire(cmd *cobra.Command, cp *policy.Compiled, name string) (*policy.RequireReport, error) {
	f, err := os.Open(name) // #nosec G304 -- the operator names the file
	if err != nil {
		return nil, fmt.Errorf("policy analyze: %w", err)
	}
	defer f.Close()
	reqs, err := policy.ParseRequirements(f)
	if err != nil {
		return nil, fmt.Errorf("policy analyze: %s: %w", name, err)
	}
	rep, err := cp.Check(cmd.Context(), reqs)
	if err != nil {
		return nil, fmt.Errorf("policy analyze: %w", err)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "policy analyze: requirement skipped: %s\n", s)
	}
	return rep, nil
}

// writeProposal renders the proposal as iptables-save text, checks that the
// text parses back to a rule set equivalent to the original, and writes it.
func writeProposal(ctx context.Context, rs *policy.RuleSet, p *policy.Proposal, orig []byte, name string) error {
	out, err := p.RenderIptablesSave(orig)
	if err != nil {
		return fmt.Errorf("policy analyze: --write: %w", err)
	}
	again, err := policy.ParseIptablesSave(bytes.NewReader(out), rs.Family)
	if err != nil {
		return fmt.Errorf("policy analyze: --write: the proposed text does not parse: %w", err)
	}
	d, err := policy.Diff(ctx, rs, again, policy.DiffOptions{})
	if err != nil {
		return fmt.Errorf("policy analyze: --write: %w", err)
	}
	if !d.Equivalent {
		return errors.New("policy analyze: --write: the proposed text is not equivalent to the input")
	}
	if err := os.WriteFile(name, out, 0o600); err != nil {
		return fmt.Errorf("policy analyze: %w", err)
	}
	return nil
}

func newPolicyDiffCmd() *cobra.Command {
	var (
		format string
		family int
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "diff --format F BEFORE AFTER",
		Short: "Print which flows a rule-set change allows or blocks, as JSON lines",
		Long: `diff parses BEFORE and AFTER in the --format given (` + formatList() + `),
matches their built-in chains by name and computes exactly the packets whose
decision differs. It writes one JSON line per difference box: chain, effect
(allowed: blocked before; blocked: allowed before; changed: DROP and REJECT
swapped), before and after actions, the deciding lines on each side, the
packets as CIDRs, port ranges, protocols, interfaces and states (a field
left out is "any"), and their count. A last line {"equivalent": ...} says
whether no packet changes; "more" lists the chains with more than --limit
boxes.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, a, err := loadPolicy(args[0], format, policy.Family(family))
			if err != nil {
				return err
			}
			_, b, err := loadPolicy(args[1], format, policy.Family(family))
			if err != nil {
				return err
			}
			res, err := policy.Diff(cmd.Context(), a, b, policy.DiffOptions{Limit: limit})
			if err != nil {
				return fmt.Errorf("policy diff: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			var more, missing []string
			for _, cd := range res.Chains {
				if cd.Missing != "" {
					missing = append(missing, cd.Chain+" (absent "+cd.Missing+")")
				}
				if cd.More {
					more = append(more, cd.Chain)
				}
				for _, c := range cd.Changes {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
			}
			return enc.Encode(struct {
				Equivalent bool     `json:"equivalent"`
				More       []string `json:"more,omitempty"`
				Missing    []string `json:"missing_chains,omitempty"`
			}{res.Equivalent, more, missing})
		},
	}
	cmd.Flags().StringVar(&format, "format", "iptables-save", "input format: "+formatList())
	cmd.Flags().IntVar(&family, "family", 4, "address family of the rule sets: 4 or 6")
	cmd.Flags().IntVar(&limit, "limit", policy.DefaultDiffLimit, "most difference boxes printed per chain")
	return cmd
}

func newPolicyQueryCmd() *cobra.Command {
	var (
		proto, src, dst, in, out, state, chain string
		format                                 string
		sport, dport                           uint16
		asJSON                                 bool
	)
	cmd := &cobra.Command{
		Use:   "query FILE --proto tcp --src IP --dst IP --dport N [--sport N] [--in IF] [--out IF] [--state S] [--chain C]",
		Short: "Print what a rule set does with one flow",
		Long: `query runs one flow through a built-in chain (INPUT unless --chain says
otherwise) of the iptables-save FILE, following jumps and returns, and prints
the decision and the rule that makes it, or the chain policy. The family
follows the --src address.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := netip.ParseAddr(src)
			if err != nil {
				return fmt.Errorf("policy query: --src: %w", err)
			}
			d, err := netip.ParseAddr(dst)
			if err != nil {
				return fmt.Errorf("policy query: --dst: %w", err)
			}
			p, err := parseProto(proto)
			if err != nil {
				return err
			}
			st, ok := policy.ParseConnState(state)
			if !ok {
				return fmt.Errorf("policy query: unknown --state %q", state)
			}
			fam := policy.IPv4
			if s.Is6() && !s.Is4In6() {
				fam = policy.IPv6
			}
			_, rs, err := loadPolicy(args[0], format, fam)
			if err != nil {
				return err
			}
			dec, err := rs.Decide(chain, policy.Flow{Proto: p, Src: s, Dst: d, SrcPort: sport, DstPort: dport, In: in, Out: out, State: st})
			if err != nil {
				return fmt.Errorf("policy query: %w", err)
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(dec)
			}
			if dec.Policy {
				_, err = fmt.Fprintf(w, "%s by the %s policy (line %d)\n", dec.Action, dec.Chain, dec.Line)
			} else {
				_, err = fmt.Fprintf(w, "%s by %s line %d: %s\n", dec.Action, dec.Chain, dec.Line, dec.Rule)
			}
			if err == nil && len(dec.Logged) > 0 {
				_, err = fmt.Fprintf(w, "logged by lines %s\n", joinInts(dec.Logged))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&proto, "proto", "tcp", "protocol name or number")
	f.StringVar(&src, "src", "", "source address")
	f.StringVar(&dst, "dst", "", "destination address")
	f.Uint16Var(&sport, "sport", 0, "source port")
	f.Uint16Var(&dport, "dport", 0, "destination port")
	f.StringVar(&in, "in", "", "input interface")
	f.StringVar(&out, "out", "", "output interface")
	f.StringVar(&state, "state", "NEW", "conntrack state: NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED")
	f.StringVar(&chain, "chain", "INPUT", "built-in chain: INPUT, FORWARD or OUTPUT")
	f.BoolVar(&asJSON, "json", false, "print the decision as JSON")
	f.StringVar(&format, "format", "iptables-save", "input format: "+formatList())
	_ = cmd.MarkFlagRequired("src")
	_ = cmd.MarkFlagRequired("dst")
	return cmd
}

// loadPolicy reads and parses a rule set, returning its text too (for
// counters and for rendering a proposal).
func loadPolicy(name, format string, fam policy.Family) ([]byte, *policy.RuleSet, error) {
	f, err := os.Open(name) // #nosec G304 -- the operator names the file to analyse
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, policy.MaxInputBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %s: %w", name, err)
	}
	if len(data) > policy.MaxInputBytes {
		return nil, nil, fmt.Errorf("policy: %s: %w: more than %d bytes", name, policy.ErrTooLarge, policy.MaxInputBytes)
	}
	rs, err := policy.Parse(format, bytes.NewReader(data), fam)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: %s: %w", name, err)
	}
	return data, rs, nil
}

var protoByName = map[string]uint8{"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "icmpv6": 58, "sctp": 132}

func parseProto(s string) (uint8, error) {
	if n, ok := protoByName[strings.ToLower(s)]; ok {
		return n, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("policy query: unknown --proto %q", s)
	}
	return uint8(n), nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
