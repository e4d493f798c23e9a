package store

import (
	"time"
	"unicode/utf8"

	"github.com/payrun/payrun/payrun"
)

// fastDecode decodes one line of the fixed decision shape (CONTRACT.md §2)
// into d without reflection. It handles the common, well-formed case only:
// exact key names, each key at most once, strings without escapes, null
// only where encoding/json turns it into nil, amounts and dates that parse.
// Whenever it meets anything else it returns false and the caller decodes
// the line with encoding/json, which also produces the error messages. When
// it returns true, d equals what encoding/json (DisallowUnknownFields, one
// value per line) would have decoded; FuzzFastDecode checks that.
//
// complete reports whether the line had the keys missingFields looks for
// (payee, and birth_date in every person): then missingFields finds
// nothing.
func fastDecode(line []byte, d *payrun.Decision, c *internCache) (ok, complete bool) {
	p := fastDec{b: line, c: c}
	if !p.decision(d) {
		return false, false
	}
	p.ws()
	return p.i == len(p.b), p.payee && p.birthDates >= len(d.Persons)
}

// internCache reuses the strings of low-cardinality fields (municipality,
// law, channel, person ids) between lines of one parser goroutine.
type internCache struct {
	slots [16]string
}

func (c *internCache) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := (int(b[0]) + int(b[len(b)-1])*7 + len(b)*31) & 15
	if s := c.slots[h]; s == string(b) {
		return s
	}
	s := string(b)
	c.slots[h] = s
	return s
}

type fastDec struct {
	b          []byte
	i          int
	c          *internCache
	payee      bool // the key payee was read
	birthDates int  // persons' birth_date keys read
}

func (p *fastDec) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips whitespace and the byte c; false if the next byte is not c.
func (p *fastDec) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// null consumes the literal null.
func (p *fastDec) null() bool {
	p.ws()
	if len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return true
	}
	return false
}

