package notify

import (
	"testing"
	"time"
)

// Known vectors given with the task (external, not computed here).
func TestDingTalkSignKnownVector(t *testing.T) {
	const want = "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
	if got := dingtalkSign(1700000000000, "SECtest"); got != want {
		t.Fatalf("dingtalkSign = %q, want %q", got, want)
	}
}

func TestFeishuSignKnownVector(t *testing.T) {
	const want = "eSJQnOl8XqPTMPHWz9e5IzeHS/tqoc68g2967ekIPmg="
	if got := feishuSign(1700000000, "test"); got != want {
		t.Fatalf("feishuSign = %q, want %q", got, want)
	}
}

func TestVerifyWebhook(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"id":"m1"}`)
	sig := SignWebhook("s3cret", now, body)
	if err := VerifyWebhook("s3cret", sig, "1700000000", body, now, 5*time.Minute); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	for name, tc := range map[string]struct {
		secret, sig, ts string
		body            []byte
		now             time.Time
	}{
		"wrong secret":   {"other", sig, "1700000000", body, now},
		"tampered body":  {"s3cret", sig, "1700000000", []byte(`{"id":"m2"}`), now},
		"stale":          {"s3cret", sig, "1700000000", body, now.Add(time.Hour)},
		"bad timestamp":  {"s3cret", sig, "x", body, now},
		"replayed at ts": {"s3cret", sig, "1700000001", body, now},
	} {
		if err := VerifyWebhook(tc.secret, tc.sig, tc.ts, tc.body, tc.now, 5*time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
