package scheduler_test

import (
	"testing"
	"time"

	"github.com/payrun/payrun/scheduler"
)

func TestWallScheduleDaylightSaving(t *testing.T) {
	t.Parallel()
	s, err := scheduler.ParseSpec("30 2 * * *", berlin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		from  time.Time
		wantZ []string // UTC instants of the next three occurrences
	}{
		// 29 Mar 2026: 02:00 CET jumps to 03:00 CEST; 02:30 runs at 03:30 CEST.
		{"spring forward", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin),
			[]string{"2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
		// 25 Oct 2026: 03:00 CEST falls back to 02:00 CET; 02:30 runs once.
		{"fall back", time.Date(2026, 10, 24, 12, 0, 0, 0, berlin),
			[]string{"2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"}},
	} {
		at := tc.from
		for i, want := range tc.wantZ {
			at = s.Next(at)
			if got := at.UTC().Format(time.RFC3339); got != want {
				t.Errorf("%s: occurrence %d = %s, want %s", tc.name, i+1, got, want)
			}
		}
	}
}

func TestParseSpecRejects(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"", "@every 1h", "CRON_TZ=UTC 0 2 * * *", "61 2 * * *", "0 2 * *"} {
		if _, err := scheduler.ParseSpec(spec, berlin); err == nil {
			t.Errorf("ParseSpec(%q) accepted", spec)
		}
	}
}
