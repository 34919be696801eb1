package intel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TAXII 2.1.
//
// TAXIIServer is an http.Handler serving the read side of TAXII 2.1:
// discovery (/taxii2/), one API root, its collections, one collection, and
// a collection's objects with added_after, limit and next paging. Who may
// call it is decided by an Authorizer; what it serves comes from a
// CollectionSource, both supplied by the caller (the application wires
// tokens and tenants). TAXIIClient reads the same endpoints.

// TAXIIMediaType is the TAXII 2.1 media type.
const TAXIIMediaType = "application/taxii+json;version=2.1"

// ErrUnauthorized is returned by an Authorizer for a request without valid
// credentials; the server answers 401.
var ErrUnauthorized = errors.New("unauthorized")

// ErrNoCollection is returned by a CollectionSource for an unknown
// collection; the server answers 404.
var ErrNoCollection = errors.New("no such collection")

// ErrBadPage is returned by a CollectionSource for a next token it did not
// give out; the server answers 400.
var ErrBadPage = errors.New("bad next token")

// Authorizer authenticates a request and returns the principal that the
// CollectionSource sees.
type Authorizer func(r *http.Request) (principal string, err error)

// TAXIICollection describes one collection.
type TAXIICollection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// ObjectQuery selects a page of a collection's objects.
type ObjectQuery struct {
	AddedAfter time.Time // zero for all
	Next       string    // opaque token from the previous page
	Limit      int       // at most this many objects (already capped by the server)
}

// ObjectPage is one page of objects.
type ObjectPage struct {
	Objects    []json.RawMessage
	More       bool
	Next       string
	FirstAdded time.Time
	LastAdded  time.Time
}

// CollectionSource supplies collections and objects for a principal.
type CollectionSource interface {
	Collections(ctx context.Context, principal string) ([]TAXIICollection, error)
	Objects(ctx context.Context, principal, collectionID string, q ObjectQuery) (ObjectPage, error)
}

// TAXIIServerOptions configure a TAXIIServer.
type TAXIIServerOptions struct {
	Title       string
	APIRoot     string // path segment of the single API root, default "api"
	Auth        Authorizer
	Source      CollectionSource
	MaxPageSize int // default and maximum limit, default 100
	// MaxContentLength is advertised in the API root (default 10 MiB).
	MaxContentLength int
	Logger           *slog.Logger
}

// TAXIIServer serves TAXII 2.1; build it with NewTAXIIServer.
type TAXIIServer struct {
	opts TAXIIServerOptions
	mux  *http.ServeMux
}

var _ http.Handler = (*TAXIIServer)(nil)

