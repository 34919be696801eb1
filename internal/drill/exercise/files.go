package exercise

import (
	"context"
	"errors"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/drill"
	"github.com/vigil-sec/vigil/internal/store"
)

// Evidence files: the attacking teams' proof (screenshots, captured data
// markers) and the defenders' screenshots kept with an attack record, and
// the directing team's documents kept with the drill, through the
// attachment service (size limits, SHA-256 checked on download, audit).

// Attachment owner kinds of drills.
const (
	FileKindDrill  = "drill"
	FileKindRecord = "drill_record"
)

var errNoFiles = errors.New("drills: no attachment service configured")

// fileOwner is the attachment owner of a drill (recordID empty) or of one
// of its attack records. Record ids are unique within a drill, so the
// record's owner id carries the drill's.
//
// Files are kept in the organiser's tenant. A participant's users reach
// the files of the records against their own tenant: the permission is
// then checked in their tenant (AuthTenant), after fileTarget checked the
// record is theirs.
func fileOwner(d *Drill, recordID string) attach.Owner {
	if recordID == "" {
		return attach.Owner{TenantID: d.TenantID, Kind: FileKindDrill, ID: d.ID}
	}
	o := attach.Owner{TenantID: d.TenantID, Kind: FileKindRecord, ID: d.ID + "/" + recordID}
	if d.Shared() {
		o.AuthTenant = d.Viewer
	}
	return o
}

// viewer is the tenant the caller acts in.
func (d *Drill) viewer() string {
	if d.Viewer != "" {
		return d.Viewer
	}
	return d.TenantID
}

// fileTarget loads the drill and checks the record exists.
func (s *Service) fileTarget(ctx context.Context, tenantID, id, recordID string) (*Drill, error) {
	if s.files == nil {
		return nil, errNoFiles
	}
	if err := auth.Require(ctx, auth.PermAssessRead, tenantID); err != nil {
		return nil, err
	}
	d, err := s.open(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if recordID == "" {
		// The drill's own files are the directing team's documents.
		if d.Shared() {
			return nil, store.ErrNotFound
		}
		return d, nil
	}
	if r, ok := d.Record(recordID); !ok || (d.Shared() && d.RecordTenant(r) != d.Viewer) {
		return nil, store.ErrNotFound
	}
	return d, nil
}

// filePerm is the permission the caller adds or removes files with: on
// the drill, the directing team's (assessment.write, directing members);
// on a record, the attacking team's of that record (assessment.write,
// its members or directing ones) or the defenders' (event.triage,
// defending or directing members).
func filePerm(ctx context.Context, d *Drill, recordID string) (auth.Perm, error) {
	p := auth.FromContext(ctx)
	tenant := d.viewer()
	if recordID == "" {
		if !p.Can(auth.PermAssessWrite, tenant) {
			return "", auth.ErrForbidden
		}
		return auth.PermAssessWrite, mayAct(ctx, d.Drill, drill.RoleDirector, "")
	}
	rec, _ := d.Record(recordID)
	var errs []error
	if p.Can(auth.PermAssessWrite, tenant) && !d.Shared() {
		err := mayAct(ctx, d.Drill, drill.RoleAttacker, rec.Team)
		if err == nil {
			return auth.PermAssessWrite, nil
		}
		errs = append(errs, err)
	}
	if p.Can(auth.PermEventTriage, tenant) {
		err := mayAct(ctx, d.Drill, drill.RoleDefender, "")
		if err == nil {
			return auth.PermEventTriage, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return "", auth.ErrForbidden
	}
	return "", errors.Join(errs...)
}

// KeepsFiles reports whether the service was given an attachment
// service, so drills and records have files at all.
func (s *Service) KeepsFiles() bool { return s.files != nil }

// MayAttach reports whether the caller may add files to the drill
// (recordID empty) or to one of its records.
func (s *Service) MayAttach(ctx context.Context, d *Drill, recordID string) bool {
	if s.files == nil {
		return false
	}
	_, err := filePerm(ctx, d, recordID)
	return err == nil
}

// Files lists the files of a drill (recordID empty) or of one of its
// attack records; assessment.read may.
func (s *Service) Files(ctx context.Context, tenantID, id, recordID string) ([]store.Attachment, error) {
	d, err := s.fileTarget(ctx, tenantID, id, recordID)
	if err != nil {
		return nil, err
	}
	return s.files.List(ctx, auth.PermAssessRead, fileOwner(d, recordID))
}

// AddFile keeps an evidence file with the drill or one of its records.
func (s *Service) AddFile(ctx context.Context, tenantID, id, recordID string, in attach.Input) (store.Attachment, error) {
	d, err := s.fileTarget(ctx, tenantID, id, recordID)
	if err != nil {
		return store.Attachment{}, err
	}
	perm, err := filePerm(ctx, d, recordID)
	if err != nil {
		return store.Attachment{}, err
	}
	return s.files.Add(ctx, perm, fileOwner(d, recordID), in)
}

// OpenFile returns a file with its content, its SHA-256 checked (a
// changed content is refused); the download is audited.
func (s *Service) OpenFile(ctx context.Context, tenantID, id, recordID, fileID string) (store.Attachment, []byte, error) {
	d, err := s.fileTarget(ctx, tenantID, id, recordID)
	if err != nil {
		return store.Attachment{}, nil, err
	}
	a, data, err := s.files.Open(ctx, auth.PermAssessRead, fileOwner(d, recordID), fileID)
	if errors.Is(err, attach.ErrTampered) {
		err = store.NewFieldError("file", store.CodeInvalidConfig, map[string]any{"reason": "sha256"},
			"the stored file no longer matches its SHA-256: it was changed after upload")
	}
	return a, data, err
}

// DeleteFile removes a file; those who may add it may.
func (s *Service) DeleteFile(ctx context.Context, tenantID, id, recordID, fileID string) error {
	d, err := s.fileTarget(ctx, tenantID, id, recordID)
	if err != nil {
		return err
	}
	perm, err := filePerm(ctx, d, recordID)
	if err != nil {
		return err
	}
	return s.files.Delete(ctx, perm, fileOwner(d, recordID), fileID)
}
