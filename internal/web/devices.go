package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/backup"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/device/trap"
	"github.com/vigil-sec/vigil/internal/store"
)

// devicePageSize is the number of devices per inventory page.
const devicePageSize = 50

// deviceHealthShown is the number of recent samples on a device page.
const deviceHealthShown = 96

// deviceBase is the device O&M area of a tenant: its inventory.
func deviceBase(t *store.Tenant) string { return "/t/" + t.Slug + "/operations/device-om" }

// registerDevices adds the device O&M pages.
func (s *server) registerDevices(t string) {
	if s.opts.Devices == nil {
		return
	}
	get, post := http.MethodGet, http.MethodPost
	base := t + "/operations/device-om"
	s.handle(get, base, inTenant(auth.PermAssetRead), s.deviceList)
	s.handle(get, base+"/new", inTenant(auth.PermAssetWrite), s.deviceNew)
	s.handle(post, base, inTenant(auth.PermAssetWrite), s.deviceCreate)
	s.handle(get, base+"/{device}", inTenant(auth.PermAssetRead), s.deviceView)
	s.handle(get, base+"/{device}/edit", inTenant(auth.PermAssetWrite), s.deviceEdit)
	s.handle(post, base+"/{device}", inTenant(auth.PermAssetWrite), s.deviceUpdate)
	s.handle(post, base+"/{device}/poll", inTenant(auth.PermAssetWrite), s.devicePoll)
	s.handle(post, base+"/{device}/backup", inTenant(auth.PermAssetWrite), s.deviceBackupNow)
	s.handle(post, base+"/{device}/hostkey/reset", inTenant(auth.PermSecretWrite), s.deviceHostKeyReset)
	s.handle(post, base+"/{device}/records", inTenant(auth.PermAssetWrite), s.deviceRecordAdd)
	s.handle(get, base+"/{device}/backups/{backup}", inTenant(auth.PermAssetRead), s.deviceBackupView)
	s.handle(get, base+"/{device}/backups/{backup}/raw", inTenant(auth.PermSecretWrite), s.deviceBackupRaw)
	s.handle(get, base+"/{device}/history.{format}", inTenant(auth.PermAssetRead), s.deviceHistory)
}

// deviceMessageIDs are the messages the device pages build from data.
func deviceMessageIDs() []string {
	ids := []string{"devom.error.port", "devom.error.date", "report_kind.device-om"}
	add := func(prefix string, keys []string) {
		for _, k := range keys {
			ids = append(ids, prefix+"."+k)
		}
	}
	add("devom.roles", om.Roles())
	add("devom.kinds", om.RecordKinds())
	add("devom.states", []string{om.StateUnknown, om.StateOK, om.StateWarning, om.StateCritical, om.StateUnreachable})
	add("devom.expiry_kind", []string{"support", "licence", "signature"})
	add("devom.event_kinds", []string{om.EventTrap, om.EventConfigChange})
	return ids
}

type devicesPage struct {
	Base
	URL      string
	Devices  []om.Status
	Pager    pager
	CanWrite bool
	// Month is the first day of last month, for the report form.
	From, To string
}

// deviceList is the inventory: health state, backups, expiries.
func (s *server) deviceList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	pg := pageParam(r.URL.Query())
	list, total, err := s.opts.Devices.Inventory(ctx, t.ID, store.Page{Limit: devicePageSize, Offset: (pg - 1) * devicePageSize})
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	v := &devicesPage{URL: deviceBase(t), Devices: list, CanWrite: auth.FromContext(ctx).Can(auth.PermAssetWrite, t.ID),
		From: first.AddDate(0, -1, 0).Format(time.DateOnly), To: first.AddDate(0, 0, -1).Format(time.DateOnly)}
	v.Pager = newPager(total, pg, devicePageSize, func(n int) string { return v.URL + "?page=" + strconv.Itoa(n) })
	s.render(w, r, http.StatusOK, "devices_om", v)
	return nil
}

// deviceFields is the device form as typed.
type deviceFields struct {
	Name, AssetID, Vendor, Model, Firmware, Role, MgmtAddress   string
	SSHPort, SNMPPort, SNMPVersion, SNMPUser, SSHUser, Profile  string
	SupportExpires, LicenceExpires, SignatureExpires, ContactID string
	HasSSHPassword, HasSNMPCommunity                            bool
	// SNMPv3 protocols and the HTTPS-API backup settings.
	SNMPAuthProto, SNMPPrivProto, BackupMethod, APIPort, APIFingerprint string
	HasSNMPPrivPass, HasAPIToken                                        bool
}

