package attach_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/fixture"
	"github.com/vigil-sec/vigil/internal/store"
)

// TestAddOpenDelete stores a file on a work order, reads it back with its
// hash checked, and removes it; each step is audited.
func TestAddOpenDelete(t *testing.T) {
	e := fixture.New(t)
	svc := attach.New(e.Store.Attachments(), e.Audit, attach.Options{MaxSize: 64, MaxPerOwner: 2})
	ctx := e.As(t.Context(), e.AnalystA)
	o := attach.Owner{TenantID: e.TenantA.ID, Kind: "work_order", ID: "wo-1"}
	body := "<script>alert(1)</script> before the change"
	a, err := svc.Add(ctx, auth.PermIncidentWrite, o, attach.Input{Name: `C:\evil\..\改动前.html`, DeclaredType: "image/png; q=1",
		Note: " 变更前截图 ", Content: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(body)) {
		t.Fatalf("hash/size %s %d", a.SHA256, a.Size)
	}
	// The backslashes are replaced, so the whole Windows path is one
	// harmless base name; the declared type is kept without parameters
	// and the sniffed type says what the bytes are.
	if a.Name != `C:_evil_.._改动前.html` || a.DeclaredType != "image/png" || a.SniffedType != "text/html" || a.Note != "变更前截图" {
		t.Fatalf("record %+v", a)
	}
	got, data, err := svc.Open(ctx, auth.PermEventRead, o, a.ID)
	if err != nil || string(data) != body || got.ID != a.ID {
		t.Fatalf("Open: %+v %q %v", got, data, err)
	}
	// The same ID under another owner of the tenant is not found.
	if _, _, err := svc.Open(ctx, auth.PermEventRead, attach.Owner{TenantID: e.TenantA.ID, Kind: "work_order", ID: "wo-2"}, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other owner: %v", err)
	}
	if err := svc.Delete(ctx, auth.PermIncidentWrite, o, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Open(ctx, auth.PermEventRead, o, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted file opened: %v", err)
	}
	entries, err := e.Store.Audit().List(t.Context(), store.AuditFilter{TenantID: e.TenantA.ID, Page: store.Page{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "attachment.") && en.Object == "work_order:wo-1" {
			actions = append(actions, en.Action)
		}
	}
	if strings.Join(actions, ",") != "attachment.delete,attachment.download,attachment.add" {
		t.Fatalf("audit trail %v", actions)
	}
}

// TestLimitsAndAuthz: oversize, empty, too many, bad names and kinds,
// missing permissions and other tenants are refused and store nothing.
func TestLimitsAndAuthz(t *testing.T) {
	e := fixture.New(t)
	svc := attach.New(e.Store.Attachments(), e.Audit, attach.Options{MaxSize: 8, MaxPerOwner: 1})
	ctx := e.As(t.Context(), e.AnalystA)
	o := attach.Owner{TenantID: e.TenantA.ID, Kind: "drill", ID: "d1"}
	in := func(s string) attach.Input { return attach.Input{Name: "x.txt", Content: strings.NewReader(s)} }
	var fe *store.FieldError
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, o, in("123456789")); !errors.As(err, &fe) || fe.Code != store.CodeTooLarge {
		t.Fatalf("9 bytes over a limit of 8: %v", err)
	}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, o, in("")); !errors.As(err, &fe) || fe.Code != store.CodeRequired {
		t.Fatalf("empty file: %v", err)
	}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, attach.Owner{TenantID: e.TenantA.ID, Kind: "Drill;--", ID: "d1"}, in("1")); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, o, attach.Input{Name: "x", DeclaredType: "not a type", Content: strings.NewReader("1")}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad declared type: %v", err)
	}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, o, attach.Input{Name: "x", Note: strings.Repeat("长", attach.MaxNote+1), Content: strings.NewReader("1")}); !errors.As(err, &fe) || fe.Code != store.CodeTooLong {
		t.Fatalf("long note: %v", err)
	}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, o, in("12345678")); err != nil {
		t.Fatalf("8 bytes at a limit of 8: %v", err)
	}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, o, in("1")); !errors.As(err, &fe) || fe.Code != store.CodeTooMany {
		t.Fatalf("second file over a limit of 1: %v", err)
	}
	// The analyst of A has nothing in B; the customer of B cannot write.
	ob := attach.Owner{TenantID: e.TenantB.ID, Kind: "drill", ID: "d1"}
	if _, err := svc.Add(ctx, auth.PermIncidentWrite, ob, in("1")); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("analyst of A writes in B: %v", err)
	}
	cust := e.As(t.Context(), e.CustomerB)
	if _, err := svc.Add(cust, auth.PermIncidentWrite, ob, in("1")); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("customer writes: %v", err)
	}
	if _, err := svc.List(context.Background(), auth.PermEventRead, o); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("anonymous list: %v", err)
	}
	list, err := svc.List(ctx, auth.PermEventRead, o)
	if err != nil || len(list) != 1 {
		t.Fatalf("only the accepted file is stored: %d, %v", len(list), err)
	}
}

// TestTamperedContentIsNotServed changes the stored bytes behind the
// service's back: the download is refused and the refusal audited.
func TestTamperedContentIsNotServed(t *testing.T) {
	e := fixture.New(t)
	svc := attach.New(e.Store.Attachments(), e.Audit, attach.Options{})
	ctx := e.As(t.Context(), e.AnalystA)
	o := attach.Owner{TenantID: e.TenantA.ID, Kind: "risk", ID: "r1"}
	a, err := svc.Add(ctx, auth.PermIncidentWrite, o, attach.Input{Name: "scan.txt", Content: strings.NewReader("original")})
	if err != nil {
		t.Fatal(err)
	}
	// A record claiming the same content under a different hash: the
	// store keeps one blob per hash, so point a second record at the
	// first's blob with a wrong size instead.
	bad := a
	bad.ID, bad.Size = "", a.Size+1
	if err := e.Store.Attachments().Add(t.Context(), &bad, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Open(ctx, auth.PermEventRead, o, bad.ID); !errors.Is(err, attach.ErrTampered) {
		t.Fatalf("mismatching size served: %v", err)
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	attach.Headers(h, store.Attachment{Name: `报告 "final".html`, SHA256: "ab"})
	if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", h)
	}
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != `报告 "final".html` {
		t.Fatalf("Content-Disposition %q: %s %v %v", h.Get("Content-Disposition"), disp, params, err)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"../../etc/passwd": "passwd", "": "file", "..": "file", "a\x00b": "a_b", "/": "file",
		strings.Repeat("名", 300): strings.Repeat("名", attach.MaxName),
	} {
		if got := attach.CleanName(in, "file"); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"report.pdf", "../x", "a\\b", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := attach.CleanName(s, "file")
		if n == "" || strings.ContainsAny(n, "/\\\x00") || len([]rune(n)) > attach.MaxName || n == ".." {
			t.Fatalf("CleanName(%q) = %q", s, n)
		}
	})
}
