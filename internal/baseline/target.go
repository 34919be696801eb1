package baseline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"strings"
	"time"
)

// Target is a host that a policy is evaluated against. Paths are absolute
// slash-separated paths on the target. Implementations bound what they read
// and never pass untrusted text through a shell: Run takes an argument
// vector.
//
// Errors that mean "this does not exist" wrap fs.ErrNotExist; errors that
// mean "this target cannot answer that kind of question" (a database has no
// files, an evidence bundle did not collect that command) wrap
// errors.ErrUnsupported. Rules meeting the first are false, rules meeting
// the second are undecided.
type Target interface {
	// ReadFile returns at most max bytes of the file.
	ReadFile(ctx context.Context, name string, max int64) ([]byte, error)
	// Stat describes the file, following symbolic links.
	Stat(ctx context.Context, name string) (FileInfo, error)
	// ReadDir lists at most max entries of a directory.
	ReadDir(ctx context.Context, name string, max int) ([]DirEntry, error)
	// Processes lists the running processes.
	Processes(ctx context.Context) ([]Process, error)
	// Run executes argv (never through a shell built from it) and returns
	// at most max bytes of its combined output and its exit status.
	Run(ctx context.Context, argv []string, max int64) (CommandResult, error)
}

// FileInfo is what evaluation needs to know about a path.
type FileInfo struct {
	IsDir     bool
	IsRegular bool
	Size      int64
}

// DirEntry is one name in a directory. IsDir follows a symbolic link;
// Link says the entry itself is one (directory searches do not descend
// into linked directories).
type DirEntry struct {
	Name  string
	IsDir bool
	Link  bool
}

// Process is one running process: its short name (comm) and the first
// element of its argument vector.
type Process struct {
	PID   string
	Comm  string
	Argv0 string
}

// CommandResult is the bounded output and exit status of a command.
type CommandResult struct {
	Output     []byte
	ExitStatus int
}

// ErrCommandsNotAllowed is returned by targets asked to run a command when
// commands were not allowed.
var ErrCommandsNotAllowed = fmt.Errorf("command rules are not allowed: %w", errors.ErrUnsupported)

// LocalTarget evaluates this host through a filesystem view (usually
// os.DirFS("/") or an os.Root) and runs commands with os/exec.
type LocalTarget struct {
	// FS is the host filesystem; rule paths are taken relative to its
	// root and processes are read from its "proc" directory.
	FS fs.FS
	// AllowCommands lets Run execute commands; otherwise Run returns
	// ErrCommandsNotAllowed.
	AllowCommands bool
	// CommandTimeout bounds each command; default 10s.
	CommandTimeout time.Duration
}

var _ Target = (*LocalTarget)(nil)

// fsPath maps an absolute rule path onto an fs.FS name.
func fsPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%s: not an absolute path", p)
	}
	c := path.Clean(p)
	if c == "/" {
		return ".", nil
	}
	return c[1:], nil
}

// ReadFile implements Target.
func (l *LocalTarget) ReadFile(_ context.Context, name string, max int64) ([]byte, error) {
	n, err := fsPath(name)
	if err != nil {
		return nil, err
	}
	f, err := l.FS.Open(n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	} else if err == nil && !st.Mode().IsRegular() {
		// Never block on a FIFO or a device.
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// Stat implements Target.
func (l *LocalTarget) Stat(_ context.Context, name string) (FileInfo, error) {
	n, err := fsPath(name)
	if err != nil {
		return FileInfo{}, err
	}
	st, err := fs.Stat(l.FS, n)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{IsDir: st.IsDir(), IsRegular: st.Mode().IsRegular(), Size: st.Size()}, nil
}

// ReadDir implements Target.
func (l *LocalTarget) ReadDir(_ context.Context, name string, max int) ([]DirEntry, error) {
	n, err := fsPath(name)
	if err != nil {
		return nil, err
	}
	f, err := l.FS.Open(n)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, fmt.Errorf("%s: not a directory", name)
	}
	entries, err := rd.ReadDir(max)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make([]DirEntry, 0, len(entries))
	for _, de := range entries {
		isDir := de.IsDir()
		link := de.Type()&fs.ModeSymlink != 0
		if link {
			// Follow the link as the shell's test -d would.
			if st, err := fs.Stat(l.FS, path.Join(n, de.Name())); err == nil {
				isDir = st.IsDir()
			}
		}
		out = append(out, DirEntry{Name: de.Name(), IsDir: isDir, Link: link})
	}
	return out, nil
}

// maxProcesses bounds the process list.
const maxProcesses = 100000

// Processes implements Target by reading proc/<pid>/comm and cmdline.
func (l *LocalTarget) Processes(_ context.Context) ([]Process, error) {
	f, err := l.FS.Open("proc")
	if err != nil {
		return nil, fmt.Errorf("process list unavailable: %w", errors.ErrUnsupported)
	}
	defer f.Close()
	rd, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, fmt.Errorf("process list unavailable: %w", errors.ErrUnsupported)
	}
	entries, err := rd.ReadDir(maxProcesses)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("process list: %w", err)
	}
	var procs []Process
	for _, de := range entries {
		pid := de.Name()
		if !de.IsDir() || pid == "" || strings.Trim(pid, "0123456789") != "" {
			continue
		}
		p := Process{PID: pid}
		if comm, err := readLimited(l.FS, "proc/"+pid+"/comm", 4096); err == nil {
			p.Comm = strings.TrimSuffix(string(comm), "\n")
		}
		if cmdline, err := readLimited(l.FS, "proc/"+pid+"/cmdline", 64<<10); err == nil {
			p.Argv0, _, _ = strings.Cut(string(cmdline), "\x00")
		}
		if p.Comm == "" && p.Argv0 == "" {
			continue // exited meanwhile
		}
		procs = append(procs, p)
	}
	return procs, nil
}

func readLimited(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// Run implements Target with os/exec: argv is executed directly, with a
// timeout and an output cap.
func (l *LocalTarget) Run(ctx context.Context, argv []string, max int64) (CommandResult, error) {
	if !l.AllowCommands {
		return CommandResult{}, ErrCommandsNotAllowed
	}
	if len(argv) == 0 {
		return CommandResult{}, errors.New("empty command")
	}
	timeout := l.CommandTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// #nosec G204 -- argv comes from a policy the operator chose to run with
	// command rules explicitly allowed; no shell interprets it.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out := &capWriter{max: max}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	status := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		status = exitErr.ExitCode()
	} else if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return CommandResult{}, fmt.Errorf("%s: executable file not found", argv[0])
	} else if err != nil {
		return CommandResult{}, err
	}
	if ctx.Err() != nil {
		return CommandResult{}, fmt.Errorf("timed out after %s", timeout)
	}
	return CommandResult{Output: out.buf.Bytes(), ExitStatus: status}, nil
}
