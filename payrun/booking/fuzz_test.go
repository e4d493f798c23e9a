package booking_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/booking"
)

// FuzzCSVFields checks that any case id, reclaim id and account survive the
// CSV quoting: encoding/csv reads back exactly what was written.
func FuzzCSVFields(f *testing.F) {
	f.Add("C1", "R1", "533100")
	f.Add(`C;"x"`, "R\n2", `"`)
	f.Add("", ";", " a ")
	f.Fuzz(func(t *testing.T, caseID, reclaim, account string) {
		if strings.ContainsRune(caseID+reclaim+account, '\r') {
			t.Skip("encoding/csv turns CR LF inside quotes into LF")
		}
		e := booking.Entry{Municipality: "luenen", Seq: 1, CaseID: caseID, Month: payrun.MonthOf(2026, 12),
			Payee: payrun.PayeeBeneficiary, Law: payrun.LawSGB12Ch3, Component: payrun.CompOffset,
			CostBearer: payrun.BearerMunicipality, LineKind: payrun.LinePayment, AccountKind: booking.KindRevenue,
			Account: account, Side: booking.Credit, Amount: 123, ReclaimID: reclaim}
		var buf bytes.Buffer
		w, err := booking.NewCSVWriter(&buf, "run;1", booking.DefaultCSVLayout())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&e); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&buf)
		r.Comma = ';'
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%v in %q", err, buf.String())
		}
		if len(recs) != 3 || len(recs[1]) != len(booking.Columns) {
			t.Fatalf("records %q", recs)
		}
		rec := recs[1]
		if rec[1] != "run;1" || rec[3] != caseID || rec[11] != account || rec[17] != reclaim || rec[18] != e.Text() || rec[16] != "1,23" {
			t.Errorf("record %q for case %q reclaim %q account %q", rec, caseID, reclaim, account)
		}
	})
}