type deviceFormPage struct {
	Base
	formState
	Action   string
	Cancel   string
	Editing  bool
	Form     deviceFields
	Roles    []string
	Profiles []string
	Assets   []store.Asset // device assets without a device yet
	Contacts []store.Contact
	// Choices of the SNMPv3 and backup-method fields.
	Methods, AuthProtos, PrivProtos []string
}

func fieldsOf(d store.Device) deviceFields {
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	return deviceFields{Name: d.Name, AssetID: d.AssetID, Vendor: d.Vendor, Model: d.Model, Firmware: d.Firmware, Role: d.Role,
		MgmtAddress: d.MgmtAddress, SSHPort: itoa(d.SSHPort), SNMPPort: itoa(d.SNMPPort), SNMPVersion: d.SNMPVersion,
		SNMPUser: d.SNMPUser, SSHUser: d.SSHUser, Profile: d.Profile, SupportExpires: formatDay(d.SupportExpires),
		LicenceExpires: formatDay(d.LicenceExpires), SignatureExpires: formatDay(d.SignatureExpires), ContactID: d.ContactID,
		HasSSHPassword: d.SSHSecretID != "", HasSNMPCommunity: d.SNMPSecretID != "",
		SNMPAuthProto: d.SNMPAuthProto, SNMPPrivProto: d.SNMPPrivProto, BackupMethod: d.BackupMethod, APIPort: itoa(d.APIPort),
		APIFingerprint: d.APIFingerprint, HasSNMPPrivPass: d.SNMPPrivSecretID != "", HasAPIToken: d.APISecretID != ""}
}

func (s *server) deviceForm(r *http.Request, f deviceFields, editing bool) (*deviceFormPage, error) {
	ctx := r.Context()
	t := state(r).tenant
	v := &deviceFormPage{Action: deviceBase(t), Cancel: deviceBase(t), Editing: editing, Form: f, Roles: om.Roles(),
		Profiles: s.opts.Devices.Profiles(), Methods: backup.Methods(), AuthProtos: trap.AuthProtocols(), PrivProtos: trap.PrivProtocols()}
	if editing {
		v.Action = deviceBase(t) + "/" + f.AssetID
		v.Cancel = v.Action
	} else {
		assets, _, err := s.opts.Assets.List(ctx, t.ID, store.AssetFilter{Kind: "device", Page: store.Page{Limit: store.MaxPageSize}})
		if err != nil {
			return nil, err
		}
		for _, a := range assets {
			if _, err := s.opts.Devices.Get(ctx, t.ID, a.ID); errors.Is(err, store.ErrNotFound) {
				v.Assets = append(v.Assets, a)
			}
		}
	}
	if auth.FromContext(ctx).Can(auth.PermContactRead, t.ID) {
		cs, err := s.opts.Tenants.ListContacts(ctx, t.ID, store.ContactFilter{})
		if err != nil {
			return nil, err
		}
		// Vendor support contacts first.
		slices.SortStableFunc(cs, func(a, b store.Contact) int {
			return boolRank(a.Kind != "vendor-support") - boolRank(b.Kind != "vendor-support")
		})
		v.Contacts = cs
	}
	return v, nil
}

func (s *server) deviceNew(w http.ResponseWriter, r *http.Request) error {
	v, err := s.deviceForm(r, deviceFields{Role: "firewall", SNMPVersion: "2c"}, false)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "device_om_form", v)
	return nil
}

func (s *server) deviceEdit(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	d, err := s.opts.Devices.Get(r.Context(), t.ID, chi.URLParam(r, "device"))
	if err != nil {
		return err
	}
	v, err := s.deviceForm(r, fieldsOf(d), true)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "device_om_form", v)
	return nil
}

var deviceFormFields = []formField{{"name", "name"}, {"asset", "asset"}, {"vendor", "vendor"}, {"model", "model"},
	{"firmware", "firmware"}, {"role", "role"}, {"mgmt_address", "mgmt_address"}, {"ssh_port", "ssh_port"},
	{"snmp_port", "snmp_port"}, {"snmp_version", "snmp_version"}, {"snmp_user", "snmp_user"}, {"ssh_user", "ssh_user"},
	{"profile", "profile"}, {"ssh_password", "ssh_password"}, {"snmp_community", "snmp_community"},
	{"contact", "contact"}, {"address", "mgmt_address"}, {"support_expires", "support_expires"},
	{"licence_expires", "licence_expires"}, {"signature_expires", "signature_expires"},
	{"snmp_auth_proto", "snmp_auth_proto"}, {"snmp_priv_proto", "snmp_priv_proto"}, {"snmp_priv_pass", "snmp_priv_pass"},
	{"backup_method", "backup_method"}, {"api_port", "api_port"}, {"api_token", "api_token"}, {"api_fingerprint", "api_fingerprint"}}

