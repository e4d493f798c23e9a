package store

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/payrun/payrun/payrun"
)

// TestWarningSet: the warnings found in Go — an IBAN no live run paid
// flags every group paid to it, a shared beneficiary IBAN flags every
// beneficiary group paid to it (not a landlord's, not twice the same case),
// the threshold is exclusive and works in whole cents, a jump names last
// month's sum.
func TestWarningSet(t *testing.T) {
	str := func(s string) *string { return &s }
	jump := payrun.Cents(-5)
	w := warningSet{threshold: 500_00, thresholdText: "500.005"}
	for _, iban := range []string{"DE09", "DE02", "DE00"} {
		w.paid.add([]byte(iban))
	}
	w.paid.sort()
	var out warnRows
	for _, r := range []payRow{
		{caseID: "C-1", payee: payrun.PayeeBeneficiary, amount: 100_00, iban: str("DE01")},
		{caseID: "C-1", payee: payrun.PayeeLandlord, amount: 900_00, iban: str("DE01")},
		{caseID: "C-2", payee: payrun.PayeeBeneficiary, amount: 500_00, iban: str("DE02")},
		{caseID: "C-3", payee: payrun.PayeeBeneficiary, amount: 500_01, iban: str("DE01"), jumpFrom: &jump},
		{caseID: "C-4", payee: payrun.PayeeBeneficiary, amount: 1_00, iban: str("DE01")},
		{caseID: "C-5", payee: payrun.PayeeBeneficiary, amount: 1_00},
		{caseID: "C-6", payee: payrun.PayeeLandlord, amount: 1_00, iban: str("DE02")},
	} {
		w.add(&r, &out)
	}
	var got []string
	for i := range out.kind {
		iban := "-"
		if out.iban[i] != nil {
			iban = *out.iban[i]
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s", out.kind[i], out.caseID[i], out.payee[i], iban,
			payrun.Cents(out.cents[i]), out.detail[i]))
	}
	sort.Strings(got)
	want := []string{
		"above_threshold C-1 landlord DE01 900.00 threshold 500.005",
		"above_threshold C-3 beneficiary DE01 500.01 threshold 500.005",
		"amount_jump C-3 beneficiary DE01 500.01 last month -0.05",
		"first_iban C-1 beneficiary DE01 100.00 no live run paid this IBAN before",
		"first_iban C-1 landlord DE01 900.00 no live run paid this IBAN before",
		"first_iban C-3 beneficiary DE01 500.01 no live run paid this IBAN before",
		"first_iban C-4 beneficiary DE01 1.00 no live run paid this IBAN before",
		"shared_iban C-1 beneficiary DE01 100.00 IBAN paid for several cases in this run",
		"shared_iban C-3 beneficiary DE01 500.01 IBAN paid for several cases in this run",
		"shared_iban C-4 beneficiary DE01 1.00 IBAN paid for several cases in this run",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	wantCounts := map[string]int64{warnThreshold: 2, warnJump: 1, warnSharedIBAN: 3, warnFirstIBAN: 4}
	if !reflect.DeepEqual(w.counts, wantCounts) {
		t.Errorf("counts %v, want %v", w.counts, wantCounts)
	}
}

// TestWarningSetFirstRun: on a municipality's first run (no IBAN paid
// before) new IBANs are counted and remembered, but not listed per payee.
func TestWarningSetFirstRun(t *testing.T) {
	str := func(s string) *string { return &s }
	w := warningSet{firstRun: true}
	var out warnRows
	for _, r := range []payRow{
		{caseID: "C-1", payee: payrun.PayeeBeneficiary, amount: 100_00, iban: str("DE01")},
		{caseID: "C-1", payee: payrun.PayeeLandlord, amount: 400_00, iban: str("DE02")},
		{caseID: "C-2", payee: payrun.PayeeBeneficiary, amount: 100_00, iban: str("DE01")},
		{caseID: "C-3", payee: payrun.PayeeBeneficiary, amount: 100_00},
	} {
		w.add(&r, &out)
	}
	if !reflect.DeepEqual(out.kind, []string{warnSharedIBAN, warnSharedIBAN}) {
		t.Errorf("rows %v, want the two shared_iban rows only", out.kind)
	}
	w.fresh.sort()
	var fresh []string
	for i := range w.fresh.spans {
		fresh = append(fresh, string(w.fresh.item(i)))
	}
	if w.counts[warnFirstIBAN] != 3 || !reflect.DeepEqual(fresh, []string{"DE01", "DE01", "DE02"}) {
		t.Errorf("first_iban counted %d, new IBANs %v; want 3 and DE01 DE01 DE02", w.counts[warnFirstIBAN], fresh)
	}
}

// TestIBANSet: the sorted set finds exactly its members.
func TestIBANSet(t *testing.T) {
	var s ibanSet
	members := []string{"DE89370400440532013000", "DE02120300000000202051", "AT611904300234573201", "DE0212030000000020205"}
	for _, m := range members {
		s.add([]byte(m))
	}
	s.sort()
	for _, m := range members {
		if !s.has(m) {
			t.Errorf("%s missing", m)
		}
	}
	for _, m := range []string{"", "DE", "DE021203000000002020511", "DE89370400440532013001", "ZZ"} {
		if s.has(m) {
			t.Errorf("%s found", m)
		}
	}
	var empty ibanSet
	if empty.has("DE89370400440532013000") {
		t.Error("empty set has a member")
	}
}

// TestIBANUses: the first group of each IBAN is found again, also when all
// IBANs have the same hash (chained entries).
func TestIBANUses(t *testing.T) {
	for _, hash := range []func(string) uint64{nil, func(string) uint64 { return 7 }} {
		u := ibanUses{hash: hash}
		for k := range 50 {
			iban := fmt.Sprintf("DE%020d", k)
			if _, found := u.find(iban, fmt.Sprintf("C-%d", k), payrun.Cents(k)); found {
				t.Fatalf("%s found before it was added", iban)
			}
		}
		for k := range 50 {
			i, found := u.find(fmt.Sprintf("DE%020d", k), "C-other", 0)
			if !found || string(u.caseOf(&u.uses[i])) != fmt.Sprintf("C-%d", k) || u.uses[i].amount != payrun.Cents(k) {
				t.Fatalf("IBAN %d: found %v, entry %+v", k, found, u.uses[i])
			}
		}
		if len(u.uses) != 50 {
			t.Errorf("%d entries, want 50", len(u.uses))
		}
	}
}
