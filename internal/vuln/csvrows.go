package vuln

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strings"
)

// errSkipRow makes eachCSVRow go on with the next record.
var errSkipRow = errors.New("skip row")

// eachCSVRow calls fn for every record of cr until the end of input, with
// a getter of the trimmed cell under a header name (col maps names to
// column indexes). Read errors are ParseErrors of format; fn may return
// errSkipRow to pass over a record.
func eachCSVRow(ctx context.Context, format string, cr *csv.Reader, col map[string]int, fn func(get func(string) string) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(format, err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if err := fn(get); err != nil && !errors.Is(err, errSkipRow) {
			return err
		}
	}
}
