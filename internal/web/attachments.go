package web

import (
	"io"
	"net/http"

	"github.com/vigil-sec/vigil/internal/attach"
	"github.com/vigil-sec/vigil/internal/store"
)

// attachmentsView is what the "attachments" partial shows: an object's
// files, a download link for each when Download is true, and an upload
// form posting to Action when CanWrite.
type attachmentsView struct {
	Files    []store.Attachment
	Base     string // URL of the files: Base + "/" + ID downloads one
	Action   string // upload URL
	Download bool
	CanWrite bool
	CSRF     string
}

// attachmentInput returns the file of the multipart form field "file" and the
// "note" field as an attach.Input; close the returned closer when done.
func attachmentInput(r *http.Request) (attach.Input, io.Closer, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		return attach.Input{}, nil, store.NewFieldError("file", store.CodeRequired, nil, "choose a file")
	}
	fh := r.MultipartForm.File["file"][0]
	f, err := fh.Open()
	if err != nil {
		return attach.Input{}, nil, err
	}
	return attach.Input{Name: fh.Filename, DeclaredType: fh.Header.Get("Content-Type"), Note: r.PostFormValue("note"), Content: f}, f, nil
}

// serveAttachment sends a file as a download, never as a page: its bytes
// are whatever someone uploaded.
func serveAttachment(w http.ResponseWriter, a store.Attachment, data []byte) error {
	attach.Headers(w.Header(), a)
	_, err := w.Write(data) // #nosec G705 -- application/octet-stream, attachment, nosniff and a sandbox CSP: never rendered as a page
	return err
}
