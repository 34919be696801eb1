package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
)

// newBaselineCmd builds "vigil baseline": evaluate SCA-format security
// baselines against this host, a host over SSH, a database or an offline
// evidence bundle, generate offline collectors and validate policy files.
func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Check hosts and databases against security baselines (Wazuh SCA policy format)",
	}
	cmd.AddCommand(newBaselineCheckCmd(), newBaselineBundleCmd(), newBaselinePoliciesCmd(), newBaselineLintCmd())
	return cmd
}

type baselineCheckFlags struct {
	policy, target, evidence, root, format string
	identity, knownHosts, fingerprint      string
	allowCommands, force, tofu, sudo       bool
	workers                                int
}

func newBaselineCheckCmd() *cobra.Command {
	var f baselineCheckFlags
	cmd := &cobra.Command{
		Use:   "check --policy FILE|NAME [--target TARGET] [--format jsonl|table]",
		Short: "Evaluate a policy on a target and print one JSON line per check",
		Long: `check loads a policy (a Wazuh SCA YAML file, or the name of a built-in policy
listed by "vigil baseline policies") and evaluates its requirements and
checks against a target:

  local                         this host, its filesystem under --root (default /)
  ssh://user@host[:port]        a host over SSH, no agent needed
  FILE.tar.gz                   evidence gathered offline by "vigil baseline bundle"
  FILE.zip                      Windows evidence gathered by "vigil baseline bundle --target windows"
  postgres://user@host:5432/db  PostgreSQL, for sql: rules
  mysql://user@host:3306/       MariaDB or MySQL, for sql: rules
  redis://[:password@]host:6379 Redis, for redis: rules (CONFIG GET)

It writes one JSON line per check (id, title, result, reason, evidence,
remediation), or a table with --format table, and a score summary on stderr.
Results are passed, failed, not-applicable or manual (a "type: manual" check
pending an assessor).

Command rules (c:) run only with --allow-commands, directly and never
through a shell built from the policy, with a timeout and an output cap;
otherwise they are reported as not run and their checks as not-applicable.
Over SSH every argument is quoted for the remote shell; the host key must be
pinned with --known-hosts or --fingerprint (or --tofu to trust and record an
unknown key); "sudo -n" is used only with --sudo. The SSH key comes from
--identity (passphrase in VIGIL_SSH_PASSPHRASE), a password from
VIGIL_SSH_PASSWORD; database passwords from the URL or VIGIL_DB_PASSWORD.
An evidence bundle answers only with what it recorded; anything else is
not-applicable. With a bundle, --allow-commands uses the recorded output of
the commands collected with "bundle --allow-commands". Under a --root other than /, symbolic links that leave the
root are not followed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBaselineCheck(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", "", "SCA policy file (YAML) or built-in policy name")
	fl.StringVar(&f.target, "target", "local", "local, ssh://user@host[:port], FILE.tar.gz, postgres://..., mysql://... or redis://...")
	fl.StringVar(&f.evidence, "evidence", "", "offline evidence to evaluate: .tar.gz (sh collector) or .zip (PowerShell collector), told apart by content")
	fl.StringVar(&f.root, "root", "/", "filesystem root of the local host to check")
	fl.StringVar(&f.format, "format", "jsonl", "output format: jsonl or table")
	fl.StringVar(&f.identity, "identity", "", "SSH private key file")
	fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file pinning the SSH host key")
	fl.StringVar(&f.fingerprint, "fingerprint", "", "pinned SSH host key fingerprint (SHA256:...)")
	fl.BoolVar(&f.tofu, "tofu", false, "trust an unknown SSH host key on first use (recorded in --known-hosts)")
	fl.BoolVar(&f.sudo, "sudo", false, "run remote commands through sudo -n")
	fl.BoolVar(&f.allowCommands, "allow-commands", false, "run the commands of c: rules on the target (bundle: use their recorded output)")
	fl.BoolVar(&f.force, "force", false, "evaluate checks even when the policy requirements are not met")
	fl.IntVar(&f.workers, "workers", 0, "checks evaluated at once (default 8)")
	return cmd
}

func runBaselineCheck(cmd *cobra.Command, f *baselineCheckFlags) error {
	if f.policy == "" {
		return errors.New("baseline check: --policy is required")
	}
	if f.format != "jsonl" && f.format != "table" {
		return fmt.Errorf("baseline check: --format %q is not jsonl or table", f.format)
	}
	p, err := resolveBaselinePolicy(f.policy)
	if err != nil {
		return err
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped: %s\n", pr)
	}
	if f.evidence != "" {
		f.target = f.evidence
	}
	opts := baseline.Options{AllowCommands: f.allowCommands, IgnoreRequirements: f.force, Workers: f.workers}
	target, closeTarget, err := openBaselineTarget(cmd.Context(), f)
	if err != nil {
		return fmt.Errorf("baseline check: %w", err)
	}
	defer closeTarget()
	if ev, ok := target.(baseline.Evidence); ok {
		if err := ev.CheckPolicy(p); err != nil {
			return fmt.Errorf("baseline check: %w", err)
		}
	}
	opts.Target = target
	rep, err := baseline.Evaluate(cmd.Context(), p, opts)
	if err != nil {
		return fmt.Errorf("baseline check: %w", err)
	}
	out := cmd.OutOrStdout()
	if f.format == "table" {
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRESULT\tTITLE")
		for _, c := range rep.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, c.Result, c.Title)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	} else {
		enc := json.NewEncoder(out)
		for _, c := range rep.Checks {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
	}
	if !rep.RequirementsMet {
		fmt.Fprintf(cmd.ErrOrStderr(), "requirements of %s not met on this target (use --force to evaluate anyway)\n", p.ID)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "policy %s: score %.1f%% (passed %d, failed %d, not applicable %d, manual %d)\n",
		p.ID, rep.Score, rep.Passed, rep.Failed, rep.NotApplicable, rep.Manual)
	return nil
}

// openBaselineTarget opens the target named by the flags; the returned
// function releases it.
func openBaselineTarget(ctx context.Context, f *baselineCheckFlags) (baseline.Target, func(), error) {
	nop := func() {}
	t := f.target
	switch {
	case t == "" || t == "local":
		// The host's own root follows symbolic links as the host does
		// (/etc/localtime and friends are absolute links). Any other root
		// is opened confined: links may not escape it.
		if filepath.Clean(f.root) == "/" {
			return &baseline.LocalTarget{FS: os.DirFS("/"), AllowCommands: f.allowCommands}, nop, nil
		}
		root, err := os.OpenRoot(f.root)
		if err != nil {
			return nil, nil, err
		}
		return &baseline.LocalTarget{FS: root.FS(), AllowCommands: f.allowCommands}, func() { _ = root.Close() }, nil
	case strings.HasPrefix(t, "ssh://"):
		return openSSHTarget(ctx, f)
	case strings.HasPrefix(t, "postgres://"), strings.HasPrefix(t, "postgresql://"):
		db, err := baseline.OpenPostgres(ctx, withDBPassword(t))
		if err != nil {
			return nil, nil, err
		}
		return db, func() { _ = db.Close() }, nil
	case strings.HasPrefix(t, "mysql://"), strings.HasPrefix(t, "mariadb://"):
		db, err := baseline.OpenMySQL(ctx, withDBPassword(t))
		if err != nil {
			return nil, nil, err
		}
		return db, func() { _ = db.Close() }, nil
	case strings.HasPrefix(t, "redis://"):
		u, err := url.Parse(withDBPassword(t))
		if err != nil {
			return nil, nil, err
		}
		ro := baseline.RedisOptions{Addr: u.Host}
		if u.Port() == "" {
			ro.Addr = net.JoinHostPort(u.Hostname(), "6379")
		}
		if u.User != nil {
			ro.Username = u.User.Username()
			ro.Password, _ = u.User.Password()
		}
		r, err := baseline.DialRedis(ctx, ro)
		if err != nil {
			return nil, nil, err
		}
		return r, func() { _ = r.Close() }, nil
	case f.evidence != "" || strings.HasSuffix(t, ".tar.gz") || strings.HasSuffix(t, ".tgz") || strings.HasSuffix(t, ".zip"):
		b, err := baseline.OpenEvidence(t)
		if err != nil {
			return nil, nil, err
		}
		return b, nop, nil
	}
	return nil, nil, fmt.Errorf("target %q is not local, ssh://, an evidence .tar.gz or .zip, postgres://, mysql:// or redis://", t)
}

// withDBPassword adds VIGIL_DB_PASSWORD to a database URL without one.
func withDBPassword(raw string) string {
	pw := os.Getenv("VIGIL_DB_PASSWORD")
	u, err := url.Parse(raw)
	if pw == "" || err != nil {
		return raw
	}
	if u.User == nil {
		u.User = url.UserPassword("", pw)
	} else if _, set := u.User.Password(); !set {
		u.User = url.UserPassword(u.User.Username(), pw)
	}
	return u.String()
}

func openSSHTarget(ctx context.Context, f *baselineCheckFlags) (baseline.Target, func(), error) {
	u, err := url.Parse(f.target)
	if err != nil {
		return nil, nil, err
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, nil, errors.New("ssh target needs a user: ssh://user@host[:port]")
	}
	if _, set := u.User.Password(); set {
		return nil, nil, errors.New("do not put a password in the ssh:// URL; use VIGIL_SSH_PASSWORD")
	}
	o := baseline.SSHOptions{
		Addr: u.Host, User: u.User.Username(),
		Password:       os.Getenv("VIGIL_SSH_PASSWORD"),
		Passphrase:     []byte(os.Getenv("VIGIL_SSH_PASSPHRASE")),
		KnownHostsFile: f.knownHosts, Fingerprint: f.fingerprint, TrustOnFirstUse: f.tofu,
		Sudo: f.sudo, AllowCommands: f.allowCommands,
	}
	if u.Port() == "" {
		o.Addr = net.JoinHostPort(u.Hostname(), "22")
	}
	if f.identity != "" {
		if o.PrivateKey, err = os.ReadFile(filepath.Clean(f.identity)); err != nil {
			return nil, nil, err
		}
	}
	t, err := baseline.DialSSH(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	return t, func() { _ = t.Close() }, nil
}

// resolveBaselinePolicy loads a policy file, or else a built-in policy by
// name or id.
func resolveBaselinePolicy(name string) (*baseline.Policy, error) {
	if _, err := os.Stat(name); err == nil {
		return loadBaselinePolicy(name)
	}
	p, err := policies.Open(name)
	if err != nil {
		return nil, fmt.Errorf("baseline: %q is neither a policy file nor a built-in policy: %w", name, err)
	}
	return p, nil
}

func loadBaselinePolicy(name string) (*baseline.Policy, error) {
	data, err := os.ReadFile(filepath.Clean(name))
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	p, err := baseline.Parse(data, filepath.Base(name))
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return p, nil
}

func newBaselineBundleCmd() *cobra.Command {
	var (
		policy, output, target string
		allowCommands          bool
	)
	cmd := &cobra.Command{
		Use:   "bundle --policy FILE|NAME -o collect.sh|collect.ps1 [--target sh|windows] [--allow-commands]",
		Short: "Write a script (POSIX sh or PowerShell) that collects a policy's evidence on an isolated host",
		Long: `bundle writes a POSIX sh script that gathers exactly the evidence the policy
needs (files, directory listings, the process list and, with
--allow-commands, the output of its c: commands) into a tar.gz with a
manifest. Run it on the isolated host:

  sh collect.sh [-r ROOT] [-o evidence.tar.gz]

and evaluate the result later with
  vigil baseline check --policy POLICY --target evidence.tar.gz

With --target windows (the default when -o ends in .ps1) it writes a
PowerShell 5.1 script for a Windows host instead: the registry keys of the
policy's r: rules with every value and its type, its files, directories and
processes and, with --allow-commands, the output of its c: commands and the
local security policy (secedit /export). Run it as an administrator:

  powershell -NoProfile -ExecutionPolicy Bypass -File collect.ps1 [-Output evidence.zip]

and evaluate the zip with
  vigil baseline check --policy POLICY --evidence evidence.zip`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policy == "" || output == "" {
				return errors.New("baseline bundle: --policy and -o are required")
			}
			p, err := resolveBaselinePolicy(policy)
			if err != nil {
				return err
			}
			if target == "" {
				target = "sh"
				if strings.HasSuffix(strings.ToLower(output), ".ps1") {
					target = "windows"
				}
			}
			write := baseline.WriteCollector
			switch target {
			case "sh":
			case "windows":
				write = baseline.WriteWindowsCollector
			default:
				return fmt.Errorf("baseline bundle: --target %q is not sh or windows", target)
			}
			var buf bytes.Buffer
			if err := write(&buf, p, allowCommands); err != nil {
				return fmt.Errorf("baseline bundle: %w", err)
			}
			if output == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			// #nosec G306 -- a script meant to be run; not secret
			if err := os.WriteFile(output, buf.Bytes(), 0o755); err != nil {
				return fmt.Errorf("baseline bundle: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "collector for %s written to %s\n", p.ID, output)
			return nil
		},
	}
	cmd.Flags().StringVar(&policy, "policy", "", "SCA policy file (YAML) or built-in policy name")
	cmd.Flags().StringVarP(&output, "output", "o", "", "script file to write (- for stdout)")
	cmd.Flags().BoolVar(&allowCommands, "allow-commands", false, "also collect the output of the policy's c: commands")
	cmd.Flags().StringVar(&target, "target", "", "sh (POSIX hosts) or windows (PowerShell); default windows for -o *.ps1, else sh")
	return cmd
}

func newBaselinePoliciesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "policies",
		Short: "List the built-in policies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPLATFORM\tCHECKS\tID\tTITLE")
			for _, in := range policies.List() {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", in.Name, in.Platform, in.Checks, in.ID, in.Title)
			}
			return tw.Flush()
		},
	}
}

func newBaselineLintCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "lint DIR|FILE",
		Short: "Load every policy and print the checks that cannot be loaded",
		Long: `lint loads FILE, or every *.yml and *.yaml policy under DIR, and prints
one line per construct that cannot be loaded (file:line, check id, reason),
then a count of policies, checks and rules. It fails when anything was
rejected.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var (
				policies []*baseline.Policy
				loadErr  error
			)
			if st, err := os.Stat(args[0]); err != nil {
				return fmt.Errorf("baseline lint: %w", err)
			} else if st.IsDir() {
				policies, loadErr = baseline.LoadDir(os.DirFS(args[0]), ".")
			} else {
				p, err := loadBaselinePolicy(args[0])
				if err != nil {
					loadErr = err
				} else {
					policies = append(policies, p)
				}
			}
			out := cmd.OutOrStdout()
			if loadErr != nil {
				fmt.Fprintln(out, loadErr)
			}
			var checks, rules, problems int
			for _, p := range policies {
				checks += len(p.Checks)
				rules += p.Rules
				for _, pr := range p.Problems {
					fmt.Fprintln(out, pr)
					problems++
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d policies, %d checks and %d rules loaded; %d problems\n",
				len(policies), checks, rules, problems)
			if loadErr != nil || problems > 0 {
				return errors.New("baseline lint: some policies or checks were rejected")
			}
			return nil
		},
	}
}
