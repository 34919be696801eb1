package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InventorySchema names version 1 of the inventory document.
const InventorySchema = "vigil.agent.inventory/v1"

// Bounds of the collector. A host beyond one of them is reported with a
// section error and the items read up to the bound.
const (
	MaxPackages    = 100_000
	MaxAccounts    = 100_000
	MaxSockets     = 65_536
	MaxProcesses   = 65_536
	MaxFDsScanned  = 1 << 20 // fd links read over all processes
	MaxServices    = 20_000
	MaxInterfaces  = 4096
	maxSmallFile   = 1 << 20  // os-release, cpuinfo, passwd, ...
	maxPackageFile = 64 << 20 // dpkg status, apk database
	maxNameLen     = 4096     // a process comm, exe or unit name kept
)

// Inventory is what the agent knows about its host, as posted to
// /api/v1/agent/inventory.
type Inventory struct {
	Schema      string      `json:"schema"`
	AgentID     string      `json:"agent_id"`
	CollectedAt time.Time   `json:"collected_at"`
	Host        Host        `json:"host"`
	Interfaces  []Interface `json:"interfaces"`
	Listeners   []Listener  `json:"listeners"`
	Packages    []Package   `json:"packages"`
	Users       []User      `json:"users"`
	Groups      []Group     `json:"groups"`
	Services    []Service   `json:"services"`
	// Errors lists sections that could not be read completely; a source
	// that does not exist on the host (no apk database on Debian) is not
	// an error.
	Errors []SectionError `json:"errors,omitempty"`
}

// SectionError says why a section of the inventory is missing or partial.
type SectionError struct {
	Section string `json:"section"`
	Error   string `json:"error"`
}

// Host is the host's identity and size.
type Host struct {
	Hostname      string `json:"hostname"`
	MachineID     string `json:"machine_id,omitempty"`
	OSID          string `json:"os_id,omitempty"`
	OSName        string `json:"os_name,omitempty"`
	OSVersion     string `json:"os_version,omitempty"`
	OSPrettyName  string `json:"os_pretty_name,omitempty"`
	Kernel        string `json:"kernel,omitempty"`
	Arch          string `json:"arch,omitempty"`
	UptimeSeconds int64  `json:"uptime_seconds,omitempty"`
	CPUs          int    `json:"cpus,omitempty"`
	CPUModel      string `json:"cpu_model,omitempty"`
	MemoryBytes   uint64 `json:"memory_bytes,omitempty"`
}

// Interface is a network interface with its addresses.
type Interface struct {
	Name      string   `json:"name"`
	MAC       string   `json:"mac,omitempty"`
	MTU       int      `json:"mtu,omitempty"`
	Up        bool     `json:"up"`
	Loopback  bool     `json:"loopback,omitempty"`
	Addresses []string `json:"addresses,omitempty"` // CIDR notation
}

// Listener is a listening TCP socket or a bound UDP socket.
type Listener struct {
	Proto   string `json:"proto"` // tcp, tcp6, udp, udp6
	Address string `json:"address"`
	Port    uint16 `json:"port"`
	UID     uint32 `json:"uid"`
	Inode   uint64 `json:"inode,omitempty"`
	// PID, Process (comm) and Exe name the owning process when its
	// /proc/<pid>/fd could be read.
	PID     int    `json:"pid,omitempty"`
	Process string `json:"process,omitempty"`
	Exe     string `json:"exe,omitempty"`
}

