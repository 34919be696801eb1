package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/baseline"
	"github.com/vigil-sec/vigil/internal/baseline/hardening"
	"github.com/vigil-sec/vigil/internal/store"
)

// The manual-check form: an assessor records passed, failed or not
// applicable with a note and an optional evidence file for the checks of a
// run that await one, or for every check of a policy on an asset assessed
// entirely by hand. The result is a new run (source "manual"); evidence
// files are kept as attachments of that run.

// baselineRunFileKind is the attachment owner kind of a run's files.
const baselineRunFileKind = "baseline_run"

// baselineManualMessageIDs are the messages the form's handler looks up.
var baselineManualMessageIDs = []string{"baseline3.error.no_files", "baseline3.error.none", "baseline3.error.note",
	"baseline3.error.result", "baseline3.error.result_for_file", "baseline3.error.rows"}

// manualFileMax bounds one evidence file of the form.
const manualFileMax = attach.DefaultMaxSize

type baselineManualPage struct {
	Base
	formState
	URL     string
	Asset   store.Asset
	Sheet   hardening.ManualSheet
	Policy  string // the built-in policy name when assessing a whole asset
	Results []string
	Rows    []manualRow
	Files   bool // evidence files can be kept
}

// manualRow is one check of the form with what was entered.
type manualRow struct {
	baseline.CheckResult
	Index       int
	Given, Note string
	ResultErr   string
	NoteErr     string
	FileErr     string
}

func (s *server) baselineManualView(r *http.Request, runID, assetID, policy string) (*baselineManualPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	sh, err := s.opts.Baseline.ManualSheet(ctx, t.ID, assetID, runID, policy)
	if err != nil {
		return nil, err
	}
	a, err := s.opts.Assets.Get(ctx, t.ID, sh.AssetID)
	if err != nil {
		return nil, err
	}
	v := &baselineManualPage{URL: baselineBase(t), Asset: a, Sheet: sh, Policy: policy, Results: hardening.ManualResults(),
		Files: s.opts.Attachments != nil}
	for i, c := range sh.Pending {
		v.Rows = append(v.Rows, manualRow{CheckResult: c, Index: i})
	}
	return v, nil
}

// baselineManual shows the form: ?run=ID completes a run's manual checks,
// ?asset=ID&policy=NAME assesses every check of a policy by hand.
func (s *server) baselineManual(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v, err := s.baselineManualView(r, q.Get("run"), q.Get("asset"), q.Get("policy"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "baseline_manual", v)
	return nil
}

// manualFile is an evidence file read from the form.
type manualFile struct {
	check, name, ctype string
	data               []byte
}

// baselineManualSave records the assessor's results as a run.
func (s *server) baselineManualSave(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	loc := state(r).locale
	v, err := s.baselineManualView(r, r.PostFormValue("run"), r.PostFormValue("asset"), r.PostFormValue("policy"))
	if err != nil {
		return err
	}
	var results []hardening.ManualResult
	var files []manualFile
	for i := range v.Rows {
		row := &v.Rows[i]
		n := strconv.Itoa(row.Index)
		if r.PostFormValue("check_"+n) != row.ID {
			return fmt.Errorf("%w: the checks changed since the form was shown", store.ErrConflict)
		}
		row.Given, row.Note = r.PostFormValue("result_"+n), r.PostFormValue("note_"+n)
		data, err := uploadedFile(r, "file_"+n, manualFileMax)
		switch {
		case errors.Is(err, errTooLarge):
			row.FileErr = s.msgs.T(loc, "baseline.error.too_large")
		case err != nil:
			return err
		}
		if row.Given == "" {
			if data != nil {
				row.ResultErr = s.msgs.T(loc, "baseline3.error.result_for_file")
			}
			continue
		}
		valid := false
		for _, res := range v.Results {
			valid = valid || res == row.Given
		}
		if !valid {
			row.ResultErr = s.msgs.T(loc, "baseline3.error.result")
		}
		if len([]rune(strings.TrimSpace(row.Note))) > hardening.MaxManualNote {
			row.NoteErr = s.msgs.T(loc, "baseline3.error.note")
		}
		m := hardening.ManualResult{CheckID: row.ID, Result: row.Given, Note: row.Note}
		if data != nil {
			if s.opts.Attachments == nil {
				row.FileErr = s.msgs.T(loc, "baseline3.error.no_files")
				continue
			}
			fh := r.MultipartForm.File["file_"+n][0]
			name := attach.CleanName(fh.Filename, "evidence")
			sum := sha256.Sum256(data)
			m.Files = append(m.Files, fmt.Sprintf("evidence file: %s (%d bytes, sha256 %s)", name, len(data), hex.EncodeToString(sum[:])))
			files = append(files, manualFile{check: row.ID, name: name, ctype: fh.Header.Get("Content-Type"), data: data})
		}
		results = append(results, m)
	}
	for _, row := range v.Rows {
		if row.ResultErr != "" || row.NoteErr != "" || row.FileErr != "" {
			v.Error = s.msgs.T(loc, "baseline3.error.rows")
		}
	}
	if v.Error == "" && len(results) == 0 {
		v.Error = s.msgs.T(loc, "baseline3.error.none")
	}
	if v.Error != "" {
		s.render(w, r, http.StatusUnprocessableEntity, "baseline_manual", v)
		return nil
	}
	run, err := s.opts.Baseline.RecordManual(ctx, t.ID, v.Sheet, results)
	if err != nil {
		status, ok := s.formError(r, err, &v.formState, nil)
		if !ok {
			return err
		}
		s.render(w, r, status, "baseline_manual", v)
		return nil
	}
	owner := attach.Owner{TenantID: t.ID, Kind: baselineRunFileKind, ID: run.ID}
	for _, f := range files {
		if _, err := s.opts.Attachments.Add(ctx, auth.PermAssessWrite, owner, attach.Input{Name: f.name, DeclaredType: f.ctype,
			Note: f.check, Content: bytes.NewReader(f.data)}); err != nil {
			return err
		}
	}
	redirect(w, r, baselineBase(t)+"/runs/"+run.ID+"?ok=created")
	return nil
}

// baselineRunFiles returns a run's evidence files by check id.
func (s *server) baselineRunFiles(r *http.Request, run store.BaselineRun) (map[string][]store.Attachment, error) {
	if s.opts.Attachments == nil || run.Source != store.BaselineSourceManual {
		return nil, nil
	}
	t := state(r).tenant
	list, err := s.opts.Attachments.List(r.Context(), auth.PermAssessRead, attach.Owner{TenantID: t.ID, Kind: baselineRunFileKind, ID: run.ID})
	if err != nil {
		return nil, err
	}
	out := map[string][]store.Attachment{}
	for _, a := range list {
		out[a.Note] = append(out[a.Note], a)
	}
	return out, nil
}

// baselineRunFile sends an evidence file of a run as a download.
func (s *server) baselineRunFile(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	if s.opts.Attachments == nil {
		return store.ErrNotFound
	}
	run, _, err := s.opts.Baseline.Run(ctx, t.ID, chi.URLParam(r, "brun"), store.BaselineCheckFilter{Limit: 1})
	if err != nil {
		return err
	}
	a, data, err := s.opts.Attachments.Open(ctx, auth.PermAssessRead, attach.Owner{TenantID: t.ID, Kind: baselineRunFileKind, ID: run.ID},
		chi.URLParam(r, "attachment"))
	if err != nil {
		return err
	}
	return serveAttachment(w, a, data)
}
