package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
)

// LoadPolicy loads a built-in policy by name or SCA id (see
// internal/baseline/policies: debian-ubuntu, openssh, …) or else a policy
// file.
func LoadPolicy(name string) (*baseline.Policy, error) {
	if p, err := policies.Open(name); err == nil {
		return p, nil
	} else if !errors.Is(err, policies.ErrUnknown) {
		return nil, fmt.Errorf("agent policy %s: %w", name, err)
	}
	data, err := os.ReadFile(filepath.Clean(name))
	if err != nil {
		return nil, fmt.Errorf("agent policy %q (neither a built-in policy nor a readable file): %w", name, err)
	}
	p, err := baseline.Parse(data, filepath.Base(name))
	if err != nil {
		return nil, fmt.Errorf("agent policy: %w", err)
	}
	return p, nil
}

// BaselineOptions configures RunBaseline.
type BaselineOptions struct {
	// FS is the host's root filesystem. Required.
	FS fs.FS
	// AgentID and Hostname are stamped on the result.
	AgentID, Hostname string
	// AllowCommands lets the policy's c: rules run (off by default).
	AllowCommands bool
	Now           func() time.Time
	Logger        *slog.Logger
}

// RunBaseline evaluates p on the host and returns the result document.
func RunBaseline(ctx context.Context, p *baseline.Policy, opts BaselineOptions) (*BaselineResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rep, err := baseline.Evaluate(ctx, p, baseline.Options{FS: opts.FS, AllowCommands: opts.AllowCommands, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("agent baseline %s: %w", p.ID, err)
	}
	if rep.Checks == nil {
		rep.Checks = []baseline.CheckResult{}
	}
	return &BaselineResult{
		Schema:      BaselineSchema,
		AgentID:     opts.AgentID,
		Hostname:    opts.Hostname,
		CollectedAt: opts.Now().UTC().Truncate(time.Second),
		Policy:      PolicyRef{ID: p.ID, Name: p.Name, File: p.File},
		Report:      *rep,
	}, nil
}
