package hardening

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/policies"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/store"
)

// Scheduled checks of network devices. A schedule whose policy is a
// network device policy (cisco-ios, huawei-vrp, h3c-comware) logs into the
// device's CLI with the device backup engine (the backup profile of the
// same name drives the prompt, pager and show-config command), captures
// the running configuration and evaluates the policy on it; evidence is
// masked with the profile's secret patterns before it is stored.
//
// The schedule pins the host key by its SHA256 fingerprint. The backup
// engine pins a whole key, so the key is first read with a handshake that
// stops before authentication (no credential is offered), its fingerprint
// compared with the pin, and that exact key then pinned for the login.

// errKeyRead stops the first handshake once the host key is seen.
var errKeyRead = errors.New("host key read")

// deviceHostKey reads the host key addr presents, without logging in, and
// returns it when its fingerprint is pin.
func deviceHostKey(ctx context.Context, addr, pin string, timeout time.Duration) (ssh.PublicKey, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("device %s: dial: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var key ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: "vigil-host-key-probe",
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			key = k
			return errKeyRead
		},
		Timeout: timeout,
	}
	c, _, _, err := ssh.NewClientConn(conn, addr, cfg)
	if c != nil {
		_ = c.Close()
	}
	if key == nil {
		return nil, fmt.Errorf("device %s: ssh handshake: %w", addr, err)
	}
	if got := ssh.FingerprintSHA256(key); got != pin {
		return nil, fmt.Errorf("device %s: %w: pinned %s, presented %s", addr, backup.ErrHostKeyChanged, pin, got)
	}
	return key, nil
}

// checkDevice runs a network device schedule: credential value already
// opened from the vault, of kind kind.
func (s *Service) checkDevice(ctx context.Context, sc store.BaselineSchedule, info policies.Info, p *baseline.Policy,
	host, kind string, value []byte) (store.BaselineRun, error) {
	profiles, err := backup.Builtin()
	if err != nil {
		return store.BaselineRun{}, err
	}
	prof := profiles[info.Name]
	if prof == nil {
		return store.BaselineRun{}, fmt.Errorf("no device CLI profile for policy %s", info.Name)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(sc.Port))
	timeout := min(s.opts.SSHTimeout, backup.DefaultTimeout)
	key, err := deviceHostKey(ctx, addr, sc.HostKey, timeout)
	if err != nil {
		return store.BaselineRun{}, err
	}
	target := backup.Target{Addr: addr, User: sc.Username, HostKey: key, Timeout: timeout}
	if kind == kindKey {
		signer, err := ssh.ParsePrivateKey(value)
		if err != nil {
			return store.BaselineRun{}, fmt.Errorf("credential: %w", err)
		}
		target.Signer = signer
	} else {
		target.Password = string(value)
	}
	started := s.opts.Now().UTC()
	res, err := baseline.CheckDevice(ctx, baseline.DeviceCheck{Target: target, Profile: prof, Policy: p, Logger: s.log})
	if err != nil {
		return store.BaselineRun{}, err
	}
	return s.Record(ctx, sc.TenantID, RunInput{AssetID: sc.AssetID, Source: store.BaselineSourceSSH, PolicyID: info.ID,
		PolicyTitle: info.Title, PolicyVersion: PolicyVersion(info), StartedAt: started, FinishedAt: s.opts.Now().UTC(), Report: res.Report})
}
