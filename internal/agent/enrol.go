package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Schemas of the enrolment and heartbeat documents.
const (
	EnrolSchema     = "vigil.agent.enrol/v1"
	HeartbeatSchema = "vigil.agent.heartbeat/v1"
)

// Prefixes of the secrets the server mints, so a leaked one is easy to
// recognise and the server can tell them from API tokens.
const (
	// EnrolTokenPrefix starts an enrolment token.
	EnrolTokenPrefix = "vge_"
	// CredentialPrefix starts an agent's own credential.
	CredentialPrefix = "vga_"
)

// EnrolRequest is posted to /api/v1/agent/enrol with the enrolment token
// as the bearer token.
type EnrolRequest struct {
	Schema   string `json:"schema"`
	AgentID  string `json:"agent_id"`
	Hostname string `json:"hostname"`
	Version  string `json:"version,omitempty"`
	// CSR is a PEM certificate request for the agent's own key: the
	// server answers a client certificate for mutual TLS when it has an
	// agent CA.
	CSR string `json:"csr,omitempty"`
}

// MaxCSRBytes bounds EnrolRequest.CSR.
const MaxCSRBytes = 8 << 10

// Validate checks an enrolment request.
func (r *EnrolRequest) Validate() error {
	if r.Schema != EnrolSchema {
		return fmt.Errorf("schema: want %q, got %q", EnrolSchema, clipForError(r.Schema))
	}
	if err := validAgentID(r.AgentID); err != nil {
		return err
	}
	if err := validName("hostname", r.Hostname, maxHostname); err != nil {
		return err
	}
	if len(r.Version) > 64 || strings.ContainsFunc(r.Hostname+r.Version, isControl) {
		return errors.New("hostname or version: control characters or too long")
	}
	if len(r.CSR) > MaxCSRBytes || (r.CSR != "" && !strings.HasPrefix(r.CSR, "-----BEGIN CERTIFICATE REQUEST-----")) {
		return fmt.Errorf("csr: not a PEM certificate request of at most %d bytes", MaxCSRBytes)
	}
	return nil
}

// EnrolResponse is the server's answer: the agent's credential, shown
// once.
type EnrolResponse struct {
	AgentID  string `json:"agent_id"`
	TenantID string `json:"tenant_id"`
	Token    string `json:"token"` // #nosec G117 -- the agent's credential, sent to the agent once
	// Certificate is the agent's client certificate (PEM) for the CSR it
	// sent, and CACertificate the CA that issued it; empty when the
	// server issues none.
	Certificate   string `json:"certificate,omitempty"`
	CACertificate string `json:"ca_certificate,omitempty"`
}

// Credential is what an enrolled agent keeps in credential.json in its
// data directory (mode 0600).
type Credential struct {
	Server     string    `json:"server"`
	AgentID    string    `json:"agent_id"`
	TenantID   string    `json:"tenant_id"`
	Token      string    `json:"token"` // #nosec G117 -- kept in a 0600 file of the agent's own directory
	EnrolledAt time.Time `json:"enrolled_at"`
}

// CredentialFile is the credential's file name in the data directory.
const CredentialFile = "credential.json" // #nosec G101 -- a file name, not a credential

// EnrolOptions configures Enrol.
type EnrolOptions struct {
	Server   string
	Token    string // the enrolment token
	DataDir  string
	Hostname string
	Version  string
	HTTP     *http.Client
	// Now is the clock the received certificate is checked against; nil
	// means time.Now.
	Now func() time.Time
}

