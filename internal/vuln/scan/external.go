package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// maxToolOutput bounds what an external scanner may print.
const maxToolOutput = 64 << 20

// ErrNotInstalled is returned when an external scanner is not available.
var ErrNotInstalled = errors.New("scanner not installed")

// Tool is an external scanner binary.
type Tool struct {
	Name string // nmap, nuclei
	Path string // resolved binary; "" when absent
}

// findTool resolves a configured path, or the name on PATH when path is
// empty; "-" disables the tool.
func findTool(name, path string) Tool {
	switch path {
	case "-":
		return Tool{Name: name}
	case "":
		path = name
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return Tool{Name: name}
	}
	return Tool{Name: name, Path: p}
}

// Installed reports whether the tool can run.
func (t Tool) Installed() bool { return t.Path != "" }

// limitedBuffer keeps at most max bytes and reports overflow.
type limitedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		p = p[:max(0, b.max-b.Len())]
	}
	_, _ = b.Buffer.Write(p)
	return len(p), nil
}

// run executes the tool with args and returns its standard output.
func (t Tool) run(ctx context.Context, timeout time.Duration, args ...string) ([]byte, error) {
	if !t.Installed() {
		return nil, fmt.Errorf("%s: %w", t.Name, ErrNotInstalled)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.Path, args...) // #nosec G204 -- fixed binary, arguments built from in-scope addresses and catalogue ids
	out := &limitedBuffer{max: maxToolOutput}
	errBuf := &limitedBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, errBuf
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", t.Name, err, strings.TrimSpace(errBuf.String()))
	}
	if out.over {
		return nil, fmt.Errorf("%s: output larger than %d bytes", t.Name, maxToolOutput)
	}
	return out.Bytes(), nil
}

// nmapArgs scans hosts' ports with service detection (and the vulners
// script when installed with nmap), writing XML to standard output.
func nmapArgs(hosts []string, ports []int) []string {
	ps := make([]string, 0, len(ports))
	for _, p := range ports {
		ps = append(ps, strconv.Itoa(p))
	}
	args := []string{"-sV", "-Pn", "-n", "--script", "vulners", "-oX", "-"}
	if len(ps) > 0 {
		args = append(args, "-p", strings.Join(ps, ","))
	}
	return append(args, hosts...)
}

// nucleiArgs runs nuclei on URLs, JSON lines to standard output.
func nucleiArgs(urls []string, templateID string) []string {
	args := []string{"-jsonl", "-silent", "-disable-update-check", "-no-interactsh"}
	if templateID != "" {
		args = append(args, "-id", templateID)
	}
	for _, u := range urls {
		args = append(args, "-u", u)
	}
	return args
}
