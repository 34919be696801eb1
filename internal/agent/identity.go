package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Identity is the agent's lasting identity, kept in identity.json in its
// data directory (mode 0600).
type Identity struct {
	AgentID string    `json:"agent_id"`
	Created time.Time `json:"created"`
}

const identityFile = "identity.json"

// LoadIdentity reads the identity of the data directory dir, creating the
// directory (0700) and a new identity with a random agent id the first
// time.
func LoadIdentity(dir string) (Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Identity{}, fmt.Errorf("agent data dir: %w", err)
	}
	p := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(p) // #nosec G304 -- the identity file of the agent's own data directory
	switch {
	case err == nil:
		var id Identity
		if err := json.Unmarshal(b, &id); err != nil {
			return Identity{}, fmt.Errorf("agent identity %s: %w", p, err)
		}
		if _, err := uuid.Parse(id.AgentID); err != nil {
			return Identity{}, fmt.Errorf("agent identity %s: agent_id: %w", p, err)
		}
		return id, nil
	case !errors.Is(err, os.ErrNotExist):
		return Identity{}, fmt.Errorf("agent identity: %w", err)
	}
	id := Identity{AgentID: uuid.NewString(), Created: time.Now().UTC().Truncate(time.Second)}
	b, err = json.MarshalIndent(id, "", "  ")
	if err != nil {
		return Identity{}, fmt.Errorf("agent identity: %w", err)
	}
	if err := writeFileAtomic(p, append(b, '\n')); err != nil {
		return Identity{}, fmt.Errorf("agent identity: %w", err)
	}
	return id, nil
}

// writeFileAtomic writes b to p (mode 0600) through a synced temporary
// file and a rename.
func writeFileAtomic(p string, b []byte) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // #nosec G304 -- inside the agent's data directory
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// TokenEnv is the environment variable the agent reads its token from when
// no token file is given.
const TokenEnv = "VIGIL_AGENT_TOKEN" // #nosec G101 -- the name of a variable, not a credential

// maxTokenFile bounds a token file.
const maxTokenFile = 4096

// ReadToken returns the API token from file (when not empty) or from the
// environment variable TokenEnv through lookup. A token file readable by
// group or others is refused: the token would leak to other users.
func ReadToken(file string, lookup func(string) (string, bool)) (string, error) {
	if file == "" {
		if v, ok := lookup(TokenEnv); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
		return "", fmt.Errorf("agent: no token: give --token-file or set %s", TokenEnv)
	}
	st, err := os.Stat(file)
	if err != nil {
		return "", fmt.Errorf("agent token: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("agent token: %s is readable by other users (mode %v); chmod 600 it", file, st.Mode().Perm())
	}
	if st.Size() > maxTokenFile {
		return "", fmt.Errorf("agent token: %s is larger than %d bytes", file, maxTokenFile)
	}
	b, err := os.ReadFile(file) // #nosec G304 -- the token file the operator named
	if err != nil {
		return "", fmt.Errorf("agent token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("agent token: %s is empty", file)
	}
	return tok, nil
}
