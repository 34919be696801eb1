package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/baseline"
)

// newBaselineCmd builds "vigil baseline": evaluate SCA-format security
// baselines against this host and validate policy files.
func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Check this host against security baselines (Wazuh SCA policy format)",
	}
	cmd.AddCommand(newBaselineCheckCmd(), newBaselineLintCmd())
	return cmd
}

func newBaselineCheckCmd() *cobra.Command {
	var (
		policyFile    string
		root          string
		allowCommands bool
		force         bool
	)
	cmd := &cobra.Command{
		Use:   "check --policy FILE [--root DIR] [--allow-commands]",
		Short: "Evaluate a policy on this host and print one JSON line per check",
		Long: `check loads FILE (a Wazuh SCA policy) and evaluates its requirements and
checks against the filesystem under --root (default /) and its /proc. It
writes one JSON line per check (id, title, result, reason, evidence,
remediation) and a score summary on stderr.

Command rules (c:) run only with --allow-commands, directly and never
through a shell, with a timeout and an output cap; otherwise they are
reported as not run and their checks as not-applicable. Windows registry
rules are not applicable on this OS. Under a --root other than /, symbolic
links that leave the root (including absolute ones) are not followed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policyFile == "" {
				return errors.New("baseline check: --policy is required")
			}
			p, err := loadBaselinePolicy(policyFile)
			if err != nil {
				return err
			}
			for _, pr := range p.Problems {
				fmt.Fprintf(cmd.ErrOrStderr(), "skipped: %s\n", pr)
			}
			// The host's own root follows symbolic links as the host does
			// (/etc/localtime and friends are absolute links). Any other
			// root is opened confined: links may not escape it.
			hostFS := os.DirFS("/")
			if filepath.Clean(root) != "/" {
				fsRoot, err := os.OpenRoot(root)
				if err != nil {
					return fmt.Errorf("baseline check: %w", err)
				}
				defer fsRoot.Close()
				hostFS = fsRoot.FS()
			}
			rep, err := baseline.Evaluate(cmd.Context(), p, baseline.Options{
				FS:                 hostFS,
				AllowCommands:      allowCommands,
				IgnoreRequirements: force,
			})
			if err != nil {
				return fmt.Errorf("baseline check: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, c := range rep.Checks {
				if err := enc.Encode(c); err != nil {
					return err
				}
			}
			if !rep.RequirementsMet {
				fmt.Fprintf(cmd.ErrOrStderr(), "requirements of %s not met on this host (use --force to evaluate anyway)\n", p.ID)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "policy %s: score %.1f%% (passed %d, failed %d, not applicable %d)\n",
				p.ID, rep.Score, rep.Passed, rep.Failed, rep.NotApplicable)
			return nil
		},
	}
	cmd.Flags().StringVar(&policyFile, "policy", "", "SCA policy file (YAML)")
	cmd.Flags().StringVar(&root, "root", "/", "filesystem root of the host to check")
	cmd.Flags().BoolVar(&allowCommands, "allow-commands", false, "run the commands of c: rules on this host")
	cmd.Flags().BoolVar(&force, "force", false, "evaluate checks even when the policy requirements are not met")
	return cmd
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
