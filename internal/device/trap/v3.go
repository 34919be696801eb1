package trap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// SNMPv3 (RFC 3412 message, RFC 3414 user-based security). A v3 trap is
// accepted only when it is authenticated by a user the Users lookup gives
// for the sender's address, decrypts with that user's privacy key when it
// is encrypted (and is encrypted when the user has a privacy protocol),
// and lies within the sending engine's time window. The sender is the
// authoritative engine of a trap, so keys are localised with the engine ID
// the message carries. The header is read and the digest checked here
// (so refusals are told apart by what failed, not by error texts);
// decryption and decoding are gosnmp's. Informs, for which the receiver
// is the authoritative engine, are in inform.go.

// User is an SNMPv3 USM user a device may send notifications as.
type User struct {
	// ID is the caller's name for the credential (Trap.UserID of what it
	// authenticates).
	ID   string
	Name string
	// AuthProto is MD5, SHA, SHA224, SHA256, SHA384 or SHA512 ("" for
	// SHA); authentication is required.
	AuthProto string
	AuthPass  string
	// PrivProto is AES, AES192, AES256 or DES ("" for none); with one,
	// only encrypted messages are accepted.
	PrivProto string
	PrivPass  string
}

// Users returns the users that may send notifications from addr under
// the USM user name.
type Users func(ctx context.Context, from netip.Addr, name string) []User

// Limits of what the v3 header may hold (RFC 3411 and 3414 bound both at
// 32 octets; a little slack is allowed).
const (
	maxEngineID = 64
	maxUserName = 64
	// timeWindow is RFC 3414's 150-second time window.
	timeWindow = 150
	// maxEngines bounds the engines whose clocks are remembered.
	maxEngines = 10000
	maxBoots   = 2147483647
)

// Refusal reasons of SNMPv3 notifications, as errors.
var (
	ErrUnknownUser     = errors.New("snmpv3 trap: unknown user name")
	ErrWrongDigest     = errors.New("snmpv3 trap: wrong authentication digest")
	ErrDecryption      = errors.New("snmpv3 trap: cannot be decrypted")
	ErrNotInTimeWindow = errors.New("snmpv3 trap: not in the time window")
	ErrSecurityLevel   = errors.New("snmpv3 trap: security level too low for the user")
	ErrV3Inform        = errors.New("snmpv3 trap: informs over SNMPv3 are not accepted")
	ErrUnknownEngineID = errors.New("snmpv3 trap: unknown engine ID")
)

// Stats counts what a receiver did with the datagrams it read. Fields are
// updated atomically; read them with Snapshot.
type Stats struct {
	received, accepted, refused, malformed, unsupported, dropped      atomic.Uint64
	unknownUser, wrongDigest, decryption, notInTime, lowSecurityLevel atomic.Uint64
	unknownEngineID, acknowledged, reports                            atomic.Uint64
}

// Counts is a snapshot of Stats.
type Counts struct {
	Received    uint64 // datagrams read
	Accepted    uint64 // notifications the handler accepted
	Refused     uint64 // decoded but refused by the handler (unknown sender, wrong community)
	Malformed   uint64 // not decodable
	Unsupported uint64 // neither a v1 trap, a v2c trap or inform, nor a v3 trap
	Dropped     uint64 // too large, or the queue was full
	// SNMPv3 refusals (RFC 3414 usmStats).
	UnknownUser      uint64
	WrongDigest      uint64
	Decryption       uint64
	NotInTimeWindow  uint64
	LowSecurityLevel uint64
	// UnknownEngineID counts SNMPv3 messages for an engine other than
	// the receiver's that needed it (discovery probes, informs).
	UnknownEngineID uint64
	// Acknowledged counts informs answered with a response, Reports the
	// SNMPv3 reports sent (discovery, refusals of informs).
	Acknowledged, Reports uint64
}

// Snapshot returns the counts so far.
func (s *Stats) Snapshot() Counts {
	if s == nil {
		return Counts{}
	}
	return Counts{Received: s.received.Load(), Accepted: s.accepted.Load(), Refused: s.refused.Load(),
		Malformed: s.malformed.Load(), Unsupported: s.unsupported.Load(), Dropped: s.dropped.Load(),
		UnknownUser: s.unknownUser.Load(), WrongDigest: s.wrongDigest.Load(), Decryption: s.decryption.Load(),
		NotInTimeWindow: s.notInTime.Load(), LowSecurityLevel: s.lowSecurityLevel.Load(),
		UnknownEngineID: s.unknownEngineID.Load(), Acknowledged: s.acknowledged.Load(), Reports: s.reports.Load()}
}

