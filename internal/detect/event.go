package detect

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// LogSource is the product, category and service of a Sigma rule's
// logsource block. An empty member means "any".
type LogSource struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
}

// EventSource is the logsource an event declares. An event may belong to
// several categories (a Sysmon registry value set is both registry_set and
// registry_event) and several services.
type EventSource struct {
	Product    string
	Categories []string
	Services   []string
}

// Event is one decoded log record prepared for matching: every leaf is
// reachable by its dotted path (Event.EventData.Image) and by its leaf name
// (Image); see NewEvent. An Event caches the lower-case forms of its
// values as matching needs them, so it must not be matched from several
// goroutines at once; an Engine may be.
type Event struct {
	Raw    map[string]any
	Source EventSource

	fields fieldTable
	leaves []*value

	// arena holds the event's values, allocated in blocks.
	arena []value

	// Storage for an event of typical size (a Windows event has about 35
	// values and 75 names), so that building one takes a few allocations
	// rather than one per table.
	arena0   [40]value
	leaves0  [40]*value
	entries0 [80]fieldEntry
	slots0   [256]int32

	// Larger storage an event built in recycled storage (see reset)
	// needed once, kept for the next build.
	spillLeaves  []*value
	spillEntries []fieldEntry
	spillSlots   []int32
}

// value is one field of an event with its string forms computed once:
// s when the event is built, the lower-case form on first use.
type value struct {
	raw     any
	s       string
	lowerS  string
	lowered bool
	null    bool
	ascii   bool // s is ASCII

	elems []*value // set when raw is a JSON array
}

// lower returns the value's text in lower case, computing it once.
func (v *value) lower() string {
	if !v.lowered {
		v.lowerS = strings.ToLower(v.s)
		v.lowered = true
	}
	return v.lowerS
}

// newValue returns the value of raw, allocated from the event's arena.
func (ev *Event) newValue(raw any) *value {
	if len(ev.arena) == cap(ev.arena) {
		ev.arena = make([]value, 0, max(32, 2*cap(ev.arena)))
	}
	ev.arena = ev.arena[:len(ev.arena)+1]
	v := &ev.arena[len(ev.arena)-1]
	v.raw = raw
	switch x := raw.(type) {
	case nil:
		v.null = true
	case string:
		v.s = x
	case json.Number:
		v.s = x.String()
	case float64:
		v.s = strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		v.s = strconv.Itoa(x)
	case int64:
		v.s = strconv.FormatInt(x, 10)
	case bool:
		v.s = strconv.FormatBool(x)
	case []any:
		v.elems = make([]*value, 0, len(x))
		for _, e := range x {
			if _, isMap := e.(map[string]any); isMap {
				continue
			}
			v.elems = append(v.elems, ev.newValue(e))
		}
		return v
	default:
		b, _ := json.Marshal(x)
		v.s = string(b)
	}
	v.ascii = isASCII(v.s)
	return v
}

// isASCII reports whether s holds only ASCII, eight bytes at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// NewEvent prepares a decoded JSON object for matching. It does not
// modify raw.
//
// Field names: every leaf is stored under its full dotted path and, unless
// another leaf already took it, under its own name, so Sigma's flat field
// names (Image, CommandLine, EventID) find the values of the Windows event
// JSON shape {"Event":{"System":{...},"EventData":{...}}}. Windows XML
// attributes ("#attributes") are skipped in paths, and an attribute is
// also reachable as Parent_Attr (Provider_Name). A leaf name with spaces
// ("Source Name", as rendered Defender events have) is also reachable
// without them (SourceName). Field names are case-sensitive, as in Sigma.
// The result is the one of a walk in sorted key order, so it is
// deterministic (see fieldOp).
//
// Logsource: the event's Source is taken from a top-level "logsource"
// object ({"product":..,"category":..,"service":..}, category and service
// may be lists) when present; otherwise it is derived from the Windows
// channel and event id (see DeriveSource). An event with no logsource is
// only seen by rules that have no logsource constraint at all.
func NewEvent(raw map[string]any) *Event {
	ev := &Event{}
	ev.build(raw)
	return ev
}

