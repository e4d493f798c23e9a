package sepa

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// xmlScanner is the strict, streaming XML 1.0 tokenizer behind Check. It
// accepts and refuses what encoding/xml's Decoder (Strict, no
// CharsetReader, no custom entities) accepts and refuses, but reads from
// a large buffer, allocates nothing per token and hands the checker only
// what it needs: local element names, the root's namespace, the Ccy
// attribute and character data. It is about ten times faster than
// Decoder.Token, which allocates every name, attribute and text.
//
// Syntax errors are *xml.SyntaxError values with the line number, so that
// Check reports them as encoding/xml would.
type xmlScanner struct {
	rd      io.Reader
	buf     []byte
	r, w    int  // the unread window is buf[r:w]
	eof     bool // rd is exhausted (or failed: rerr)
	rerr    error
	line    int // line of buf[counted]
	counted int // newlines before buf[counted] are counted in line

	stack []*xmlName          // open elements
	names map[string]*xmlName // interned element names by raw name
	top   xmlName             // the parent of top-level elements
	text  []byte              // decoded character data (slow path)
	attrs []xmlAttr
	vals  []byte // decoded attribute values of the current tag
	atEOF bool   // the text being decoded ends the input
}

// xmlName is an interned element name as written (raw), its prefix and
// local part, and the names of the children seen below it (so that most
// names are found by a short comparison instead of a map lookup).
type xmlName struct {
	raw, prefix, local string
	kids               []*xmlName
	next               int // kids[next] is the likely next child
}

const maxKids = 64

// xmlAttr is an attribute of the current start tag: its name at nameAt
// (relative to the window's start; prefixLen 0 when it has none) and its
// decoded value vals[start:end].
type xmlAttr struct {
	nameAt, nameLen, prefixLen int
	start, end                 int
}

// xmlHandler receives the scanner's events. open returns false to stop
// scanning (the checker gives up after a wrong root).
type xmlHandler interface {
	open(name *xmlName, space, ccy string) bool
	close()
	chars(b []byte)
}

const (
	scanChunk    = 256 << 10
	maxNames     = 4096 // interned element names; more are allocated per use
	xmlNSURL     = "http://www.w3.org/XML/1998/namespace"
	xmlnsAttr    = "xmlns"
	xmlPrefixStr = "xml"
)

func newXMLScanner(rd io.Reader) *xmlScanner {
	return &xmlScanner{rd: rd, buf: make([]byte, scanChunk), line: 1, names: make(map[string]*xmlName)}
}

// fill reads more input into the window, moving the unread bytes to the
// front and growing the buffer when the window is full. It returns false
// at the end of the input (or on a read error, kept in rerr).
func (s *xmlScanner) fill() bool {
	if s.eof {
		return false
	}
	if s.r > 0 {
		s.line += bytes.Count(s.buf[s.counted:s.r], []byte{'\n'})
		n := copy(s.buf, s.buf[s.r:s.w])
		s.r, s.w, s.counted = 0, n, 0
	}
	if s.w == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	for {
		n, err := s.rd.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// at returns the byte i positions after buf[r], reading more input when
// needed; ok is false at the end of the input.
func (s *xmlScanner) at(i int) (byte, bool) {
	if j := s.r + i; j < s.w {
		return s.buf[j], true
	}
	return s.atSlow(i)
}

func (s *xmlScanner) atSlow(i int) (byte, bool) {
	for s.r+i >= s.w {
		if !s.fill() {
			return 0, false
		}
	}
	return s.buf[s.r+i], true
}

// advance consumes n bytes.
func (s *xmlScanner) advance(n int) { s.r += n }

// syntaxError is an error at the line of byte i of the window: the line
// encoding/xml reports, which counts the bytes it has consumed (so i is
// past a byte it read, at one it put back).
func (s *xmlScanner) syntaxError(i int, msg string) error {
	end := min(s.r+i, s.w)
	return &xml.SyntaxError{Msg: msg, Line: s.line + bytes.Count(s.buf[s.counted:end], []byte{'\n'})}
}

// eofError is the error for input that ends inside a token.
func (s *xmlScanner) eofError(i int) error {
	if s.rerr != nil {
		return s.rerr
	}
	return s.syntaxError(i, "unexpected EOF")
}

// scan reads the whole input and calls h. It returns nil at the end of
// well-formed input (or when h stops), a *xml.SyntaxError or the read
// error.
func (s *xmlScanner) scan(h xmlHandler) error {
	for {
		if s.r == s.w && !s.fill() {
			break
		}
		if s.buf[s.r] != '<' {
			if err := s.charData(h); err != nil {
				return err
			}
			continue
		}
		stop, err := s.markup(h)
		if err != nil || stop {
			return err
		}
	}
	if s.rerr != nil {
		return s.rerr
	}
	if len(s.stack) > 0 {
		return s.syntaxError(0, "unexpected EOF")
	}
	return nil
}

// charData handles the text up to the next '<' or the end of the input.
func (s *xmlScanner) charData(h xmlHandler) error {
	from := 0
	for {
		if i := bytes.IndexByte(s.buf[s.r+from:s.w], '<'); i >= 0 {
			from += i
			break
		}
		from = s.w - s.r
		if !s.fill() {
			if s.rerr != nil {
				return s.rerr
			}
			break
		}
	}
	raw := s.buf[s.r : s.r+from]
	s.atEOF = s.r+from == s.w && s.eof
	text, err := s.decode(raw, 0, 0, false)
	s.atEOF = false
	if err != nil {
		return err
	}
	h.chars(text)
	s.advance(from)
	return nil
}

// textClass sorts the bytes of character data: 0 plain ASCII, 1 a byte
// of a multi-byte UTF-8 sequence (validated), 2 a byte that needs the slow
// path (control characters other than tab and line feed, '&', ']').
var textClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = 1
		case (c < 0x20 && c != '\t' && c != '\n') || c == '&' || c == ']':
			t[c] = 2
		}
	}
	return t
}()

