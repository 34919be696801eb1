package weblog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Behaviour thresholds (per client, per window).
const (
	behaviourWindow   = 10 * time.Minute
	errorBurst        = 30  // 403/404 responses in a window
	urlSweep          = 100 // distinct paths in a window
	authFailBurst     = 10  // failed logins before a success is suspicious
	probeSummaryAfter = 5   // unsuccessful probes before one summary hit
	rareClientLimit   = 5   // a script reached by this many clients or fewer is rare
)

// ipState is the streaming behaviour state of one client.
type ipState struct {
	last     time.Time
	winStart time.Time
	errs     int
	paths    map[string]struct{}
	fails    int
	reported map[string]bool
	probes   int
	pending  []*Hit
}

// behaviourRules are the indicator lists of behaviour.txt by kind.
type behaviourRules struct {
	scannerUA, webshellName, webshellParam, probe []Signature
}

func loadBehaviour() (behaviourRules, error) {
	sigs, err := parseSignatures(behaviourText)
	if err != nil {
		return behaviourRules{}, err
	}
	var b behaviourRules
	for _, s := range sigs {
		switch s.Category {
		case "scanner-ua":
			b.scannerUA = append(b.scannerUA, s)
		case "webshell-name":
			b.webshellName = append(b.webshellName, s)
		case "webshell-param":
			b.webshellParam = append(b.webshellParam, s)
		case "probe":
			b.probe = append(b.probe, s)
		default:
			return b, fmt.Errorf("behaviour.txt: unknown kind %q", s.Category)
		}
	}
	return b, nil
}

func firstMatch(sigs []Signature, s string) string {
	for _, sg := range sigs {
		if sg.re.MatchString(s) {
			return sg.Name
		}
	}
	return ""
}

var scriptExt = regexp.MustCompile(`(?i)\.(?:php\d?|phtml|jspx?|aspx?|ashx|asmx|cgi|pl|cfm|do|action)$`)

// isScript reports a path served by a server-side script.
func isScript(path string) bool { return scriptExt.MatchString(path) }

var loginPath = regexp.MustCompile(`(?i)(?:login|logon|signin|sign-in|auth|session|wp-login\.php|xmlrpc\.php|j_security_check|admin)`)

// ip returns the state of rec's client, evicting idle clients when the
// table is full.
func (d *detector) ip(rec *Record) *ipState {
	s := d.ips[rec.ClientIP]
	if s == nil {
		if len(d.ips) >= d.a.opt.MaxClients {
			d.evict()
		}
		s = &ipState{reported: map[string]bool{}}
		d.ips[rec.ClientIP] = s
	}
	if rec.Time.Sub(s.winStart) > behaviourWindow || rec.Time.Before(s.winStart) {
		s.winStart, s.errs, s.paths, s.fails = rec.Time, 0, nil, 0
		for k := range s.reported {
			if strings.HasPrefix(k, "win:") {
				delete(s.reported, k)
			}
		}
	}
	s.last = rec.Time
	return s
}

// evict drops clients idle for longer than the behaviour window, or the
// oldest half when none is idle.
func (d *detector) evict() {
	cut := d.lastT.Add(-2 * behaviourWindow)
	for k, s := range d.ips {
		if len(s.pending) == 0 && s.last.Before(cut) {
			delete(d.ips, k)
		}
	}
	if len(d.ips) < d.a.opt.MaxClients {
		return
	}
	type kv struct {
		k string
		t time.Time
	}
	var all []kv
	for k, s := range d.ips {
		if len(s.pending) == 0 {
			all = append(all, kv{k, s.last})
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return a.t.Compare(b.t) })
	for _, e := range all[:len(all)/2] {
		delete(d.ips, e.k)
	}
}