// build prepares ev, which is new or was reset, for raw (see NewEvent).
func (ev *Event) build(raw map[string]any) {
	ev.Raw = raw
	ev.arena, ev.leaves = ev.arena0[:0], ev.leaves0[:0]
	if ev.spillLeaves != nil {
		ev.leaves = ev.spillLeaves[:0]
	}
	b, _ := builders.Get().(*eventBuilder)
	if b == nil {
		b = &eventBuilder{buf: make([]byte, 0, 2048), ops: make([]fieldOp, 0, 128), frames: make([]frame, 0, 16)}
	}
	defer b.release()
	b.frames = append(b.frames, frame{parent: -1})
	b.walk(ev, raw, 0, 0, 0, "")
	// Dotted paths are written into one buffer and turned into a string
	// once. Maps are walked in Go's map order, so when two entries claim
	// one name, their places in the sorted walk decide (see fieldOp).
	paths := string(b.buf)
	if ev.spillEntries != nil {
		ev.fields.initIn(len(b.ops), ev.spillEntries[:0], ev.spillSlots)
	} else {
		ev.fields.initIn(len(b.ops), ev.entries0[:0], ev.slots0[:])
	}
	for oi := range b.ops {
		op := &b.ops[oi]
		name := op.name
		if op.end > op.start {
			name = paths[op.start:op.end]
		}
		h := hashName(name)
		i := ev.fields.find(name, h)
		e := ev.fields.slots[i]
		if e == 0 {
			ev.fields.entries = append(ev.fields.entries, fieldEntry{hash: h, name: name, v: op.v})
			ev.fields.slots[i] = int32(len(ev.fields.entries)) // #nosec G115 -- fields of one event, far below 2^31
			b.owner = append(b.owner, int32(oi))               // #nosec G115 -- as above
			continue
		}
		prev := &b.ops[b.owner[e-1]]
		if b.wins(op, prev) {
			ev.fields.entries[e-1].v = op.v
			b.owner[e-1] = int32(oi) // #nosec G115 -- fields of one event, far below 2^31
		}
	}
	ev.Source = DeriveSource(ev)
}

// reset clears ev for another build, keeping its storage and dropping
// every reference to the previous event's data. Tables that outgrew the
// inline storage are kept for the next build (spill*), so that events
// of one large kind do not allocate them every time; blocks of values
// beyond the inline one are dropped.
func (ev *Event) reset() {
	if len(ev.arena) > 0 && &ev.arena[0] != &ev.arena0[0] {
		clear(ev.arena0[:]) // filled before the values spilled
	}
	clear(ev.arena)
	clear(ev.leaves0[:min(len(ev.leaves), len(ev.leaves0))])
	clear(ev.leaves)
	if cap(ev.leaves) > len(ev.leaves0) {
		ev.spillLeaves = ev.leaves[:0]
	}
	clear(ev.fields.entries)
	clear(ev.fields.slots)
	if cap(ev.fields.entries) > len(ev.entries0) || cap(ev.fields.slots) > len(ev.slots0) {
		ev.spillEntries, ev.spillSlots = ev.fields.entries[:0], ev.fields.slots[:cap(ev.fields.slots)]
	}
	ev.Raw, ev.Source, ev.fields, ev.arena, ev.leaves = nil, EventSource{}, fieldTable{}, nil, nil
}

// eventBuilder collects the field entries of an event: the ops, each with
// its place in the sorted walk, and the maps (frames) the walk entered.
// Dotted paths are written into buf.
type eventBuilder struct {
	buf    []byte
	ops    []fieldOp
	frames []frame
	owner  []int32 // per field table entry, the op that holds it
}

// builders recycles eventBuilders between events.
var builders sync.Pool

// release clears b (so it keeps no event alive) and returns it to the
// pool.
func (b *eventBuilder) release() {
	clear(b.ops)
	clear(b.frames)
	b.buf, b.ops, b.frames, b.owner = b.buf[:0], b.ops[:0], b.frames[:0], b.owner[:0]
	builders.Put(b)
}

