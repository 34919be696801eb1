package cli

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/policy"
)

// newPolicyCmd builds "vigil policy": analyse a firewall rule set offline and
// ask what it does with one flow.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Analyse firewall rule sets: shadowed, redundant and over-broad rules, flow decisions",
	}
	cmd.AddCommand(newPolicyAnalyzeCmd(), newPolicyQueryCmd())
	return cmd
}

func newPolicyAnalyzeCmd() *cobra.Command {
	var (
		format string
		family int
	)
	cmd := &cobra.Command{
		Use:   "analyze --format iptables-save [--family 4|6] FILE",
		Short: "Report shadowed, redundant and over-broad rules as JSON lines",
		Long: `analyze parses FILE (the output of iptables-save, or ip6tables-save with
--family 6) and writes one JSON line per finding: kind (shadowed, redundant,
over-broad, not-analysed), chain, line, rule, reason, related_lines and
conflicting.

The analysis is exact over every packet, not sampled: a shadowed rule matches
no packet that reaches it; removing a redundant rule alone changes no packet's
decision. Options, match modules or targets the parser does not model are
errors naming the line; tables other than filter are reported as not-analysed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "iptables-save" {
				return fmt.Errorf("policy analyze: unsupported --format %q (supported: iptables-save)", format)
			}
			rs, err := loadPolicy(args[0], policy.Family(family))
			if err != nil {
				return err
			}
			findings, err := policy.Analyze(cmd.Context(), rs, policy.Options{})
			if err != nil {
				return fmt.Errorf("policy analyze: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, f := range findings {
				if err := enc.Encode(f); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "iptables-save", "input format (iptables-save)")
	cmd.Flags().IntVar(&family, "family", 4, "address family of the rule set: 4 (iptables) or 6 (ip6tables)")
	return cmd
}

func newPolicyQueryCmd() *cobra.Command {
	var (
		proto, src, dst, in, out, state, chain string
		sport, dport                           uint16
		asJSON                                 bool
	)
	cmd := &cobra.Command{
		Use:   "query FILE --proto tcp --src IP --dst IP --dport N [--sport N] [--in IF] [--out IF] [--state S] [--chain C]",
		Short: "Print what an iptables-save rule set does with one flow",
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
			rs, err := loadPolicy(args[0], fam)
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
	_ = cmd.MarkFlagRequired("src")
	_ = cmd.MarkFlagRequired("dst")
	return cmd
}

func loadPolicy(name string, fam policy.Family) (*policy.RuleSet, error) {
	f, err := os.Open(name) // #nosec G304 -- the operator names the file to analyse
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	rs, err := policy.ParseIptablesSave(f, fam)
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", name, err)
	}
	return rs, nil
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
