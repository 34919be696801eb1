package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-sec/vigil/internal/store"
)

// NodeIDFile holds the id of a node whose configuration names none, in
// its data directory.
const NodeIDFile = "node-id"

// nodeID names this node's correlation snapshots: node_id from the
// configuration, else the id kept in DataDir (created on first start),
// else the host name.
func (a *App) nodeID() string {
	id := strings.TrimSpace(a.Config.NodeID)
	if id == "" && a.Config.DataDir != "" {
		var err error
		if id, err = dataDirNodeID(a.Config.DataDir); err != nil {
			a.Logger.Warn("node id not kept in the data directory; using the host name", "err", err)
			id = ""
		}
	}
	if id == "" {
		id, _ = os.Hostname()
	}
	if len(id) > store.MaxNodeID {
		id = id[:store.MaxNodeID]
	}
	return id
}

// dataDirNodeID reads the node id file of dir, creating it with a random
// id when it does not exist.
func dataDirNodeID(dir string) (string, error) {
	p := filepath.Join(dir, NodeIDFile)
	b, err := os.ReadFile(p) // #nosec G304 -- a fixed name in the operator's data directory
	if err == nil {
		if id := strings.TrimSpace(string(b)); id != "" && len(id) <= store.MaxNodeID {
			return id, nil
		}
		return "", errors.New(p + " is empty or too long")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := "node-" + hex.EncodeToString(r[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- as above
	if errors.Is(err, fs.ErrExist) {
		return dataDirNodeID(dir)
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(id + "\n"); err != nil {
		_ = f.Close()
		return "", err
	}
	return id, f.Close()
}
