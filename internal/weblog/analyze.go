package weblog

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures an Analyzer.
type Options struct {
	// System names the monitored application; it is copied into hits and
	// selects exclusions.
	System string
	// Format is a format name or string; "" detects it per file.
	Format string
	// Paranoia is the CRS paranoia level, 1-4 (default 1).
	Paranoia int
	// MaxLine bounds a log line (default DefaultMaxLine).
	MaxLine int
	// Exclusions are applied to every hit.
	Exclusions []Exclusion
	// NoPrefilter sends every request to CRS (for measurements).
	NoPrefilter bool
	// Workers evaluate CRS in parallel (default GOMAXPROCS).
	Workers int
	// MaxPaths bounds the per-path statistics (default 200,000).
	MaxPaths int
	// MaxClients bounds the per-client behaviour state (default 100,000).
	MaxClients int
	// AllowedMethods are the methods not reported as abnormal (default
	// GET, HEAD, POST, OPTIONS).
	AllowedMethods []string
	// Logger receives progress messages (default: discard).
	Logger *slog.Logger
}

// Stats counts what an analysis did.
type Stats struct {
	Records     int `json:"records"`
	Prefiltered int `json:"prefiltered"` // requests sent to payload rules
	CRSHits     int `json:"crs_hits"`
	Hits        int `json:"hits"`
	Excluded    int `json:"excluded"`
	PathsOver   int `json:"paths_untracked"`
}

// Analyzer detects and scores attacks in access logs.
type Analyzer struct {
	opt  Options
	crs  *CRS
	sigs []Signature
	beh  behaviourRules
}

