package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/device/backup"
)

// Network and security devices are checked on their configuration text
// rather than on a filesystem. EvaluateConfig presents the text to a policy
// as two files at the root of an in-memory filesystem:
//
//   - /running-config (ConfigFile): the text as captured;
//   - /running-config.blocks (ConfigBlocksFile): one line per configuration
//     block, the block's first line followed by each of its indented lines,
//     trimmed, each after a tab. This lets a line-based SCA rule look at a
//     block as a whole, as in
//     'f:/running-config.blocks -> r:^line vty && !r:\ttransport input ssh'.
const (
	ConfigFile       = "running-config"
	ConfigBlocksFile = "running-config.blocks"
)

// Bounds of configuration text accepted by EvaluateConfig and ConfigBlocks.
const (
	// MaxConfigBytes matches the output bound of a device backup.
	MaxConfigBytes = backup.DefaultMaxOutput
	// MaxBlockBytes bounds one line of the blocks file; further lines of a
	// longer block are left out of it (the block's first lines remain).
	MaxBlockBytes = 64 << 10
)

// ErrConfigTooLarge is returned for configuration text over MaxConfigBytes.
var ErrConfigTooLarge = errors.New("configuration text too large")

// ConfigBlocks returns the blocks view of a device configuration: one line
// per block. A block starts at a line that is not indented and takes the
// indented lines that follow. Indented lines with no block before them
// (VRP and Comware write global commands indented between "#" lines) are
// blocks of their own. Lines made only of "!" or "#" (and comments that
// start with them) end a block and are left out; so are blank lines.
func ConfigBlocks(text string) (string, error) {
	if len(text) > MaxConfigBytes {
		return "", fmt.Errorf("baseline: %d bytes: %w (limit %d)", len(text), ErrConfigTooLarge, MaxConfigBytes)
	}
	var out strings.Builder
	out.Grow(len(text) + 1)
	var cur strings.Builder
	open := false
	flush := func() {
		if open {
			out.WriteString(cur.String())
			out.WriteByte('\n')
		}
		cur.Reset()
		open = false
	}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimRight(line, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		switch {
		case trimmed == "":
			continue
		case trimmed[0] == '!' || trimmed[0] == '#':
			if len(trimmed) == len(line) {
				flush() // a separator or comment at the left margin ends the block
			}
			continue
		}
		indented := len(trimmed) < len(line)
		if !indented || !open {
			flush()
			cur.WriteString(clean(trimmed, MaxBlockBytes))
			open = true
			if indented {
				flush() // an orphan indented line is a block of its own
			}
			continue
		}
		if cur.Len()+1+len(trimmed) <= MaxBlockBytes {
			cur.WriteByte('\t')
			cur.WriteString(clean(trimmed, MaxBlockBytes))
		}
	}
	flush()
	return out.String(), nil
}

// clean replaces tabs inside a configuration line by spaces, so that a tab
// in the blocks file always separates two lines, and bounds its length.
func clean(s string, limit int) string {
	if len(s) > limit {
		for limit > 0 && !utf8.RuneStart(s[limit]) {
			limit--
		}
		s = s[:limit]
	}
	return strings.ReplaceAll(s, "\t", " ")
}

// EvaluateConfig evaluates a policy written for device configurations (see
// ConfigFile and ConfigBlocksFile) against captured configuration text.
// Command, process and registry rules have nothing to run against and
// evaluate as not applicable. Evidence quotes configuration lines as they
// are, secrets included; see MaskEvidence.
func EvaluateConfig(ctx context.Context, p *Policy, configText string) (*Report, error) {
	blocks, err := ConfigBlocks(configText)
	if err != nil {
		return nil, err
	}
	fsys := fstest.MapFS{
		ConfigFile:       &fstest.MapFile{Data: []byte(configText), Mode: 0o400},
		ConfigBlocksFile: &fstest.MapFile{Data: []byte(blocks), Mode: 0o400},
	}
	return Evaluate(ctx, p, Options{FS: fsys, MaxOutputBytes: int64(2*MaxConfigBytes + 1)})
}

// MaskEvidence rewrites, in every check's evidence, the configuration lines
// quoted as `line "..." matched` through mask (for instance a device
// profile's secret masking). Lines of the blocks view are masked piece by
// piece. A quotation that cannot be parsed, such as one cut short by the
// evidence length bound, is replaced entirely.
func MaskEvidence(rep *Report, mask func(line string) string) {
	if rep == nil || mask == nil {
		return
	}
	for i := range rep.Checks {
		for j, ev := range rep.Checks[i].Evidence {
			rep.Checks[i].Evidence[j] = maskQuotedLines(ev, mask)
		}
	}
}

const quotedLineMarker = `line "`

func maskQuotedLines(ev string, mask func(string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(ev, quotedLineMarker)
		if i < 0 {
			b.WriteString(ev)
			return b.String()
		}
		start := i + len("line ")
		b.WriteString(ev[:start])
		q, err := strconv.QuotedPrefix(ev[start:])
		if err != nil {
			b.WriteString(`"<masked>"`)
			return b.String()
		}
		line, err := strconv.Unquote(q)
		if err != nil {
			b.WriteString(`"<masked>"`)
			return b.String()
		}
		parts := strings.Split(line, "\t")
		for k := range parts {
			parts[k] = mask(parts[k])
		}
		b.WriteString(strconv.Quote(strings.Join(parts, "\t")))
		ev = ev[start+len(q):]
	}
}

// DeviceCheck is a live configuration check of one device.
type DeviceCheck struct {
	// Target is the device to log into; its host key must be pinned
	// unless Target.TOFU is set (see backup.Target).
	Target backup.Target
	// Profile is the vendor profile that drives the CLI (prompt, pager,
	// show-config command) and masks secrets.
	Profile *backup.Profile
	// Policy is the device policy to evaluate, such as the built-in
	// "cisco-ios" one.
	Policy *Policy
	Logger *slog.Logger
}

// DeviceResult is the outcome of a live device check.
type DeviceResult struct {
	Report *Report
	// Config is the fetched configuration; Config.Text holds secrets and
	// must not be shown or stored where Config.Masked would do.
	Config backup.Config
}

// CheckDevice logs into a device over SSH with the backup engine (pinned
// host key, pager off, bounded output), captures its running configuration
// and evaluates the policy on it. Evidence in the report is masked with the
// profile's secret patterns.
func CheckDevice(ctx context.Context, d DeviceCheck) (*DeviceResult, error) {
	if d.Profile == nil || d.Policy == nil {
		return nil, errors.New("baseline: device check needs a profile and a policy")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	cfg, err := backup.Fetch(ctx, d.Target, d.Profile)
	if err != nil {
		return nil, fmt.Errorf("baseline: device %s: %w", d.Target.Addr, err)
	}
	rep, err := EvaluateConfig(ctx, d.Policy, cfg.Text)
	if err != nil {
		return nil, fmt.Errorf("baseline: device %s: %w", d.Target.Addr, err)
	}
	prof := d.Profile
	MaskEvidence(rep, func(line string) string { return backup.Mask(line, prof) })
	log.InfoContext(ctx, "device baseline checked", "addr", d.Target.Addr, "profile", prof.Name,
		"policy", d.Policy.ID, "passed", rep.Passed, "failed", rep.Failed, "took", time.Since(start))
	return &DeviceResult{Report: rep, Config: cfg}, nil
}
