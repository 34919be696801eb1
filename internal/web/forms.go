package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/httpmw"
	"github.com/vigil-sec/vigil/internal/store"
)

// formState carries a form's validation messages back to its page.
type formState struct {
	// Errors maps a field name to its message.
	Errors map[string]string
	// Error is a message about the whole form.
	Error string
}

func (f *formState) fieldError(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
	}
}

// Invalid reports whether the form has any message.
func (f formState) Invalid() bool { return f.Error != "" || len(f.Errors) > 0 }

// formField is a field of a form: the domain input field whose errors
// (store.FieldError.Field) it shows, and the form input's own name.
type formField struct{ field, input string }

// fields names form fields that are called like their domain fields.
func fields(names ...string) []formField {
	out := make([]formField, len(names))
	for i, n := range names {
		out[i] = formField{n, n}
	}
	return out
}

// formError takes the error of a form submission. Invalid input and
// conflicts are shown on the form: it returns their status and true. A
// *store.FieldError is shown in the user's language, next to its field if
// the form shows that field (shown), else above the form like any other
// message (the safe one of httpmw.Status). Other errors return false and
// go to fail.
func (s *server) formError(r *http.Request, err error, f *formState, shown []formField) (int, bool) {
	status, msg := httpmw.Status(err)
	if status != http.StatusUnprocessableEntity && status != http.StatusConflict {
		return 0, false
	}
	var fe *store.FieldError
	if errors.As(err, &fe) {
		text := s.msgs.FieldError(state(r).locale, fe)
		for _, ff := range shown {
			if fe.Field != "" && ff.field == fe.Field {
				f.fieldError(ff.input, text)
				return status, true
			}
		}
		f.Error = text
		return status, true
	}
	f.Error = strings.TrimPrefix(strings.TrimPrefix(msg, "invalid input: "), "conflict: ")
	return status, true
}

// atoi parses a form integer; "" is 0. ok is false for anything else
// that is not a number.
func atoi(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// pageParam is the 1-based page number of a list.
func pageParam(q url.Values) int {
	n, ok := atoi(q.Get("page"))
	if !ok || n < 1 {
		return 1
	}
	return min(n, 100000)
}

// pager is the paging bar of a list.
type pager struct {
	Page, Pages      int
	From, To, Total  int
	Prev, Next       string
	HasPrev, HasNext bool
	// KnownTotal is false for lists paged without a count.
	KnownTotal bool
}

// newPager pages total rows; link gives the URL of a page.
func newPager(total, page, size int, link func(page int) string) pager {
	pg := pager{Page: page, Total: total, KnownTotal: true}
	pg.Pages = max(1, (total+size-1)/size)
	if total > 0 {
		pg.From = (page-1)*size + 1
		pg.To = min(total, page*size)
	}
	if page > 1 {
		pg.HasPrev, pg.Prev = true, link(page-1)
	}
	if page < pg.Pages {
		pg.HasNext, pg.Next = true, link(page+1)
	}
	return pg
}

// openPager pages a list whose total is unknown; more says whether a
// further page exists.
func openPager(page int, more bool, link func(page int) string) pager {
	pg := pager{Page: page}
	if page > 1 {
		pg.HasPrev, pg.Prev = true, link(page-1)
	}
	if more {
		pg.HasNext, pg.Next = true, link(page+1)
	}
	return pg
}

// withQuery returns path with the non-empty values of q.
func withQuery(path string, q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}

// splitList splits a comma, space or newline separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// redirect answers a successful form post (303 See Other).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	// #nosec G710 -- every caller passes a server-built path or one checked by localPath.
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// errInvalid is an input error found by the UI; msg is shown to the user.
func errInvalid(msg string) error { return fmt.Errorf("%w: %s", store.ErrInvalid, msg) }