// Service is a systemd unit with a current invocation.
type Service struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// CollectOptions configures Collect.
type CollectOptions struct {
	// FS is the host's root filesystem (os.DirFS("/") on the host, a
	// directory tree in tests). Required. Symbolic links under proc are
	// read with fs.ReadLink.
	FS fs.FS
	// Interfaces lists network interfaces; nil leaves them out (they are
	// not under FS). SystemInterfaces reads this machine's.
	Interfaces func() ([]Interface, error)
	// RPM runs `rpm -qa` for the package list when an rpm binary is on
	// PATH; only meaningful when FS is this machine's root.
	RPM bool
	// AgentID is stamped on the inventory.
	AgentID string
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Collect gathers the host inventory. It fails only when ctx is done or FS
// is missing; unreadable sections are listed in Inventory.Errors.
func Collect(ctx context.Context, opts CollectOptions) (*Inventory, error) {
	if opts.FS == nil {
		return nil, errors.New("agent: CollectOptions.FS is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &collector{opts: opts, inv: &Inventory{
		Schema:      InventorySchema,
		AgentID:     opts.AgentID,
		CollectedAt: opts.Now().UTC().Truncate(time.Second),
		Interfaces:  []Interface{}, Listeners: []Listener{}, Packages: []Package{},
		Users: []User{}, Groups: []Group{}, Services: []Service{},
	}}
	steps := []func(context.Context){c.host, c.interfaces, c.listeners, c.packages, c.accounts, c.services}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		step(ctx)
	}
	return c.inv, nil
}

type collector struct {
	opts CollectOptions
	inv  *Inventory
}

func (c *collector) fail(section string, err error) {
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return
	}
	c.inv.Errors = append(c.inv.Errors, SectionError{Section: section, Error: err.Error()})
}

// errTooLarge is returned by boundedReader past its limit.
var errTooLarge = errors.New("file larger than the collector's limit")

type boundedReader struct {
	r io.Reader
	n int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		// Anything left is over the limit.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

// openBounded opens name and reads it through a limit of max bytes.
func openBounded(fsys fs.FS, name string, limit int64, fn func(io.Reader) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if err := fn(&boundedReader{r: f, n: limit}); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func readSmall(fsys fs.FS, name string) ([]byte, error) {
	var out []byte
	err := openBounded(fsys, name, maxSmallFile, func(r io.Reader) error {
		var err error
		out, err = io.ReadAll(r)
		return err
	})
	return out, err
}

func firstLine(fsys fs.FS, names ...string) string {
	for _, n := range names {
		b, err := readSmall(fsys, n)
		if err != nil {
			continue
		}
		if l, _, _ := bytes.Cut(b, []byte("\n")); len(bytes.TrimSpace(l)) > 0 {
			return clip(string(bytes.TrimSpace(l)))
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > maxNameLen {
		return s[:maxNameLen]
	}
	return s
}

func (c *collector) host(context.Context) {
	fsys, h := c.opts.FS, &c.inv.Host
	h.Hostname = firstLine(fsys, "proc/sys/kernel/hostname", "etc/hostname")
	h.MachineID = firstLine(fsys, "etc/machine-id", "var/lib/dbus/machine-id")
	h.Kernel = firstLine(fsys, "proc/sys/kernel/osrelease")
	h.Arch = firstLine(fsys, "proc/sys/kernel/arch")
	for _, n := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := readSmall(fsys, n)
		if err != nil {
			c.fail("os", err)
			continue
		}
		osr := ParseOSRelease(b)
		h.OSID, h.OSName, h.OSVersion, h.OSPrettyName = osr["ID"], osr["NAME"], osr["VERSION_ID"], osr["PRETTY_NAME"]
		break
	}
	if up := firstLine(fsys, "proc/uptime"); up != "" {
		f, _, _ := strings.Cut(up, " ")
		if s, err := strconv.ParseFloat(f, 64); err == nil && s >= 0 && s < 1e12 {
			h.UptimeSeconds = int64(s)
		}
	}
	if b, err := readSmall(fsys, "proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				h.CPUs++
			case "model name", "Model", "cpu model":
				if h.CPUModel == "" {
					h.CPUModel = clip(strings.TrimSpace(v))
				}
			}
		}
	} else {
		c.fail("cpu", err)
	}
	if b, err := readSmall(fsys, "proc/meminfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				f := strings.Fields(v)
				if len(f) >= 1 {
					if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil && kb < 1<<50 {
						h.MemoryBytes = kb * 1024
					}
				}
			}
		}
	} else {
		c.fail("memory", err)
	}
}

