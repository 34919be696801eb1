package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

// reportPageSize is the number of archived reports per page.
const reportPageSize = 50

type reportsPage struct {
	Base
	URL     string
	Reports []store.Report
	Pager   pager
}

// reportList lists a tenant's archived deliverables.
func (s *server) reportList(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	pg := pageParam(r.URL.Query())
	v := &reportsPage{URL: "/t/" + t.Slug + "/reports"}
	list, err := s.opts.Archive.List(r.Context(), t.ID, store.ReportFilter{Page: store.Page{Limit: reportPageSize + 1, Offset: (pg - 1) * reportPageSize}})
	if err != nil {
		return err
	}
	total := (pg-1)*reportPageSize + len(list)
	if len(list) > reportPageSize {
		list = list[:reportPageSize]
	}
	v.Reports = list
	v.Pager = newPager(total, pg, reportPageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	s.render(w, r, http.StatusOK, "reports", v)
	return nil
}

// reportDownload serves an archived report as an attachment, never inline.
func (s *server) reportDownload(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	rep, err := s.opts.Archive.Get(r.Context(), t.ID, chi.URLParam(r, "report"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", archive.ContentType(rep.Format))
	w.Header().Set("Content-Disposition", `attachment; filename="vigil-`+rep.Kind+"-"+rep.CreatedAt.UTC().Format("20060102-1504")+"."+rep.Format+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(rep.Content)
	return err
}

// reportRequest reads the format and language of a report form; the
// language defaults to the user's.
func reportRequest(r *http.Request) (report.Format, string, error) {
	f, err := report.ParseFormat(r.PostFormValue("format"))
	if err != nil {
		return "", "", store.NewFieldError("format", store.CodeOneOf, map[string]any{"values": "html, pdf, xlsx"}, "format must be html, pdf or xlsx")
	}
	lang := r.PostFormValue("lang")
	if lang != "en" && lang != "zh-CN" {
		lang = state(r).locale
	}
	if !strings.HasPrefix(lang, "zh") {
		lang = "en"
	}
	return f, lang, nil
}

// vulnReport generates the tenant's vulnerability report and archives it.
func (s *server) vulnReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	doc, err := s.opts.Vulns.ReportDocument(ctx, *t, lang)
	if err != nil {
		return err
	}
	rep, err := s.opts.Archive.Generate(ctx, archive.Request{TenantID: t.ID, Service: "vuln-lifecycle",
		Kind: "vulnerabilities", Format: format, Doc: doc})
	if err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/reports?ok=generated&report="+rep.ID)
	return nil
}

// vulnServiceRedirect sends the catalogue entry of the vulnerability
// lifecycle service to the vulnerability desk.
func (s *server) vulnServiceRedirect(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, vulnBase(state(r).tenant), http.StatusSeeOther)
	return nil
}
