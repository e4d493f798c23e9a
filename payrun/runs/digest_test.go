package runs_test

import (
	"testing"
	"time"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// TestCanonicalLine: the encoding the run digest is computed over (and the
// signers sign) stays byte for byte what it is: a changed encoding would
// make every stored digest disagree with its lines.
func TestCanonicalLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		l    store.RunLine
		want string
	}{
		{store.RunLine{CaseID: "C-1", Month: payrun.MonthOf(2026, time.December), Payee: payrun.PayeeBeneficiary,
			Component: payrun.CompRegular, Kind: payrun.LinePayment, Amount: 563_00, Law: payrun.LawSGB12Ch3,
			CostBearer: payrun.BearerMunicipality, DecisionID: "D-1"},
			"C-1\t2026-12\tbeneficiary\tregular\tpayment\t563.00\tsgb12_3\tmunicipality\tD-1\t\n"},
		{store.RunLine{CaseID: "C 2/x", Month: payrun.MonthOf(2025, time.March), Payee: payrun.PayeeBeneficiary,
			Component: payrun.CompOffset, Kind: payrun.LineOverpayment, Amount: -5, Law: payrun.LawAsylbLG3,
			CostBearer: payrun.BearerFlueAG, ReclaimID: "R-1"},
			"C 2/x\t2025-03\tbeneficiary\toffset\toverpayment\t-0.05\tasylblg_3\tfluag\t\tR-1\n"},
	} {
		if got := string(runs.AppendCanonicalLine([]byte("x"), &tc.l)); got != "x"+tc.want {
			t.Errorf("canonical line %q, want %q", got, "x"+tc.want)
		}
	}
}
