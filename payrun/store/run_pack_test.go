package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/payrun/payrun/payrun"
)

// randomLines returns n lines of one case with random fields.
func randomLines(r *rand.Rand, caseID string, n int) []RunLine {
	ids := []string{"", "D-1", "D (2)/x", "R.3,'a'"}
	out := make([]RunLine, n)
	for i := range out {
		out[i] = RunLine{
			CaseID:     caseID,
			Month:      payrun.MonthOf(2020+r.IntN(10), 1) + payrun.Month(r.IntN(12)),
			Payee:      []payrun.PayeeRole{payrun.PayeeBeneficiary, payrun.PayeeLandlord}[r.IntN(2)],
			Component:  payrun.Components[r.IntN(len(payrun.Components))],
			Kind:       []payrun.LineKind{payrun.LinePayment, payrun.LineOverpayment}[r.IntN(2)],
			Amount:     payrun.Cents(r.Int64N(2_000_000_000_000) - 1_000_000_000_000),
			Law:        payrun.Laws[r.IntN(len(payrun.Laws))],
			CostBearer: []payrun.CostBearer{payrun.BearerBund, payrun.BearerMunicipality, payrun.BearerFlueAG}[r.IntN(3)],
			DecisionID: ids[r.IntN(len(ids))],
			ReclaimID:  ids[r.IntN(len(ids))],
		}
	}
	return out
}

// TestPackRoundTrip: packed lines unpack to the same lines, in digest
// order, with the first and last month.
func TestPackRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		lines := randomLines(r, "C-1", 1+i%9)
		sortLines(lines, digestLess)
		text, first, last, err := packLines(nil, lines)
		if err != nil {
			t.Fatal(err)
		}
		got, err := unpackLines("C-1", text, nil)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if !reflect.DeepEqual(got, lines) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", text, got, lines)
		}
		lo, hi := lines[0].Month, lines[0].Month
		for _, l := range lines {
			lo, hi = min(lo, l.Month), max(hi, l.Month)
		}
		if first != lo || last != hi {
			t.Fatalf("months %v..%v, want %v..%v", first, last, lo, hi)
		}
	}
}

// TestPackFormat pins the text of a packed case (the format migration 0095
// documents and its view parses).
func TestPackFormat(t *testing.T) {
	lines := []RunLine{
		{CaseID: "C", Month: payrun.MonthOf(2026, 11), Payee: payrun.PayeeBeneficiary, Component: payrun.CompOffset,
			Kind: payrun.LinePayment, Amount: -2050, Law: payrun.LawAsylbLG3, CostBearer: payrun.BearerFlueAG,
			DecisionID: "D-1", ReclaimID: "R-1"},
		{CaseID: "C", Month: payrun.MonthOf(2026, 11), Payee: payrun.PayeeBeneficiary, Component: payrun.CompRegular,
			Kind: payrun.LinePayment, Amount: 56300, Law: payrun.LawAsylbLG3, CostBearer: payrun.BearerFlueAG, DecisionID: "D-1"},
		{CaseID: "C", Month: payrun.MonthOf(2026, 10), Payee: payrun.PayeeLandlord, Component: payrun.CompRent,
			Kind: payrun.LineOverpayment, Amount: -5, Law: payrun.LawSGB12Ch4, CostBearer: payrun.BearerBund},
	}
	sortLines(lines, digestLess)
	text, _, _, err := packLines(nil, lines)
	if err != nil {
		t.Fatal(err)
	}
	want := "2026-10|landlord|rent|overpayment|-0.05|sgb12_4|bund_46a||;" +
		"2026-11|beneficiary|regular|payment|563.00|asylblg_3|fluag|D-1|;" +
		"2026-11|beneficiary|offset|payment|-20.50|asylblg_3|fluag|D-1|R-1"
	if string(text) != want {
		t.Errorf("packed:\n got %q\nwant %q", text, want)
	}
}

// TestPackRefusesSeparators: an id with a separator is an error, not a
// corrupt row.
func TestPackRefusesSeparators(t *testing.T) {
	for _, id := range []string{"D|1", "D;1", "D\t1", "D\n1"} {
		_, _, _, err := packLines(nil, []RunLine{{CaseID: "C", DecisionID: id, Month: 1}})
		if !errors.Is(err, errPackedID) {
			t.Errorf("decision %q: %v", id, err)
		}
		_, _, _, err = packLines(nil, []RunLine{{CaseID: "C", ReclaimID: id, Month: 1}})
		if !errors.Is(err, errPackedID) {
			t.Errorf("reclaim %q: %v", id, err)
		}
	}
}