func (s *server) deviceCreate(w http.ResponseWriter, r *http.Request) error {
	return s.deviceSave(w, r, "")
}

func (s *server) deviceUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.deviceSave(w, r, chi.URLParam(r, "device"))
}

// deviceSave creates (assetID "") or updates a device from the form.
func (s *server) deviceSave(w http.ResponseWriter, r *http.Request, assetID string) error {
	ctx := r.Context()
	t := state(r).tenant
	pf := r.PostFormValue
	f := deviceFields{Name: pf("name"), AssetID: pf("asset"), Vendor: pf("vendor"), Model: pf("model"), Firmware: pf("firmware"),
		Role: pf("role"), MgmtAddress: pf("mgmt_address"), SSHPort: pf("ssh_port"), SNMPPort: pf("snmp_port"),
		SNMPVersion: pf("snmp_version"), SNMPUser: pf("snmp_user"), SSHUser: pf("ssh_user"), Profile: pf("profile"),
		SupportExpires: pf("support_expires"), LicenceExpires: pf("licence_expires"), SignatureExpires: pf("signature_expires"),
		ContactID: pf("contact"), SNMPAuthProto: pf("snmp_auth_proto"), SNMPPrivProto: pf("snmp_priv_proto"),
		BackupMethod: pf("backup_method"), APIPort: pf("api_port"), APIFingerprint: pf("api_fingerprint")}
	editing := assetID != ""
	if editing {
		d, err := s.opts.Devices.Get(ctx, t.ID, assetID)
		if err != nil {
			return err
		}
		f.AssetID, f.Name = assetID, d.Name
		f.HasSSHPassword, f.HasSNMPCommunity = d.SSHSecretID != "", d.SNMPSecretID != ""
		f.HasSNMPPrivPass, f.HasAPIToken = d.SNMPPrivSecretID != "", d.APISecretID != ""
	}
	v, err := s.deviceForm(r, f, editing)
	if err != nil {
		return err
	}
	tag := state(r).locale
	in := om.Input{AssetID: f.AssetID, Name: f.Name, Vendor: f.Vendor, Model: f.Model, Firmware: f.Firmware, Role: f.Role,
		MgmtAddress: f.MgmtAddress, SNMPVersion: f.SNMPVersion, SNMPUser: f.SNMPUser, SSHUser: f.SSHUser, Profile: f.Profile,
		SSHPassword: pf("ssh_password"), SNMPCommunity: pf("snmp_community"), ContactID: f.ContactID,
		SNMPAuthProto: f.SNMPAuthProto, SNMPPrivProto: f.SNMPPrivProto, SNMPPrivPass: pf("snmp_priv_pass"), BackupMethod: f.BackupMethod,
		APIToken: pf("api_token"), APIFingerprint: f.APIFingerprint}
	for _, p := range []struct {
		name, v string
		dst     *int
	}{{"ssh_port", f.SSHPort, &in.SSHPort}, {"snmp_port", f.SNMPPort, &in.SNMPPort}, {"api_port", f.APIPort, &in.APIPort}} {
		n, ok := atoi(p.v)
		if !ok {
			v.fieldError(p.name, s.msgs.T(tag, "devom.error.port"))
		}
		*p.dst = n
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Time
	}{{"support_expires", f.SupportExpires, &in.SupportExpires}, {"licence_expires", f.LicenceExpires, &in.LicenceExpires},
		{"signature_expires", f.SignatureExpires, &in.SignatureExpires}} {
		if strings.TrimSpace(d.v) == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, strings.TrimSpace(d.v))
		if err != nil {
			v.fieldError(d.name, s.msgs.T(tag, "devom.error.date"))
			continue
		}
		*d.dst = day
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		d, err := s.opts.Devices.Save(ctx, t.ID, in)
		if err == nil {
			ok := "created"
			if editing {
				ok = "saved"
			}
			redirect(w, r, deviceBase(t)+"/"+d.AssetID+"?ok="+ok)
			return nil
		}
		var shown bool
		if status, shown = s.formError(r, err, &v.formState, deviceFormFields); !shown {
			return err
		}
	}
	s.render(w, r, status, "device_om_form", v)
	return nil
}

