package exposure

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/report"
	"github.com/vigil-sec/vigil/internal/store"
)

var words = map[string]map[string]string{
	"en": {"title": "Internet asset discovery report", "hosts": "Addresses scanned", "up": "Hosts with open ports",
		"open": "Open ports", "new": "Unknown assets found", "zombies": "Zombie assets", "risky": "Risky exposures",
		"overview": "Scope and method", "overview_text": "TCP connect scan of %s on ports %s, inside the declared address space (%s), with service fingerprints. Finished %s.",
		"exposed": "Exposed services", "host": "Address", "port": "Port", "service": "Service", "detail": "Banner, HTTP or certificate",
		"why": "Why it matters", "unknown": "Unknown assets (added to the inventory)", "importance": "Importance",
		"zombie_sec": "Zombie assets (known, silent, not seen for 30 days)", "name": "Asset", "last_seen": "Last seen",
		"never": "never", "none": "None.", "ports": "Ports", "known": "Known assets seen",
		"product": "Product and version", "page_title": "title", "icon_hash": "icon hash", "redirect": "redirects to",
		"by_type": "Open ports by service", "software": "Software seen", "count": "Ports",
		"advice": "Close or restrict the risky exposures, confirm an owner for every unknown asset, and decommission or re-register zombie assets."},
	"zh-CN": {"title": "互联网资产发现报告", "hosts": "扫描地址数", "up": "开放端口的主机", "open": "开放端口",
		"new": "发现的未知资产", "zombies": "僵尸资产", "risky": "高危暴露面",
		"overview": "范围与方法", "overview_text": "在已声明的地址空间（%[3]s）内对 %[1]s 的 %[2]s 端口进行 TCP 连接扫描并识别服务。完成于 %[4]s。",
		"exposed": "暴露的服务", "host": "地址", "port": "端口", "service": "服务", "detail": "横幅、HTTP 或证书",
		"why": "风险说明", "unknown": "未知资产（已加入资产清单）", "importance": "重要性",
		"zombie_sec": "僵尸资产（已登记、无响应、30 天未见）", "name": "资产", "last_seen": "最近发现",
		"never": "从未", "none": "无。", "ports": "端口", "known": "已知资产",
		"product": "产品与版本", "page_title": "标题", "icon_hash": "图标哈希", "redirect": "跳转至",
		"by_type": "按服务统计的开放端口", "software": "发现的软件", "count": "端口数",
		"advice": "关闭或限制高危暴露面，为每个未知资产确认责任人，对僵尸资产予以下线或重新登记。"},
}

// ReportDocument builds the exposure report of one finished run.
func (s *Service) ReportDocument(ctx context.Context, tenant store.Tenant, runID, lang string) (*report.Document, error) {
	if err := auth.Require(ctx, auth.PermReportRead, tenant.ID); err != nil {
		return nil, err
	}
	run, res, err := s.Get(ctx, tenant.ID, runID)
	if err != nil {
		return nil, err
	}
	if run.Status != StatusDone {
		return nil, store.NewFieldError("run", store.CodeOneOf, map[string]any{"values": StatusDone}, "the run has not finished")
	}
	if _, ok := words[lang]; !ok {
		lang = "en"
	}
	w := words[lang]
	risky := 0
	for _, p := range res.Open {
		if p.Risky != "" {
			risky++
		}
	}
	doc := &report.Document{Title: w["title"], Subtitle: tenant.Name, Tenant: tenant.Name, Lang: lang, Classification: "TLP:AMBER",
		Summary: []report.KeyFigure{
			{Label: w["hosts"], Value: strconv.FormatUint(res.Hosts, 10)},
			{Label: w["up"], Value: strconv.Itoa(res.Summary["hosts_up"])},
			{Label: w["open"], Value: strconv.Itoa(len(res.Open))},
			{Label: w["risky"], Value: strconv.Itoa(risky)},
			{Label: w["new"], Value: strconv.Itoa(len(res.New))},
			{Label: w["zombies"], Value: strconv.Itoa(len(res.Zombies))},
		}}
	doc.Sections = append(doc.Sections, report.Section{Heading: w["overview"], Paragraphs: []string{
		fmt.Sprintf(w["overview_text"], run.Targets, run.Ports, strings.Join(res.Scope, ", "), res.Finished.Format("2006-01-02 15:04 UTC")),
		w["advice"]}})
	exp := report.Table{Columns: []string{w["host"], w["port"], w["service"], w["product"], w["detail"], w["why"]}}
	for _, p := range res.Open {
		exp.Rows = append(exp.Rows, []string{p.Host, strconv.Itoa(int(p.Port)), p.Service, p.ProductVersion(), portDetail(p, w), p.Risky})
		em := ""
		if p.Risky != "" {
			em = report.EmphasisHigh
		}
		exp.Emphasis = append(exp.Emphasis, em)
	}
	sec := report.Section{Heading: w["exposed"], Tables: []report.Table{exp}}
	if len(exp.Rows) == 0 {
		sec = report.Section{Heading: w["exposed"], Paragraphs: []string{w["none"]}}
	} else {
		sec.Charts = append(sec.Charts, servicesChart(res.Open, w["by_type"], w["count"]))
		if sw := softwareTable(res.Open, w); len(sw.Rows) > 0 {
			sec.Tables = append(sec.Tables, sw)
		}
	}
	doc.Sections = append(doc.Sections, sec)
	changes := func(heading string, cs []AssetChange, zombie bool) report.Section {
		if len(cs) == 0 {
			return report.Section{Heading: heading, Paragraphs: []string{w["none"]}}
		}
		t := report.Table{Columns: []string{w["name"], w["host"], w["ports"], w["importance"]}}
		if zombie {
			t.Columns[2] = w["last_seen"]
		}
		for _, c := range cs {
			third := joinPorts(c.Ports)
			if zombie {
				third = c.LastSeen
				if third == "" {
					third = w["never"]
				}
			}
			t.Rows = append(t.Rows, []string{c.Name, c.Address, third, strconv.Itoa(c.Importance)})
		}
		return report.Section{Heading: heading, Tables: []report.Table{t}}
	}
	doc.Sections = append(doc.Sections, changes(w["unknown"], res.New, false), changes(w["zombie_sec"], res.Zombies, true),
		changes(w["known"], res.Known, false))
	return doc, nil
}

