package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/vigil-sec/vigil/internal/store"
)

// static holds htmx (with its licence notice next to it), Vigil's style
// sheet and its small page script.
//
//go:embed static
var staticFS embed.FS

type staticFile struct {
	data  []byte
	hash  string // first 12 hex digits of the SHA-256, the cache key
	ctype string
}

// staticFiles serves the embedded files with content-hash cache busting.
type staticFiles struct {
	files map[string]staticFile
}

func loadStatic() (*staticFiles, error) {
	sf := &staticFiles{files: map[string]staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "text/plain; charset=utf-8"
		}
		sf.files[path.Base(p)] = staticFile{data: data, hash: hex.EncodeToString(sum[:6]), ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	for _, need := range []string{"htmx.min.js", "htmx.LICENSE", "vigil.css", "vigil.js"} {
		if _, ok := sf.files[need]; !ok {
			return nil, fmt.Errorf("web: static file %s is missing", need)
		}
	}
	return sf, nil
}

// url is the versioned URL of a static file, for templates.
func (sf *staticFiles) url(name string) (string, error) {
	f, ok := sf.files[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return "/static/" + name + "?v=" + f.hash, nil
}

func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) error {
	f, ok := s.static.files[chi.URLParam(r, "*")]
	if !ok {
		return store.ErrNotFound
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
	return nil
}