// New loads the rule sets.
func New(opt Options) (*Analyzer, error) {
	if opt.Paranoia == 0 {
		opt.Paranoia = 1
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.MaxPaths <= 0 {
		opt.MaxPaths = 200_000
	}
	if opt.MaxClients <= 0 {
		opt.MaxClients = 100_000
	}
	if opt.AllowedMethods == nil {
		opt.AllowedMethods = []string{"GET", "HEAD", "POST", "OPTIONS"}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	crs, err := NewCRS(opt.Paranoia)
	if err != nil {
		return nil, err
	}
	sigs, err := parseSignatures(signaturesText)
	if err != nil {
		return nil, fmt.Errorf("weblog: %w", err)
	}
	beh, err := loadBehaviour()
	if err != nil {
		return nil, fmt.Errorf("weblog: %w", err)
	}
	return &Analyzer{opt: opt, crs: crs, sigs: sigs, beh: beh}, nil
}

// payload is the payload-layer verdict on one request.
type payload struct {
	suspicious bool
	norm       string
	sigs       []Signature
	jndi       bool
	crs        CRSMatch
}

// inspect runs the cheap layers and reports whether CRS should run.
func (a *Analyzer) inspect(rec *Record) payload {
	var p payload
	dec := decode(rec.URI)
	p.norm = pathView(dec)
	ua := normalize(rec.UA)
	ref := normalize(refererTail(rec.Referer))
	p.suspicious = a.opt.NoPrefilter || suspiciousText(p.norm) || suspiciousUA(ua) || (ref != "" && suspiciousText(ref))
	if !p.suspicious {
		return p
	}
	p.sigs = matchSignatures(a.sigs, p.norm, shellView(dec))
	p.jndi = hasJNDI(p.norm) || hasJNDI(ua) || hasJNDI(ref) || hasJNDI(strings.ToLower(rec.Host))
	return p
}

// evaluate adds the CRS verdict.
func (a *Analyzer) evaluate(rec *Record, p *payload) {
	extra := ""
	if once, _ := decodeOnce(rec.URI); strings.ToLower(once) != p.norm {
		extra = p.norm
	}
	p.crs = a.crs.Evaluate(rec, extra)
}

func refererTail(r string) string {
	if i := strings.Index(r, "://"); i >= 0 {
		if j := strings.IndexByte(r[i+3:], '/'); j >= 0 {
			return r[i+3+j:]
		}
		return ""
	}
	return r
}

// AnalyzeFile reads path twice (statistics, then detection) and calls emit
// for every hit in line order.
func (a *Analyzer) AnalyzeFile(ctx context.Context, path string, emit func(Hit) error) (Coverage, Stats, error) {
	ropt := ReaderOptions{Format: a.opt.Format, MaxLine: a.opt.MaxLine}
	stats := newPathStats(a.opt.MaxPaths)
	var st Stats
	_, err := readFile(path, ropt, func(rec *Record) error {
		normal := !suspiciousText(normalize(rec.URI))
		stats.add(rec, normal)
		return nil
	})
	if err != nil {
		return Coverage{}, st, err
	}
	st.PathsOver = int(stats.dropped)
	a.opt.Logger.Debug("weblog: statistics pass done", "file", path, "paths", len(stats.m))
	d := newDetector(a, path, stats, emit, &st)
	chunk := make([]Record, 0, 512)
	flush := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("weblog: %w", err)
		}
		err := d.chunk(chunk)
		chunk = chunk[:0]
		return err
	}
	cov, err := readFile(path, ropt, func(rec *Record) error {
		chunk = append(chunk, *rec)
		if len(chunk) == cap(chunk) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return cov, st, err
	}
	if err := flush(); err != nil {
		return cov, st, err
	}
	return cov, st, d.finish()
}

// detector is the second pass over one file.
type detector struct {
	a     *Analyzer
	file  string
	stats *pathStats
	emit  func(Hit) error
	st    *Stats
	ips   map[string]*ipState
	queue []*Hit // hits waiting for their follow-up window
	lastT time.Time
}

func newDetector(a *Analyzer, file string, stats *pathStats, emit func(Hit) error, st *Stats) *detector {
	return &detector{a: a, file: file, stats: stats, emit: emit, st: st, ips: map[string]*ipState{}}
}

// chunk processes records: payload layers in parallel, then behaviour and
// scoring in order.
func (d *detector) chunk(recs []Record) error {
	ps := make([]payload, len(recs))
	var todo []int
	for i := range recs {
		ps[i] = d.a.inspect(&recs[i])
		if ps[i].suspicious {
			todo = append(todo, i)
		}
	}
	d.st.Prefiltered += len(todo)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(d.a.opt.Workers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				d.a.evaluate(&recs[i], &ps[i])
			}
		})
	}
	for _, i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range recs {
		if err := d.record(&recs[i], &ps[i]); err != nil {
			return err
		}
	}
	return nil
}

// record runs the behaviour detectors on one record and queues hits.
func (d *detector) record(rec *Record, p *payload) error {
	d.st.Records++
	if rec.Time.After(d.lastT) {
		d.lastT = rec.Time
	}
	ip := d.ip(rec)
	d.followUp(ip, rec)
	var hits []*Hit
	if h := d.payloadHit(rec, p); h != nil {
		hits = append(hits, h)
	}
	hits = append(hits, d.behaviour(ip, rec)...)
	for _, h := range hits {
		ip.pending = append(ip.pending, h)
		d.queue = append(d.queue, h)
	}
	return d.drain(false)
}

// followWindow is how long after an attack the same client's requests
// count as its follow-up behaviour.
const followWindow = 30 * time.Minute

// maxQueued bounds the hits waiting for their follow-up window.
const maxQueued = 50_000

// followUp counts, for the pending hits of a client, later successful
// requests to rarely used scripts (a webshell dropped by the attack).
func (d *detector) followUp(ip *ipState, rec *Record) {
	if len(ip.pending) == 0 || rec.Status < 200 || rec.Status > 299 || !isScript(rec.Path) {
		return
	}
	if !d.stats.rareClients(rec.Path, 5) {
		return
	}
	for _, h := range ip.pending {
		if h.Line != rec.Line && h.path != rec.Path {
			h.followups++
		}
	}
}

