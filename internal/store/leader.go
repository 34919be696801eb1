package store

import "context"

// LeaderElector is implemented by stores that can pick one node among the
// nodes sharing them, for work that must run on one node at a time (the
// scheduler). Callers type-assert the Store.
type LeaderElector interface {
	// TryLead tries, without waiting, to become the leader named name. It
	// returns the Lease if this node now leads, or nil and no error if
	// another node does.
	TryLead(ctx context.Context, name string) (Lease, error)
}

// Lease is held leadership.
type Lease interface {
	// Lost is closed once leadership is lost, for example because the
	// database connection that holds it broke. The holder must stop
	// acting as leader then.
	Lost() <-chan struct{}
	// Release gives leadership up; Lost is closed afterwards too.
	Release() error
}
