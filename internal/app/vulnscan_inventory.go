package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln/scan"
)

// OSVDirName is the directory under the data directory where the operator
// puts OSV advisory exports (osv.dev's per-ecosystem all.zip files, or
// unpacked JSON documents) for matching agents' package inventories.
const OSVDirName = "osv"

// osvCache holds the OSV database of a data directory, reloaded when a
// file in it changes.
type osvCache struct {
	mu    sync.Mutex
	dir   string
	stamp time.Time
	n     int
	db    *scan.OSVDB
}

var osvDBs sync.Map // data directory → *osvCache

// OSVDatabase returns the OSV advisories under the data directory's
// OSVDirName (nil when there are none): every *.json file below it and
// every *.zip in it.
func (a *App) OSVDatabase() (*scan.OSVDB, error) {
	dir := filepath.Join(a.Config.DataDir, OSVDirName)
	v, _ := osvDBs.LoadOrStore(dir, &osvCache{dir: dir})
	return v.(*osvCache).get()
}

func (c *osvCache) get() (*scan.OSVDB, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp, n, err := latestChange(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		c.db = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.db != nil && stamp.Equal(c.stamp) && n == c.n {
		return c.db, nil
	}
	db, err := loadOSVDir(c.dir)
	if err != nil {
		return nil, err
	}
	c.db, c.stamp, c.n = db, stamp, n
	return db, nil
}

// latestChange is the newest modification time and the number of files
// under dir.
func latestChange(dir string) (time.Time, int, error) {
	var t time.Time
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.ModTime().After(t) {
			t = fi.ModTime()
		}
		n++
		return nil
	})
	return t, n, err
}

// maxOSVZip bounds one OSV zip export (Debian's is about 60 MiB).
const maxOSVZip = 1 << 30

// loadOSVDir reads the JSON documents below dir and the zips in it into
// one database.
func loadOSVDir(dir string) (*scan.OSVDB, error) {
	db, err := scan.LoadOSV(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	zips, err := filepath.Glob(filepath.Join(dir, "*.zip"))
	if err != nil {
		return nil, err
	}
	for _, z := range zips {
		fi, err := os.Stat(z)
		if err != nil {
			return nil, err
		}
		if fi.Size() > maxOSVZip {
			return nil, fmt.Errorf("%s: larger than %d bytes", filepath.Base(z), maxOSVZip)
		}
		data, err := os.ReadFile(z) // #nosec G304 -- a file the operator put in the data directory
		if err != nil {
			return nil, err
		}
		zdb, err := scan.LoadOSVZip(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(z), err)
		}
		if err := db.Merge(zdb); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(z), err)
		}
	}
	return db, nil
}

// VulnInventory matches an agent's package inventory against the OSV
// database of the data directory and imports the findings for its host
// (a full scan of that host's packages). Without an OSV database, or for
// a distribution OSV does not cover, it does nothing (ok false).
func (a *App) VulnInventory(ctx context.Context, tenantID, address string, inv agent.Inventory) (store.VulnScan, bool, error) {
	if a.VulnScan == nil || len(inv.Packages) == 0 {
		return store.VulnScan{}, false, nil
	}
	db, err := a.OSVDatabase()
	if err != nil || db == nil {
		return store.VulnScan{}, false, err
	}
	host := scan.InventoryHost{Hostname: clip(inv.Host.Hostname), IP: address, OSID: inv.Host.OSID, OSVersion: inv.Host.OSVersion}
	if host.IP == "" {
		host.IP = primaryAddress(inv)
	}
	pkgs := make([]scan.InstalledPackage, 0, len(inv.Packages))
	for _, p := range inv.Packages {
		pkgs = append(pkgs, scan.InstalledPackage{Name: p.Name, Version: p.Version, Source: p.Source, Manager: p.Manager})
	}
	return a.VulnScan.ScanInventory(asSystem(ctx), tenantID, db, host, pkgs)
}
