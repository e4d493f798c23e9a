package booking_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

type entryWriter interface {
	Write(*booking.Entry) error
	Close() (booking.Result, error)
}

// umlautRules gives the rules non-ASCII dimensions, to exercise encodings.
func umlautRules() []booking.Rule {
	rules := defaultRules()
	for i := range rules {
		rules[i].Product += " Hilfen für Geflüchtete"
	}
	return rules
}

func writeAll(tb testing.TB, w entryWriter, entries []booking.Entry) booking.Result {
	tb.Helper()
	for i := range entries {
		if err := w.Write(&entries[i]); err != nil {
			tb.Fatal(err)
		}
	}
	res, err := w.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func writeCSV(tb testing.TB, entries []booking.Entry, layout booking.CSVLayout) ([]byte, booking.Result) {
	tb.Helper()
	var buf bytes.Buffer
	w, err := booking.NewCSVWriter(&buf, "run-2026-12-1", layout)
	if err != nil {
		tb.Fatal(err)
	}
	res := writeAll(tb, w, entries)
	return buf.Bytes(), res
}

// splitControl returns the body and the control record's fields.
func splitControl(tb testing.TB, file []byte, sep string) ([]byte, []string) {
	tb.Helper()
	trimmed := bytes.TrimSuffix(file, []byte("\n"))
	i := bytes.LastIndexByte(trimmed, '\n')
	if i < 0 {
		tb.Fatalf("no control record in %q", file)
	}
	return file[:i+1], strings.Split(string(trimmed[i+1:]), sep)
}

func TestCSVFileDeterministicWithControlRecord(t *testing.T) {
	t.Parallel()
	entries := collect(t, mustChart(t, "lünen", umlautRules()), newGenerator(5, 500).lines())
	var debit payrun.Cents
	for _, e := range entries {
		if e.Side == booking.Debit {
			debit += e.Amount
		}
	}
	var utf8File []byte
	for _, enc := range []string{booking.EncodingUTF8, booking.EncodingWindows1252, booking.EncodingISO885915} {
		layout := booking.DefaultCSVLayout()
		layout.Encoding = enc
		a, res := writeCSV(t, entries, layout)
		b, _ := writeCSV(t, entries, layout)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: two writes differ", enc)
		}
		body, ctl := splitControl(t, a, ";")
		sum := sha256.Sum256(body)
		whole := sha256.Sum256(a)
		wantDebit := strings.Replace(debit.String(), ".", ",", 1)
		if len(ctl) != 6 || ctl[0] != "CONTROL" || ctl[1] != strconv.Itoa(len(entries)) || ctl[2] != wantDebit ||
			ctl[3] != wantDebit || ctl[4] != "run-2026-12-1" || ctl[5] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: control record %q, want %d lines, totals %s, sha %x", enc, ctl, len(entries), wantDebit, sum)
		}
		if res.Lines != int64(len(entries)) || res.Debit != debit || res.Credit != debit ||
			res.BodySHA256 != ctl[5] || res.SHA256 != hex.EncodeToString(whole[:]) || res.Bytes != int64(len(a)) {
			t.Errorf("%s: result %+v", enc, res)
		}
		if enc == booking.EncodingUTF8 {
			utf8File = a
			continue
		}
		// Decoded, the body is the UTF-8 body: only the encoding differs.
		cm := map[string]*charmap.Charmap{booking.EncodingWindows1252: charmap.Windows1252, booking.EncodingISO885915: charmap.ISO8859_15}[enc]
		dec, err := cm.NewDecoder().Bytes(body)
		if err != nil {
			t.Fatal(err)
		}
		ubody, _ := splitControl(t, utf8File, ";")
		if !bytes.Equal(dec, ubody) || bytes.Equal(body, ubody) {
			t.Errorf("%s: decoded body differs from the utf-8 body (or was not transcoded)", enc)
		}
	}
}

func TestCSVParsesWithLayout(t *testing.T) {
	t.Parallel()
	entries := collect(t, mustChart(t, "luenen", defaultRules()), newGenerator(6, 200).lines())
	entries[0].CaseID = `C;"quoted"` // forces quoting
	layout := booking.CSVLayout{Separator: ',', Columns: []string{booking.ColSeq, booking.ColCase, booking.ColSide, booking.ColAmount, booking.ColAccount}, CRLF: true}
	file, _ := writeCSV(t, entries, layout)
	r := csv.NewReader(bytes.NewReader(file))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], "|"); got != "seq|case|side|amount|account" {
		t.Errorf("header %q", got)
	}
	if len(recs) != len(entries)+2 || recs[len(recs)-1][0] != "CONTROL" {
		t.Fatalf("%d records for %d entries", len(recs), len(entries))
	}
	for i, e := range entries {
		rec := recs[i+1]
		amt, err := payrun.ParseCents(rec[3])
		if err != nil || rec[0] != strconv.FormatInt(e.Seq, 10) || rec[1] != e.CaseID || amt != e.Amount || rec[4] != e.Account ||
			rec[2] != map[booking.Side]string{booking.Debit: "D", booking.Credit: "C"}[e.Side] {
			t.Fatalf("record %d = %q, entry %+v (%v)", i, rec, e, err)
		}
	}
	if !bytes.Contains(file, []byte("\r\n")) {
		t.Error("CRLF layout wrote no CR LF")
	}
}