// decode returns the character data of raw: entities replaced, CR LF and
// CR turned into LF, and every character checked. quote is the closing
// quote of an attribute value (0 in text, where "]]>" is an error).
// cdata means raw is the inside of a CDATA section (no entities). The
// result is raw itself when nothing needs changing, else s.text.
func (s *xmlScanner) decode(raw []byte, base int, quote byte, cdata bool) ([]byte, error) {
	return s.decodeText(raw, base, quote, cdata, true)
}

// decodeText is decode; runes false skips the character check (the
// entities of a value cut short by '<' are reported first, as
// encoding/xml reads them in order).
func (s *xmlScanner) decodeText(raw []byte, base int, quote byte, cdata, runes bool) ([]byte, error) {
	var class uint8
	for _, c := range raw {
		class |= textClass[c]
		if class >= 2 {
			break
		}
	}
	switch class {
	case 0:
		return raw, nil
	case 1:
		if !runes {
			return raw, nil
		}
		return raw, s.checkRunes(raw, base+len(raw))
	}
	out := s.text[:0]
	var b0, b1 byte
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		if quote == 0 && !cdata && b0 == ']' && b1 == ']' && b == '>' {
			return nil, s.syntaxError(base+i, "unescaped ]]> not in CDATA section")
		}
		if b == '&' && !cdata {
			n, text, err := s.entity(raw[i:], base+i)
			if err != nil {
				return nil, err
			}
			out = append(out, text...)
			i += n - 1
			b0, b1 = 0, 0
			continue
		}
		switch {
		case b == '\r':
			out = append(out, '\n')
		case b1 == '\r' && b == '\n':
			// LF of CR LF: the CR was written as LF.
		default:
			out = append(out, b)
		}
		b0, b1 = b1, b
	}
	s.text = out
	if !runes {
		return out, nil
	}
	return out, s.checkRunes(out, base+len(raw))
}

// checkRunes reports invalid UTF-8 and characters outside the XML range
// (at pos, the end of the text, where encoding/xml finds them).
func (s *xmlScanner) checkRunes(b []byte, pos int) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return s.syntaxError(pos, fmt.Sprintf("illegal character code %U", rune(c)))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return s.syntaxError(pos, "invalid UTF-8")
		}
		if !inCharRange(r) {
			return s.syntaxError(pos, fmt.Sprintf("illegal character code %U", r))
		}
		i += size
	}
	return nil
}

