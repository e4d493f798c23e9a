package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Zone is the time zone every schedule is evaluated in.
const Zone = "Europe/Berlin"

// Schedule yields the next occurrence after a given instant;
// *WallSchedule and any cron.Schedule satisfy it.
type Schedule interface {
	Next(time.Time) time.Time
}

// WallSchedule is a cron spec evaluated on the wall clock of a location,
// so that daylight-saving changes neither skip nor double an occurrence:
// a wall time inside the spring-forward gap maps to the instant one hour
// later (time.Date's normalisation), and a wall time that occurs twice on
// the fall-back night occurs once.
type WallSchedule struct {
	spec *cron.SpecSchedule // evaluated in UTC, which has no DST: the wall clock
	loc  *time.Location
}

// ParseSpec parses a standard five-field cron spec ("30 2 * * *") or a
// descriptor such as @daily, to be evaluated in loc. It rejects @every
// (not a wall-clock schedule) and CRON_TZ/TZ prefixes (the zone is loc).
func ParseSpec(spec string, loc *time.Location) (*WallSchedule, error) {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "CRON_TZ=") || strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "@every") {
		return nil, fmt.Errorf("scheduler: spec %q: want a five-field cron spec without time zone or @every", spec)
	}
	parsed, err := cron.ParseStandard(s)
	if err != nil {
		return nil, fmt.Errorf("scheduler: spec %q: %w", spec, err)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("scheduler: spec %q: not a calendar schedule", spec)
	}
	ss.Location = time.UTC
	return &WallSchedule{spec: ss, loc: loc}, nil
}

// Next returns the first occurrence strictly after t.
func (w *WallSchedule) Next(t time.Time) time.Time {
	wall := toWall(t.In(w.loc))
	for i := 0; i < 1000; i++ { // an occurrence maps back at most ~1h: a few steps
		wall = w.spec.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		if at := fromWall(wall, w.loc); at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// toWall returns t's wall clock reading as a UTC time.
func toWall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// fromWall returns the instant of wall clock reading w (a UTC time) in loc.
func fromWall(w time.Time, loc *time.Location) time.Time {
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	return time.Date(y, mo, d, h, mi, s, w.Nanosecond(), loc)
}

// latestDue returns the latest occurrence of s after last and not after
// now, or false when there is none.
func latestDue(s Schedule, last, now time.Time) (time.Time, bool) {
	next := s.Next(last)
	if next.IsZero() || next.After(now) {
		return time.Time{}, false
	}
	for {
		n := s.Next(next)
		if n.IsZero() || n.After(now) {
			return next, true
		}
		next = n
	}
}
