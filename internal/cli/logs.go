package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/logs"
)

// newLogsCmd builds "vigil logs": offline access to the log parsers.
func newLogsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Parse log records into Vigil's normalised events",
	}
	cmd.AddCommand(newLogsParseCmd())
	cmd.AddCommand(newLogsImportCmd())
	return cmd
}

// maxWholeJSON is the largest file read as one pretty-printed JSON
// document (a Windows event as the Sigma regression data stores it).
const maxWholeJSON = 4 << 20

func newLogsParseCmd() *cobra.Command {
	var format string
	reg := logs.NewRegistry()
	cmd := &cobra.Command{
		Use:   "parse [--format F|auto] FILE...",
		Short: "Parse log files and print normalised events as JSON lines",
		Long: fmt.Sprintf(`parse reads each FILE one record per line, parses it with the chosen
format and writes one JSON object per event to stdout: id, @timestamp,
received, source (FILE), format, logsource, fields (ECS-style dotted names),
original and truncated.

A file that holds a single JSON document spread over several lines (as
Windows events are stored in the Sigma regression data) is read as one
record, and a file holding a JSON array as one record per element.

Records longer than %d bytes are cut and flagged truncated, never dropped.
A record the format does not accept is reported on stderr as
"FILE:LINE: reason" and the rest of the file is still read; the exit
status is 0 unless a file cannot be read.

Formats: %s.`, logs.MaxRecordSize, joinNames(reg.Names())),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := reg.Lookup(format)
			if err != nil {
				return fmt.Errorf("logs parse: %w", err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			for _, path := range args {
				if err := parseLogFile(cmd.ErrOrStderr(), enc, p, path); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "auto", "log format, or auto to detect each record's format")
	return cmd
}

func joinNames(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
	}
	return b.String()
}

func parseLogFile(stderr io.Writer, enc *json.Encoder, p logs.Parser, path string) error {
	f, err := os.Open(path) // #nosec G304 -- the user names the file to parse
	if err != nil {
		return fmt.Errorf("logs parse: %w", err)
	}
	defer func() { _ = f.Close() }()
	emit := func(line int64, rec []byte, truncated bool) error {
		meta := logs.Meta{Source: path, Received: time.Now().UTC()}
		ev, err := logs.ParseRecord(p, rec, meta, truncated)
		if err != nil {
			_, werr := fmt.Fprintf(stderr, "%s:%d: %v\n", path, line, err)
			return werr
		}
		return enc.Encode(ev)
	}
	if recs, ok := wholeJSON(f); ok {
		for i, rec := range recs {
			if err := emit(int64(i+1), rec, false); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("logs parse: %w", err)
	}
	r := bufio.NewReaderSize(f, logs.MaxRecordSize+1)
	var line int64
	for {
		rec, err := r.ReadSlice('\n')
		truncated := false
		if err == bufio.ErrBufferFull {
			rec, truncated = append([]byte(nil), rec...), true
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
		}
		if len(bytes.TrimSpace(rec)) > 0 {
			if werr := emit(line+1, rec, truncated); werr != nil {
				return werr
			}
		}
		line++
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("logs parse: %s: %w", path, err)
		}
	}
}

// wholeJSON reports whether f (small enough) holds pretty-printed JSON
// spanning several lines: one document, several concatenated documents,
// or an array. It returns one compacted record per document or element.
func wholeJSON(f *os.File) ([][]byte, bool) {
	st, err := f.Stat()
	if err != nil || st.Size() > maxWholeJSON {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, maxWholeJSON))
	if err != nil {
		return nil, false
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || (data[0] != '{' && data[0] != '[') || !bytes.Contains(data, []byte("\n")) {
		return nil, false
	}
	var docs []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var one json.RawMessage
		if dec.Decode(&one) != nil {
			return nil, false
		}
		docs = append(docs, one)
	}
	if len(docs) == 1 && docs[0][0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(docs[0], &items) != nil {
			return nil, false
		}
		docs = items
	}
	out := make([][]byte, 0, len(docs))
	for _, d := range docs {
		var buf bytes.Buffer
		if json.Compact(&buf, d) != nil {
			return nil, false
		}
		out = append(out, buf.Bytes())
	}
	// NDJSON (one document per line) is read line by line instead, so
	// that dead letters carry line numbers.
	if len(out) == bytes.Count(data, []byte("\n"))+1 {
		return nil, false
	}
	return out, true
}
