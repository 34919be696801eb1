package incident

// GBClass is one top-level class of cybersecurity incidents in GB/T
// 20986-2023 (信息安全技术 网络安全事件分类分级指南), which has ten. Code is
// Vigil's stable code for the class, kept in cases; it is not the
// standard's own classification code (Annex B).
type GBClass struct {
	Code string
	Name string // the standard's name
	En   string // an English rendering
}

// GBClasses returns the ten classes in the standard's order.
func GBClasses() []GBClass {
	return []GBClass{
		{"malware", "恶意程序事件", "Malicious program incident"},
		{"attack", "网络攻击事件", "Network attack incident"},
		{"data", "数据安全事件", "Data security incident"},
		{"content", "信息内容安全事件", "Information content security incident"},
		{"fault", "设备设施故障事件", "Equipment and facility failure incident"},
		{"violation", "违规操作事件", "Non-compliant operation incident"},
		{"hazard", "安全隐患事件", "Security hazard incident"},
		{"anomaly", "异常行为事件", "Abnormal behaviour incident"},
		{"force_majeure", "不可抗力事件", "Force majeure incident"},
		{"other", "其他事件", "Other incident"},
	}
}

// GBClassByCode finds a class by its code.
func GBClassByCode(code string) (GBClass, bool) {
	for _, c := range GBClasses() {
		if c.Code == code {
			return c, true
		}
	}
	return GBClass{}, false
}

// DefaultGBClass suggests the class of a case category.
func DefaultGBClass(category string) string {
	switch category {
	case "malware":
		return "malware"
	case "intrusion", "dos", "phishing", "defacement":
		return "attack"
	case "data_leak":
		return "data"
	case "insider":
		return "violation"
	}
	return "other"
}

func gbCodes() []string {
	var out []string
	for _, c := range GBClasses() {
		out = append(out, c.Code)
	}
	return out
}