// entity decodes the reference at the start of b ('&' …) and returns its
// length and text. Only the five predefined entities and character
// references are known (as in encoding/xml's strict mode).
func (s *xmlScanner) entity(b []byte, pos int) (int, string, error) {
	eof := func(i int) bool { return i >= len(b) && s.atEOF }
	bad := func(ref []byte) (int, string, error) {
		ent := string(ref)
		if !strings.HasSuffix(ent, ";") {
			ent += " (no semicolon)"
		}
		return 0, "", s.syntaxError(pos, "invalid character entity "+ent)
	}
	unexpectedEOF := func() (int, string, error) { return 0, "", s.syntaxError(pos+len(b), "unexpected EOF") }
	i := 1
	if eof(i) {
		return unexpectedEOF()
	}
	if i < len(b) && b[i] == '#' {
		i++
		base := 10
		if eof(i) {
			return unexpectedEOF()
		}
		if i < len(b) && b[i] == 'x' {
			base = 16
			i++
		}
		start := i
		for i < len(b) && (isDigit(b[i]) || base == 16 && (b[i] >= 'a' && b[i] <= 'f' || b[i] >= 'A' && b[i] <= 'F')) {
			i++
		}
		if eof(i) {
			return unexpectedEOF()
		}
		if i >= len(b) || b[i] != ';' {
			return bad(b[:i])
		}
		n, err := strconv.ParseUint(string(b[start:i]), base, 64)
		if err != nil || n > unicode.MaxRune {
			return bad(b[:i+1])
		}
		return i + 1, string(rune(n)), nil
	}
	start := i
	for i < len(b) && (b[i] >= utf8.RuneSelf || isNameByte(b[i])) {
		i++
	}
	if eof(i) {
		return unexpectedEOF()
	}
	if i >= len(b) || b[i] != ';' {
		return bad(b[:i])
	}
	var text string
	switch string(b[start:i]) {
	case "lt":
		text = "<"
	case "gt":
		text = ">"
	case "amp":
		text = "&"
	case "apos":
		text = "'"
	case "quot":
		text = `"`
	default:
		return bad(b[:i+1])
	}
	return i + 1, text, nil
}

func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// isName reports whether b is an XML name (xmlFirst, then xmlFirst or
// xmlSecond characters).
func isName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			ok := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
			if i > 0 {
				ok = ok || isNameByte(c)
			}
			if !ok {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return false
		}
		if !unicode.Is(xmlFirst, r) && (i == 0 || !unicode.Is(xmlSecond, r)) {
			return false
		}
		i += size
	}
	return true
}

// readName returns the length of the name starting i bytes into the
// window (0 when there is none); all input it needs is in the window
// afterwards.
func (s *xmlScanner) readName(i int) (int, error) {
	n := 0
	for {
		for _, c := range s.buf[s.r+i+n : s.w] {
			if !nameByte[c] {
				return n, nil
			}
			n++
		}
		if !s.fill() {
			return 0, s.eofError(i + n)
		}
	}
}

// nameByte marks the bytes a name may hold (all non-ASCII bytes: isName
// checks those runes).
var nameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= utf8.RuneSelf || isNameByte(byte(c))
	}
	return t
}()

// nsName reads a (prefix:)local name at i and returns its length and
// the length of its prefix (0: none). ok is false when there is no valid
// name (more than one colon counts as none, as in encoding/xml).
func (s *xmlScanner) nsName(i int) (n, prefixLen int, ok bool, err error) {
	n, err = s.readName(i)
	if err != nil || n == 0 {
		return 0, 0, false, err
	}
	b := s.buf[s.r+i : s.r+i+n]
	if !isName(b) {
		return 0, 0, false, s.syntaxError(i, "invalid XML name: "+string(b))
	}
	colons, k := 0, -1
	for j, c := range b {
		if c == ':' {
			colons++
			k = j
		}
	}
	switch {
	case colons > 1:
		return 0, 0, false, nil
	case k <= 0 || k == len(b)-1:
		return n, 0, true, nil
	default:
		return n, k, true, nil
	}
}

// space returns the number of blanks at i.
func (s *xmlScanner) space(i int) int {
	n := 0
	for {
		c, ok := s.at(i + n)
		if !ok || (c != ' ' && c != '\r' && c != '\n' && c != '\t') {
			return n
		}
		n++
	}
}

// markup handles the construct at '<'.
func (s *xmlScanner) markup(h xmlHandler) (stop bool, err error) {
	c, ok := s.at(1)
	if !ok {
		return false, s.eofError(1)
	}
	switch c {
	case '/':
		return false, s.endTag(h)
	case '?':
		return false, s.procInst()
	case '!':
		return false, s.bang(h)
	}
	return s.startTag(h)
}