// chartWidth and chartHeight are the health chart's drawing size.
const (
	chartWidth  = 600
	chartHeight = 120
)

// healthChart is the CPU and memory history as SVG polyline points.
type healthChart struct {
	CPU, Memory string
	From, To    time.Time
	Points      int
}

func newHealthChart(newestFirst []store.HealthSample) *healthChart {
	var xs []store.HealthSample
	for i := len(newestFirst) - 1; i >= 0; i-- {
		if newestFirst[i].Reachable {
			xs = append(xs, newestFirst[i])
		}
	}
	if len(xs) < 2 {
		return nil
	}
	c := &healthChart{From: xs[0].At, To: xs[len(xs)-1].At, Points: len(xs)}
	var cpu, mem []string
	for i, h := range xs {
		x := strconv.FormatFloat(float64(i)*chartWidth/float64(len(xs)-1), 'f', 1, 64)
		y := func(v float64) string {
			return strconv.FormatFloat(chartHeight-min(max(v, 0), 100)*chartHeight/100, 'f', 1, 64)
		}
		if h.HasCPU {
			cpu = append(cpu, x+","+y(h.CPU))
		}
		if h.HasMemory {
			mem = append(mem, x+","+y(h.Memory))
		}
	}
	c.CPU, c.Memory = strings.Join(cpu, " "), strings.Join(mem, " ")
	return c
}

// recordFields is the O&M record form as typed.
type recordFields struct {
	Kind, At, Summary, Resolution, WorkRef string
}

type devicePage struct {
	Base
	formState
	URL         string
	ListURL     string
	D           om.Status
	Contact     *store.Contact
	Health      []store.HealthSample
	Chart       *healthChart
	Backups     []store.ConfigBackup
	Events      []store.DeviceEvent
	Records     []store.DeviceRecord
	RecordKinds []string
	Record      recordFields
	CanWrite    bool
	CanSecret   bool
}

func (s *server) devicePageView(r *http.Request, rec recordFields) (*devicePage, error) {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "device")
	st, err := s.opts.Devices.Status(ctx, t.ID, id)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	v := &devicePage{URL: deviceBase(t) + "/" + id, ListURL: deviceBase(t), D: st, RecordKinds: om.RecordKinds(), Record: rec,
		CanWrite: p.Can(auth.PermAssetWrite, t.ID), CanSecret: p.Can(auth.PermSecretWrite, t.ID)}
	if st.ContactID != "" && p.Can(auth.PermContactRead, t.ID) {
		if cs, err := s.opts.Tenants.ListContacts(ctx, t.ID, store.ContactFilter{}); err == nil {
			for i := range cs {
				if cs[i].ID == st.ContactID {
					v.Contact = &cs[i]
				}
			}
		}
	}
	if v.Health, err = s.opts.Devices.Health(ctx, t.ID, id, time.Time{}, deviceHealthShown); err != nil {
		return nil, err
	}
	v.Chart = newHealthChart(v.Health)
	if v.Events, err = s.opts.Devices.Events(ctx, t.ID, store.DeviceEventFilter{AssetID: id, Page: store.Page{Limit: 50}}); err != nil {
		return nil, err
	}
	if v.Backups, err = s.opts.Devices.Backups(ctx, t.ID, id, store.Page{Limit: 50}); err != nil {
		return nil, err
	}
	if v.Records, err = s.opts.Devices.Records(ctx, t.ID, id, store.Page{Limit: 200}); err != nil {
		return nil, err
	}
	return v, nil
}

// deviceView is one device: details, health, backups and its record sheet.
func (s *server) deviceView(w http.ResponseWriter, r *http.Request) error {
	v, err := s.devicePageView(r, recordFields{Kind: "inspection"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "device_om", v)
	return nil
}

func (s *server) devicePoll(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "device")
	if _, err := s.opts.Devices.PollNow(r.Context(), t.ID, id); err != nil {
		return err
	}
	redirect(w, r, deviceBase(t)+"/"+id+"?ok=saved#health")
	return nil
}

// deviceBackupNow backs the configuration up; a device that fails is
// shown its reason on its page.
func (s *server) deviceBackupNow(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "device")
	if _, err := s.opts.Devices.BackupNow(r.Context(), t.ID, id); err != nil {
		if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) || errors.Is(err, auth.ErrForbidden) {
			return err
		}
		s.log.Info("device backup failed", "tenant", t.ID, "device", id, "err", err)
	}
	redirect(w, r, deviceBase(t)+"/"+id+"#backups")
	return nil
}

