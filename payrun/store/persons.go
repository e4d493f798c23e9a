package store

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
)

// parsePersons decodes a decision's persons (the text of the jsonb column)
// as json.Unmarshal would. Run creation reads a million of them per run, and
// encoding/json's reflection was the largest cost of the Go side; the fast
// path reads the shape the importer stores (known keys, strings without
// escapes, integer needs levels) and hands anything else to json.Unmarshal,
// so the result is always json.Unmarshal's (FuzzParsePersons checks it).
func parsePersons(b []byte) ([]payrun.Person, error) {
	if ps, ok := fastPersons(b); ok {
		return ps, nil
	}
	var ps []payrun.Person
	err := json.Unmarshal(b, &ps)
	return ps, err
}

// jsonScan is a minimal reader over one JSON value; ok turns false at the
// first thing the fast path does not handle.
type jsonScan struct {
	b  []byte
	i  int
	ok bool
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c (after white space).
func (s *jsonScan) byte(c byte) bool {
	s.ws()
	if s.ok && s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// peek reports whether the next byte (after white space) is c, without
// consuming it.
func (s *jsonScan) peek(c byte) bool {
	s.ws()
	return s.ok && s.i < len(s.b) && s.b[s.i] == c
}

// str reads a string without escapes or control characters.
func (s *jsonScan) str() string {
	if !s.byte('"') {
		s.ok = false
		return ""
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			if !utf8.Valid(v) {
				s.ok = false
			}
			return string(v)
		case c == '\\' || c < 0x20:
			s.ok = false
			return ""
		}
		s.i++
	}
	s.ok = false
	return ""
}

// uint reads a small non-negative integer without sign, fraction or exponent.
func (s *jsonScan) uint() int {
	s.ws()
	n, start := 0, s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 9 {
		n = n*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start || (s.b[start] == '0' && s.i-start > 1) ||
		(s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E' || (s.b[s.i] >= '0' && s.b[s.i] <= '9'))) {
		s.ok = false
	}
	return n
}

// object calls field for every key of an object.
func (s *jsonScan) object(field func(key string)) {
	if !s.byte('{') {
		s.ok = false
		return
	}
	if s.byte('}') {
		return
	}
	for s.ok {
		key := s.str()
		if !s.byte(':') {
			s.ok = false
			return
		}
		field(key)
		if s.byte(',') {
			continue
		}
		if !s.byte('}') {
			s.ok = false
		}
		return
	}
}

// array calls elem for every element of an array.
func (s *jsonScan) array(elem func()) {
	if !s.byte('[') {
		s.ok = false
		return
	}
	if s.byte(']') {
		return
	}
	for s.ok {
		elem()
		if s.byte(',') {
			continue
		}
		if !s.byte(']') {
			s.ok = false
		}
		return
	}
}

func fastPersons(b []byte) ([]payrun.Person, bool) {
	s := &jsonScan{b: b, ok: true}
	var ps []payrun.Person
	if s.peek('n') {
		return nil, false
	}
	ps = []payrun.Person{}
	s.array(func() {
		var p payrun.Person
		s.object(func(key string) { s.personField(&p, key) })
		ps = append(ps, p)
	})
	s.ws()
	if !s.ok || s.i != len(b) {
		return nil, false
	}
	return ps, true
}

func (s *jsonScan) personField(p *payrun.Person, key string) {
	var err error
	switch key {
	case "person_id":
		p.PersonID = s.str()
	case "name":
		p.Name = s.str()
	case "birth_date":
		p.BirthDate, err = parseDate(s.str())
	case "needs_level":
		p.NeedsLevel = s.uint()
	case "fixed_amount":
		var c payrun.Cents
		c, err = payrun.ParseCents(s.str())
		p.FixedAmount = &c
	case "extra_needs":
		p.ExtraNeeds = []payrun.ExtraNeed{}
		s.array(func() {
			var e payrun.ExtraNeed
			s.object(func(key string) { s.extraField(&e, key) })
			p.ExtraNeeds = append(p.ExtraNeeds, e)
		})
	default:
		s.ok = false
	}
	if err != nil {
		s.ok = false
	}
}

func (s *jsonScan) extraField(e *payrun.ExtraNeed, key string) {
	var err error
	switch key {
	case "kind":
		e.Kind = payrun.ExtraNeedKind(s.str())
	case "percent":
		e.Percent, err = payrun.ParsePercent(s.str())
	case "amount":
		e.Amount, err = payrun.ParseCents(s.str())
	default:
		s.ok = false
	}
	if err != nil {
		s.ok = false
	}
}

// parseDate is payrun.ParseDate with a fast path for YYYY-MM-DD.
func parseDate(v string) (payrun.Date, error) {
	if len(v) == 10 && v[4] == '-' && v[7] == '-' {
		y, ok1 := digits(v[0:4])
		m, ok2 := digits(v[5:7])
		d, ok3 := digits(v[8:10])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m) {
			return payrun.NewDate(y, time.Month(m), d), nil
		}
	}
	return payrun.ParseDate(v)
}

func digits(v string) (int, bool) {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int(v[i]-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
