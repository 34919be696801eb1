package store

import "context"

// SecretCreator is implemented by stores that can store a secret only
// when its ID is free, so that of several nodes creating the same
// platform secret at once (the agent CA) exactly one wins and the others
// read the winner's. Callers type-assert the Store.
type SecretCreator interface {
	// CreateSecret stores v, setting its timestamps; ErrConflict when a
	// secret with v.ID exists (in any tenant), which is left untouched.
	CreateSecret(ctx context.Context, v *Secret) error
}