// behaviour runs the per-client detectors on one record.
func (d *detector) behaviour(s *ipState, rec *Record) []*Hit {
	b := d.a.beh
	var hits []*Hit
	lpath := strings.ToLower(rec.Path)
	ok2xx := rec.Status >= 200 && rec.Status <= 299
	once := func(key string) bool {
		if s.reported[key] {
			return false
		}
		s.reported[key] = true
		return true
	}
	add := func(cat Category, layer string, base int, what string) {
		h := d.newHit(rec, cat, []string{"behaviour:" + layer}, base)
		h.what = what
		hits = append(hits, h)
	}

	if name := firstMatch(b.scannerUA, strings.ToLower(rec.UA)); name != "" && once("scanner-ua") {
		add(CatScanner, "scanner-ua", 10, "known scanner User-Agent "+name)
	}
	if rec.Status == 403 || rec.Status == 404 {
		s.errs++
		if s.errs >= errorBurst && once("win:error-burst") {
			add(CatScanner, "error-burst", 10, fmt.Sprintf("%d 403/404 responses within %s", s.errs, behaviourWindow))
		}
	}
	if s.paths == nil {
		s.paths = map[string]struct{}{}
	}
	if len(s.paths) < urlSweep {
		s.paths[lpath] = struct{}{}
		if len(s.paths) == urlSweep && once("win:url-sweep") {
			add(CatScanner, "url-sweep", 10, fmt.Sprintf("%d distinct paths within %s", urlSweep, behaviourWindow))
		}
	}

	// Brute force: failed logins, then a success from the same client.
	isLogin := loginPath.MatchString(lpath)
	failed := rec.Status == 401 || rec.Method == "POST" && isLogin && (rec.Status == 200 || rec.Status == 403)
	switch {
	case failed:
		s.fails++
		if s.fails == authFailBurst && once("win:brute-force") {
			add(CatBruteForce, "auth-failure-burst", 10, fmt.Sprintf("%d failed logins within %s", s.fails, behaviourWindow))
		}
	case s.fails >= authFailBurst && (ok2xx && rec.Status != 204 && isLogin || rec.Method == "POST" && isLogin && (rec.Status == 302 || rec.Status == 303)):
		if once("win:brute-success") {
			add(CatBruteForce, "brute-force-success", 55, fmt.Sprintf("login success after %d failures", s.fails))
		}
	}

	// Webshells.
	if name := firstMatch(b.webshellName, lpath); name != "" {
		add(CatWebshell, "webshell-name", 35, "known webshell name")
	} else if isScript(lpath) {
		param := firstMatch(b.webshellParam, strings.ToLower(rec.Query))
		rare := d.stats.rareClients(rec.Path, rareClientLimit)
		switch {
		case param != "" && rare:
			add(CatWebshell, "webshell-command-param", 30, "command parameter on a rarely used script")
		case rec.Method == "POST" && ok2xx && rare && once("ws:"+clip(lpath, 200)):
			add(CatWebshell, "rare-script-post", 20, fmt.Sprintf("POST to a script used by ≤%d clients", rareClientLimit))
		}
	}

	// Directory and backup-file probing.
	if name := firstMatch(b.probe, lpath); name != "" {
		if ok2xx && rec.Size > 0 {
			add(CatProbing, "probe-"+name, 25, "sensitive file requested ("+name+")")
		} else {
			s.probes++
			if s.probes == probeSummaryAfter && once("probe-summary") {
				add(CatProbing, "probe-burst", 5, fmt.Sprintf("%d unsuccessful sensitive-file requests", s.probes))
			}
		}
	}

	// Abnormal methods.
	if rec.Method != "" && !slices.Contains(d.a.opt.AllowedMethods, rec.Method) {
		write := slices.Contains([]string{"PUT", "DELETE", "MOVE", "COPY", "MKCOL", "PROPPATCH", "PATCH"}, rec.Method)
		switch {
		case write && ok2xx:
			add(CatMethod, "write-method", 30, rec.Method+" accepted")
		case once("method:" + clip(rec.Method, 20)):
			add(CatMethod, "abnormal-method", 5, "method "+clip(rec.Method, 20))
		}
	}
	return hits
}