// knownChild returns the name at 1 when it is one seen below the open
// element before (and the window holds it and the byte after it), and its
// length; nil when not.
func (s *xmlScanner) knownChild() (*xmlName, int) {
	parent := &s.top
	if k := len(s.stack); k > 0 {
		parent = s.stack[k-1]
	}
	// Children come in the same order again and again: try the one after
	// the last match first.
	kids := parent.kids
	for i, k := 0, parent.next; i < len(kids); i, k = i+1, k+1 {
		if k >= len(kids) {
			k = 0
		}
		kid := kids[k]
		n := len(kid.raw)
		if j := s.r + 1 + n; j < s.w && !nameByte[s.buf[j]] && string(s.buf[s.r+1:j]) == kid.raw {
			parent.next = k + 1
			return kid, n
		}
	}
	return nil, 0
}

// name returns the interned element name of n bytes at i (the window
// holds them), validating it the first time.
func (s *xmlScanner) name(i, n int) (*xmlName, bool, error) {
	raw := s.buf[s.r+i : s.r+i+n]
	parent := &s.top
	if k := len(s.stack); k > 0 {
		parent = s.stack[k-1]
	}
	for _, kid := range parent.kids {
		if string(raw) == kid.raw {
			return kid, true, nil
		}
	}
	name, ok := s.names[string(raw)]
	if !ok {
		n, k, ok, err := s.nsName(i)
		if err != nil || !ok {
			return nil, false, err
		}
		raw = s.buf[s.r+i : s.r+i+n]
		name = &xmlName{raw: string(raw), local: string(raw)}
		if k > 0 {
			name.prefix, name.local = name.raw[:k], name.raw[k+1:]
		}
		if len(s.names) < maxNames {
			s.names[name.raw] = name
		}
	}
	if len(parent.kids) < maxKids {
		parent.kids = append(parent.kids, name)
	}
	return name, true, nil
}

func (s *xmlScanner) endTag(h xmlHandler) error {
	// Fast path: </name> closing the open element of the same name.
	if k := len(s.stack) - 1; k >= 0 {
		raw := s.stack[k].raw
		if j := s.r + 2 + len(raw); j < s.w && s.buf[j] == '>' && string(s.buf[s.r+2:j]) == raw {
			s.stack = s.stack[:k]
			s.advance(len(raw) + 3)
			h.close()
			return nil
		}
	}
	n, err := s.readName(2)
	if err != nil {
		return err
	}
	if n == 0 {
		return s.syntaxError(2, "expected element name after </")
	}
	name, ok, err := s.name(2, n)
	if err != nil {
		return err
	}
	if !ok {
		return s.syntaxError(2, "expected element name after </")
	}
	i := 2 + n
	i += s.space(i)
	c, ok := s.at(i)
	if !ok {
		return s.eofError(i)
	}
	if c != '>' {
		return s.syntaxError(i, "invalid characters between </"+name.local+" and >")
	}
	if len(s.stack) == 0 {
		return s.syntaxError(i, "unexpected end element </"+name.local+">")
	}
	top := s.stack[len(s.stack)-1]
	switch {
	case top.local != name.local:
		return s.syntaxError(i, "element <"+top.local+"> closed by </"+name.local+">")
	case top.prefix != name.prefix:
		ns := name.prefix
		if ns == "" {
			ns = `""`
		}
		return s.syntaxError(i, "element <"+top.local+"> in space "+top.prefix+" closed by </"+name.local+"> in space "+ns)
	}
	s.stack = s.stack[:len(s.stack)-1]
	s.advance(i + 1)
	h.close()
	return nil
}

func (s *xmlScanner) startTag(h xmlHandler) (stop bool, err error) {
	name, n := s.knownChild()
	if name == nil {
		if n, err = s.readName(1); err != nil {
			return false, err
		}
		ok := n > 0
		if ok {
			name, ok, err = s.name(1, n)
			if err != nil {
				return false, err
			}
		}
		if !ok {
			return false, s.syntaxError(1, "expected element name after <")
		}
	}
	s.attrs, s.vals = s.attrs[:0], s.vals[:0]
	i := 1 + n
	empty := false
	for {
		i += s.space(i)
		c, ok := s.at(i)
		if !ok {
			return false, s.eofError(i)
		}
		if c == '/' {
			c, ok := s.at(i + 1)
			if !ok {
				return false, s.eofError(i + 1)
			}
			if c != '>' {
				return false, s.syntaxError(i+2, "expected /> in element")
			}
			empty = true
			i += 2
			break
		}
		if c == '>' {
			i++
			break
		}
		if i, err = s.attribute(i); err != nil {
			return false, err
		}
	}
	s.stack = append(s.stack, name)
	space, ccy := s.tagInfo(name)
	s.advance(i)
	if !h.open(name, space, ccy) {
		return true, nil
	}
	if empty {
		s.stack = s.stack[:len(s.stack)-1]
		h.close()
	}
	return false, nil
}

