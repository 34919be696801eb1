package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

// testDesk checks the monitoring desk: which shifts overlap a window, a
// handover note read once, notice recipients with their read,
// acknowledgement and reminder state (a reminder claimed once however
// many writers race), and digest sections claimed by one digest only.
func testDesk(t *testing.T, s store.Store) {
	ctx := t.Context()
	d := s.Desk()
	ann, bob := mkUser(t, s, "ann"), mkUser(t, s, "bob")
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

	// Shifts: ann 00-08, bob 08-16, ann 16-24.
	night := store.Shift{UserID: ann.ID, Username: "ann", StartsAt: day, EndsAt: day.Add(8 * time.Hour), Note: "夜班"}
	ok(t, d.CreateShift(ctx, &night))
	stamped(t, "shift", night.CreatedAt)
	early := store.Shift{UserID: bob.ID, Username: "bob", StartsAt: day.Add(8 * time.Hour), EndsAt: day.Add(16 * time.Hour)}
	ok(t, d.CreateShift(ctx, &early))
	late := store.Shift{UserID: ann.ID, Username: "ann", StartsAt: day.Add(16 * time.Hour), EndsAt: day.Add(24 * time.Hour)}
	ok(t, d.CreateShift(ctx, &late))
	isErr(t, d.CreateShift(ctx, &store.Shift{UserID: "nobody", Username: "x", StartsAt: day, EndsAt: day.Add(time.Hour)}), store.ErrNotFound)

	ids := func(ss []store.Shift) []string {
		var out []string
		for _, x := range ss {
			out = append(out, x.ID)
		}
		return out
	}
	// 08:00 exactly: the night shift has ended, the early one started.
	at8, err := d.Shifts(ctx, day.Add(8*time.Hour), day.Add(8*time.Hour+time.Microsecond))
	ok(t, err)
	same(t, "on duty at 08:00", []string{early.ID}, ids(at8))
	all, err := d.Shifts(ctx, day.Add(7*time.Hour), day.Add(17*time.Hour))
	ok(t, err)
	same(t, "shifts 07-17", []string{night.ID, early.ID, late.ID}, ids(all))
	got, err := d.GetShift(ctx, night.ID)
	ok(t, err)
	if got.Note != "夜班" || !got.EndsAt.Equal(day.Add(8*time.Hour)) {
		t.Fatalf("shift %+v", got)
	}
	ok(t, d.DeleteShift(ctx, late.ID))
	isErr(t, d.DeleteShift(ctx, late.ID), store.ErrNotFound)

	// Handover: read once.
	ten := mkTenant(t, s, "desk")
	h := store.Handover{ShiftID: night.ID, AuthorID: ann.ID, AuthorName: "ann", OpenItems: "告警 A 未处理", Watch: "watch VPN",
		Refs: []store.HandoverRef{{TenantID: ten.ID, Kind: "alert", ID: "a1"}}}
	ok(t, d.CreateHandover(ctx, &h))
	h2 := store.Handover{AuthorID: bob.ID, AuthorName: "bob", OpenItems: "none"}
	ok(t, d.CreateHandover(ctx, &h2))
	hs, err := d.Handovers(ctx, store.Page{Limit: 10})
	ok(t, err)
	if len(hs) != 2 || hs[1].ID != h.ID || len(hs[1].Refs) != 1 || hs[1].Refs[0].ID != "a1" || len(hs[0].Refs) != 0 {
		t.Fatalf("handovers %+v", hs)
	}
	readAt := day.Add(8*time.Hour + time.Minute)
	ok(t, d.AckHandover(ctx, h.ID, bob.ID, "bob", readAt))
	isErr(t, d.AckHandover(ctx, h.ID, ann.ID, "ann", readAt), store.ErrConflict)
	isErr(t, d.AckHandover(ctx, "nope", ann.ID, "ann", readAt), store.ErrNotFound)
	gh, err := d.GetHandover(ctx, h.ID)
	ok(t, err)
	if gh.AckedBy != "bob" || !gh.AckedAt.Equal(readAt) {
		t.Fatalf("acknowledged handover %+v", gh)
	}

	// Notices and recipients.
	other := mkTenant(t, s, "other")
	remind := day.Add(4 * time.Hour)
	n := store.DeskNotice{ID: "notice-1", TenantID: ten.ID, Title: "紧急通告", Severity: "critical", Summary: "远程代码执行", RemindEvery: 4 * time.Hour, MaxReminders: 2, CreatedBy: ann.ID}
	rs := []store.NoticeRecipient{
		{ContactID: "c1", Name: "张三", Via: "email", Address: "zs@example.com", Status: "queued", NextRemindAt: remind},
		{ContactID: "c2", Name: "李四", Via: "sms", Address: "+8613800000000", Status: "queued", NextRemindAt: remind},
	}
	ok(t, d.CreateNotice(ctx, &n, rs))
	isErr(t, d.CreateNotice(ctx, &store.DeskNotice{ID: "notice-1", TenantID: ten.ID, Title: "again", Severity: "low"}, nil), store.ErrConflict)
	// The same notice ID in another tenant is another row.
	ok(t, d.CreateNotice(ctx, &store.DeskNotice{ID: "notice-1", TenantID: other.ID, Title: "x", Severity: "low"}, nil))
	ok(t, d.SetRecipientStatus(ctx, ten.ID, rs[1].ID, "failed", "gateway down"))
	isErr(t, d.SetRecipientStatus(ctx, other.ID, rs[0].ID, "failed", ""), store.ErrNotFound)
	ok(t, d.MarkRecipientRead(ctx, ten.ID, rs[0].ID, day.Add(time.Hour)))
	ok(t, d.MarkRecipientRead(ctx, ten.ID, rs[0].ID, day.Add(2*time.Hour))) // the first read stays
	isErr(t, d.MarkRecipientRead(ctx, other.ID, rs[0].ID, day), store.ErrNotFound)
	r0, err := d.GetRecipient(ctx, ten.ID, rs[0].ID)
	ok(t, err)
	if !r0.ReadAt.Equal(day.Add(time.Hour)) || !r0.AckedAt.IsZero() || !r0.NextRemindAt.Equal(remind) {
		t.Fatalf("read recipient %+v", r0)
	}
	// The failed SMS gets no reminder; the e-mail one is due at 04:00.
	due, err := d.DueReminders(ctx, remind.Add(-time.Second), 10)
	ok(t, err)
	same(t, "due before 04:00", 0, len(due))
	due, err = d.DueReminders(ctx, remind, 10)
	ok(t, err)
	if len(due) != 1 || due[0].ID != rs[0].ID {
		t.Fatalf("due at 04:00 %+v", due)
	}
	// Four writers race for the first reminder: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = d.ClaimReminder(ctx, ten.ID, rs[0].ID, 0, remind.Add(4*time.Hour)) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("claim: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d writers claimed the same reminder", wins)
	}
	due, err = d.DueReminders(ctx, remind, 10)
	ok(t, err)
	same(t, "due after the claim", 0, len(due))
	first, err := d.AckRecipient(ctx, ten.ID, rs[0].ID, "张三", remind.Add(time.Hour))
	ok(t, err)
	if !first {
		t.Fatal("first acknowledgement not first")
	}
	first, err = d.AckRecipient(ctx, ten.ID, rs[0].ID, "someone", remind.Add(2*time.Hour))
	ok(t, err)
	if first {
		t.Fatal("second acknowledgement counted as first")
	}
	_, err = d.AckRecipient(ctx, other.ID, rs[0].ID, "x", remind)
	isErr(t, err, store.ErrNotFound)
	isErr(t, d.ClaimReminder(ctx, ten.ID, rs[0].ID, 1, remind.Add(8*time.Hour)), store.ErrConflict) // acknowledged
	due, err = d.DueReminders(ctx, remind.Add(48*time.Hour), 10)
	ok(t, err)
	same(t, "due after acknowledgement", 0, len(due))
	gn, err := d.GetNotice(ctx, ten.ID, "notice-1")
	ok(t, err)
	if gn.Title != "紧急通告" || gn.Summary != "远程代码执行" || gn.RemindEvery != 4*time.Hour || gn.MaxReminders != 2 || gn.Recipients != 2 || gn.Read != 1 || gn.Acked != 1 {
		t.Fatalf("notice %+v", gn)
	}
	recips, err := d.Recipients(ctx, ten.ID, "notice-1")
	ok(t, err)
	if len(recips) != 2 || recips[0].Name != "张三" || recips[0].AckedBy != "张三" || recips[0].Reminders != 1 ||
		!recips[0].NextRemindAt.IsZero() || recips[1].Status != "failed" || recips[1].Error != "gateway down" {
		t.Fatalf("recipients %+v", recips)
	}
	ns, err := d.Notices(ctx, other.ID, store.Page{})
	ok(t, err)
	if len(ns) != 1 || ns[0].Recipients != 0 || ns[0].Title != "x" {
		t.Fatalf("other tenant's notices %+v", ns)
	}

	// Digest sections.
	s1 := store.DigestSection{TenantID: ten.ID, Title: "行业态势", Body: "<b>勒索软件</b> campaign", CreatedBy: ann.ID, CreatedByName: "ann"}
	ok(t, d.CreateSection(ctx, &s1))
	s2 := store.DigestSection{TenantID: ten.ID, Title: "second", Body: "b"}
	ok(t, d.CreateSection(ctx, &s2))
	s3 := store.DigestSection{TenantID: other.ID, Title: "other's", Body: "c"}
	ok(t, d.CreateSection(ctx, &s3))
	isErr(t, d.CreateSection(ctx, &store.DigestSection{TenantID: "nope", Title: "t", Body: "b"}), store.ErrNotFound)
	sentAt := day.Add(7 * 24 * time.Hour)
	claimed, err := d.ClaimSections(ctx, ten.ID, "report-1", sentAt, 10)
	ok(t, err)
	if len(claimed) != 2 || claimed[0].ID != s1.ID || claimed[1].ID != s2.ID || claimed[0].Body != s1.Body || !claimed[0].SentAt.Equal(sentAt) {
		t.Fatalf("claimed %+v", claimed)
	}
	again, err := d.ClaimSections(ctx, ten.ID, "report-2", sentAt, 10)
	ok(t, err)
	same(t, "claimed twice", 0, len(again))
	isErr(t, d.DeleteSection(ctx, ten.ID, s1.ID), store.ErrNotFound) // sent
	ok(t, d.ReleaseSections(ctx, ten.ID, "report-1"))
	secs, err := d.Sections(ctx, ten.ID, store.Page{})
	ok(t, err)
	if len(secs) != 2 || !secs[0].SentAt.IsZero() || secs[0].SentIn != "" {
		t.Fatalf("released sections %+v", secs)
	}
	one, err := d.ClaimSections(ctx, ten.ID, "report-3", sentAt, 1)
	ok(t, err)
	if len(one) != 1 || one[0].ID != s1.ID {
		t.Fatalf("claim one %+v", one)
	}
	secs, err = d.Sections(ctx, ten.ID, store.Page{})
	ok(t, err)
	if len(secs) != 2 || secs[0].ID != s2.ID || secs[1].SentIn != "report-3" {
		t.Fatalf("pending first %+v", secs)
	}
	isErr(t, d.DeleteSection(ctx, other.ID, s2.ID), store.ErrNotFound)
	ok(t, d.DeleteSection(ctx, ten.ID, s2.ID))
	os, err := d.Sections(ctx, other.ID, store.Page{})
	ok(t, err)
	if len(os) != 1 || os[0].ID != s3.ID {
		t.Fatalf("other tenant's sections %+v", os)
	}
}
