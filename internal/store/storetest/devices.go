package storetest

import (
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDevices checks security devices: a device belongs to an asset of its
// tenant, replacing it keeps what polls and backups wrote, health samples
// come back newest first and are pruned by age, backups keep their content
// and diff out of lists, records filter by device and period, and nothing
// of one tenant is reachable from another.
func testDevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Devices()
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	fw := mkAsset(t, s, a.ID, "fw-01")
	ips := mkAsset(t, s, a.ID, "ips-01")
	other := mkAsset(t, s, b.ID, "fw-b")

	exp := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	d := store.Device{TenantID: a.ID, AssetID: fw.ID, Vendor: "Fortinet", Model: "FG-100F", Firmware: "7.2.8", Role: "firewall",
		MgmtAddress: "192.0.2.1", SSHPort: 22, SNMPPort: 161, SNMPVersion: "2c", SSHUser: "backup", SNMPSecretID: "sec-1",
		SSHSecretID: "sec-2", Profile: "fortios", SupportExpires: exp, ContactID: "c1"}
	ok(t, ds.PutDevice(ctx, &d))
	stamped(t, "created", d.CreatedAt)
	if d.Name != "fw-01" || d.HealthState != "unknown" {
		t.Fatalf("put device: name %q state %q", d.Name, d.HealthState)
	}
	got, err := ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	same(t, "device", d, got)

	// The asset must be the tenant's.
	foreign := store.Device{TenantID: a.ID, AssetID: other.ID, Vendor: "x"}
	isErr(t, ds.PutDevice(ctx, &foreign), store.ErrNotFound)
	missing := store.Device{TenantID: a.ID, AssetID: "nope"}
	isErr(t, ds.PutDevice(ctx, &missing), store.ErrNotFound)
	_, err = ds.GetDevice(ctx, b.ID, fw.ID)
	isErr(t, err, store.ErrNotFound)

	// Health: the device's state follows the sample.
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i, cpu := range []float64{10, 20, 96} {
		state := "ok"
		var problems []string
		if cpu > 90 {
			state, problems = "critical", []string{"CPU 96.0% is above 85.0%"}
		}
		h := store.HealthSample{TenantID: a.ID, AssetID: fw.ID, At: t0.Add(time.Duration(i) * time.Hour), Reachable: true,
			UpTime: 90 * time.Minute, CPU: cpu, HasCPU: true, Sessions: 1200, HasSessions: true, IfUp: 4, IfDown: 1,
			State: state, Problems: problems}
		ok(t, ds.AddHealth(ctx, &h))
	}
	foreignH := store.HealthSample{TenantID: b.ID, AssetID: fw.ID, At: t0, State: "ok"}
	isErr(t, ds.AddHealth(ctx, &foreignH), store.ErrNotFound)
	hs, err := ds.Health(ctx, a.ID, fw.ID, time.Time{}, 10)
	ok(t, err)
	if len(hs) != 3 || hs[0].CPU != 96 || hs[2].CPU != 10 || hs[0].UpTime != 90*time.Minute || !hs[0].HasCPU || hs[0].HasMemory {
		t.Fatalf("health = %+v", hs)
	}
	same(t, "problems", []string{"CPU 96.0% is above 85.0%"}, hs[0].Problems)
	if hs[1].Problems != nil {
		t.Errorf("a sample without problems reads back %v", hs[1].Problems)
	}
	hs, err = ds.Health(ctx, a.ID, fw.ID, t0.Add(time.Hour), 10)
	ok(t, err)
	if len(hs) != 2 {
		t.Fatalf("since: %d samples, want 2", len(hs))
	}
	hs, err = ds.Health(ctx, b.ID, fw.ID, time.Time{}, 10)
	ok(t, err)
	if len(hs) != 0 {
		t.Fatal("another tenant reads the health history")
	}
	got, err = ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	if got.HealthState != "critical" || got.HealthNote != "CPU 96.0% is above 85.0%" || !got.LastPolledAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after polls: %q %q %v", got.HealthState, got.HealthNote, got.LastPolledAt)
	}
	// Replacing the device keeps the poll state.
	got.Firmware = "7.4.1"
	ok(t, ds.PutDevice(ctx, &got))
	again, err := ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	if again.HealthState != "critical" || again.Firmware != "7.4.1" || !again.CreatedAt.Equal(d.CreatedAt) {
		t.Fatalf("replace lost state: %+v", again)
	}
	n, err := ds.PruneHealth(ctx, b.ID, t0.Add(10*time.Hour))
	ok(t, err)
	if n != 0 {
		t.Fatal("pruning another tenant removed samples")
	}
	n, err = ds.PruneHealth(ctx, a.ID, t0.Add(90*time.Minute))
	ok(t, err)
	if n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}

	// Backups.
	_, err = ds.LatestBackup(ctx, a.ID, fw.ID)
	isErr(t, err, store.ErrNotFound)
	b1 := store.ConfigBackup{TenantID: a.ID, AssetID: fw.ID, TakenAt: t0, SHA256: "aa", Content: "hostname fw-01\n", TakenBy: "u1"}
	ok(t, ds.AddBackup(ctx, &b1))
	b2 := store.ConfigBackup{TenantID: a.ID, AssetID: fw.ID, TakenAt: t0.Add(time.Hour), SHA256: "bb", Changed: true, Added: 1,
		Removed: 1, Content: "hostname fw-02\n", Diff: "- hostname fw-01\n+ hostname fw-02\n", TakenBy: "system"}
	ok(t, ds.AddBackup(ctx, &b2))
	if b2.Size != len("hostname fw-02\n") || b1.ID == "" || b1.ID == b2.ID {
		t.Fatalf("backup ids %q %q size %d", b1.ID, b2.ID, b2.Size)
	}
	bad := store.ConfigBackup{TenantID: b.ID, AssetID: fw.ID, SHA256: "cc", Content: "x"}
	isErr(t, ds.AddBackup(ctx, &bad), store.ErrNotFound)
	latest, err := ds.LatestBackup(ctx, a.ID, fw.ID)
	ok(t, err)
	same(t, "latest backup", b2, latest)
	list, err := ds.Backups(ctx, a.ID, fw.ID, store.Page{})
	ok(t, err)
	if len(list) != 2 || list[0].ID != b2.ID || list[0].Content != "" || list[0].Diff != "" || !list[0].Changed {
		t.Fatalf("backups = %+v", list)
	}
	one, err := ds.GetBackup(ctx, a.ID, b1.ID)
	ok(t, err)
	same(t, "backup", b1, one)
	_, err = ds.GetBackup(ctx, b.ID, b1.ID)
	isErr(t, err, store.ErrNotFound)
	total, changed, err := ds.CountBackups(ctx, a.ID, t0, t0.Add(2*time.Hour))
	ok(t, err)
	if total != 2 || changed != 1 {
		t.Fatalf("count backups = %d, %d", total, changed)
	}
	ok(t, ds.SetBackupStatus(ctx, a.ID, fw.ID, time.Time{}, "dial: connection refused"))
	isErr(t, ds.SetBackupStatus(ctx, b.ID, fw.ID, time.Time{}, "x"), store.ErrNotFound)
	ok(t, ds.SetHostKey(ctx, a.ID, fw.ID, "ssh-ed25519 AAAA"))
	got, err = ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	if got.BackupError != "dial: connection refused" || got.HostKey != "ssh-ed25519 AAAA" || !got.LastBackupAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("backup status: %+v", got)
	}
	// An unchanged configuration moves LastBackupAt and clears the error.
	ok(t, ds.SetBackupStatus(ctx, a.ID, fw.ID, t0.Add(5*time.Hour), ""))
	got, err = ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	if got.BackupError != "" || !got.LastBackupAt.Equal(t0.Add(5*time.Hour)) {
		t.Fatalf("unchanged backup status: %+v", got)
	}

	// Records.
	d2 := store.Device{TenantID: a.ID, AssetID: ips.ID, Vendor: "NSFOCUS", Role: "ips"}
	ok(t, ds.PutDevice(ctx, &d2))
	for i, r := range []store.DeviceRecord{
		{AssetID: fw.ID, Kind: "inspection", Summary: "月度巡检", Author: "u1", AuthorName: "张三"},
		{AssetID: fw.ID, Kind: "change", Summary: "放通 443", WorkRef: "CHG-1", Resolution: "done"},
		{AssetID: ips.ID, Kind: "fault", Summary: "引擎重启"},
	} {
		r.TenantID, r.At = a.ID, t0.Add(time.Duration(i)*24*time.Hour)
		ok(t, ds.AddRecord(ctx, &r))
		if r.ID == "" {
			t.Fatal("record ID not set")
		}
		stamped(t, "record created", r.CreatedAt)
	}
	badR := store.DeviceRecord{TenantID: b.ID, AssetID: fw.ID, Kind: "other", Summary: "x"}
	isErr(t, ds.AddRecord(ctx, &badR), store.ErrNotFound)
	rs, err := ds.Records(ctx, a.ID, fw.ID, time.Time{}, time.Time{}, store.Page{})
	ok(t, err)
	if len(rs) != 2 || rs[0].Kind != "change" || rs[1].AuthorName != "张三" {
		t.Fatalf("records = %+v", rs)
	}
	rs, err = ds.Records(ctx, a.ID, "", t0.Add(24*time.Hour), t0.Add(72*time.Hour), store.Page{})
	ok(t, err)
	if len(rs) != 2 || rs[0].AssetID != ips.ID {
		t.Fatalf("period records = %+v", rs)
	}
	rs, err = ds.Records(ctx, b.ID, "", time.Time{}, time.Time{}, store.Page{})
	ok(t, err)
	if len(rs) != 0 {
		t.Fatal("another tenant reads records")
	}

	all, err := ds.ListDevices(ctx, a.ID, store.Page{})
	ok(t, err)
	if len(all) != 2 || all[0].Name != "fw-01" || all[1].Name != "ips-01" {
		t.Fatalf("list = %+v", all)
	}
	cnt, err := ds.CountDevices(ctx, a.ID)
	ok(t, err)
	if cnt != 2 {
		t.Fatalf("count = %d", cnt)
	}

	// Deleting the asset deletes the device and its history.
	ok(t, s.Assets().Delete(ctx, a.ID, ips.ID))
	_, err = ds.GetDevice(ctx, a.ID, ips.ID)
	isErr(t, err, store.ErrNotFound)
	rs, err = ds.Records(ctx, a.ID, ips.ID, time.Time{}, time.Time{}, store.Page{})
	ok(t, err)
	if len(rs) != 0 {
		t.Fatal("records of a deleted device remain")
	}
	testDeviceEvents(t, s)
}