// attribute reads name="value" at i and returns the offset after it.
// Names are kept as offsets: the window may move while the tag is read.
func (s *xmlScanner) attribute(i int) (int, error) {
	n, k, ok, err := s.nsName(i)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, s.syntaxError(i, "expected attribute name in element")
	}
	a := xmlAttr{nameAt: i, nameLen: n, prefixLen: k}
	i += n
	i += s.space(i)
	c, ok := s.at(i)
	if !ok {
		return 0, s.eofError(i)
	}
	if c != '=' {
		return 0, s.syntaxError(i, "attribute name without = in element")
	}
	i++
	i += s.space(i)
	q, ok := s.at(i)
	if !ok {
		return 0, s.eofError(i)
	}
	if q != '"' && q != '\'' {
		return 0, s.syntaxError(i, "unquoted or missing attribute value in element")
	}
	i++
	start := i
	for {
		c, ok := s.at(i)
		if !ok {
			// encoding/xml checks the value read so far first.
			s.atEOF = true
			_, err := s.decode(s.buf[s.r+start:s.r+i], start, q, false)
			s.atEOF = false
			if err != nil && s.rerr == nil {
				return 0, err
			}
			return 0, s.eofError(i)
		}
		if c == q {
			break
		}
		if c == '<' {
			if _, err := s.decodeText(s.buf[s.r+start:s.r+i], start, q, false, false); err != nil {
				return 0, err
			}
			return 0, s.syntaxError(i+1, "unescaped < inside quoted string")
		}
		i++
	}
	val, err := s.decode(s.buf[s.r+start:s.r+i], start, q, false)
	if err != nil {
		return 0, err
	}
	a.start = len(s.vals)
	s.vals = append(s.vals, val...)
	a.end = len(s.vals)
	s.attrs = append(s.attrs, a)
	return i + 1, nil
}

// attrName returns the prefix and local name of a (the tag must be
// complete in the window).
func (s *xmlScanner) attrName(a *xmlAttr) (prefix, local []byte) {
	b := s.buf[s.r+a.nameAt : s.r+a.nameAt+a.nameLen]
	if a.prefixLen == 0 {
		return nil, b
	}
	return b[:a.prefixLen], b[a.prefixLen+1:]
}

// tagInfo returns what the checker needs of the start tag just read: the
// value of its last Ccy attribute and, for a top-level element, its
// namespace (as encoding/xml resolves it: the element's own xmlns
// declarations; an unbound prefix stays as written).
func (s *xmlScanner) tagInfo(name *xmlName) (space, ccy string) {
	top := len(s.stack) == 1
	bound := false
	for i := range s.attrs {
		a := &s.attrs[i]
		prefix, local := s.attrName(a)
		val := s.vals[a.start:a.end]
		switch {
		case string(local) == "Ccy":
			ccy = string(val)
		case !top:
		case name.prefix == "" && prefix == nil && string(local) == xmlnsAttr,
			name.prefix != "" && string(prefix) == xmlnsAttr && string(local) == name.prefix:
			space, bound = string(val), true
		}
	}
	switch {
	case !top:
	case name.prefix == xmlPrefixStr:
		space = xmlNSURL
	case name.prefix == xmlnsAttr:
		space = xmlnsAttr
	case !bound:
		space = name.prefix
	}
	return space, ccy
}

// declError is an unsupported XML declaration (worded as encoding/xml
// words it; not a SyntaxError there either).
type declError string

func (e declError) Error() string { return string(e) }

