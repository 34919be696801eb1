package om

import (
	"archive/zip"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var historyHeader = []string{"version", "id", "taken_at", "sha256", "size", "changed", "added", "removed", "taken_by", "changed_by", "diff"}

// cell keeps a spreadsheet from reading a value as a formula: one that
// starts with = + - @ or a tab or carriage return gets a leading quote.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func historyRow(i int, b store.ConfigBackup) []string {
	return []string{strconv.Itoa(i + 1), b.ID, b.TakenAt.UTC().Format(time.RFC3339), b.SHA256, strconv.Itoa(b.Size),
		strconv.FormatBool(b.Changed), strconv.Itoa(b.Added), strconv.Itoa(b.Removed), cell(b.TakenBy), cell(b.ChangedBy), cell(b.Diff)}
}

// WriteHistoryCSV writes a device's configuration versions, oldest
// first, one row each: hashes, who took and who changed it, and the
// masked diff against the version before.
func WriteHistoryCSV(w io.Writer, versions []store.ConfigBackup) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(historyHeader); err != nil {
		return err
	}
	for i, b := range versions {
		if err := cw.Write(historyRow(i, b)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteHistoryZIP writes a ZIP of a device's configuration history:
// history.csv (as WriteHistoryCSV), each version's masked text under
// configs/ and each diff under diffs/, named by version number and time.
func WriteHistoryZIP(w io.Writer, d store.Device, versions []store.ConfigBackup) error {
	zw := zip.NewWriter(w)
	if err := zw.SetComment(fmt.Sprintf("Vigil configuration history of device %s (%d versions)", d.AssetID, len(versions))); err != nil {
		return err
	}
	f, err := zw.Create("history.csv")
	if err != nil {
		return err
	}
	if err := WriteHistoryCSV(f, versions); err != nil {
		return err
	}
	for i, b := range versions {
		base := fmt.Sprintf("%03d-%s", i+1, b.TakenAt.UTC().Format("20060102T150405Z"))
		f, err := zw.Create("configs/" + base + ".txt")
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, b.Content); err != nil {
			return err
		}
		if b.Diff == "" {
			continue
		}
		if f, err = zw.Create("diffs/" + base + ".diff"); err != nil {
			return err
		}
		if _, err := io.WriteString(f, b.Diff); err != nil {
			return err
		}
	}
	return zw.Close()
}
