package weblog

import (
	"time"
)

// Category is the kind of attack a Hit reports.
type Category string

// Categories of hits.
const (
	CatSQLi        Category = "sqli"
	CatXSS         Category = "xss"
	CatRCE         Category = "rce"
	CatLFI         Category = "path-traversal"
	CatRFI         Category = "rfi"
	CatPHP         Category = "php-injection"
	CatJava        Category = "java-injection"
	CatLog4Shell   Category = "log4shell"
	CatProtocol    Category = "protocol"
	CatGeneric     Category = "generic-injection"
	CatScanner     Category = "scanner"
	CatBruteForce  Category = "brute-force"
	CatWebshell    Category = "webshell"
	CatProbing     Category = "probing"
	CatMethod      Category = "abnormal-method"
	CatFixation    Category = "session-fixation"
	CatOtherAttack Category = "attack"
)

// Mapping is the ATT&CK technique and CWE of a category.
type Mapping struct {
	Techniques []string
	CWEs       []string
}

// categoryMapping returns the ATT&CK techniques and CWE ids of c.
func categoryMapping(c Category) Mapping {
	switch c {
	case CatSQLi:
		return Mapping{[]string{"T1190"}, []string{"CWE-89"}}
	case CatXSS:
		return Mapping{[]string{"T1189"}, []string{"CWE-79"}}
	case CatRCE:
		return Mapping{[]string{"T1190", "T1059"}, []string{"CWE-78"}}
	case CatLFI:
		return Mapping{[]string{"T1190", "T1083"}, []string{"CWE-22"}}
	case CatRFI:
		return Mapping{[]string{"T1190"}, []string{"CWE-98"}}
	case CatPHP:
		return Mapping{[]string{"T1190"}, []string{"CWE-94"}}
	case CatJava:
		return Mapping{[]string{"T1190"}, []string{"CWE-502"}}
	case CatLog4Shell:
		return Mapping{[]string{"T1190"}, []string{"CWE-917"}}
	case CatProtocol:
		return Mapping{[]string{"T1190"}, []string{"CWE-444"}}
	case CatScanner:
		return Mapping{[]string{"T1595.002"}, nil}
	case CatBruteForce:
		return Mapping{[]string{"T1110"}, []string{"CWE-307"}}
	case CatWebshell:
		return Mapping{[]string{"T1505.003"}, []string{"CWE-434"}}
	case CatProbing:
		return Mapping{[]string{"T1595.003"}, []string{"CWE-538"}}
	case CatMethod:
		return Mapping{[]string{"T1190"}, []string{"CWE-650"}}
	case CatFixation:
		return Mapping{[]string{"T1190"}, []string{"CWE-384"}}
	}
	return Mapping{[]string{"T1190"}, nil}
}

// Hit is one attack candidate with its success score.
type Hit struct {
	System      string    `json:"system"`
	File        string    `json:"file,omitempty"`
	Line        int       `json:"line"`
	Time        time.Time `json:"time"`
	ClientIP    string    `json:"client_ip"`
	Request     string    `json:"request"`
	Status      int       `json:"status"`
	Size        int64     `json:"size"`
	UA          string    `json:"ua,omitempty"`
	Category    Category  `json:"category"`
	Techniques  []string  `json:"attack_techniques,omitempty"`
	CWEs        []string  `json:"cwe,omitempty"`
	Layers      []string  `json:"layers"`
	CRS         *CRSMatch `json:"crs,omitempty"`
	Score       int       `json:"score"`
	Explanation string    `json:"explanation"`

	what      string
	path      string
	query     string
	base      int
	followups int
}

// Verdict is an analyst's conclusion about a system after reviewing hits.
type Verdict string

// Verdicts.
const (
	VerdictCompromised            Verdict = "compromised"
	VerdictAttackedNotCompromised Verdict = "attacked-not-compromised"
	VerdictClean                  Verdict = "clean"
)