// fieldOp enters a value under a name. The walk visits map keys in Go's
// (random) order, but the result must be the one of a walk in sorted key
// order where a path entry replaces what a name held and a leaf-name
// entry only fills a free name: of the entries for one name, the last
// path entry in sorted order wins, else the first leaf-name entry. at
// is the entry's place in that order.
type fieldOp struct {
	name       string // when start == end
	start, end int    // the name in buf
	v          *value
	path       bool
	at         walkPos
}

// walkPos is a place in the sorted walk: inside the map of frame, at key
// (sub orders the attributes under "#attributes"), or after all its keys
// (late: the attribute leaf-name entries, by sub).
type walkPos struct {
	frame int32
	late  bool
	key   string
	sub   string
}

// frame is one map the walk entered: its key in its parent's map.
type frame struct {
	parent int32
	key    string
}

// wins reports whether op takes its name from prev, which holds it.
func (b *eventBuilder) wins(op, prev *fieldOp) bool {
	switch {
	case op.path && !prev.path:
		return true
	case op.path:
		return b.before(prev.at, op.at)
	case prev.path:
		return false
	}
	return b.before(op.at, prev.at)
}

// before reports whether x comes before y in the sorted walk.
func (b *eventBuilder) before(x, y walkPos) bool {
	var xb, yb [8]walkPos
	xs, ys := b.levels(x, xb[:0]), b.levels(y, yb[:0])
	for i := 0; i < len(xs) && i < len(ys); i++ {
		if c := comparePos(xs[i], ys[i]); c != 0 {
			return c < 0
		}
	}
	return len(xs) < len(ys)
}

// levels returns p as the sequence of places from the root map down:
// the key of each map entered, then p itself.
func (b *eventBuilder) levels(p walkPos, out []walkPos) []walkPos {
	out = append(out, p)
	for f := p.frame; b.frames[f].parent >= 0; f = b.frames[f].parent {
		out = append(out, walkPos{key: b.frames[f].key})
	}
	slices.Reverse(out)
	return out
}

// comparePos orders two places inside one map.
func comparePos(x, y walkPos) int {
	if x.late != y.late {
		if x.late {
			return 1
		}
		return -1
	}
	if c := strings.Compare(x.key, y.key); c != 0 {
		return c
	}
	return strings.Compare(x.sub, y.sub)
}

// appendPath writes buf[ps:pe] + "." + k (k alone when the prefix is
// empty) at the end of buf and returns its range.
func (b *eventBuilder) appendPath(ps, pe int, k string) (int, int) {
	s := len(b.buf)
	if pe > ps {
		b.buf = append(b.buf, b.buf[ps:pe]...)
		b.buf = append(b.buf, '.')
	}
	b.buf = append(b.buf, k...)
	return s, len(b.buf)
}

// path enters v under its dotted path.
func (b *eventBuilder) path(ps, pe int, k string, v *value, at walkPos) {
	if pe == ps {
		b.ops = append(b.ops, fieldOp{name: k, v: v, path: true, at: at})
		return
	}
	s, e := b.appendPath(ps, pe, k)
	b.ops = append(b.ops, fieldOp{start: s, end: e, v: v, path: true, at: at})
}

// leaf enters v under a leaf name unless the name is taken.
func (b *eventBuilder) leaf(name string, v *value, at walkPos) {
	b.ops = append(b.ops, fieldOp{name: name, v: v, at: at})
}

// leafBuf enters v under the leaf name a+b+c, written into buf.
func (b *eventBuilder) leafBuf(v *value, at walkPos, a, sep, c string) {
	s := len(b.buf)
	b.buf = append(append(append(b.buf, a...), sep...), c...)
	b.ops = append(b.ops, fieldOp{start: s, end: len(b.buf), v: v, at: at})
}

