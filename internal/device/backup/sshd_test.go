package backup

import (
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/vigil-sec/vigil/internal/device/devicetest"
)

// The scripted SSH device lives in devicetest, shared with the O&M service
// tests.
type fakeDevice = devicetest.SSHDevice

const (
	testUser = devicetest.SSHUser
	testPass = devicetest.SSHPassword
)

func newSigner(t testing.TB) ssh.Signer { return devicetest.NewSigner(t) }

func startDevice(t *testing.T, d *fakeDevice) *fakeDevice { return devicetest.StartSSH(t, d) }
