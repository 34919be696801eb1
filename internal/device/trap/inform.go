package trap

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// SNMPv3 informs (RFC 3416 InformRequest over RFC 3412/3414). The receiver
// of an inform is its authoritative engine: a sender first discovers the
// receiver's engine ID (a reportable message with an empty engine ID is
// answered with a Report of usmStatsUnknownEngineIDs carrying the ID,
// boots and time), localises the user's keys with that ID, and sends the
// inform stamped with the receiver's boots and time; a message outside
// the time window is answered with an authenticated Report of
// usmStatsNotInTimeWindows so the sender can resynchronise. An accepted
// inform is acknowledged with a Response PDU under the same user and
// security level. Refusals of reportable messages are reported with the
// matching usmStats counter (RFC 3414 3.2), and counted in Stats.

// usmStats objects reported back (RFC 3414 usmStats, instance 0).
const (
	oidUnsupportedSecLevels = "1.3.6.1.6.3.15.1.1.1.0"
	oidNotInTimeWindows     = "1.3.6.1.6.3.15.1.1.2.0"
	oidUnknownUserNames     = "1.3.6.1.6.3.15.1.1.3.0"
	oidUnknownEngineIDs     = "1.3.6.1.6.3.15.1.1.4.0"
	oidWrongDigests         = "1.3.6.1.6.3.15.1.1.5.0"
	oidDecryptionErrors     = "1.3.6.1.6.3.15.1.1.6.0"
)

// digestLen is the length of msgAuthenticationParameters per protocol
// (HMAC-MD5-96 and HMAC-SHA-96 of RFC 3414, HMAC-SHA-2 of RFC 7860).
var digestLen = map[gosnmp.SnmpV3AuthProtocol]int{gosnmp.MD5: 12, gosnmp.SHA: 12, gosnmp.SHA224: 16,
	gosnmp.SHA256: 24, gosnmp.SHA384: 32, gosnmp.SHA512: 48}

// v3Receiver authenticates and decodes SNMPv3 notifications: traps, whose
// sender is authoritative, and, with a local engine, informs.
type v3Receiver struct {
	users  Users
	clocks *clocks
	engine *Engine // nil: informs are refused
	now    func() time.Time
	stats  *Stats
}

// v3Ack is what acknowledging an accepted SNMPv3 inform needs.
type v3Ack struct {
	engine *Engine
	now    func() time.Time
	user   User
	flags  byte
	msgID  int64
}

// receive authenticates, decrypts and decodes one SNMPv3 message. On a
// refusal it may return a report to send back to the sender.
func (r *v3Receiver) receive(ctx context.Context, from netip.Addr, b []byte) (*Trap, []byte, error) {
	h, err := ParseV3Header(b)
	if err != nil {
		return nil, nil, err
	}
	if r.engine != nil && (len(h.EngineID) == 0 || bytes.Equal(h.EngineID, r.engine.ID)) {
		return r.authoritative(ctx, from, b, h)
	}
	who, p, err := r.authenticate(ctx, from, b, h, h.EngineID)
	if err != nil {
		return nil, nil, err
	}
	if !r.clocks.check(who.ID+"\x00"+string(h.EngineID), h.Boots, h.Time) {
		return nil, nil, ErrNotInTimeWindow
	}
	switch p.PDUType {
	case gosnmp.SNMPv2Trap:
	case gosnmp.InformRequest:
		if r.engine == nil {
			return nil, nil, ErrV3Inform
		}
		// An inform must be localised with this receiver's engine ID.
		return nil, r.report(h, p.RequestID, oidUnknownEngineIDs, r.stats.next(oidUnknownEngineIDs), nil), ErrUnknownEngineID
	default:
		return nil, nil, ErrUnsupported
	}
	t, err := notification(p)
	if err != nil {
		return nil, nil, err
	}
	t.Version, t.User, t.UserID, t.EngineID = "3", clip(h.User), who.ID, hex.EncodeToString(h.EngineID)
	return t, nil, nil
}