// count records why a datagram was not accepted.
func (s *Stats) count(err error) {
	if s == nil {
		return
	}
	switch {
	case errors.Is(err, ErrUnknownUser):
		s.unknownUser.Add(1)
	case errors.Is(err, ErrWrongDigest):
		s.wrongDigest.Add(1)
	case errors.Is(err, ErrDecryption):
		s.decryption.Add(1)
	case errors.Is(err, ErrNotInTimeWindow):
		s.notInTime.Add(1)
	case errors.Is(err, ErrSecurityLevel):
		s.lowSecurityLevel.Add(1)
	case errors.Is(err, ErrUnknownEngineID):
		s.unknownEngineID.Add(1)
	case errors.Is(err, ErrUnsupported), errors.Is(err, ErrV3Inform):
		s.unsupported.Add(1)
	case errors.Is(err, ErrTooLarge):
		s.dropped.Add(1)
	default:
		s.malformed.Add(1)
	}
}

// V3Header is the clear-text part of an SNMPv3 message.
type V3Header struct {
	MsgID         int64
	Flags         byte // msgFlags: 1 auth, 2 priv, 4 reportable
	SecurityModel int64
	EngineID      []byte
	Boots, Time   int64
	User          string

	// auth is msgAuthenticationParameters, at offset authOff of the
	// message: the digest is computed with it zeroed.
	auth    []byte
	authOff int
}

// Message flags.
const (
	flagAuth       = 1
	flagPriv       = 2
	flagReportable = 4
)

// ber reads BER TLVs from a byte slice, refusing anything out of bounds.
type ber struct{ b []byte }

var errBER = errors.New("snmpv3 trap: malformed header")