// testDeviceEvents checks device events, reachability samples, sealed
// raw configurations and the change-log cursor: events are the tenant's
// and listed newest first with filters, a source event is stored once,
// change events link to the backup taken after them, and a sealed copy
// comes back byte for byte only from BackupSealed.
func testDeviceEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Devices()
	a, b := mkTenant(t, s, "gamma"), mkTenant(t, s, "delta")
	fw := mkAsset(t, s, a.ID, "fw-ev")
	other := mkAsset(t, s, b.ID, "fw-ev-b")
	d := store.Device{TenantID: a.ID, AssetID: fw.ID, Vendor: "Cisco", Role: "firewall", MgmtAddress: "192.0.2.9"}
	ok(t, ds.PutDevice(ctx, &d))
	db := store.Device{TenantID: b.ID, AssetID: other.ID, Vendor: "Cisco"}
	ok(t, ds.PutDevice(ctx, &db))
	if !d.LogScanAt.IsZero() {
		t.Fatal("a new device has a log cursor")
	}
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

	// Reachability lives on the health sample.
	h := store.HealthSample{TenantID: a.ID, AssetID: fw.ID, At: t0, Reachable: true, Probe: "icmp", RTT: 1500 * time.Microsecond, State: "ok"}
	ok(t, ds.AddHealth(ctx, &h))
	hs, err := ds.Health(ctx, a.ID, fw.ID, time.Time{}, 5)
	ok(t, err)
	if len(hs) != 1 || hs[0].Probe != "icmp" || hs[0].RTT != 1500*time.Microsecond {
		t.Fatalf("probe sample = %+v", hs)
	}

	trap := store.DeviceEvent{TenantID: a.ID, AssetID: fw.ID, At: t0, Kind: "trap", Name: "linkDown", Severity: "high",
		Summary: "Interface 3 went down", Detail: []store.DeviceEventField{{Name: "ifIndex", Value: "3"}, {Name: "ifDescr", Value: "Gi0/3"}}}
	ok(t, ds.AddDeviceEvent(ctx, &trap))
	if trap.ID == "" {
		t.Fatal("event ID not set")
	}
	chg := store.DeviceEvent{TenantID: a.ID, AssetID: fw.ID, At: t0.Add(time.Hour), Kind: "config_change", SourceID: "ev-1",
		Name: "SYS-5-CONFIG_I", User: "alice", Summary: "Configured from console by alice", Authorised: "no"}
	ok(t, ds.AddDeviceEvent(ctx, &chg))
	dup := store.DeviceEvent{TenantID: a.ID, AssetID: fw.ID, At: t0.Add(time.Hour), Kind: "config_change", SourceID: "ev-1"}
	isErr(t, ds.AddDeviceEvent(ctx, &dup), store.ErrConflict)
	// The same source ID in another tenant is another event.
	okB := store.DeviceEvent{TenantID: b.ID, AssetID: other.ID, At: t0, Kind: "config_change", SourceID: "ev-1"}
	ok(t, ds.AddDeviceEvent(ctx, &okB))
	foreign := store.DeviceEvent{TenantID: b.ID, AssetID: fw.ID, At: t0, Kind: "trap"}
	isErr(t, ds.AddDeviceEvent(ctx, &foreign), store.ErrNotFound)
	// Two traps without a source are two events.
	trap2 := store.DeviceEvent{TenantID: a.ID, AssetID: fw.ID, At: t0.Add(2 * time.Hour), Kind: "trap", Name: "coldStart"}
	ok(t, ds.AddDeviceEvent(ctx, &trap2))

	evs, err := ds.DeviceEvents(ctx, a.ID, store.DeviceEventFilter{AssetID: fw.ID})
	ok(t, err)
	if len(evs) != 3 || evs[0].Name != "coldStart" || evs[2].Name != "linkDown" {
		t.Fatalf("events = %+v", evs)
	}
	same(t, "trap event", trap, evs[2])
	if evs[0].Severity != "info" || len(evs[0].Detail) != 0 {
		t.Fatalf("defaults: %+v", evs[0])
	}
	evs, err = ds.DeviceEvents(ctx, a.ID, store.DeviceEventFilter{Kind: "config_change"})
	ok(t, err)
	if len(evs) != 1 || evs[0].User != "alice" || evs[0].Authorised != "no" {
		t.Fatalf("change events = %+v", evs)
	}
	evs, err = ds.DeviceEvents(ctx, a.ID, store.DeviceEventFilter{Since: t0.Add(30 * time.Minute), Until: t0.Add(90 * time.Minute)})
	ok(t, err)
	if len(evs) != 1 || evs[0].ID != chg.ID {
		t.Fatalf("period events = %+v", evs)
	}
	evs, err = ds.DeviceEvents(ctx, b.ID, store.DeviceEventFilter{AssetID: fw.ID})
	ok(t, err)
	if len(evs) != 0 {
		t.Fatal("another tenant reads the device's events")
	}

	// A backup with a sealed copy; the change event links to it.
	sealed := []byte{0x00, 0x01, 0xfe, 0xff, 'x'}
	bk := store.ConfigBackup{TenantID: a.ID, AssetID: fw.ID, TakenAt: t0.Add(3 * time.Hour), SHA256: "dd", Content: "hostname r1\n",
		ChangedBy: "alice", Sealed: sealed}
	ok(t, ds.AddBackup(ctx, &bk))
	plain := store.ConfigBackup{TenantID: a.ID, AssetID: fw.ID, TakenAt: t0.Add(4 * time.Hour), SHA256: "ee", Content: "hostname r2\n"}
	ok(t, ds.AddBackup(ctx, &plain))
	list, err := ds.Backups(ctx, a.ID, fw.ID, store.Page{})
	ok(t, err)
	if len(list) != 2 || list[1].ChangedBy != "alice" || !list[1].HasRaw || list[0].HasRaw || list[1].Sealed != nil {
		t.Fatalf("backups = %+v", list)
	}
	one, err := ds.GetBackup(ctx, a.ID, bk.ID)
	ok(t, err)
	if !one.HasRaw || one.Sealed != nil || one.ChangedBy != "alice" {
		t.Fatalf("get backup = %+v", one)
	}
	got, err := ds.BackupSealed(ctx, a.ID, bk.ID)
	ok(t, err)
	same(t, "sealed", sealed, got)
	got, err = ds.BackupSealed(ctx, a.ID, plain.ID)
	ok(t, err)
	if got != nil {
		t.Fatalf("a backup without a sealed copy returns %v", got)
	}
	_, err = ds.BackupSealed(ctx, b.ID, bk.ID)
	isErr(t, err, store.ErrNotFound)

	n, err := ds.LinkChangeBackup(ctx, a.ID, fw.ID, bk.ID, bk.TakenAt)
	ok(t, err)
	if n != 1 {
		t.Fatalf("linked %d change events, want 1", n)
	}
	n, err = ds.LinkChangeBackup(ctx, a.ID, fw.ID, plain.ID, plain.TakenAt)
	ok(t, err)
	if n != 0 {
		t.Fatal("a linked change event was linked again")
	}
	n, err = ds.LinkChangeBackup(ctx, b.ID, fw.ID, bk.ID, bk.TakenAt)
	ok(t, err)
	if n != 0 {
		t.Fatal("another tenant linked the device's events")
	}
	evs, err = ds.DeviceEvents(ctx, a.ID, store.DeviceEventFilter{Kind: "config_change"})
	ok(t, err)
	if evs[0].BackupID != bk.ID {
		t.Fatalf("change event backup = %q", evs[0].BackupID)
	}

	// The change-log cursor.
	ok(t, ds.SetLogScan(ctx, a.ID, fw.ID, t0.Add(5*time.Hour)))
	isErr(t, ds.SetLogScan(ctx, b.ID, fw.ID, t0), store.ErrNotFound)
	dev, err := ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	if !dev.LogScanAt.Equal(t0.Add(5 * time.Hour)) {
		t.Fatalf("log scan = %v", dev.LogScanAt)
	}
	// Replacing the device keeps the cursor.
	ok(t, ds.PutDevice(ctx, &dev))
	if !dev.LogScanAt.Equal(t0.Add(5 * time.Hour)) {
		t.Fatalf("replace lost the log cursor: %v", dev.LogScanAt)
	}
}
