package store

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
)

// parsePersons decodes a decision's persons (the text of the json column)
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
	v := s.strBytes()
	if !s.ok {
		return ""
	}
	return string(v)
}

// strBytes is str without a copy: the bytes are the input's.
func (s *jsonScan) strBytes() []byte {
	if !s.byte('"') {
		s.ok = false
		return nil
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
			return v
		case c == '\\' || c < 0x20:
			s.ok = false
			return nil
		}
		s.i++
	}
	s.ok = false
	return nil
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

// object calls field for every key of an object (the key's bytes are the
// input's).
func (s *jsonScan) object(field func(key []byte)) {
	if !s.byte('{') {
		s.ok = false
		return
	}
	if s.byte('}') {
		return
	}
	for s.ok {
		key := s.strBytes()
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
		s.object(func(key []byte) { s.personField(&p, key) })
		ps = append(ps, p)
	})
	s.ws()
	if !s.ok || s.i != len(b) {
		return nil, false
	}
	return ps, true
}

func (s *jsonScan) personField(p *payrun.Person, key []byte) {
	var err error
	switch string(key) {
	case "person_id":
		p.PersonID = s.str()
	case "name":
		p.Name = s.str()
	case "birth_date":
		v := s.strBytes()
		var ok bool
		if p.BirthDate, ok = parseDateBytes(v); !ok {
			p.BirthDate, err = payrun.ParseDate(string(v))
		}
	case "needs_level":
		p.NeedsLevel = s.uint()
	case "fixed_amount":
		var c payrun.Cents
		c, err = payrun.ParseCentsBytes(s.strBytes())
		p.FixedAmount = &c
	case "extra_needs":
		p.ExtraNeeds = []payrun.ExtraNeed{}
		s.array(func() {
			var e payrun.ExtraNeed
			s.object(func(key []byte) { s.extraField(&e, key) })
			p.ExtraNeeds = append(p.ExtraNeeds, e)
		})
	default:
		s.ok = false
	}
	if err != nil {
		s.ok = false
	}
}

func (s *jsonScan) extraField(e *payrun.ExtraNeed, key []byte) {
	var err error
	switch string(key) {
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