// walk visits m, whose path is buf[ps:pe], whose frame is fr and whose
// own key is parent.
func (b *eventBuilder) walk(ev *Event, m map[string]any, fr int32, ps, pe int, parent string) {
	for k, child := range m {
		if k == "#attributes" {
			am, ok := child.(map[string]any)
			if !ok {
				continue
			}
			for ak, av := range am {
				v := ev.newValue(av)
				at := walkPos{frame: fr, key: k, sub: ak}
				b.path(ps, pe, ak, v, at)
				ev.leaves = append(ev.leaves, v)
				if parent != "" {
					b.leafBuf(v, at, parent, "_", ak)
				}
				// Attribute names are the weakest aliases: any element
				// leaf of the map wins.
				b.leaf(ak, v, walkPos{frame: fr, late: true, sub: ak})
			}
			continue
		}
		at := walkPos{frame: fr, key: k}
		if cm, ok := child.(map[string]any); ok {
			s, e := b.appendPath(ps, pe, k)
			b.frames = append(b.frames, frame{parent: fr, key: k})
			b.walk(ev, cm, int32(len(b.frames)-1), s, e, k) // #nosec G115 -- maps of one event, far below 2^31
			continue
		}
		v := ev.newValue(child)
		b.path(ps, pe, k, v, at)
		ev.leaves = append(ev.leaves, v)
		b.leaf(k, v, at)
		if strings.Contains(k, " ") {
			// Rendered Windows events name some data "Source Name"
			// where Sigma (following the XML) says SourceName.
			s := len(b.buf)
			for i := 0; i < len(k); i++ {
				if k[i] != ' ' {
					b.buf = append(b.buf, k[i])
				}
			}
			b.ops = append(b.ops, fieldOp{start: s, end: len(b.buf), v: v, at: at})
		}
	}
}

// lookup finds a field by dotted path or leaf name.
func (ev *Event) lookup(name string) *value { return ev.fields.get(name, hashName(name)) }

// lookupHash is lookup with the name's hashName computed in advance.
func (ev *Event) lookupHash(name string, h uint64) *value { return ev.fields.get(name, h) }

// Field returns the value of a field by dotted path or leaf name.
func (ev *Event) Field(name string) (any, bool) {
	v := ev.lookup(name)
	if v == nil {
		return nil, false
	}
	return v.raw, true
}

// DeriveSource works out an event's logsource: an explicit top-level
// "logsource" object wins; otherwise Windows events are recognised by their
// Channel (service, see windowsServices) and, for Sysmon and PowerShell
// channels, by EventID (category, see sysmonCategories and psCategories).
func DeriveSource(ev *Event) EventSource {
	if ls, ok := ev.Raw["logsource"].(map[string]any); ok {
		var s EventSource
		s.Product, _ = ls["product"].(string)
		s.Categories = stringList(ls["category"])
		s.Services = stringList(ls["service"])
		return s
	}
	ch := ev.lookup("Channel")
	if ch == nil || ch.s == "" {
		return EventSource{}
	}
	s := EventSource{Product: "windows"}
	channel, ok := channelNames[ch.s]
	if !ok {
		channel = ch.lower()
	}
	if svc, ok := channelServices[channel]; ok {
		s.Services = svc
	}
	id := ""
	if v := ev.lookup("EventID"); v != nil {
		id = v.s
	}
	switch channel {
	case "microsoft-windows-sysmon/operational":
		s.Categories = sysmonCategories[id]
	case "microsoft-windows-powershell/operational", "windows powershell", "powershellcore/operational":
		s.Categories = psCategories[id]
	}
	return s
}