// Enrol exchanges an enrolment token for the agent's own credential and
// saves it in the data directory, whose identity names the agent.
func Enrol(ctx context.Context, opts EnrolOptions) (Credential, error) {
	if opts.Server == "" || opts.Token == "" || opts.DataDir == "" {
		return Credential{}, errors.New("agent enrol: server, token and data dir are required")
	}
	id, err := LoadIdentity(opts.DataDir)
	if err != nil {
		return Credential{}, err
	}
	host := opts.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	keyPEM, csr, err := newClientKey(id.AgentID)
	if err != nil {
		return Credential{}, fmt.Errorf("agent enrol: %w", err)
	}
	req := EnrolRequest{Schema: EnrolSchema, AgentID: id.AgentID, Hostname: host, Version: opts.Version, CSR: string(csr)}
	body, err := json.Marshal(req)
	if err != nil {
		return Credential{}, fmt.Errorf("agent enrol: %w", err)
	}
	c := &Client{Server: opts.Server, Token: opts.Token, AgentID: id.AgentID, HTTP: withoutClientCert(opts.HTTP)}
	ans, err := c.Post(ctx, EnrolPath, "application/json", "", body)
	if err != nil {
		return Credential{}, fmt.Errorf("agent enrol: %w", err)
	}
	var res EnrolResponse
	if err := json.Unmarshal(ans, &res); err != nil {
		return Credential{}, fmt.Errorf("agent enrol: answer: %w", err)
	}
	if res.AgentID != id.AgentID || !strings.HasPrefix(res.Token, CredentialPrefix) || res.TenantID == "" {
		return Credential{}, errors.New("agent enrol: the server's answer is not a credential for this agent")
	}
	if res.Certificate != "" {
		now := time.Now()
		if opts.Now != nil {
			now = opts.Now()
		}
		if err := saveClientCert(opts.DataDir, keyPEM, res.Certificate, res.CACertificate, res.TenantID, res.AgentID, now); err != nil {
			return Credential{}, fmt.Errorf("agent enrol: %w", err)
		}
	} else if err := removeClientCert(opts.DataDir); err != nil {
		return Credential{}, fmt.Errorf("agent enrol: %w", err)
	}
	cred := Credential{Server: opts.Server, AgentID: res.AgentID, TenantID: res.TenantID, Token: res.Token,
		EnrolledAt: time.Now().UTC().Truncate(time.Second)}
	b, err := json.MarshalIndent(cred, "", "  ")
	if err != nil {
		return Credential{}, fmt.Errorf("agent enrol: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(opts.DataDir, CredentialFile), append(b, '\n')); err != nil {
		return Credential{}, fmt.Errorf("agent enrol: save credential: %w", err)
	}
	return cred, nil
}

// LoadCredential reads the credential of an enrolled agent's data
// directory; os.ErrNotExist when the agent was not enrolled. A credential
// file readable by others is refused.
func LoadCredential(dir string) (Credential, error) {
	p := filepath.Join(dir, CredentialFile)
	st, err := os.Stat(p)
	if err != nil {
		return Credential{}, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Credential{}, fmt.Errorf("agent credential: %s is readable by other users (mode %v); chmod 600 it", p, st.Mode().Perm())
	}
	if st.Size() > maxTokenFile {
		return Credential{}, fmt.Errorf("agent credential: %s is larger than %d bytes", p, maxTokenFile)
	}
	b, err := os.ReadFile(p) // #nosec G304 -- the agent's own data directory
	if err != nil {
		return Credential{}, fmt.Errorf("agent credential: %w", err)
	}
	var c Credential
	if err := json.Unmarshal(b, &c); err != nil {
		return Credential{}, fmt.Errorf("agent credential %s: %w", p, err)
	}
	if c.Server == "" || !strings.HasPrefix(c.Token, CredentialPrefix) || validAgentID(c.AgentID) != nil {
		return Credential{}, fmt.Errorf("agent credential %s: incomplete", p)
	}
	return c, nil
}

// Heartbeat is posted to /api/v1/agent/heartbeat by an enrolled agent.
type Heartbeat struct {
	Schema   string `json:"schema"`
	AgentID  string `json:"agent_id"`
	Hostname string `json:"hostname"`
	Version  string `json:"version,omitempty"`
	// ConfigETag is the configuration the agent runs with ("" for none).
	ConfigETag string `json:"config_etag"`
	// SpoolPending is the bytes waiting in the spool; SpoolDropped the
	// events dropped because the spool was full, since the agent started.
	SpoolPending int64  `json:"spool_pending"`
	SpoolDropped uint64 `json:"spool_dropped"`
	Sent         uint64 `json:"sent"`
}

// Validate checks a heartbeat.
func (h *Heartbeat) Validate() error {
	if h.Schema != HeartbeatSchema {
		return fmt.Errorf("schema: want %q, got %q", HeartbeatSchema, clipForError(h.Schema))
	}
	if err := validAgentID(h.AgentID); err != nil {
		return err
	}
	if err := validName("hostname", h.Hostname, maxHostname); err != nil {
		return err
	}
	if len(h.Version) > 64 || len(h.ConfigETag) > 64 || h.SpoolPending < 0 || h.SpoolDropped > 1<<62 {
		return errors.New("version, config_etag or counters out of bounds")
	}
	return nil
}

// HeartbeatAnswer is the server's answer to a heartbeat: the ETag of the
// agent's configuration and, when it differs from the agent's, the
// configuration. An empty ConfigETag means no configuration is set.
type HeartbeatAnswer struct {
	ConfigETag string        `json:"config_etag"`
	Config     *RemoteConfig `json:"config,omitempty"`
}
