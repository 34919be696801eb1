package logs

import "testing"

func FuzzZeek(f *testing.F) {
	fuzzParser(f, "zeek", `{"uid":"C","id.orig_h":"::1","id.resp_h":"::2","query":""}`, `{"uid":"","id.orig_h":1}`)
}