// procInst skips a processing instruction; the XML declaration's version
// must be 1.0 and its encoding UTF-8 (there is no charset conversion).
func (s *xmlScanner) procInst() error {
	n, err := s.readName(2)
	if err != nil {
		return err
	}
	if n == 0 || !isName(s.buf[s.r+2:s.r+2+n]) {
		if n > 0 {
			return s.syntaxError(2, "invalid XML name: "+string(s.buf[s.r+2:s.r+2+n]))
		}
		return s.syntaxError(2, "expected target name after <?")
	}
	i := 2 + n
	i += s.space(i)
	start := i
	var b0 byte
	for {
		b, ok := s.at(i)
		if !ok {
			return s.eofError(i)
		}
		i++
		if b0 == '?' && b == '>' {
			break
		}
		b0 = b
	}
	if string(s.buf[s.r+2:s.r+2+n]) == "xml" {
		content := string(s.buf[s.r+start : s.r+i-2])
		if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
			return declError(fmt.Sprintf("xml: unsupported version %q; only version 1.0 is supported", ver))
		}
		if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
			return declError(fmt.Sprintf("xml: encoding %q declared but Decoder.CharsetReader is nil", enc))
		}
	}
	s.advance(i)
	return nil
}

// procInstParam returns the value of param in the content of a processing
// instruction, the way encoding/xml reads it.
func procInstParam(param, s string) string {
	param += "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang handles "<!": a comment, a CDATA section or a directive (skipped).
func (s *xmlScanner) bang(h xmlHandler) error {
	c, ok := s.at(2)
	if !ok {
		return s.eofError(2)
	}
	switch c {
	case '-':
		return s.comment()
	case '[':
		return s.cdata(h)
	}
	return s.directive()
}

func (s *xmlScanner) comment() error {
	c, ok := s.at(3)
	if !ok {
		return s.eofError(3)
	}
	if c != '-' {
		return s.syntaxError(4, "invalid sequence <!- not part of <!--")
	}
	i := 4
	var b0, b1 byte
	for {
		b, ok := s.at(i)
		if !ok {
			return s.eofError(i)
		}
		i++
		if b0 == '-' && b1 == '-' {
			if b != '>' {
				return s.syntaxError(i, `invalid sequence "--" not allowed in comments`)
			}
			break
		}
		b0, b1 = b1, b
	}
	s.advance(i)
	return nil
}

func (s *xmlScanner) cdata(h xmlHandler) error {
	for k := range 6 {
		c, ok := s.at(3 + k)
		if !ok {
			return s.eofError(3 + k)
		}
		if c != "CDATA["[k] {
			return s.syntaxError(4+k, "invalid <![ sequence")
		}
	}
	start, i := 9, 9
	for {
		j := bytes.Index(s.buf[s.r+i:s.w], []byte("]]>"))
		if j >= 0 {
			i += j
			break
		}
		i = max(start, s.w-s.r-2)
		if !s.fill() {
			if s.rerr != nil {
				return s.rerr
			}
			return s.syntaxError(s.w-s.r, "unexpected EOF in CDATA section")
		}
	}
	text, err := s.decode(s.buf[s.r+start:s.r+i], start, 0, true)
	if err != nil {
		return err
	}
	h.chars(text)
	s.advance(i + 3)
	return nil
}

// directive skips <!DOCTYPE …> and the like: quoted '>' and '<' do not
// count, nested <…> and comments do.
func (s *xmlScanner) directive() error {
	i := 3 // the byte after "<!" is taken as it is, as encoding/xml does
	var quote byte
	depth := 0
	for {
		b, ok := s.at(i)
		if !ok {
			return s.eofError(i)
		}
		i++
		switch {
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '\'' || b == '"':
			quote = b
		case b == '>' && depth == 0:
			s.advance(i)
			return nil
		case b == '>':
			depth--
		case b == '<':
			if n, ok, err := s.commentIn(i); err != nil {
				return err
			} else if ok {
				i = n
			} else {
				depth++
			}
		}
	}
}

// commentIn skips "!--…-->" at i inside a directive and returns the offset
// after it; ok is false when no comment starts there.
func (s *xmlScanner) commentIn(i int) (int, bool, error) {
	for k := range 3 {
		c, ok := s.at(i + k)
		if !ok {
			return 0, false, s.eofError(i + k)
		}
		if c != "!--"[k] {
			return 0, false, nil
		}
	}
	i += 3
	var b0, b1 byte
	for {
		b, ok := s.at(i)
		if !ok {
			return 0, false, s.eofError(i)
		}
		i++
		if b0 == '-' && b1 == '-' && b == '>' {
			return i, true, nil
		}
		b0, b1 = b1, b
	}
}