// portDetail is what a port's answer said beyond its software: banner,
// HTTP status and Server header, page title, redirect, icon hash and
// certificate.
func portDetail(p Port, w map[string]string) string {
	parts := []string{p.Banner, p.HTTP}
	if p.Title != "" {
		parts = append(parts, w["page_title"]+" “"+p.Title+"”")
	}
	if p.Redirect != "" {
		parts = append(parts, w["redirect"]+" "+p.Redirect)
	}
	if p.FaviconHash != nil {
		parts = append(parts, w["icon_hash"]+" "+strconv.Itoa(int(*p.FaviconHash)))
	}
	if p.TLS != "" {
		parts = append(parts, p.TLS+" ("+p.TLSEnds+")")
	}
	parts = slices.DeleteFunc(parts, func(s string) bool { return s == "" })
	return strings.Join(parts, " · ")
}

// servicesChart counts the open ports by service name, most first.
func servicesChart(ports []Port, title, series string) report.Chart {
	counts := map[string]int{}
	for _, p := range ports {
		name := p.Service
		if name == "" {
			name = "unknown"
		}
		counts[name]++
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := counts[b] - counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	c := report.Chart{Kind: report.ChartBar, Title: title, Series: []report.Series{{Name: series}}}
	for _, n := range names {
		if len(c.Labels) == report.MaxChartPoints {
			break
		}
		c.Labels = append(c.Labels, n)
		c.Series[0].Values = append(c.Series[0].Values, float64(counts[n]))
	}
	return c
}

// softwareTable lists each product and version seen with how many ports
// run it and where, so an outdated version stands out.
func softwareTable(ports []Port, w map[string]string) report.Table {
	type sw struct {
		where []string
	}
	seen := map[string]*sw{}
	var keys []string
	for _, p := range ports {
		pv := p.ProductVersion()
		if pv == "" {
			continue
		}
		e := seen[pv]
		if e == nil {
			e = &sw{}
			seen[pv] = e
			keys = append(keys, pv)
		}
		e.where = append(e.where, net.JoinHostPort(p.Host, strconv.Itoa(int(p.Port))))
	}
	slices.Sort(keys)
	t := report.Table{Caption: w["software"], Columns: []string{w["product"], w["count"], w["host"]}}
	for _, k := range keys {
		where := seen[k].where
		list := strings.Join(where[:min(len(where), 20)], ", ")
		if len(where) > 20 {
			list += ", …"
		}
		t.Rows = append(t.Rows, []string{k, strconv.Itoa(len(where)), list})
	}
	return t
}

func joinPorts(ps []uint16) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ", ")
}