// ParseOSRelease reads os-release(5) KEY=value lines; values may be
// quoted with " or ' and use backslash escapes inside double quotes.
func ParseOSRelease(b []byte) map[string]string {
	out := map[string]string{}
	for l := range strings.Lines(string(b)) {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			q := v[0]
			v = v[1 : len(v)-1]
			if q == '"' {
				var sb strings.Builder
				for i := 0; i < len(v); i++ {
					if v[i] == '\\' && i+1 < len(v) {
						i++
					}
					sb.WriteByte(v[i])
				}
				v = sb.String()
			}
		}
		out[k] = clip(v)
	}
	return out
}

// SystemInterfaces lists this machine's network interfaces.
func SystemInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	var out []Interface
	for _, i := range ifs {
		if len(out) >= MaxInterfaces {
			break
		}
		it := Interface{Name: i.Name, MTU: i.MTU, Up: i.Flags&net.FlagUp != 0, Loopback: i.Flags&net.FlagLoopback != 0}
		if len(i.HardwareAddr) > 0 {
			it.MAC = i.HardwareAddr.String()
		}
		if addrs, err := i.Addrs(); err == nil {
			for _, a := range addrs {
				it.Addresses = append(it.Addresses, a.String())
			}
		}
		out = append(out, it)
	}
	return out, nil
}

func (c *collector) interfaces(context.Context) {
	if c.opts.Interfaces == nil {
		return
	}
	ifs, err := c.opts.Interfaces()
	if err != nil {
		c.fail("interfaces", err)
		return
	}
	if len(ifs) > MaxInterfaces {
		ifs = ifs[:MaxInterfaces]
	}
	c.inv.Interfaces = append(c.inv.Interfaces, ifs...)
}

func (c *collector) listeners(ctx context.Context) {
	fsys := c.opts.FS
	var socks []Socket
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		err := openBounded(fsys, "proc/net/"+proto, maxSmallFile*16, func(r io.Reader) error {
			s, err := ParseProcNet(r, proto, MaxSockets)
			socks = append(socks, s...)
			return err
		})
		c.fail("listeners", err)
	}
	byInode := map[uint64]int{}
	for _, s := range socks {
		listening := strings.HasPrefix(s.Proto, "tcp") && s.State == tcpListen ||
			strings.HasPrefix(s.Proto, "udp") && s.State == udpUnconned && s.Remote.Port() == 0 && s.Remote.Addr().IsUnspecified()
		if !listening || len(c.inv.Listeners) >= MaxSockets {
			continue
		}
		l := Listener{Proto: s.Proto, Address: s.Local.Addr().String(), Port: s.Local.Port(), UID: s.UID, Inode: s.Inode}
		if s.Inode != 0 {
			byInode[s.Inode] = len(c.inv.Listeners)
		}
		c.inv.Listeners = append(c.inv.Listeners, l)
	}
	if len(byInode) > 0 {
		c.fail("listeners", c.owners(ctx, byInode))
	}
	slices.SortFunc(c.inv.Listeners, func(a, b Listener) int {
		if a.Proto != b.Proto {
			return strings.Compare(a.Proto, b.Proto)
		}
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return strings.Compare(a.Address, b.Address)
	})
}