// drain emits queued hits whose follow-up window has passed (all when
// final).
func (d *detector) drain(final bool) error {
	n := 0
	for n < len(d.queue) {
		h := d.queue[n]
		if !final && len(d.queue)-n <= maxQueued && !d.lastT.After(h.Time.Add(followWindow)) {
			break
		}
		n++
		if ip := d.ips[h.ClientIP]; ip != nil {
			if i := slices.Index(ip.pending, h); i >= 0 {
				ip.pending = slices.Delete(ip.pending, i, i+1)
			}
		}
		d.finalize(h)
		if !Filter(h, d.a.opt.Exclusions) {
			d.st.Excluded++
			continue
		}
		d.st.Hits++
		if err := d.emit(*h); err != nil {
			return err
		}
	}
	d.queue = slices.Delete(d.queue, 0, n)
	return nil
}

func (d *detector) finish() error { return d.drain(true) }

// payloadHit builds the hit of the payload layers, if any fired.
func (d *detector) payloadHit(rec *Record, p *payload) *Hit {
	if !p.suspicious {
		return nil
	}
	var layers []string
	cats := map[Category]int{}
	for _, id := range p.crs.RuleIDs {
		layers = append(layers, fmt.Sprintf("crs:%d", id))
	}
	for _, t := range p.crs.Tags {
		cats[tagCategory(t)] += 2
	}
	for _, s := range p.sigs {
		layers = append(layers, "sig:"+s.Category+"/"+s.Name)
		cats[Category(sigCategory(s.Category))] += 3
	}
	if p.jndi {
		layers = append(layers, "behaviour:jndi-lookup")
		cats[CatLog4Shell] += 10
	}
	if len(layers) == 0 {
		return nil
	}
	if len(p.crs.RuleIDs) > 0 {
		d.st.CRSHits++
	}
	if cats[CatRCE] > 0 {
		// A command that also names a file is command injection first.
		cats[CatRCE] += 3
	}
	cat := bestCategory(cats)
	base := 15
	if p.crs.Score >= 10 || len(p.sigs) > 0 {
		base = 25
	}
	if p.jndi {
		base = 35
	}
	h := d.newHit(rec, cat, layers, base)
	if len(p.crs.RuleIDs) > 0 {
		m := p.crs
		h.CRS = &m
	}
	return h
}

func (d *detector) newHit(rec *Record, cat Category, layers []string, base int) *Hit {
	mp := categoryMapping(cat)
	return &Hit{
		System: d.a.opt.System, File: d.file, Line: rec.Line, Time: rec.Time,
		ClientIP: rec.ClientIP, Request: clip(rec.Request(), 2000), Status: rec.Status, Size: rec.Size,
		UA: clip(rec.UA, 300), Category: cat, Techniques: mp.Techniques, CWEs: mp.CWEs,
		Layers: layers, path: rec.Path, query: rec.Query, base: base,
	}
}

func sigCategory(c string) string {
	switch c {
	case "lfi":
		return string(CatLFI)
	case "rce":
		return string(CatRCE)
	case "xss":
		return string(CatXSS)
	}
	return c
}

func tagCategory(tag string) Category {
	switch tag {
	case "attack-sqli":
		return CatSQLi
	case "attack-xss":
		return CatXSS
	case "attack-rce":
		return CatRCE
	case "attack-lfi":
		return CatLFI
	case "attack-rfi":
		return CatRFI
	case "attack-php":
		return CatPHP
	case "attack-java":
		return CatJava
	case "attack-protocol", "attack-multipart-header":
		return CatProtocol
	case "attack-fixation":
		return CatFixation
	case "attack-reputation-scanner":
		return CatScanner
	case "attack-generic", "attack-injection-generic":
		return CatGeneric
	}
	return CatOtherAttack
}

// bestCategory picks the most supported category; protocol and generic
// findings yield to a specific attack class.
func bestCategory(cats map[Category]int) Category {
	best, bestN := CatOtherAttack, -1
	for c, n := range cats {
		if c == CatProtocol || c == CatGeneric || c == CatOtherAttack || c == CatScanner {
			n -= 100
		}
		if n > bestN || n == bestN && c < best {
			best, bestN = c, n
		}
	}
	return best
}
