package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := b.Seal([]byte("smtp-password"), []byte("tenant-a/secret-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("smtp-password")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := b.Open(ct, []byte("tenant-a/secret-1"))
	if err != nil || string(pt) != "smtp-password" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	if _, err := b.Open(ct, []byte("tenant-b/secret-1")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("moved ciphertext opened: %v", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := b.Open(ct, []byte("tenant-a/secret-1")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("altered ciphertext opened: %v", err)
	}
	other, _ := NewBox(bytes.Repeat([]byte{8}, KeySize))
	ct2, _ := b.Seal([]byte("x"), nil)
	if _, err := other.Open(ct2, nil); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key opened: %v", err)
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load gave another key: %v", err)
	}
	env := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	k3, err := LoadOrCreateKey(env, dir)
	if err != nil || !bytes.Equal(k3, bytes.Repeat([]byte{1}, KeySize)) {
		t.Fatalf("env key not used: %v", err)
	}
	if _, err := LoadOrCreateKey("c2hvcnQ=", dir); err == nil {
		t.Fatal("short key accepted")
	}
}

func FuzzOpen(f *testing.F) {
	b, _ := NewBox(bytes.Repeat([]byte{3}, KeySize))
	ct, _ := b.Seal([]byte("hello"), []byte("aad"))
	f.Add(ct, []byte("aad"))
	f.Add([]byte{1}, []byte{})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, ct, aad []byte) {
		pt, err := b.Open(ct, aad)
		if err == nil && !bytes.Equal(aad, []byte("aad")) {
			t.Fatalf("opened %q with foreign aad", pt)
		}
	})
}