// authoritative handles a message for the local engine: discovery, or an
// inform.
func (r *v3Receiver) authoritative(ctx context.Context, from netip.Addr, b []byte, h V3Header) (*Trap, []byte, error) {
	if len(h.EngineID) == 0 {
		// Discovery (RFC 3414 section 4): tell the engine ID and clock.
		var reqID uint32
		if h.Flags&flagAuth == 0 {
			reqID = plainRequestID(b)
		}
		return nil, r.report(h, reqID, oidUnknownEngineIDs, r.stats.next(oidUnknownEngineIDs), nil), ErrUnknownEngineID
	}
	who, p, err := r.authenticate(ctx, from, b, h, r.engine.ID)
	if err != nil {
		oid := refusalOID(err)
		if oid == "" {
			return nil, nil, err
		}
		return nil, r.report(h, 0, oid, r.stats.next(oid), nil), err
	}
	// RFC 3414 3.2.7 a: the authoritative engine's own clock decides.
	boots, now := r.engine.clock(r.now())
	if boots >= maxBoots || h.Boots != boots || h.Time < now-timeWindow || h.Time > now+timeWindow {
		return nil, r.report(h, p.RequestID, oidNotInTimeWindows, r.stats.next(oidNotInTimeWindows), &who), ErrNotInTimeWindow
	}
	if p.PDUType != gosnmp.InformRequest {
		return nil, nil, ErrUnsupported
	}
	t, err := notification(p)
	if err != nil {
		return nil, nil, err
	}
	t.Version, t.User, t.UserID, t.EngineID, t.Inform = "3", clip(h.User), who.ID, hex.EncodeToString(h.EngineID), true
	t.v3 = &v3Ack{engine: r.engine, now: r.now, user: who, flags: h.Flags, msgID: h.MsgID}
	return t, nil, nil
}

// refusalOID names the usmStats counter a refusal of an authoritative
// message is reported with.
func refusalOID(err error) string {
	switch {
	case errors.Is(err, ErrUnknownUser):
		return oidUnknownUserNames
	case errors.Is(err, ErrWrongDigest):
		return oidWrongDigests
	case errors.Is(err, ErrDecryption):
		return oidDecryptionErrors
	case errors.Is(err, ErrSecurityLevel):
		return oidUnsupportedSecLevels
	}
	return ""
}

// next is the value the usmStats counter oid reports: the count with
// this refusal (counted as the report is sent).
func (s *Stats) next(oid string) uint32 {
	if s == nil {
		return 1
	}
	var c *atomic.Uint64
	switch oid {
	case oidUnknownUserNames:
		c = &s.unknownUser
	case oidWrongDigests:
		c = &s.wrongDigest
	case oidDecryptionErrors:
		c = &s.decryption
	case oidUnsupportedSecLevels:
		c = &s.lowSecurityLevel
	case oidNotInTimeWindows:
		c = &s.notInTime
	case oidUnknownEngineIDs:
		c = &s.unknownEngineID
	default:
		return 1
	}
	return uint32(c.Load() + 1) // #nosec G115 -- Counter32 wraps
}

// authenticate finds the user whose keys, localised with engineID,
// authenticate the message, and decrypts and decodes it. The digest is
// checked here, so a wrong key is a wrong digest and a failure after an
// authentic digest is the privacy layer's (or the payload's).
func (r *v3Receiver) authenticate(ctx context.Context, from netip.Addr, b []byte, h V3Header, engineID []byte) (User, *gosnmp.SnmpPacket, error) {
	if h.Flags&flagAuth == 0 {
		return User{}, nil, ErrSecurityLevel
	}
	var cands []User
	if r.users != nil {
		cands = r.users(ctx, from, h.User)
	}
	if len(cands) == 0 {
		return User{}, nil, ErrUnknownUser
	}
	refusal := ErrSecurityLevel
	for _, u := range cands {
		if u.Name != h.User {
			continue
		}
		if privProtos[strings.ToUpper(u.PrivProto)] != gosnmp.NoPriv && h.Flags&flagPriv == 0 {
			continue // the user encrypts: a clear-text message is refused
		}
		sp, err := u.params(engineID)
		if err != nil {
			continue
		}
		if err := sp.InitSecurityKeys(); err != nil {
			continue
		}
		if !digestOK(b, h, sp.AuthenticationProtocol, sp.SecretKey) {
			if !errors.Is(refusal, ErrDecryption) {
				refusal = ErrWrongDigest
			}
			continue
		}
		p, err := unmarshalV3(b, sp)
		if err == nil {
			return u, p, nil
		}
		if h.Flags&flagPriv != 0 {
			refusal = fmt.Errorf("%w: %w", ErrDecryption, err)
		} else {
			refusal = fmt.Errorf("snmpv3 trap: malformed: %w", err)
		}
	}
	return User{}, nil, refusal
}

