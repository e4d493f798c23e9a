package store

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/payrun/payrun/payrun"
)

// TestWarningSet: the warnings found in Go — a shared beneficiary IBAN
// flags every group paid to it (not a landlord's, not twice the same
// case), the threshold is exclusive and works in whole cents, a jump
// names last month's sum.
func TestWarningSet(t *testing.T) {
	str := func(s string) *string { return &s }
	jump := payrun.Cents(-5)
	w := warningSet{threshold: 500_00, thresholdText: "500.005"}
	for _, r := range []payRow{
		{caseID: "C-1", payee: payrun.PayeeBeneficiary, amount: 100_00, iban: str("DE01")},
		{caseID: "C-1", payee: payrun.PayeeLandlord, amount: 900_00, iban: str("DE01")},
		{caseID: "C-2", payee: payrun.PayeeBeneficiary, amount: 500_00, iban: str("DE02")},
		{caseID: "C-3", payee: payrun.PayeeBeneficiary, amount: 500_01, iban: str("DE01"), jumpFrom: &jump},
		{caseID: "C-4", payee: payrun.PayeeBeneficiary, amount: 1_00, iban: str("DE01")},
		{caseID: "C-5", payee: payrun.PayeeBeneficiary, amount: 1_00},
		{caseID: "C-6", payee: payrun.PayeeLandlord, amount: 1_00, iban: str("DE02")},
	} {
		w.add(&r)
	}
	var got []string
	for i := range w.kind {
		iban := "-"
		if w.iban[i] != nil {
			iban = *w.iban[i]
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s %s", w.kind[i], w.caseID[i], w.payee[i], iban,
			payrun.Cents(w.cents[i]), w.detail[i]))
	}
	sort.Strings(got)
	want := []string{
		"above_threshold C-1 landlord DE01 900.00 threshold 500.005",
		"above_threshold C-3 beneficiary DE01 500.01 threshold 500.005",
		"amount_jump C-3 beneficiary DE01 500.01 last month -0.05",
		"shared_iban C-1 beneficiary DE01 100.00 IBAN paid for several cases in this run",
		"shared_iban C-3 beneficiary DE01 500.01 IBAN paid for several cases in this run",
		"shared_iban C-4 beneficiary DE01 1.00 IBAN paid for several cases in this run",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	wantCounts := map[string]int64{warnThreshold: 2, warnJump: 1, warnSharedIBAN: 3}
	if !reflect.DeepEqual(w.counts, wantCounts) {
		t.Errorf("counts %v, want %v", w.counts, wantCounts)
	}
}