// NewTAXIIServer returns a server; Auth and Source are required.
func NewTAXIIServer(opts TAXIIServerOptions) (*TAXIIServer, error) {
	if opts.Auth == nil || opts.Source == nil {
		return nil, errors.New("taxii: Auth and Source are required")
	}
	if opts.APIRoot == "" {
		opts.APIRoot = "api"
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	if opts.MaxContentLength <= 0 {
		opts.MaxContentLength = 10 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &TAXIIServer{opts: opts, mux: http.NewServeMux()}
	root := "/" + opts.APIRoot + "/"
	s.handle("GET /taxii2/{$}", s.discovery)
	s.handle("GET "+root+"{$}", s.apiRoot)
	s.handle("GET "+root+"collections/{$}", s.collections)
	s.handle("GET "+root+"collections/{id}/{$}", s.collection)
	s.handle("GET "+root+"collections/{id}/objects/{$}", s.objects)
	return s, nil
}

// taxiiError is an error with the HTTP status the client sees.
type taxiiError struct {
	status int
	title  string
}

func (e *taxiiError) Error() string { return e.title }

type taxiiHandler func(w http.ResponseWriter, r *http.Request, principal string) error

func (s *TAXIIServer) handle(pattern string, h taxiiHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		err := s.serve(w, r, h)
		if err == nil {
			return
		}
		var te *taxiiError
		switch {
		case errors.As(err, &te):
		case errors.Is(err, ErrUnauthorized):
			te = &taxiiError{http.StatusUnauthorized, "authentication required"}
		case errors.Is(err, ErrNoCollection):
			te = &taxiiError{http.StatusNotFound, "collection not found"}
		case errors.Is(err, ErrBadPage):
			te = &taxiiError{http.StatusBadRequest, "bad next token"}
		default:
			s.opts.Logger.ErrorContext(r.Context(), "taxii request failed", "path", r.URL.Path, "err", err)
			te = &taxiiError{http.StatusInternalServerError, "internal error"}
		}
		if te.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="taxii"`)
		}
		w.Header().Set("Content-Type", TAXIIMediaType)
		w.WriteHeader(te.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"title": te.title, "http_status": strconv.Itoa(te.status)})
	})
}

func (s *TAXIIServer) serve(w http.ResponseWriter, r *http.Request, h taxiiHandler) error {
	principal, err := s.opts.Auth(r)
	if err != nil {
		return fmt.Errorf("taxii: %w", err)
	}
	if a := r.Header.Get("Accept"); a != "" && !strings.Contains(a, "application/taxii+json") && !strings.Contains(a, "*/*") {
		return &taxiiError{http.StatusNotAcceptable, "accept application/taxii+json;version=2.1"}
	}
	return h(w, r, principal)
}

// ServeHTTP implements http.Handler.
func (s *TAXIIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func writeTAXII(w http.ResponseWriter, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", TAXIIMediaType)
	_, err := w.Write(buf.Bytes())
	return err
}

// TAXIIDiscovery is the discovery resource.
type TAXIIDiscovery struct {
	Title    string   `json:"title"`
	Default  string   `json:"default,omitempty"`
	APIRoots []string `json:"api_roots"`
}

func (s *TAXIIServer) discovery(w http.ResponseWriter, _ *http.Request, _ string) error {
	root := "/" + s.opts.APIRoot + "/"
	return writeTAXII(w, TAXIIDiscovery{Title: s.opts.Title, Default: root, APIRoots: []string{root}})
}

func (s *TAXIIServer) apiRoot(w http.ResponseWriter, _ *http.Request, _ string) error {
	return writeTAXII(w, map[string]any{"title": s.opts.Title, "versions": []string{TAXIIMediaType}, "max_content_length": s.opts.MaxContentLength})
}

func (s *TAXIIServer) collections(w http.ResponseWriter, r *http.Request, principal string) error {
	cs, err := s.opts.Source.Collections(r.Context(), principal)
	if err != nil {
		return err
	}
	return writeTAXII(w, map[string]any{"collections": cs})
}

func (s *TAXIIServer) find(r *http.Request, principal string) (TAXIICollection, error) {
	cs, err := s.opts.Source.Collections(r.Context(), principal)
	if err != nil {
		return TAXIICollection{}, err
	}
	id := r.PathValue("id")
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return TAXIICollection{}, ErrNoCollection
}

func (s *TAXIIServer) collection(w http.ResponseWriter, r *http.Request, principal string) error {
	c, err := s.find(r, principal)
	if err != nil {
		return err
	}
	return writeTAXII(w, c)
}

func (s *TAXIIServer) objects(w http.ResponseWriter, r *http.Request, principal string) error {
	c, err := s.find(r, principal)
	if err != nil {
		return err
	}
	if !c.CanRead {
		return &taxiiError{http.StatusForbidden, "collection not readable"}
	}
	q := ObjectQuery{Limit: s.opts.MaxPageSize, Next: r.URL.Query().Get("next")}
	if v := r.URL.Query().Get("added_after"); v != "" {
		if q.AddedAfter, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return &taxiiError{http.StatusBadRequest, "added_after is not an RFC 3339 timestamp"}
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return &taxiiError{http.StatusBadRequest, "limit must be a positive integer"}
		}
		q.Limit = min(n, s.opts.MaxPageSize)
	}
	page, err := s.opts.Source.Objects(r.Context(), principal, c.ID, q)
	if err != nil {
		return err
	}
	if len(page.Objects) > q.Limit {
		return fmt.Errorf("taxii: source returned %d objects for limit %d", len(page.Objects), q.Limit)
	}
	if !page.FirstAdded.IsZero() {
		w.Header().Set("X-TAXII-Date-Added-First", page.FirstAdded.UTC().Format(time.RFC3339Nano))
		w.Header().Set("X-TAXII-Date-Added-Last", page.LastAdded.UTC().Format(time.RFC3339Nano))
	}
	env := struct {
		More    bool              `json:"more"`
		Next    string            `json:"next,omitempty"`
		Objects []json.RawMessage `json:"objects,omitempty"`
	}{page.More, page.Next, page.Objects}
	return writeTAXII(w, env)
}

// MemorySource is an in-memory CollectionSource: every principal sees
// every collection. Objects are ordered by the time they were added; next
// tokens are offsets into that order.
type MemorySource struct {
	mu    sync.RWMutex
	cols  []TAXIICollection
	items map[string][]memObject
}

type memObject struct {
	added time.Time
	obj   json.RawMessage
}

var _ CollectionSource = (*MemorySource)(nil)

// NewMemorySource returns an empty source.
func NewMemorySource() *MemorySource { return &MemorySource{items: map[string][]memObject{}} }

// AddCollection adds a collection.
func (m *MemorySource) AddCollection(c TAXIICollection) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cols = append(m.cols, c)
}

// AddObject adds one STIX object to a collection, added at the given time.
func (m *MemorySource) AddObject(collectionID string, added time.Time, obj json.RawMessage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := append(m.items[collectionID], memObject{added: added.UTC(), obj: obj})
	sort.SliceStable(l, func(i, j int) bool { return l[i].added.Before(l[j].added) })
	m.items[collectionID] = l
}

// Collections implements CollectionSource.
func (m *MemorySource) Collections(context.Context, string) ([]TAXIICollection, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]TAXIICollection(nil), m.cols...), nil
}

// Objects implements CollectionSource.
func (m *MemorySource) Objects(_ context.Context, _, id string, q ObjectQuery) (ObjectPage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	known := false
	for _, c := range m.cols {
		known = known || c.ID == id
	}
	if !known {
		return ObjectPage{}, ErrNoCollection
	}
	all := m.items[id]
	start := sort.Search(len(all), func(i int) bool { return all[i].added.After(q.AddedAfter) })
	if q.Next != "" {
		n, err := strconv.Atoi(q.Next)
		if err != nil || n < start || n > len(all) {
			return ObjectPage{}, &taxiiError{http.StatusBadRequest, "bad next token"}
		}
		start = n
	}
	end := min(start+q.Limit, len(all))
	var p ObjectPage
	for _, o := range all[start:end] {
		p.Objects = append(p.Objects, o.obj)
	}
	if end > start {
		p.FirstAdded, p.LastAdded = all[start].added, all[end-1].added
	}
	if end < len(all) {
		p.More, p.Next = true, strconv.Itoa(end)
	}
	return p, nil
}

// TAXIIClient reads a TAXII 2.1 server.
type TAXIIClient struct {
	// BaseURL is the server's scheme://host[:port].
	BaseURL string
	// Token is sent as a bearer token when set.
	Token string
	HTTP  *http.Client
	// MaxResponseBytes bounds each response (default 64 MiB); MaxPages
	// bounds one Objects walk (default 10000).
	MaxResponseBytes int64
	MaxPages         int
}

func (c *TAXIIClient) get(ctx context.Context, path string, q url.Values, v any) error {
	u := strings.TrimSuffix(c.BaseURL, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("taxii: %w", err)
	}
	req.Header.Set("Accept", TAXIIMediaType)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("taxii: %w", err)
	}
	defer resp.Body.Close()
	max := c.MaxResponseBytes
	if max <= 0 {
		max = 64 << 20
	}
	body, err := readBounded(resp.Body, max)
	if err != nil {
		return fmt.Errorf("taxii: GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Title string `json:"title"`
		}
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("taxii: GET %s: %s: %s", path, resp.Status, clip(e.Title))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("taxii: GET %s: %w", path, err)
	}
	return nil
}

// Discovery reads /taxii2/.
func (c *TAXIIClient) Discovery(ctx context.Context) (TAXIIDiscovery, error) {
	var d TAXIIDiscovery
	return d, c.get(ctx, "/taxii2/", nil, &d)
}

// Collections lists the collections of an API root path ("/api/").
func (c *TAXIIClient) Collections(ctx context.Context, apiRoot string) ([]TAXIICollection, error) {
	var r struct {
		Collections []TAXIICollection `json:"collections"`
	}
	err := c.get(ctx, rootPath(apiRoot)+"collections/", nil, &r)
	return r.Collections, err
}

func rootPath(apiRoot string) string {
	if u, err := url.Parse(apiRoot); err == nil && u.Host != "" {
		apiRoot = u.Path
	}
	return "/" + strings.Trim(apiRoot, "/") + "/"
}

// Objects walks every page of a collection's objects added after
// addedAfter (zero for all), limit per page, calling fn per page.
func (c *TAXIIClient) Objects(ctx context.Context, apiRoot, collectionID string, addedAfter time.Time, limit int, fn func([]json.RawMessage) error) error {
	maxPages := c.MaxPages
	if maxPages <= 0 {
		maxPages = 10000
	}
	next := ""
	for page := 0; ; page++ {
		if page >= maxPages {
			return fmt.Errorf("taxii: more than %d pages", maxPages)
		}
		q := url.Values{}
		if !addedAfter.IsZero() {
			q.Set("added_after", addedAfter.UTC().Format(time.RFC3339Nano))
		}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(limit))
		}
		if next != "" {
			q.Set("next", next)
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		if err := c.get(ctx, rootPath(apiRoot)+"collections/"+url.PathEscape(collectionID)+"/objects/", q, &env); err != nil {
			return err
		}
		if err := fn(env.Objects); err != nil {
			return err
		}
		if !env.More {
			return nil
		}
		if env.Next == "" || env.Next == next {
			return errors.New("taxii: server says more but gives no new next token")
		}
		next = env.Next
	}
}

// FetchFeed reads every object of a collection and parses them as one
// STIX bundle.
func (c *TAXIIClient) FetchFeed(ctx context.Context, apiRoot, collectionID string, addedAfter time.Time, opts ParseOptions) (*Feed, error) {
	var objs []json.RawMessage
	err := c.Objects(ctx, apiRoot, collectionID, addedAfter, 0, func(page []json.RawMessage) error {
		objs = append(objs, page...)
		if len(objs) > MaxFeedObjects {
			return fmt.Errorf("taxii: %w: more than %d objects", ErrTooLarge, MaxFeedObjects)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objs})
	if err != nil {
		return nil, fmt.Errorf("taxii: %w", err)
	}
	return stixParser{}.Parse(ctx, bytes.NewReader(b), opts)
}
