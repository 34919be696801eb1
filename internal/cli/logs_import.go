package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/logs"
	"github.com/vigil-sec/vigil/internal/logs/evtx"
)

// newLogsImportCmd builds "vigil logs import": read Windows event log
// files (.evtx) into normalised events.
func newLogsImportCmd() *cobra.Command {
	var maxSize int64
	cmd := &cobra.Command{
		Use:   "import [--max-size BYTES] FILE.evtx...",
		Short: "Read Windows .evtx files and print their events as JSON lines",
		Long: `import reads each Windows event log file (.evtx: file header, 64 KiB chunks,
event records in binary XML with templates) and writes one JSON object per
event to stdout, with the same fields the Windows event JSON parser gives
(EventID, Channel, Image, CommandLine, … and ECS aliases such as event.code,
process.command_line, user.name), format "evtx", and the event rendered as
JSON in original.

A damaged record or chunk is reported on stderr as "FILE: evtx: chunk N,
record at offset O: reason" and the rest of the file is still read. A file
that is not an EVTX file, or is larger than --max-size, is an error and
nothing of it is printed. The last line on stderr counts events and skipped
records per file.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := bufio.NewWriter(cmd.OutOrStdout())
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			for _, path := range args {
				if err := importEVTXFile(cmd.ErrOrStderr(), enc, path, maxSize); err != nil {
					_ = out.Flush()
					return err
				}
			}
			if err := out.Flush(); err != nil {
				return fmt.Errorf("logs import: write: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().Int64Var(&maxSize, "max-size", evtx.DefaultMaxFileSize, "largest file read, in bytes")
	return cmd
}

func importEVTXFile(stderr io.Writer, enc *json.Encoder, path string, maxSize int64) error {
	f, err := os.Open(path) // #nosec G304 -- the user names the file to read
	if err != nil {
		return fmt.Errorf("logs import: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return fmt.Errorf("logs import: %s: %w", path, err)
	}
	res, err := evtx.Events(data, logs.Meta{Source: path, Received: time.Now().UTC()}, evtx.Limits{MaxFileSize: maxSize})
	if err != nil {
		return fmt.Errorf("logs import: %s: %w", path, err)
	}
	for _, ev := range res.Events {
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("logs import: write: %w", err)
		}
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(stderr, "%s: %v\n", path, s)
	}
	fmt.Fprintf(stderr, "%s: %d events, %d skipped\n", path, len(res.Events), len(res.Skipped))
	return nil
}
