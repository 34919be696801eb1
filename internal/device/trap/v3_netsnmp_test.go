package trap

import (
	"context"
	"os/exec"
	"strconv"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// TestV3NetSNMPOracle sends SNMPv3 traps with net-snmp's snmptrap (Debian
// package snmp), an encoder and USM implementation independent of gosnmp,
// and checks that the right ones are accepted and the wrong one refused.
func TestV3NetSNMPOracle(t *testing.T) {
	bin, err := exec.LookPath("snmptrap")
	if err != nil {
		testenv.Missing(t, "snmptrap (Debian package snmp)")
	}
	r := startV3(t)
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		args = append([]string{"-v", "3", "-e", "0x80001f8804766967696c2d6e6574736e6d70", "-r", "0", "-t", "2"}, args...)
		args = append(args, "127.0.0.1:"+strconv.Itoa(r.port), "", "1.3.6.1.6.3.1.1.5.3",
			"1.3.6.1.2.1.2.2.1.2.3", "s", "port3")
		cmd := exec.CommandContext(context.Background(), bin, args...) // #nosec G204 -- fixed test arguments
		cmd.Env = []string{"HOME=" + dir, "SNMP_PERSISTENT_DIR=" + dir, "SNMPCONFPATH=" + dir, "MIBS=", "MIBDIRS=" + dir}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("snmptrap %v: %v\n%s", args, err, out)
		}
	}
	run("-l", "authPriv", "-u", "trapper", "-a", "SHA", "-A", "auth-pass-sha", "-x", "AES", "-X", "priv-pass-aes")
	if tr := r.accepted(t); tr.UserID != "dev-sha" || tr.OID != OIDLinkDown || tr.Value("ifDescr") != "port3" {
		t.Fatalf("SHA/AES: %+v", tr)
	}
	run("-l", "authNoPriv", "-u", "old", "-a", "MD5", "-A", "auth-pass-md5")
	if tr := r.accepted(t); tr.UserID != "dev-md5" {
		t.Fatalf("MD5: %+v", tr)
	}
	run("-l", "authPriv", "-u", "fgt", "-a", "SHA-256", "-A", "auth-pass-256", "-x", "AES-256", "-X", "priv-pass-256")
	if tr := r.accepted(t); tr.UserID != "dev-sha256" {
		t.Fatalf("SHA-256/AES-256: %+v", tr)
	}
	run("-l", "authPriv", "-u", "trapper", "-a", "SHA", "-A", "not-the-pass", "-x", "AES", "-X", "priv-pass-aes")
	if c := r.waitCounts(t, 4); c.Accepted != 3 || c.WrongDigest != 1 {
		t.Fatalf("counts %+v", c)
	}
	// The right authentication key with a wrong privacy key authenticates
	// and then fails to decrypt: a decryption error, not a wrong digest.
	run("-l", "authPriv", "-u", "fgt", "-a", "SHA-256", "-A", "auth-pass-256", "-x", "AES-256", "-X", "not-the-priv-pass")
	if c := r.waitCounts(t, 5); c.Accepted != 3 || c.WrongDigest != 1 || c.Decryption != 1 {
		t.Fatalf("counts %+v", c)
	}
}
