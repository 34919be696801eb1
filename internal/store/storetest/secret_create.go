package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/vigil-sec/vigil/internal/store"
)

// testSecretCreate: of several writers creating one secret ID at once,
// exactly one stores its value; the others get ErrConflict and the stored
// value is the winner's.
func testSecretCreate(t *testing.T, s store.Store) {
	c, isC := s.(store.SecretCreator)
	if !isC {
		t.Skip("store cannot create a secret only when absent")
	}
	ctx := t.Context()
	const writers = 6
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for i := range writers {
		wg.Go(func() {
			<-start
			errs[i] = c.CreateSecret(ctx, &store.Secret{ID: "race-secret", Name: "race", Kind: "other", Ciphertext: fmt.Appendf(nil, "value %d", i)})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created the secret", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the secret")
	}
	got, err := s.Secrets().Get(ctx, "", "race-secret")
	ok(t, err)
	if want := fmt.Appendf(nil, "value %d", winner); !bytes.Equal(got.Ciphertext, want) {
		t.Fatalf("stored %q, want the winner's %q", got.Ciphertext, want)
	}
	stamped(t, "CreatedAt", got.CreatedAt)
}