// raw reads a string without escapes or control characters and returns its
// bytes (valid UTF-8).
func (p *fastDec) raw() ([]byte, bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	ascii := true
	for j := start; j < len(p.b); j++ {
		c := p.b[j]
		switch {
		case c == '"':
			s := p.b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			p.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

func (p *fastDec) str(dst *string) bool {
	b, ok := p.raw()
	if ok {
		*dst = string(b)
	}
	return ok
}

func (p *fastDec) interned(dst *string) bool {
	b, ok := p.raw()
	if ok {
		*dst = p.c.get(b)
	}
	return ok
}

// strPtr reads a string or null into a *string.
func (p *fastDec) strPtr(dst **string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	var s string
	if !p.str(&s) {
		return false
	}
	*dst = &s
	return true
}

func (p *fastDec) date(dst *payrun.Date) bool {
	b, ok := p.raw()
	if !ok {
		return false
	}
	d, ok := parseDateBytes(b)
	if ok {
		*dst = d
	}
	return ok
}

func (p *fastDec) cents(dst *payrun.Cents) bool {
	b, ok := p.raw()
	if !ok {
		return false
	}
	c, ok := parseCentsBytes(b)
	if ok {
		*dst = c
	}
	return ok
}

func (p *fastDec) percent(dst *payrun.Percent) bool {
	b, ok := p.raw()
	if !ok {
		return false
	}
	c, ok := parseCentsBytes(b)
	if !ok || c < 0 || c > 100_00 {
		return false
	}
	*dst = payrun.Percent(c)
	return true
}

// integer reads a JSON integer (no fraction or exponent) that fits an int.
func (p *fastDec) integer(dst *int) bool {
	p.ws()
	i := p.i
	neg := i < len(p.b) && p.b[i] == '-'
	if neg {
		i++
	}
	start := i
	v := 0
	for i < len(p.b) && p.b[i] >= '0' && p.b[i] <= '9' {
		v = v*10 + int(p.b[i]-'0')
		i++
	}
	n := i - start
	if n == 0 || n > 15 || (n > 1 && p.b[start] == '0') {
		return false
	}
	if i < len(p.b) && (p.b[i] == '.' || p.b[i] == 'e' || p.b[i] == 'E') {
		return false
	}
	if neg {
		v = -v
	}
	*dst = v
	p.i = i
	return true
}

// object reads {"key": value, ...}; field decodes the value of key and
// returns false for an unknown key or a value it cannot take. A key seen
// twice fails (encoding/json would merge or overwrite).
func (p *fastDec) object(field func(key string) bool, keys []string) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	var seen uint32
	for {
		k, ok := p.raw()
		if !ok || !p.consume(':') {
			return false
		}
		j := 0
		for j < len(keys) && string(k) != keys[j] {
			j++
		}
		if j == len(keys) || seen&(1<<j) != 0 {
			return false
		}
		seen |= 1 << j
		if !field(keys[j]) {
			return false
		}
		if p.consume(',') {
			continue
		}
		return p.consume('}')
	}
}

var decisionKeys = []string{"municipality", "decision_id", "case_id", "supersedes", "law", "valid_from",
	"valid_to", "persons", "housing", "countable_income", "payee", "landlord", "offset"}

func (p *fastDec) decision(d *payrun.Decision) bool {
	return p.object(func(k string) bool {
		switch k {
		case "municipality":
			return p.interned(&d.Municipality)
		case "decision_id":
			return p.str(&d.DecisionID)
		case "case_id":
			return p.str(&d.CaseID)
		case "supersedes":
			return p.strings(&d.Supersedes)
		case "law":
			var s string
			ok := p.interned(&s)
			d.Law = payrun.Law(s)
			return ok
		case "valid_from":
			return p.date(&d.ValidFrom)
		case "valid_to":
			if p.null() {
				d.ValidTo = nil
				return true
			}
			var v payrun.Date
			if !p.date(&v) {
				return false
			}
			d.ValidTo = &v
			return true
		case "persons":
			return p.persons(&d.Persons)
		case "housing":
			return p.housing(&d.Housing)
		case "countable_income":
			return p.cents(&d.CountableIncome)
		case "payee":
			p.payee = true
			return p.payeeObject(&d.Payee)
		case "landlord":
			return p.landlord(&d.Landlord)
		case "offset":
			return p.offset(&d.Offset)
		}
		return false
	}, decisionKeys)
}

// strings reads an array of strings or null.
func (p *fastDec) strings(dst *[]string) bool {
	if p.null() {
		*dst = nil
		return true
	}
	if !p.consume('[') {
		return false
	}
	out := []string{}
	if p.consume(']') {
		*dst = out
		return true
	}
	for {
		var s string
		if !p.str(&s) {
			return false
		}
		out = append(out, s)
		if p.consume(',') {
			continue
		}
		if !p.consume(']') {
			return false
		}
		*dst = out
		return true
	}
}

var personKeys = []string{"person_id", "name", "birth_date", "needs_level", "fixed_amount", "extra_needs"}

func (p *fastDec) persons(dst *[]payrun.Person) bool {
	if p.null() {
		*dst = nil
		return true
	}
	if !p.consume('[') {
		return false
	}
	out := make([]payrun.Person, 0, 6)
	if p.consume(']') {
		*dst = out
		return true
	}
	for {
		out = append(out, payrun.Person{})
		ps := &out[len(out)-1]
		ok := p.object(func(k string) bool {
			switch k {
			case "person_id":
				return p.interned(&ps.PersonID)
			case "name":
				return p.str(&ps.Name)
			case "birth_date":
				p.birthDates++
				return p.date(&ps.BirthDate)
			case "needs_level":
				return p.integer(&ps.NeedsLevel)
			case "fixed_amount":
				if p.null() {
					ps.FixedAmount = nil
					return true
				}
				var c payrun.Cents
				if !p.cents(&c) {
					return false
				}
				ps.FixedAmount = &c
				return true
			case "extra_needs":
				return p.extraNeeds(&ps.ExtraNeeds)
			}
			return false
		}, personKeys)
		if !ok {
			return false
		}
		if p.consume(',') {
			continue
		}
		if !p.consume(']') {
			return false
		}
		*dst = out
		return true
	}
}

var extraNeedKeys = []string{"kind", "percent", "amount"}

func (p *fastDec) extraNeeds(dst *[]payrun.ExtraNeed) bool {
	if p.null() {
		*dst = nil
		return true
	}
	if !p.consume('[') {
		return false
	}
	out := []payrun.ExtraNeed{}
	if p.consume(']') {
		*dst = out
		return true
	}
	for {
		out = append(out, payrun.ExtraNeed{})
		e := &out[len(out)-1]
		ok := p.object(func(k string) bool {
			switch k {
			case "kind":
				var s string
				ok := p.interned(&s)
				e.Kind = payrun.ExtraNeedKind(s)
				return ok
			case "percent":
				return p.percent(&e.Percent)
			case "amount":
				return p.cents(&e.Amount)
			}
			return false
		}, extraNeedKeys)
		if !ok {
			return false
		}
		if p.consume(',') {
			continue
		}
		if !p.consume(']') {
			return false
		}
		*dst = out
		return true
	}
}

var housingKeys = []string{"rent", "heating", "pay_to"}

func (p *fastDec) housing(dst **payrun.Housing) bool {
	if p.null() {
		*dst = nil
		return true
	}
	h := &payrun.Housing{}
	ok := p.object(func(k string) bool {
		switch k {
		case "rent":
			return p.cents(&h.Rent)
		case "heating":
			return p.cents(&h.Heating)
		case "pay_to":
			var s string
			ok := p.interned(&s)
			h.PayTo = payrun.PayTo(s)
			return ok
		}
		return false
	}, housingKeys)
	*dst = h
	return ok
}

var payeeKeys = []string{"channel", "name", "iban", "bic"}

func (p *fastDec) payeeObject(py *payrun.Payee) bool {
	if p.null() {
		return true // encoding/json leaves a struct unchanged on null
	}
	return p.object(func(k string) bool {
		switch k {
		case "channel":
			var s string
			ok := p.interned(&s)
			py.Channel = payrun.Channel(s)
			return ok
		case "name":
			return p.str(&py.Name)
		case "iban":
			return p.str(&py.IBAN)
		case "bic":
			return p.strPtr(&py.BIC)
		}
		return false
	}, payeeKeys)
}

var landlordKeys = []string{"name", "iban", "bic", "reference"}

func (p *fastDec) landlord(dst **payrun.Landlord) bool {
	if p.null() {
		*dst = nil
		return true
	}
	l := &payrun.Landlord{}
	ok := p.object(func(k string) bool {
		switch k {
		case "name":
			return p.str(&l.Name)
		case "iban":
			return p.str(&l.IBAN)
		case "bic":
			return p.strPtr(&l.BIC)
		case "reference":
			return p.str(&l.Reference)
		}
		return false
	}, landlordKeys)
	*dst = l
	return ok
}

var offsetKeys = []string{"reclaim_id", "monthly", "remaining"}

func (p *fastDec) offset(dst **payrun.Offset) bool {
	if p.null() {
		*dst = nil
		return true
	}
	o := &payrun.Offset{}
	ok := p.object(func(k string) bool {
		switch k {
		case "reclaim_id":
			return p.str(&o.ReclaimID)
		case "monthly":
			return p.cents(&o.Monthly)
		case "remaining":
			return p.cents(&o.Remaining)
		}
		return false
	}, offsetKeys)
	*dst = o
	return ok
}

// parseDateBytes parses YYYY-MM-DD as payrun.ParseDate does; false for
// anything ParseDate would reject.
func parseDateBytes(b []byte) (payrun.Date, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	num := func(s []byte) (int, bool) {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(b[0:4])
	m, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > monthDays(y, m) {
		return 0, false
	}
	return payrun.NewDate(y, time.Month(m), d), true
}

func monthDays(y, m int) int {
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

// parseCentsBytes accepts exactly what payrun.ParseCents accepts.
func parseCentsBytes(s []byte) (payrun.Cents, bool) {
	c, err := payrun.ParseCentsBytes(s)
	return c, err == nil
}