// owners walks /proc/<pid>/fd for socket links and fills in the process
// of each listener it finds, stopping once every inode is found.
func (c *collector) owners(ctx context.Context, byInode map[uint64]int) error {
	fsys := c.opts.FS
	pids, err := readDirLimited(fsys, "proc", MaxProcesses*2)
	if err != nil {
		return fmt.Errorf("proc: %w", err)
	}
	budget := MaxFDsScanned
	left := len(byInode)
	scanned := 0
	for _, p := range pids {
		if left == 0 || budget <= 0 || scanned >= MaxProcesses {
			break
		}
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		scanned++
		dir := path.Join("proc", p.Name())
		fds, err := readDirLimited(fsys, dir+"/fd", budget)
		if err != nil {
			continue // another user's process, or it exited
		}
		budget -= len(fds)
		for _, fd := range fds {
			target, err := fs.ReadLink(fsys, dir+"/fd/"+fd.Name())
			if err != nil {
				continue
			}
			num, ok := strings.CutPrefix(target, "socket:[")
			if !ok {
				continue
			}
			ino, err := strconv.ParseUint(strings.TrimSuffix(num, "]"), 10, 64)
			if err != nil {
				continue
			}
			i, ok := byInode[ino]
			if !ok || c.inv.Listeners[i].PID != 0 {
				continue
			}
			l := &c.inv.Listeners[i]
			l.PID = pid
			l.Process = firstLine(fsys, dir+"/comm")
			if exe, err := fs.ReadLink(fsys, dir+"/exe"); err == nil {
				l.Exe = clip(exe)
			}
			left--
		}
	}
	if budget <= 0 {
		return fmt.Errorf("proc: stopped after %d file descriptors", MaxFDsScanned)
	}
	return nil
}

// readDirLimited reads at most limit entries of a directory.
func readDirLimited(fsys fs.FS, name string, limit int) ([]fs.DirEntry, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	d, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, fmt.Errorf("%s: not a directory", name)
	}
	var out []fs.DirEntry
	for len(out) < limit {
		ents, err := d.ReadDir(min(256, limit-len(out)))
		out = append(out, ents...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (c *collector) packages(ctx context.Context) {
	fsys := c.opts.FS
	c.fail("packages", openBounded(fsys, "var/lib/dpkg/status", maxPackageFile, func(r io.Reader) error {
		p, err := ParseDpkgStatus(r, MaxPackages)
		c.inv.Packages = append(c.inv.Packages, p...)
		return err
	}))
	c.fail("packages", openBounded(fsys, "lib/apk/db/installed", maxPackageFile, func(r io.Reader) error {
		p, err := ParseApkInstalled(r, MaxPackages)
		c.inv.Packages = append(c.inv.Packages, p...)
		return err
	}))
	if c.opts.RPM {
		c.fail("packages", c.rpm(ctx))
	}
}

func (c *collector) rpm(ctx context.Context) error {
	bin, err := exec.LookPath("rpm")
	if err != nil {
		return nil // no rpm on this host
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-qa", "--qf", rpmQueryFormat) // #nosec G204 -- fixed arguments, binary found on PATH
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("rpm: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("rpm: %w", err)
	}
	pkgs, perr := parseRPMList(&boundedReader{r: out, n: maxPackageFile}, MaxPackages)
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	c.inv.Packages = append(c.inv.Packages, pkgs...)
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("rpm: %w", werr)
	}
	return nil
}

func (c *collector) accounts(context.Context) {
	fsys := c.opts.FS
	c.fail("users", openBounded(fsys, "etc/passwd", maxPackageFile, func(r io.Reader) error {
		u, err := ParsePasswd(r, MaxAccounts)
		c.inv.Users = append(c.inv.Users, u...)
		return err
	}))
	c.fail("groups", openBounded(fsys, "etc/group", maxPackageFile, func(r io.Reader) error {
		g, err := ParseGroup(r, MaxAccounts)
		c.inv.Groups = append(c.inv.Groups, g...)
		return err
	}))
}

// services lists the units systemd keeps an invocation for under
// /run/systemd/units ("invocation:<unit>" links): the active ones.
func (c *collector) services(context.Context) {
	ents, err := readDirLimited(c.opts.FS, "run/systemd/units", MaxServices*4)
	if err != nil {
		c.fail("services", err)
		return
	}
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), "invocation:")
		if !ok || name == "" || len(c.inv.Services) >= MaxServices {
			continue
		}
		c.inv.Services = append(c.inv.Services, Service{Name: clip(name), State: "active"})
	}
	slices.SortFunc(c.inv.Services, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
}