// digestOK checks msgAuthenticationParameters: the HMAC with the
// localised key over the whole message with the parameters zeroed
// (RFC 3414 6.3.2, 7.3.2; RFC 7860 4.2.2).
func digestOK(b []byte, h V3Header, proto gosnmp.SnmpV3AuthProtocol, key []byte) bool {
	n := digestLen[proto]
	if n == 0 || len(key) == 0 || len(h.auth) != n || h.authOff < 0 || h.authOff+n > len(b) {
		return false
	}
	msg := append([]byte(nil), b...)
	clear(msg[h.authOff : h.authOff+n])
	m := hmac.New(proto.HashType().New, key)
	m.Write(msg)
	return hmac.Equal(m.Sum(nil)[:n], h.auth)
}

// plainRequestID reads the request-id of a clear-text v3 message (0 when
// it cannot be read).
func plainRequestID(b []byte) (id uint32) {
	defer func() {
		if recover() != nil {
			id = 0
		}
	}()
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}, MsgFlags: gosnmp.NoAuthNoPriv}
	p, err := dec.UnmarshalTrap(append([]byte(nil), b...), true)
	if err != nil || p == nil {
		return 0
	}
	return p.RequestID
}

// report encodes a Report PDU of the local engine with one usmStats
// counter, authenticated by who's keys when given (for a time window
// refusal, RFC 3414 3.2.7 a), else without authentication. It is nil when
// the sender did not ask for reports.
func (r *v3Receiver) report(h V3Header, reqID uint32, oid string, n uint32, who *User) []byte {
	if r.engine == nil || h.Flags&flagReportable == 0 {
		return nil
	}
	boots, now := r.engine.clock(r.now())
	sp := &gosnmp.UsmSecurityParameters{UserName: h.User}
	flags := gosnmp.NoAuthNoPriv
	if who != nil {
		var err error
		if sp, err = who.params(r.engine.ID); err != nil {
			return nil
		}
		flags = gosnmp.AuthNoPriv
	}
	sp.AuthoritativeEngineID = string(r.engine.ID)
	sp.AuthoritativeEngineBoots, sp.AuthoritativeEngineTime = uint32(boots), uint32(now) // #nosec G115 -- both below maxBoots
	if err := sp.InitSecurityKeys(); err != nil {
		return nil
	}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: flags, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: sp, MsgID: uint32(h.MsgID), MsgMaxSize: MaxPacket, ContextEngineID: string(r.engine.ID), // #nosec G115 -- a non-negative 32-bit msgID
		PDUType: gosnmp.Report, RequestID: reqID,
		Variables: []gosnmp.SnmpPDU{{Name: "." + oid, Type: gosnmp.Counter32, Value: n}}}
	out, err := marshal(p)
	if err != nil {
		return nil
	}
	return out
}

// response acknowledges an inform under the user and security level it
// came with.
func (a *v3Ack) response(req *gosnmp.SnmpPacket) ([]byte, error) {
	sp, err := a.user.params(a.engine.ID)
	if err != nil {
		return nil, err
	}
	boots, now := a.engine.clock(a.now())
	sp.AuthoritativeEngineBoots, sp.AuthoritativeEngineTime = uint32(boots), uint32(now) // #nosec G115 -- both below maxBoots
	if err := sp.InitSecurityKeys(); err != nil {
		return nil, err
	}
	flags := gosnmp.AuthNoPriv
	if a.flags&flagPriv != 0 {
		flags = gosnmp.AuthPriv
		salt := make([]byte, 8)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		sp.PrivacyParameters = salt
	}
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: flags, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: sp, MsgID: uint32(a.msgID), MsgMaxSize: MaxPacket, ContextEngineID: req.ContextEngineID, // #nosec G115 -- a non-negative 32-bit msgID
		ContextName: req.ContextName, PDUType: gosnmp.GetResponse, RequestID: req.RequestID, Variables: req.Variables}
	return marshal(p)
}

// marshal encodes a packet; an encoder panic is an error.
func marshal(p *gosnmp.SnmpPacket) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, errors.New("snmp: the reply cannot be encoded")
		}
	}()
	return p.MarshalMsg()
}
