package ops

import (
	"context"
	"errors"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// FileKind is the attachment owner kind of a work order's files.
const FileKind = "work_order"

// errNoFiles is returned when the service was built without an
// attachment service.
var errNoFiles = errors.New("work orders: no attachment service configured")

func fileOwner(o Order) attach.Owner {
	return attach.Owner{TenantID: o.Tenant, Kind: FileKind, ID: o.ID}
}

// filePerm is the permission a caller attaches to orders with: the
// requester's (asset.write or incident.write), which the executor's and
// approver's include.
func filePerm(ctx context.Context, tenantID string) (auth.Perm, error) {
	p := auth.FromContext(ctx)
	switch {
	case p.Can(auth.PermAssetWrite, tenantID):
		return auth.PermAssetWrite, nil
	case p.Can(auth.PermIncidentWrite, tenantID):
		return auth.PermIncidentWrite, nil
	}
	return "", auth.ErrForbidden
}

// KeepsFiles reports whether the service was given an attachment
// service, so orders have files at all.
func (s *Service) KeepsFiles() bool { return s.files != nil }

// MayAttach reports whether the caller may add files to (and remove files
// from) the order: a requester, executor or approver by permission, on an
// order that is not closed.
func (s *Service) MayAttach(ctx context.Context, o Order) bool {
	_, err := filePerm(ctx, o.Tenant)
	return err == nil && !o.Closed() && s.files != nil
}

// fileErr turns a tampered content into an error the user reads.
func fileErr(err error) error {
	if errors.Is(err, attach.ErrTampered) {
		return store.NewFieldError("file", store.CodeInvalidConfig, map[string]any{"reason": "sha256"},
			"the stored file no longer matches its SHA-256: it was changed after upload")
	}
	return err
}

// Files lists an order's files; whoever may see the order may list them.
func (s *Service) Files(ctx context.Context, tenantID, orderID string) ([]store.Attachment, error) {
	if s.files == nil {
		return nil, errNoFiles
	}
	o, err := s.Get(ctx, tenantID, orderID)
	if err != nil {
		return nil, err
	}
	return s.files.List(ctx, auth.PermAssetRead, fileOwner(o))
}

// AddFile attaches a file to an order. Requesters, executors and approvers
// (by permission) may; a closed order (verified, rejected or cancelled)
// takes no new files. The upload is audited by the attachment service.
func (s *Service) AddFile(ctx context.Context, tenantID, orderID string, in attach.Input) (store.Attachment, error) {
	if s.files == nil {
		return store.Attachment{}, errNoFiles
	}
	o, err := s.Get(ctx, tenantID, orderID)
	if err != nil {
		return store.Attachment{}, err
	}
	perm, err := filePerm(ctx, tenantID)
	if err != nil {
		return store.Attachment{}, err
	}
	if o.Closed() {
		return store.Attachment{}, store.NewFieldError("file", store.CodeOneOf, map[string]any{"state": string(o.State)},
			"the order is closed (%s): it takes no new files", o.State)
	}
	return s.files.Add(ctx, perm, fileOwner(o), in)
}

// OpenFile returns one of an order's files with its content, its SHA-256
// checked; whoever may see the order may download it. The download is
// audited.
func (s *Service) OpenFile(ctx context.Context, tenantID, orderID, fileID string) (store.Attachment, []byte, error) {
	if s.files == nil {
		return store.Attachment{}, nil, errNoFiles
	}
	o, err := s.Get(ctx, tenantID, orderID)
	if err != nil {
		return store.Attachment{}, nil, err
	}
	a, data, err := s.files.Open(ctx, auth.PermAssetRead, fileOwner(o), fileID)
	return a, data, fileErr(err)
}

// DeleteFile removes one of an order's files; those who may attach may,
// while the order is not closed (a closed order keeps its record).
func (s *Service) DeleteFile(ctx context.Context, tenantID, orderID, fileID string) error {
	if s.files == nil {
		return errNoFiles
	}
	o, err := s.Get(ctx, tenantID, orderID)
	if err != nil {
		return err
	}
	perm, err := filePerm(ctx, tenantID)
	if err != nil {
		return err
	}
	if o.Closed() {
		return store.NewFieldError("file", store.CodeOneOf, map[string]any{"state": string(o.State)},
			"the order is closed (%s): its files are kept", o.State)
	}
	return s.files.Delete(ctx, perm, fileOwner(o), fileID)
}
