package storetest

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDevice3 checks the SNMPv3 and HTTPS-API backup settings of a
// device: they are stored, read back, replaced, and kept apart from the
// poll and backup fields a replace keeps.
func testDevice3(t *testing.T, s store.Store) {
	ctx := t.Context()
	ds := s.Devices()
	a := mkTenant(t, s, "alpha")
	fw := mkAsset(t, s, a.ID, "fw-api")
	d := store.Device{TenantID: a.ID, AssetID: fw.ID, Vendor: "Palo Alto", Role: "firewall", MgmtAddress: "192.0.2.9",
		SNMPVersion: "3", SNMPUser: "trapper", SNMPSecretID: "sec-auth", SNMPAuthProto: "SHA-256", SNMPPrivProto: "AES",
		SNMPPrivSecretID: "sec-priv", BackupMethod: "panos-api", APIPort: 8443, APISecretID: "sec-api",
		APIFingerprint: "ab01", Profile: "panos"}
	ok(t, ds.PutDevice(ctx, &d))
	got, err := ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	same(t, "device", d, got)
	ok(t, ds.SetBackupStatus(ctx, a.ID, fw.ID, d.CreatedAt, "boom"))
	d.BackupMethod, d.APIPort, d.APIFingerprint, d.SNMPAuthProto, d.SNMPPrivSecretID = "ssh", 0, "", "MD5", ""
	ok(t, ds.PutDevice(ctx, &d))
	got, err = ds.GetDevice(ctx, a.ID, fw.ID)
	ok(t, err)
	if got.BackupMethod != "ssh" || got.APIPort != 0 || got.APIFingerprint != "" || got.SNMPAuthProto != "MD5" ||
		got.SNMPPrivSecretID != "" || got.APISecretID != "sec-api" || got.SNMPPrivProto != "AES" || got.BackupError != "boom" {
		t.Fatalf("replaced device: %+v", got)
	}
}
