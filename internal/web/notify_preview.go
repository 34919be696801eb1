package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/notify"
)

// The notification templates, previewable: a kind and a language chosen,
// the embedded template rendered (subject, plain text, Markdown, HTML)
// with sample data of the tenant, and the sample data shown as the JSON
// `vigil notify preview` reads. The HTML is shown in a sandboxed frame
// and as source; nothing is sent.

type notifyPreviewPage struct {
	Base
	URL      string
	Kinds    []string
	Langs    []string
	Kind     string
	Language string
	Rendered notify.Rendered
	Data     string // the sample data as JSON
}

// notifySample is the sample data of a kind.
func notifySample(kind notify.Kind, lang, tenant string, now time.Time) notify.TemplateData {
	zh := lang == notify.LangZH
	pick := func(en, cn string) string {
		if zh {
			return cn
		}
		return en
	}
	d := notify.TemplateData{Tenant: tenant, Severity: notify.SeverityHigh, Source: "Vigil", Time: now.UTC().Truncate(time.Minute),
		Link: "https://vigil.example/t/sample"}
	switch kind {
	case notify.KindAlert:
		d.Title = pick("SSH brute force on web-01", "web-01 遭受 SSH 暴力破解")
		d.Summary = pick("42 failed logins from 203.0.113.7 in 5 minutes.", "5 分钟内来自 203.0.113.7 的 42 次登录失败。")
		d.Fields = []notify.Field{{Name: pick("Host", "主机"), Value: "web-01"}, {Name: pick("Source", "来源"), Value: "203.0.113.7"}}
		d.Lines = []string{"Failed password for root from 203.0.113.7 port 52144 ssh2"}
		d.AckURL = "https://vigil.example/ack?token=sample"
	case notify.KindCase:
		d.Title = pick("Case IR-2026-0042 opened: webshell on the shop", "新建事件 IR-2026-0042：商城网站发现 Webshell")
		d.Summary = pick("An analyst opened a case from two alerts.", "分析师根据两条告警新建了事件。")
	case notify.KindSLABreach:
		d.Title = pick("IR-2026-0042: containment overdue", "IR-2026-0042：遏制已超时")
		d.Summary = pick("The containment timer ran out 35 minutes ago.", "遏制时限已超出 35 分钟。")
	case notify.KindKEVMatch:
		d.Severity = notify.SeverityCritical
		d.Title = pick("CVE-2024-3400 (exploited) concerns 2 of your assets", "CVE-2024-3400（在野利用）涉及贵方 2 个资产")
		d.Summary = pick("Apply updates per vendor instructions.", "请按厂商说明安装更新。")
		d.Items = []notify.Item{{Title: "fw-01 PAN-OS 10.2.8", Severity: notify.SeverityCritical}, {Title: "fw-02 PAN-OS 11.0.3", Severity: notify.SeverityCritical}}
	case notify.KindAdvisory:
		d.Title = pick("Advisory: OpenSSL 3.0.8 fixes X.400 type confusion", "安全通告：OpenSSL 3.0.8 修复 X.400 类型混淆")
		d.Summary = pick("Upgrade OpenSSL to 3.0.8 or later.", "请将 OpenSSL 升级到 3.0.8 或更高版本。")
	case notify.KindDigest:
		d.Severity = notify.SeverityInfo
		d.Title = pick("Weekly security digest", "每周安全简报")
		d.Items = []notify.Item{{Title: pick("New alerts: 12", "新告警：12")}, {Title: pick("Cases opened: 2", "新建事件：2")}}
	case notify.KindUrgentNotice:
		d.Severity = notify.SeverityCritical
		d.Title = pick("Urgent: Citrix Bleed exploited in the wild", "紧急通告：Citrix Bleed 漏洞正被利用")
		d.Summary = pick("Session tokens leak from NetScaler ADC; patch and kill sessions.", "NetScaler ADC 会话令牌泄露；请打补丁并清除会话。")
		d.AckURL = "https://vigil.example/notice-ack?token=sample"
	default:
		d.Severity = notify.SeverityInfo
		d.Title = pick("Test message", "测试消息")
		d.Summary = pick("If you read this, the channel works.", "收到此消息说明渠道工作正常。")
	}
	return d
}

func (s *server) notifyPreview(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	q := r.URL.Query()
	v := &notifyPreviewPage{URL: channelsBase(t) + "/templates", Langs: []string{notify.LangEN, notify.LangZH}}
	for _, k := range notify.Kinds() {
		v.Kinds = append(v.Kinds, string(k))
	}
	v.Kind, v.Language = q.Get("kind"), q.Get("lang")
	if !slices.Contains(v.Kinds, v.Kind) {
		v.Kind = string(notify.KindAlert)
	}
	if !slices.Contains(v.Langs, v.Language) {
		v.Language = notify.NormalizeLang(state(r).locale)
	}
	data, err := json.MarshalIndent(notifySample(notify.Kind(v.Kind), v.Language, t.Name, time.Now()), "", "  ")
	if err != nil {
		return err
	}
	v.Data = string(data)
	if v.Rendered, err = notify.Preview(notify.Kind(v.Kind), v.Language, data); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "notify_preview", v)
	return nil
}

func (s *server) registerNotifyPreview(t string) {
	s.handle(http.MethodGet, t+"/notifications/templates", inTenant(auth.PermServiceRead), s.notifyPreview)
}
