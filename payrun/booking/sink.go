package booking

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/payrun/payrun/payrun"
)

// Result is what a writer reports when it is closed, for manifest.json.
type Result struct {
	Lines      int64        // booking records, without header and control record
	Debit      payrun.Cents // Σ amounts on the debit side
	Credit     payrun.Cents // Σ amounts on the credit side
	BodySHA256 string       // hex sha256 of the bytes before the control record
	SHA256     string       // hex sha256 of the whole file
	Bytes      int64        // size of the whole file
}

// ErrUnencodable is matched by errors about a character the chosen
// encoding cannot represent; the writer never substitutes characters.
var ErrUnencodable = errors.New("character not representable in the file's encoding")

const flushAt = 64 << 10

// sink buffers encoded output, hashes it and writes it to w in large
// chunks. It remembers the first error.
type sink struct {
	w     io.Writer
	cm    *charmap.Charmap // nil: UTF-8
	buf   []byte
	h     hash.Hash
	bytes int64
	err   error
}

func newSink(w io.Writer, cm *charmap.Charmap) *sink {
	return &sink{w: w, cm: cm, buf: make([]byte, 0, flushAt+4096), h: sha256.New()}
}

// put appends a record given in UTF-8, transcoding it if needed.
func (s *sink) put(rec []byte, seq int64) {
	if s.err != nil {
		return
	}
	if s.cm == nil {
		s.buf = append(s.buf, rec...)
	} else {
		s.putCharmap(rec, seq)
	}
	s.maybeFlush()
}

func (s *sink) maybeFlush() {
	if len(s.buf) >= flushAt {
		s.flush()
	}
}

func (s *sink) putCharmap(rec []byte, seq int64) {
	for i := 0; i < len(rec); {
		c := rec[i]
		if c < utf8.RuneSelf {
			s.buf = append(s.buf, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(rec[i:])
		b, ok := s.cm.EncodeRune(r)
		if r == utf8.RuneError || !ok {
			s.err = fmt.Errorf("booking: line %d: %w: %q in %s", seq, ErrUnencodable, r, s.cm)
			return
		}
		s.buf = append(s.buf, b)
		i += n
	}
}

func (s *sink) flush() {
	if s.err != nil || len(s.buf) == 0 {
		return
	}
	s.h.Write(s.buf)
	n, err := s.w.Write(s.buf)
	s.bytes += int64(n)
	if err != nil {
		s.err = fmt.Errorf("booking: writing: %w", err)
	}
	s.buf = s.buf[:0]
}

// bodySum flushes and returns the hex sha256 of everything written so far,
// leaving the running hash intact so that the file hash can continue.
func (s *sink) bodySum() (string, error) {
	s.flush()
	if s.err != nil {
		return "", s.err
	}
	state, err := s.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("booking: hash state: %w", err)
	}
	clone := sha256.New()
	if err := clone.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return "", fmt.Errorf("booking: hash state: %w", err)
	}
	return hex.EncodeToString(clone.Sum(nil)), nil
}

// finish flushes and returns the hex sha256 of the whole output.
func (s *sink) finish() (string, error) {
	s.flush()
	if s.err != nil {
		return "", s.err
	}
	return hex.EncodeToString(s.h.Sum(nil)), nil
}

// appendAmount appends c with two decimals and the given decimal mark, no
// thousands separator.
func appendAmount(b []byte, c payrun.Cents, mark byte) []byte {
	b = c.Append(b)
	b[len(b)-3] = mark
	return b
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, control characters are escaped, as encoding/json does (without
// its HTML escaping).
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