// next returns the next TLV's tag and contents.
func (r *ber) next() (byte, []byte, error) {
	if len(r.b) < 2 {
		return 0, nil, errBER
	}
	tag, l := r.b[0], int(r.b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 3 || len(r.b) < 2+n {
			return 0, nil, errBER
		}
		l = 0
		for _, c := range r.b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l > len(r.b)-hdr {
		return 0, nil, errBER
	}
	v := r.b[hdr : hdr+l]
	r.b = r.b[hdr+l:]
	return tag, v, nil
}

func (r *ber) expect(tag byte) ([]byte, error) {
	t, v, err := r.next()
	if err != nil {
		return nil, err
	}
	if t != tag {
		return nil, errBER
	}
	return v, nil
}

// integer reads a non-negative INTEGER of at most 4 octets of value.
func (r *ber) integer() (int64, error) {
	v, err := r.expect(0x02)
	if err != nil {
		return 0, err
	}
	if len(v) == 0 || len(v) > 5 || (len(v) == 5 && v[0] != 0) || v[0]&0x80 != 0 {
		return 0, errBER
	}
	var n int64
	for _, c := range v {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// messageVersion returns the msgVersion of an SNMP message (0 for v1, 1
// for v2c, 3 for v3).
func messageVersion(b []byte) (int64, error) {
	r := ber{b}
	msg, err := r.expect(0x30)
	if err != nil {
		return 0, err
	}
	m := ber{msg}
	return m.integer()
}

// ParseV3Header reads the header of an SNMPv3 message: version, global
// data and the USM security parameters. It never panics.
func ParseV3Header(b []byte) (V3Header, error) {
	var h V3Header
	if len(b) > MaxPacket {
		return h, ErrTooLarge
	}
	r := ber{b}
	msg, err := r.expect(0x30)
	if err != nil {
		return h, err
	}
	m := ber{msg}
	v, err := m.integer()
	if err != nil {
		return h, err
	}
	if v != 3 {
		return h, fmt.Errorf("%w: version %d", ErrUnsupported, v)
	}
	gd, err := m.expect(0x30)
	if err != nil {
		return h, err
	}
	g := ber{gd}
	if h.MsgID, err = g.integer(); err != nil {
		return h, err
	}
	if _, err = g.integer(); err != nil { // msgMaxSize
		return h, err
	}
	flags, err := g.expect(0x04)
	if err != nil || len(flags) != 1 {
		return h, errBER
	}
	h.Flags = flags[0]
	if h.SecurityModel, err = g.integer(); err != nil {
		return h, err
	}
	if h.SecurityModel != 3 {
		return h, fmt.Errorf("%w: security model %d", ErrUnsupported, h.SecurityModel)
	}
	sp, err := m.expect(0x04)
	if err != nil {
		return h, err
	}
	s := ber{sp}
	usm, err := s.expect(0x30)
	if err != nil {
		return h, err
	}
	u := ber{usm}
	eid, err := u.expect(0x04)
	if err != nil || len(eid) > maxEngineID {
		return h, errBER
	}
	h.EngineID = append([]byte(nil), eid...)
	if h.Boots, err = u.integer(); err != nil {
		return h, err
	}
	if h.Time, err = u.integer(); err != nil {
		return h, err
	}
	user, err := u.expect(0x04)
	if err != nil || len(user) > maxUserName {
		return h, errBER
	}
	h.User = string(user)
	auth, err := u.expect(0x04) // msgAuthenticationParameters
	if err != nil {
		return h, err
	}
	// Every slice of b here keeps b's capacity, so the capacity left
	// gives the offset of the parameters in the message.
	h.auth, h.authOff = auth, cap(b)-cap(auth)
	if _, err := u.expect(0x04); err != nil { // msgPrivacyParameters
		return h, err
	}
	if h.Flags&flagPriv != 0 && h.Flags&flagAuth == 0 {
		return h, errBER // privacy without authentication is invalid (RFC 3412)
	}
	return h, nil
}

var (
	authProtos = map[string]gosnmp.SnmpV3AuthProtocol{"": gosnmp.SHA, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA,
		"SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512}
	privProtos = map[string]gosnmp.SnmpV3PrivProtocol{"": gosnmp.NoPriv, "AES": gosnmp.AES, "AES192": gosnmp.AES192,
		"AES256": gosnmp.AES256, "DES": gosnmp.DES}
)

// AuthProtocols and PrivProtocols are the protocol names User accepts.
func AuthProtocols() []string { return []string{"SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"} }

// PrivProtocols are the privacy protocol names User accepts.
func PrivProtocols() []string { return []string{"AES", "AES192", "AES256", "DES"} }

func (u User) params(engineID []byte) (*gosnmp.UsmSecurityParameters, error) {
	auth, ok := authProtos[strings.ToUpper(u.AuthProto)]
	if !ok || u.AuthPass == "" {
		return nil, fmt.Errorf("snmpv3 user %q: auth protocol %q with a passphrase is required", u.Name, u.AuthProto)
	}
	priv, ok := privProtos[strings.ToUpper(u.PrivProto)]
	if !ok || (priv != gosnmp.NoPriv && u.PrivPass == "") {
		return nil, fmt.Errorf("snmpv3 user %q: privacy protocol %q with a passphrase is required", u.Name, u.PrivProto)
	}
	return &gosnmp.UsmSecurityParameters{UserName: u.Name, AuthoritativeEngineID: string(engineID),
		AuthenticationProtocol: auth, AuthenticationPassphrase: u.AuthPass, PrivacyProtocol: priv, PrivacyPassphrase: u.PrivPass}, nil
}

// engineClock is what a receiver knows of one sending engine's clock.
type engineClock struct {
	boots, time int64
	seen        time.Time
}

// clocks remembers sending engines' clocks, per credential and engine ID,
// for RFC 3414's timeliness check.
type clocks struct {
	mu  sync.Mutex
	m   map[string]engineClock
	now func() time.Time
}

// check reports whether a message stamped boots/t from engine key lies in
// the time window, and learns the engine's clock from an authentic one
// (RFC 3414 3.2.7 b, as a non-authoritative receiver).
func (c *clocks) check(key string, boots, t int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if boots >= maxBoots {
		return false
	}
	cl, known := c.m[key]
	if known {
		est := cl.time + int64(now.Sub(cl.seen)/time.Second)
		if boots < cl.boots || (boots == cl.boots && t < est-timeWindow) {
			return false
		}
	}
	if !known || boots > cl.boots || (boots == cl.boots && t > cl.time) {
		if !known && len(c.m) >= maxEngines {
			for k := range c.m { // forget one engine at random
				delete(c.m, k)
				break
			}
		}
		c.m[key] = engineClock{boots: boots, time: t, seen: now}
	}
	return true
}

// parseV3 authenticates, decrypts and decodes an SNMPv3 trap for which
// the sender is the authoritative engine (no local engine: informs are
// refused).
func parseV3(ctx context.Context, from netip.Addr, b []byte, users Users, cl *clocks) (*Trap, error) {
	r := &v3Receiver{users: users, clocks: cl, now: cl.now}
	t, _, err := r.receive(ctx, from, b)
	return t, err
}

// unmarshalV3 runs gosnmp's v3 decoder with the user's parameters; a
// decoder panic on hostile input is an error.
func unmarshalV3(b []byte, sp *gosnmp.UsmSecurityParameters) (p *gosnmp.SnmpPacket, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, errors.New("snmpv3 trap: malformed packet")
		}
	}()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, SecurityParameters: sp,
		MsgFlags: gosnmp.AuthNoPriv}
	if sp.PrivacyProtocol != gosnmp.NoPriv {
		dec.MsgFlags = gosnmp.AuthPriv
	}
	p, err = dec.UnmarshalTrap(append([]byte(nil), b...), true)
	if err == nil && p == nil {
		err = errors.New("snmpv3 trap: malformed packet")
	}
	return p, err
}