// TestChunkRoundTrip: the sections of a chunk give back every case's lines
// in digest order, the counts match, and the offsets text holds exactly
// the offset lines of the cases that have any.
func TestChunkRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var c chunk
	for round := range 200 {
		c.reset()
		want := map[string][]RunLine{}
		var order []string
		lines := 0
		for k := range 1 + round%13 {
			id := fmt.Sprintf("C-%03d", k*7+r.IntN(7))
			if len(order) > 0 && id <= order[len(order)-1] {
				continue
			}
			ls := randomLines(r, id, 1+r.IntN(6))
			if err := c.add(ls); err != nil { // sorts ls in digest order
				t.Fatal(err)
			}
			want[id], order = ls, append(order, id)
			lines += len(ls)
		}
		if c.firstCase != order[0] || c.lastCase != order[len(order)-1] || int(c.cases) != len(order) || int(c.lines) != lines {
			t.Fatalf("chunk %s..%s, %d cases, %d lines; want %s..%s, %d, %d",
				c.firstCase, c.lastCase, c.cases, c.lines, order[0], order[len(order)-1], len(order), lines)
		}
		var got []string
		err := eachSection(c.text, "", func(id string, text []byte) error {
			ls, err := unpackLines(id, text, nil)
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(ls, want[id]) {
				t.Fatalf("case %s:\n got %+v\nwant %+v", id, ls, want[id])
			}
			got = append(got, id)
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, order) {
			t.Fatalf("sections %v (%v), want %v", got, err, order)
		}
		var offsetCases []string
		err = eachSection(c.offsets, "", func(id string, text []byte) error {
			ls, err := unpackLines(id, text, nil)
			if err != nil {
				return err
			}
			var wantOff []RunLine
			for _, l := range want[id] {
				if l.Component == payrun.CompOffset {
					wantOff = append(wantOff, l)
				}
			}
			if !reflect.DeepEqual(ls, wantOff) {
				t.Fatalf("offsets of case %s:\n got %+v\nwant %+v", id, ls, wantOff)
			}
			offsetCases = append(offsetCases, id)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range order {
			has := slices.ContainsFunc(want[id], func(l RunLine) bool { return l.Component == payrun.CompOffset })
			if has != slices.Contains(offsetCases, id) {
				t.Fatalf("case %s: has offsets %v, in the offsets text %v", id, has, !has)
			}
		}
	}
}

// TestChunkRefuses: a case id with a separator and cases out of order are
// errors, not a corrupt chunk.
func TestChunkRefuses(t *testing.T) {
	var c chunk
	for _, id := range []string{"C\t1", "C\n1", ""} {
		if err := c.add([]RunLine{{CaseID: id, Month: 1}}); !errors.Is(err, errPackedID) {
			t.Errorf("case %q: %v", id, err)
		}
	}
	c.reset()
	if err := c.add([]RunLine{{CaseID: "C-2", Month: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"C-2", "C-1"} {
		if err := c.add([]RunLine{{CaseID: id, Month: 1}}); err == nil {
			t.Errorf("case %s after C-2 accepted", id)
		}
	}
}

// TestUnpackRejectsBadText: malformed packed text is an error naming the
// case.
func TestUnpackRejectsBadText(t *testing.T) {
	for _, text := range []string{
		"2026-11|beneficiary|regular|payment|1.00|asylblg_3|fluag|D",          // 8 fields
		"2026-13|beneficiary|regular|payment|1.00|asylblg_3|fluag|D|",         // month 13
		"2026-11|beneficiary|regular|payment|1.001|asylblg_3|fluag|D|",        // 3 decimals
		"2026-11|beneficiary|regular|payment|x|asylblg_3|fluag|D|",            // amount
		"2026-11|beneficiary|regular|payment|1.00|asylblg_3|fluag|D||",        // 10 fields
		"2026-1|beneficiary|regular|payment|1.00|asylblg_3|fluag|D|;2026-11|", // month
	} {
		if _, err := unpackLines("C-7", []byte(text), nil); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

// FuzzUnpackLines: any text either fails or unpacks to lines that pack
// and unpack to the same lines again.
func FuzzUnpackLines(f *testing.F) {
	f.Add("2026-10|landlord|rent|overpayment|-0.05|sgb12_4|bund_46a||;2026-11|beneficiary|regular|payment|563.00|asylblg_3|fluag|D-1|")
	f.Add("")
	f.Add("2026-11|a|b|c|1|d|e|f|g")
	f.Fuzz(func(t *testing.T, text string) {
		lines, err := unpackLines("C", []byte(text), nil)
		if err != nil {
			return
		}
		packed, _, _, err := packLines(nil, lines)
		if err != nil {
			return // an id with a separator cannot come out of unpacking, but be safe
		}
		again, err := unpackLines("C", packed, nil)
		if err != nil || !reflect.DeepEqual(again, lines) {
			t.Fatalf("%q → %q: %v %+v %+v", text, packed, err, again, lines)
		}
	})
}

// BenchmarkPackChunk: packing a batch of 1,000 cases of 3 lines into one
// chunk of run_chunks (the Go side of line writing), per chunk.
func BenchmarkPackChunk(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	var lines []RunLine
	for i := range 1000 {
		lines = append(lines, randomLines(r, fmt.Sprintf("UNN-B-%06d", i), 3)...)
	}
	var c chunk
	b.ReportAllocs()
	for b.Loop() {
		if err := packChunk(&c, lines); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnpackLines: reading a packed case back (the export's, the
// netting cursor's and the digest check's side), per case of 3 lines.
func BenchmarkUnpackLines(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	texts := make([][]byte, 1000)
	for i := range texts {
		lines := randomLines(r, "UNN-B-000001", 3)
		sortLines(lines, digestLess)
		text, _, _, err := packLines(nil, lines)
		if err != nil {
			b.Fatal(err)
		}
		texts[i] = text
	}
	var out []RunLine
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if out, err = unpackLines("UNN-B-000001", texts[i%len(texts)], out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
