package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/weblog"
)

// newWeblogCmd builds "vigil weblog": detect application compromise in web
// access logs offline.
func newWeblogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "weblog",
		Short: "Detect and score web-application attacks in access logs",
	}
	cmd.AddCommand(newWeblogAnalyzeCmd())
	return cmd
}

type weblogFlags struct {
	system, format, exclusions string
	paranoia, maxLine          int
	noPrefilter                bool
}

func newWeblogAnalyzeCmd() *cobra.Command {
	var fl weblogFlags
	cmd := &cobra.Command{
		Use:   "analyze --system NAME [--format F] [--paranoia N] [--exclusions FILE] FILE...",
		Short: "Write one JSON line per attack candidate with its success score",
		Long: `analyze reads each access log FILE (plain or gzip) twice, streaming: a first
pass builds bounded per-path response-size statistics, the second detects
and scores. The format is detected from the first lines unless --format
names one of ` + strings.Join(weblog.Formats(), ", ") + ` or gives an Apache
LogFormat ('%h %l %u %t "%r" %>s %b') or nginx log_format
('$remote_addr - $remote_user [$time_local] "$request" ...') string.

Layers: the OWASP Core Rule Set (through Coraza, at --paranoia 1-4) behind
a cheap prefilter, targeted signatures for encodings CRS misses, Log4Shell
lookups in any field, and per-client behaviour (scanner User-Agents,
403/404 bursts, URL sweeps, login brute force followed by a success,
webshell names and rare-script POSTs, sensitive-file probing, abnormal
methods).

Each hit is a JSON line: system, file, line, time, client_ip, request,
status, size, category, attack_techniques, cwe, layers (crs:ID,
sig:CLASS/NAME, behaviour:NAME), crs (rule ids, messages, tags, anomaly
score), score (0-100: how likely the attack succeeded, from the status, the
response size against the path's normal responses and the client's later
successful requests to rarely used scripts) and a one-line explanation.

--exclusions names a YAML list of {system, rule, path_prefix, param,
reason}; rule is a CRS id or a layer name. A summary line per file with the
coverage (lines parsed, skipped per reason, first examples) goes to
standard error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWeblogAnalyze(cmd, args, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.system, "system", "", "name of the monitored system (required)")
	f.StringVar(&fl.format, "format", "", "log format name or format string (default: detect)")
	f.IntVar(&fl.paranoia, "paranoia", 1, "CRS paranoia level, 1-4")
	f.StringVar(&fl.exclusions, "exclusions", "", "YAML file of exclusions from earlier reviews")
	f.IntVar(&fl.maxLine, "max-line", weblog.DefaultMaxLine, "longest line parsed, in bytes; longer lines are skipped and counted")
	f.BoolVar(&fl.noPrefilter, "no-prefilter", false, "send every request to CRS (slow; for measurements)")
	_ = cmd.MarkFlagRequired("system")
	return cmd
}

func runWeblogAnalyze(cmd *cobra.Command, files []string, fl weblogFlags) error {
	opt := weblog.Options{System: fl.system, Format: fl.format, Paranoia: fl.paranoia, MaxLine: fl.maxLine, NoPrefilter: fl.noPrefilter}
	if fl.exclusions != "" {
		ex, err := weblog.LoadExclusions(fl.exclusions)
		if err != nil {
			return err
		}
		opt.Exclusions = ex
	}
	a, err := weblog.New(opt)
	if err != nil {
		return err
	}
	out := json.NewEncoder(cmd.OutOrStdout())
	var failed []error
	for _, name := range files {
		cov, st, err := a.AnalyzeFile(cmd.Context(), name, func(h weblog.Hit) error { return out.Encode(h) })
		if err != nil {
			failed = append(failed, err)
			fmt.Fprintf(cmd.ErrOrStderr(), "vigil weblog: %v\n", err)
			continue
		}
		summary, err := json.Marshal(struct {
			Summary weblog.Coverage `json:"summary"`
			Stats   weblog.Stats    `json:"stats"`
		}{cov, st})
		if err != nil {
			return fmt.Errorf("weblog summary: %w", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%s\n", summary)
	}
	return errors.Join(failed...)
}