func TestCSVLayoutErrors(t *testing.T) {
	t.Parallel()
	for name, l := range map[string]booking.CSVLayout{
		"unknown column":  {Columns: []string{"seq", "nope"}},
		"repeated column": {Columns: []string{"seq", "seq"}},
		"encoding":        {Encoding: "ebcdic"},
		"comma twice":     {Separator: ',', DecimalComma: true},
		"quote separator": {Separator: '"'},
	} {
		if _, err := booking.NewCSVWriter(io.Discard, "r", l); !errors.Is(err, payrun.ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// A character the encoding lacks is an error, not a replacement.
	rules := defaultRules()
	for i := range rules {
		rules[i].Product = "Hilfe – § 3" // en dash: in windows-1252, not in iso-8859-15
	}
	entries := collect(t, mustChart(t, "luenen", rules), newGenerator(7, 3).lines())
	l := booking.DefaultCSVLayout()
	l.Encoding = booking.EncodingISO885915
	w, err := booking.NewCSVWriter(io.Discard, "r", l)
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(&entries[0])
	if err == nil {
		_, err = w.Close()
	}
	if !errors.Is(err, booking.ErrUnencodable) {
		t.Errorf("iso-8859-15 with an en dash: err = %v", err)
	}
	l.Encoding = booking.EncodingWindows1252
	if _, res := writeCSV(t, entries, l); res.Lines != int64(len(entries)) {
		t.Errorf("windows-1252: %+v", res)
	}
}

func TestJSONLines(t *testing.T) {
	t.Parallel()
	entries := collect(t, mustChart(t, "lünen", umlautRules()), newGenerator(8, 300).lines())
	entries[1].CaseID = "C\"\\\n\x01"
	write := func() ([]byte, booking.Result) {
		var buf bytes.Buffer
		res := writeAll(t, booking.NewJSONWriter(&buf, "run-1"), entries)
		return buf.Bytes(), res
	}
	a, res := write()
	if b, _ := write(); !bytes.Equal(a, b) {
		t.Fatal("two writes differ")
	}
	sc := bufio.NewScanner(bytes.NewReader(a))
	var n int
	var body int
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Bytes())
		}
		if rec["record"] == "control" {
			sum := sha256.Sum256(a[:body])
			if rec["sha256"] != hex.EncodeToString(sum[:]) || rec["lines"] != float64(len(entries)) ||
				rec["debit"] != res.Debit.String() || rec["credit"] != res.Credit.String() || rec["run"] != "run-1" {
				t.Errorf("control %v, want sha %x", rec, sum)
			}
			break
		}
		e := entries[n]
		side := map[booking.Side]string{booking.Debit: "debit", booking.Credit: "credit"}[e.Side]
		if rec["amount"] != e.Amount.String() || rec["case"] != e.CaseID || rec["seq"] != float64(e.Seq) ||
			rec["side"] != side || rec["product"] != e.Product || rec["month"] != e.Month.String() || rec["text"] != e.Text() {
			t.Fatalf("line %d = %v, entry %+v", n+1, rec, e)
		}
		for _, col := range booking.Columns {
			if _, ok := rec[col]; !ok {
				t.Fatalf("line %d lacks %q", n+1, col)
			}
		}
		n++
		body += len(sc.Bytes()) + 1
	}
	if n != len(entries) || res.Lines != int64(n) || res.Debit != res.Credit {
		t.Errorf("%d lines for %d entries, result %+v", n, len(entries), res)
	}
}

// BenchmarkJournalCSV books and writes the journal of 1,000,000 run lines
// (two CSV records each, default layout) to io.Discard per iteration.
func BenchmarkJournalCSV(b *testing.B) {
	const lines = 1_000_000
	chart := mustChart(b, "luenen", defaultRules())
	g := newGenerator(99, lines) // at least one line per case: cut at 1,000,000
	src := func(yield func(booking.Line, error) bool) {
		n := 0
		for l, err := range g.lines() {
			if n == lines || !yield(l, err) {
				return
			}
			n++
		}
	}
	var bytesOut int64
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		w, err := booking.NewCSVWriter(io.Discard, "run-2026-12-1", booking.DefaultCSVLayout())
		if err != nil {
			b.Fatal(err)
		}
		for e, err := range chart.Journal(src) {
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Write(&e); err != nil {
				b.Fatal(err)
			}
		}
		res, err := w.Close()
		if err != nil || res.Lines != 2*lines {
			b.Fatalf("%+v %v", res, err)
		}
		bytesOut = res.Bytes
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.SetBytes(bytesOut)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/lines, "ns/line")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/lines, "allocs/line")
}