func stringList(x any) []string {
	switch v := x.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// windowsServices maps Sigma's Windows service names to event log channels.
var windowsServices = map[string][]string{
	"security":                             {"Security"},
	"system":                               {"System"},
	"application":                          {"Application"},
	"sysmon":                               {"Microsoft-Windows-Sysmon/Operational"},
	"powershell":                           {"Microsoft-Windows-PowerShell/Operational", "PowerShellCore/Operational"},
	"powershell-classic":                   {"Windows PowerShell"},
	"windefend":                            {"Microsoft-Windows-Windows Defender/Operational"},
	"appxdeployment-server":                {"Microsoft-Windows-AppXDeploymentServer/Operational"},
	"appxpackaging-om":                     {"Microsoft-Windows-AppxPackaging/Operational"},
	"appmodel-runtime":                     {"Microsoft-Windows-AppModel-Runtime/Admin"},
	"codeintegrity-operational":            {"Microsoft-Windows-CodeIntegrity/Operational"},
	"firewall-as":                          {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
	"msexchange-management":                {"MSExchange Management"},
	"bits-client":                          {"Microsoft-Windows-Bits-Client/Operational"},
	"dns-client":                           {"Microsoft-Windows-DNS Client Events/Operational"},
	"dns-server":                           {"DNS Server"},
	"dns-server-analytic":                  {"Microsoft-Windows-DNS-Server/Analytical"},
	"taskscheduler":                        {"Microsoft-Windows-TaskScheduler/Operational"},
	"iis-configuration":                    {"Microsoft-IIS-Configuration/Operational"},
	"ntlm":                                 {"Microsoft-Windows-NTLM/Operational"},
	"security-mitigations":                 {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"},
	"wmi":                                  {"Microsoft-Windows-WMI-Activity/Operational"},
	"applocker":                            {"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL", "Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"},
	"smbclient-connectivity":               {"Microsoft-Windows-SmbClient/Connectivity"},
	"smbclient-security":                   {"Microsoft-Windows-SmbClient/Security"},
	"smbserver-connectivity":               {"Microsoft-Windows-SMBServer/Connectivity"},
	"printservice-admin":                   {"Microsoft-Windows-PrintService/Admin"},
	"printservice-operational":             {"Microsoft-Windows-PrintService/Operational"},
	"microsoft-servicebus-client":          {"Microsoft-ServiceBus-Client"},
	"terminalservices-localsessionmanager": {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
	"shell-core":                           {"Microsoft-Windows-Shell-Core/Operational"},
	"certificateservicesclient-lifecycle-system": {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"},
	"driver-framework":                           {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
	"ldap":                                       {"Microsoft-Windows-LDAP-Client/Debug"},
	"diagnosis-scripted":                         {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
	"lsa-server":                                 {"Microsoft-Windows-LSA/Operational"},
	"openssh":                                    {"OpenSSH/Operational"},
	"capi2":                                      {"Microsoft-Windows-CAPI2/Operational"},
}

// channelServices is windowsServices inverted, keyed by lower-case channel.
var channelServices = func() map[string][]string {
	m := make(map[string][]string)
	for svc, chans := range windowsServices {
		for _, c := range chans {
			lc := strings.ToLower(c)
			m[lc] = append(m[lc], svc)
		}
	}
	return m
}()

// channelNames maps the channels of windowsServices, as spelled there, to
// their lower-case form: events that spell them so need no lower-casing.
var channelNames = func() map[string]string {
	m := make(map[string]string)
	for _, chans := range windowsServices {
		for _, c := range chans {
			m[c] = strings.ToLower(c)
		}
	}
	return m
}()

// sysmonCategories maps Sysmon event ids to Sigma categories.
var sysmonCategories = map[string][]string{
	"1":   {"process_creation"},
	"2":   {"file_change"},
	"3":   {"network_connection"},
	"4":   {"sysmon_status"},
	"5":   {"process_termination"},
	"6":   {"driver_load"},
	"7":   {"image_load"},
	"8":   {"create_remote_thread"},
	"9":   {"raw_access_thread"},
	"10":  {"process_access"},
	"11":  {"file_event"},
	"12":  {"registry_add", "registry_delete", "registry_event"},
	"13":  {"registry_set", "registry_event"},
	"14":  {"registry_rename", "registry_event"},
	"15":  {"create_stream_hash"},
	"16":  {"sysmon_status"},
	"17":  {"pipe_created"},
	"18":  {"pipe_created"},
	"19":  {"wmi_event"},
	"20":  {"wmi_event"},
	"21":  {"wmi_event"},
	"22":  {"dns_query"},
	"23":  {"file_delete"},
	"24":  {"clipboard_capture"},
	"25":  {"process_tampering"},
	"26":  {"file_delete_detected", "file_delete"},
	"27":  {"file_block_executable"},
	"28":  {"file_block_shredding"},
	"29":  {"file_executable_detected"},
	"255": {"sysmon_error"},
}

// psCategories maps PowerShell event ids to Sigma categories.
var psCategories = map[string][]string{
	"4103": {"ps_module"},
	"4104": {"ps_script"},
	"400":  {"ps_classic_start"},
	"600":  {"ps_classic_provider_start"},
	"800":  {"ps_classic_script"},
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