func (s *server) deviceHostKeyReset(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "device")
	if _, err := s.opts.Devices.Get(r.Context(), t.ID, id); err != nil {
		return err
	}
	if err := s.opts.Devices.ResetHostKey(r.Context(), t.ID, id); err != nil {
		return err
	}
	redirect(w, r, deviceBase(t)+"/"+id+"?ok=saved")
	return nil
}

var recordFormFields = []formField{{"kind", "kind"}, {"at", "at"}, {"summary", "summary"}, {"resolution", "resolution"},
	{"work_ref", "work_ref"}}

// deviceRecordAdd adds an entry to the O&M record sheet.
func (s *server) deviceRecordAdd(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	id := chi.URLParam(r, "device")
	f := recordFields{Kind: r.PostFormValue("kind"), At: r.PostFormValue("at"), Summary: r.PostFormValue("summary"),
		Resolution: r.PostFormValue("resolution"), WorkRef: r.PostFormValue("work_ref")}
	v, err := s.devicePageView(r, f)
	if err != nil {
		return err
	}
	in := om.RecordInput{Kind: f.Kind, Summary: f.Summary, Resolution: f.Resolution, WorkRef: f.WorkRef}
	if at := strings.TrimSpace(f.At); at != "" {
		day, err := time.Parse(time.DateOnly, at)
		if err != nil {
			v.fieldError("at", s.msgs.T(state(r).locale, "devom.error.date"))
		}
		in.At = day
	}
	status := http.StatusUnprocessableEntity
	if !v.Invalid() {
		_, err := s.opts.Devices.AddRecord(r.Context(), t.ID, id, in)
		if err == nil {
			redirect(w, r, deviceBase(t)+"/"+id+"?ok=created#records")
			return nil
		}
		var shown bool
		if status, shown = s.formError(r, err, &v.formState, recordFormFields); !shown {
			return err
		}
	}
	s.render(w, r, status, "device_om", v)
	return nil
}

type deviceBackupPage struct {
	Base
	DeviceURL string
	ListURL   string
	D         store.Device
	B         store.ConfigBackup
	Diff      []om.DiffLine
	Lines     int
}

// deviceBackupView is one configuration version, masked, with its diff.
func (s *server) deviceBackupView(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := state(r).tenant
	id := chi.URLParam(r, "device")
	d, err := s.opts.Devices.Get(ctx, t.ID, id)
	if err != nil {
		return err
	}
	b, err := s.opts.Devices.Backup(ctx, t.ID, id, chi.URLParam(r, "backup"))
	if err != nil {
		return err
	}
	v := &deviceBackupPage{DeviceURL: deviceBase(t) + "/" + id, ListURL: deviceBase(t), D: d, B: b, Diff: om.ParseDiff(b.Diff),
		Lines: strings.Count(b.Content, "\n")}
	s.render(w, r, http.StatusOK, "device_om_backup", v)
	return nil
}

// deviceBackupRaw downloads a configuration version as fetched, secrets
// included, for a restore (secret.write; audited by the service).
func (s *server) deviceBackupRaw(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	b, raw, err := s.opts.Devices.RawConfig(r.Context(), t.ID, chi.URLParam(r, "device"), chi.URLParam(r, "backup"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="config-%s-%s.txt"`, b.AssetID, b.TakenAt.UTC().Format("20060102T150405Z")))
	_, err = w.Write(raw) // #nosec G705 -- application/octet-stream as an attachment with nosniff: never rendered as a page
	return err
}

// deviceHistory exports a device's configuration history as CSV or ZIP
// (secrets masked).
func (s *server) deviceHistory(w http.ResponseWriter, r *http.Request) error {
	t := state(r).tenant
	format := chi.URLParam(r, "format")
	if format != "csv" && format != "zip" {
		return fmt.Errorf("history format %q: %w", format, store.ErrNotFound)
	}
	d, versions, err := s.opts.Devices.History(r.Context(), t.ID, chi.URLParam(r, "device"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	ctype := "application/zip"
	if format == "csv" {
		ctype = "text/csv; charset=utf-8"
		err = om.WriteHistoryCSV(&buf, versions)
	} else {
		err = om.WriteHistoryZIP(&buf, d, versions)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="config-history-%s.%s"`, d.AssetID, format))
	_, _ = w.Write(buf.Bytes())
	return nil
}
