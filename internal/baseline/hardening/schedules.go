package hardening

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/store"
)

// Secret kinds a schedule can log in with.
const (
	kindKey      = "ssh-key"
	kindPassword = "password"
)

// ScheduleInput is a schedule as a person sets it.
type ScheduleInput struct {
	AssetID  string
	Policy   string // built-in policy name
	Interval time.Duration
	SecretID string // an ssh-key or password secret of the tenant
	Username string
	Port     int    // 0 means 22
	HostKey  string // "SHA256:..." fingerprint of the host key, as ssh-keygen -l prints it
	Enabled  bool
}

// SaveSchedule creates (id "") or changes a schedule of SSH checks. The
// first run is due at once. A network device policy is checked on the
// running configuration the device's CLI shows (see baseline3_device.go).
func (s *Service) SaveSchedule(ctx context.Context, tenantID, id string, in ScheduleInput) (store.BaselineSchedule, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.BaselineSchedule{}, err
	}
	info, _, err := s.policies.builtin(in.Policy)
	if err != nil {
		return store.BaselineSchedule{}, err
	}
	if in.Interval < MinInterval || in.Interval > MaxInterval {
		return store.BaselineSchedule{}, invalid("interval", store.CodeOutOfRange, map[string]any{"min": int(MinInterval.Hours()), "max": int(MaxInterval.Hours())},
			"the interval is between %d and %d hours", int(MinInterval.Hours()), int(MaxInterval.Hours()))
	}
	in.Username = strings.TrimSpace(in.Username)
	if in.Username == "" || len(in.Username) > 64 || strings.ContainsAny(in.Username, " \t\r\n@:/") {
		return store.BaselineSchedule{}, invalid("username", store.CodeInvalidUsername, nil, "give the login name of the SSH account")
	}
	if in.Port == 0 {
		in.Port = 22
	}
	if in.Port < 1 || in.Port > 65535 {
		return store.BaselineSchedule{}, invalid("port", store.CodeOutOfRange, map[string]any{"min": 1, "max": 65535}, "the port is between 1 and 65535")
	}
	in.HostKey = strings.TrimSpace(in.HostKey)
	if !strings.HasPrefix(in.HostKey, "SHA256:") || len(in.HostKey) < 20 || len(in.HostKey) > 100 || strings.ContainsAny(in.HostKey, " \t\r\n") {
		return store.BaselineSchedule{}, invalid("host_key", "", nil, "pin the host key by its SHA256 fingerprint (ssh-keygen -lf KEY prints it)")
	}
	sec, err := s.store.Secrets().Get(ctx, tenantID, in.SecretID)
	if err != nil || (sec.Kind != kindKey && sec.Kind != kindPassword) {
		return store.BaselineSchedule{}, invalid("secret", store.CodeNotInTenant, nil, "choose an SSH key or password credential of this organisation")
	}
	sc := store.BaselineSchedule{ID: id, TenantID: tenantID, AssetID: in.AssetID, Policy: info.Name, Interval: in.Interval,
		SecretID: in.SecretID, Username: in.Username, Port: in.Port, HostKey: in.HostKey, Enabled: in.Enabled,
		NextAt: s.opts.Now().UTC(), CreatedBy: auth.FromContext(ctx).ActorID()}
	if id != "" {
		old, err := s.store.Baseline().GetSchedule(ctx, tenantID, id)
		if err != nil {
			return sc, err
		}
		sc.CreatedBy, sc.LastAt, sc.LastError, sc.CreatedAt = old.CreatedBy, old.LastAt, old.LastError, old.CreatedAt
		if !old.LastAt.IsZero() {
			sc.NextAt = old.LastAt.Add(in.Interval)
		}
	}
	if err := s.store.Baseline().SaveSchedule(ctx, &sc); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return sc, invalid("policy", "", nil, "this asset already has a schedule for this policy")
		case errors.Is(err, store.ErrNotFound) && id == "":
			return sc, invalid("asset", store.CodeNotInTenant, nil, "the asset is not one of this organisation's")
		}
		return sc, err
	}
	return sc, s.record(ctx, tenantID, "baseline.schedule.save", "baseline-schedule:"+sc.ID, map[string]any{"asset": sc.AssetID,
		"policy": sc.Policy, "interval_hours": in.Interval.Hours(), "enabled": sc.Enabled})
}

// Schedules lists the tenant's schedules.
func (s *Service) Schedules(ctx context.Context, tenantID string) ([]store.BaselineSchedule, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	return s.store.Baseline().ListSchedules(ctx, tenantID)
}

// Schedule returns one of the tenant's schedules.
func (s *Service) Schedule(ctx context.Context, tenantID, id string) (store.BaselineSchedule, error) {
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return store.BaselineSchedule{}, err
	}
	return s.store.Baseline().GetSchedule(ctx, tenantID, id)
}

// DeleteSchedule removes a schedule.
func (s *Service) DeleteSchedule(ctx context.Context, tenantID, id string) error {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return err
	}
	if err := s.store.Baseline().DeleteSchedule(ctx, tenantID, id); err != nil {
		return err
	}
	return s.record(ctx, tenantID, "baseline.schedule.delete", "baseline-schedule:"+id, nil)
}

