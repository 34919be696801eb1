package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/archive"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/reportcentre"
	"github.com/vigil-sec/vigil/internal/store"
)

// reportPageSize is the number of archived reports per page.
const reportPageSize = 50

type reportsPage struct {
	Base
	URL       string
	Reports   []store.Report
	Pager     pager
	Catalogue []catalogueRow
	From, To  string // the default period of the generate forms
}

// catalogueRow is one report of the catalogue as the tenant sees it.
type catalogueRow struct {
	reportcentre.Kind
	Name      string
	Frequency string // the contracted report frequency, "" when not contracted
}

// catalogueRows lists the report catalogue with the tenant's schedule.
func (s *server) catalogueRows(r *http.Request, t *store.Tenant) ([]catalogueRow, error) {
	if s.opts.Reports == nil {
		return nil, nil
	}
	freq := map[string]string{}
	if auth.FromContext(r.Context()).Can(auth.PermServiceRead, t.ID) {
		subs, err := s.opts.Tenants.ListSubscriptions(r.Context(), t.ID)
		if err != nil {
			return nil, err
		}
		for _, sub := range subs {
			if sub.Enabled {
				freq[sub.Service] = sub.ReportFrequency
			}
		}
	}
	var rows []catalogueRow
	for _, k := range s.opts.Reports.Kinds() {
		if !reportKindVisible(r, t.ID, k.Service) {
			continue
		}
		name := k.NameEN
		if strings.HasPrefix(state(r).locale, "zh") {
			name = k.NameZH
		}
		rows = append(rows, catalogueRow{Kind: k, Name: name, Frequency: freq[k.Service]})
	}
	return rows, nil
}

// reportList lists a tenant's archived deliverables.
func (s *server) reportList(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	pg := pageParam(r.URL.Query())
	v := &reportsPage{URL: "/t/" + t.Slug + "/reports"}
	list, err := s.listReports(r, t.ID, store.ReportFilter{Page: store.Page{Limit: reportPageSize + 1, Offset: (pg - 1) * reportPageSize}})
	if err != nil {
		return err
	}
	total := (pg-1)*reportPageSize + len(list)
	if len(list) > reportPageSize {
		list = list[:reportPageSize]
	}
	v.Reports = list
	v.Pager = newPager(total, pg, reportPageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	if v.Catalogue, err = s.catalogueRows(r, t); err != nil {
		return err
	}
	today := time.Now().UTC()
	v.From, v.To = today.AddDate(0, 0, -7).Format(time.DateOnly), today.AddDate(0, 0, -1).Format(time.DateOnly)
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
	if !reportVisible(r, t.ID, rep) {
		return store.ErrNotFound
	}
	w.Header().Set("Content-Type", archive.ContentType(rep.Format))
	w.Header().Set("Content-Disposition", `attachment; filename="vigil-`+rep.Kind+"-"+rep.CreatedAt.UTC().Format("20060102-1504")+"."+rep.Format+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(rep.Content)
	return err
}

// maxReportDays bounds the period of a report generated on demand.
const maxReportDays = 400

// reportGenerate generates a periodic report of the catalogue for the
// period the form names (both days included).
func (s *server) reportGenerate(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	if s.opts.Reports == nil {
		return store.ErrNotFound
	}
	format, lang, err := reportRequest(r)
	if err != nil {
		return err
	}
	from, err1 := time.Parse(time.DateOnly, r.PostFormValue("from"))
	to, err2 := time.Parse(time.DateOnly, r.PostFormValue("to"))
	switch {
	case err1 != nil:
		return store.NewFieldError("from", store.CodeInvalidDate, nil, "the first day is not a date (YYYY-MM-DD)")
	case err2 != nil:
		return store.NewFieldError("to", store.CodeInvalidDate, nil, "the last day is not a date (YYYY-MM-DD)")
	case to.Before(from):
		return store.NewFieldError("to", store.CodeEndBeforeStart, nil, "the last day is before the first")
	case to.Sub(from) > maxReportDays*24*time.Hour:
		return store.NewFieldError("from", store.CodeOutOfRange, map[string]any{"max": maxReportDays}, "a report covers at most %d days", maxReportDays)
	}
	k, ok := s.opts.Reports.Kind(r.PostFormValue("kind"))
	if !ok || !k.Periodic || !reportKindVisible(r, t.ID, k.Service) {
		return store.NewFieldError("kind", store.CodeOneOf, nil, "choose a report of the catalogue that covers a period")
	}
	rep, err := s.opts.Reports.Generate(r.Context(), *t, k.Code, reportcentre.Params{From: from, To: to.AddDate(0, 0, 1), Lang: lang}, format)
	if err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/reports?ok=generated&report="+rep.ID)
	return nil
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
	return s.archiveReport(w, r, t, archive.Request{Service: "vuln-lifecycle",
		Kind: "vulnerabilities", Format: format, Doc: doc})
}

// vulnServiceRedirect sends the catalogue entry of the vulnerability
// lifecycle service to the vulnerability desk.
func (s *server) vulnServiceRedirect(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, vulnBase(state(r).tenant), http.StatusSeeOther)
	return nil
}

// archiveReport archives a rendered report of tenant t in its report
// centre and shows it in the list.
func (s *server) archiveReport(w http.ResponseWriter, r *http.Request, t *store.Tenant, req archive.Request) error {
	req.TenantID = t.ID
	rep, err := s.opts.Archive.Generate(r.Context(), req)
	if err != nil {
		return err
	}
	redirect(w, r, "/t/"+t.Slug+"/reports?ok=generated&report="+rep.ID)
	return nil
}