// RunSchedule runs a schedule's check now and records when it ran.
func (s *Service) RunSchedule(ctx context.Context, tenantID, id string) (store.BaselineRun, error) {
	if err := auth.Require(ctx, auth.PermAssessWrite, tenantID); err != nil {
		return store.BaselineRun{}, err
	}
	sc, err := s.store.Baseline().GetSchedule(ctx, tenantID, id)
	if err != nil {
		return store.BaselineRun{}, err
	}
	return s.runSchedule(ctx, sc)
}

func (s *Service) runSchedule(ctx context.Context, sc store.BaselineSchedule) (store.BaselineRun, error) {
	// Claim the schedule first: a job delivered again while this check
	// runs finds it not due.
	started := s.opts.Now().UTC()
	if err := s.store.Baseline().MarkScheduleRun(ctx, sc.TenantID, sc.ID, started, started.Add(sc.Interval), "running"); err != nil {
		return store.BaselineRun{}, err
	}
	run, runErr := s.checkOverSSH(ctx, sc)
	msg := ""
	if runErr != nil {
		msg = clean(runErr.Error(), 500)
		s.log.WarnContext(ctx, "baseline schedule failed", "tenant", sc.TenantID, "schedule", sc.ID, "err", runErr)
	}
	now := s.opts.Now().UTC()
	if err := s.store.Baseline().MarkScheduleRun(ctx, sc.TenantID, sc.ID, now, now.Add(sc.Interval), msg); err != nil {
		return run, errors.Join(runErr, err)
	}
	return run, runErr
}

// checkOverSSH logs into the asset with the schedule's credential (opened
// from the vault only now) and evaluates the policy.
func (s *Service) checkOverSSH(ctx context.Context, sc store.BaselineSchedule) (store.BaselineRun, error) {
	if s.opts.Secrets == nil {
		return store.BaselineRun{}, errors.New("SSH checks are not configured on this server")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.SSHTimeout)
	defer cancel()
	info, p, err := s.policies.builtin(sc.Policy)
	if err != nil {
		return store.BaselineRun{}, err
	}
	a, err := s.store.Assets().Get(ctx, sc.TenantID, sc.AssetID)
	if err != nil {
		return store.BaselineRun{}, err
	}
	host := strings.TrimSpace(a.Address)
	if host == "" {
		return store.BaselineRun{}, invalid("asset", store.CodeRequired, nil, "the asset has no address to log into")
	}
	sec, err := s.store.Secrets().Get(ctx, sc.TenantID, sc.SecretID)
	if err != nil {
		return store.BaselineRun{}, fmt.Errorf("credential: %w", err)
	}
	value, err := s.opts.Secrets.Open(ctx, sc.TenantID, sc.SecretID, "baseline ssh check")
	if err != nil {
		return store.BaselineRun{}, fmt.Errorf("credential: %w", err)
	}
	if info.Platform == policies.PlatformNetwork {
		defer clear(value)
		return s.checkDevice(ctx, sc, info, p, host, sec.Kind, value)
	}
	opts := baseline.SSHOptions{Addr: net.JoinHostPort(host, strconv.Itoa(sc.Port)), User: sc.Username, Fingerprint: sc.HostKey,
		AllowCommands: true, Logger: s.log}
	if sec.Kind == kindKey {
		opts.PrivateKey = value
	} else {
		opts.Password = string(value)
	}
	started := s.opts.Now().UTC()
	target, err := baseline.DialSSH(ctx, opts)
	clear(value)
	if err != nil {
		return store.BaselineRun{}, err
	}
	defer func() { _ = target.Close() }()
	rep, err := baseline.Evaluate(ctx, p, baseline.Options{Target: target, AllowCommands: true, Logger: s.log})
	if err != nil {
		return store.BaselineRun{}, err
	}
	return s.Record(ctx, sc.TenantID, RunInput{AssetID: sc.AssetID, Source: store.BaselineSourceSSH, PolicyID: info.ID,
		PolicyTitle: info.Title, PolicyVersion: PolicyVersion(info), StartedAt: started, FinishedAt: s.opts.Now().UTC(), Report: rep})
}

// jobBudget is how long one pass of RunDue starts new checks; the worker
// queue redelivers a job that takes much longer.
const jobBudget = 45 * time.Second

// RunDue runs the schedules whose time has come, across tenants, and
// returns how many ran. ctx must carry a principal allowed in every
// tenant (the system). A failing schedule is recorded on the schedule and
// does not stop the others.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	due, err := s.store.Baseline().DueSchedules(ctx, s.opts.Now().UTC(), dueBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	start := s.opts.Now()
	for _, sc := range due {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if s.opts.Now().Sub(start) > jobBudget {
			break // the rest stay due for the next pass
		}
		if _, err := s.runSchedule(ctx, sc); err == nil {
			n++
		}
	}
	return n, nil
}
