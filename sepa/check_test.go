package sepa_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/payrun/payrun/sepa"
)

// checkBase is a valid message: PmtInf P1 (2 transactions, the second with
// a creditor BIC) and PmtInf P2 (1 transaction).
func checkBase(t *testing.T) string {
	t.Helper()
	t2 := tx(2)
	t2.CreditorBIC = "COBADEFFXXX"
	p2 := payment("P2")
	p2.DebtorBIC = ""
	out := mustWrite(t, header("MSG-1"), []block{
		{pi: payment("P1"), txs: []sepa.Transaction{tx(1), t2}},
		{pi: p2, txs: []sepa.Transaction{tx(3)}},
	})
	return string(out)
}

// replaceNth replaces the n-th (1-based) occurrence of old.
func replaceNth(t *testing.T, s, old, repl string, n int) string {
	t.Helper()
	i := -1
	for k := 0; k < n; k++ {
		j := strings.Index(s[i+1:], old)
		if j < 0 {
			t.Fatalf("occurrence %d of %q not found", n, old)
		}
		i += 1 + j
	}
	return s[:i] + repl + s[i+len(old):]
}

func TestCheckValid(t *testing.T) {
	t.Parallel()
	base := checkBase(t)
	rep := mustCheck(t, "base", strings.NewReader(base))
	if rep.Transactions != 3 || rep.DeclaredTransactions != 3 || rep.PaymentInfos != 2 || rep.MsgID != "MSG-1" {
		t.Errorf("report %+v", rep)
	}
	if want := int64(50001 + 50002 + 50003); rep.CtrlSum != want || rep.DeclaredCtrlSum != want {
		t.Errorf("CtrlSum %d declared %d, want %d", rep.CtrlSum, rep.DeclaredCtrlSum, want)
	}
	js, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(js), `"ctrl_sum":"1500.06"`) || !strings.Contains(string(js), `"ok":true`) {
		t.Errorf("JSON %s, %v", js, err)
	}
}

func TestCheckRules(t *testing.T) {
	t.Parallel()
	const tx1 = "/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[1]"
	const pmt1 = "/Document/CstmrCdtTrfInitn/PmtInf[1]"
	const hdr = "/Document/CstmrCdtTrfInitn/GrpHdr"
	tpInf := "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>"
	long := strings.Repeat("x", 71)
	tests := []struct {
		name   string
		mutate func(t *testing.T, s string) string
		rule   string
		path   string // the problem's path must start with this
	}{
		{"namespace", func(t *testing.T, s string) string { return replaceNth(t, s, "pain.001.001.09", "pain.001.001.03", 1) }, "namespace", "/Document"},
		{"GrpHdr NbOfTxs", func(t *testing.T, s string) string { return replaceNth(t, s, "<NbOfTxs>3<", "<NbOfTxs>4<", 1) }, "nboftxs", hdr + "/NbOfTxs"},
		{"GrpHdr CtrlSum", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<CtrlSum>1500.06<", "<CtrlSum>1500.07<", 1)
		}, "ctrlsum", hdr + "/CtrlSum"},
		{"GrpHdr CtrlSum missing", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<CtrlSum>1500.06</CtrlSum>", "", 1)
		}, "ctrlsum", hdr},
		{"PmtInf NbOfTxs", func(t *testing.T, s string) string { return replaceNth(t, s, "<NbOfTxs>2<", "<NbOfTxs>1<", 1) }, "nboftxs", pmt1},
		{"PmtInf CtrlSum", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<CtrlSum>1000.03<", "<CtrlSum>1000.30<", 1)
		}, "ctrlsum", pmt1},
		{"PmtInf CtrlSum missing", func(t *testing.T, s string) string { return replaceNth(t, s, "<CtrlSum>1000.03</CtrlSum>", "", 1) }, "ctrlsum", pmt1},
		{"amount 3 decimals", func(t *testing.T, s string) string { return replaceNth(t, s, ">500.01<", ">500.010<", 1) }, "amount", tx1 + "/Amt/InstdAmt"},
		{"amount exponent", func(t *testing.T, s string) string { return replaceNth(t, s, ">500.01<", ">5.0001e+02<", 1) }, "amount", tx1 + "/Amt/InstdAmt"},
		{"amount zero", func(t *testing.T, s string) string { return replaceNth(t, s, ">500.01<", ">0.00<", 1) }, "amount", tx1 + "/Amt/InstdAmt"},
		{"amount too large", func(t *testing.T, s string) string { return replaceNth(t, s, ">500.01<", ">1000000000.00<", 1) }, "amount", tx1 + "/Amt/InstdAmt"},
		{"currency", func(t *testing.T, s string) string { return replaceNth(t, s, `Ccy="EUR"`, `Ccy="USD"`, 1) }, "currency", tx1},
		{"IBAN check digits", func(t *testing.T, s string) string { return replaceNth(t, s, deIBAN(1001), deIBAN(1001)[:21]+"9", 1) }, "iban", tx1 + "/CdtrAcct"},
		{"debtor IBAN length", func(t *testing.T, s string) string { return replaceNth(t, s, debtorIBAN, debtorIBAN+"0", 1) }, "iban", pmt1 + "/DbtrAcct"},
		{"BIC", func(t *testing.T, s string) string { return replaceNth(t, s, "COBADEFFXXX", "COBAD3FFXXX", 1) }, "bic", "/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]/CdtrAgt"},
		{"DbtrAgt Othr", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<Id>NOTPROVIDED</Id>", "<Id>UNKNOWN</Id>", 1)
		}, "bic", "/Document/CstmrCdtTrfInitn/PmtInf[2]/DbtrAgt"},
		{"ID charset", func(t *testing.T, s string) string { return replaceNth(t, s, "R7-C1-2026-12", "R7_C1_2026_12", 1) }, "id", tx1 + "/PmtId/EndToEndId"},
		{"ID length", func(t *testing.T, s string) string { return replaceNth(t, s, "MSG-1", strings.Repeat("M", 36), 1) }, "id", hdr + "/MsgId"},
		{"duplicate EndToEndId", func(t *testing.T, s string) string { return replaceNth(t, s, "R7-C2-2026-12", "R7-C1-2026-12", 1) }, "unique", "/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]"},
		{"duplicate EndToEndId across PmtInf", func(t *testing.T, s string) string { return replaceNth(t, s, "R7-C3-2026-12", "R7-C1-2026-12", 1) }, "unique", "/Document/CstmrCdtTrfInitn/PmtInf[2]/CdtTrfTxInf[1]"},
		{"duplicate PmtInfId", func(t *testing.T, s string) string { return replaceNth(t, s, "<PmtInfId>P2<", "<PmtInfId>P1<", 1) }, "unique", "/Document/CstmrCdtTrfInitn/PmtInf[2]/PmtInfId"},
		{"SvcLvl", func(t *testing.T, s string) string { return replaceNth(t, s, "<Cd>SEPA</Cd>", "<Cd>NURG</Cd>", 1) }, "svclvl", pmt1 + "/PmtTpInf/SvcLvl/Cd"},
		{"PmtTpInf missing", func(t *testing.T, s string) string {
			i, j := strings.Index(s, "<PmtTpInf>"), strings.Index(s, "</PmtTpInf>")
			return s[:i] + s[j+len("</PmtTpInf>"):]
		}, "pmttpinf", tx1},
		{"PmtTpInf both levels", func(t *testing.T, s string) string { return replaceNth(t, s, "</PmtId>", "</PmtId>"+tpInf, 1) }, "pmttpinf", tx1},
		{"ChrgBr", func(t *testing.T, s string) string { return replaceNth(t, s, "<ChrgBr>SLEV<", "<ChrgBr>SHAR<", 1) }, "chrgbr", pmt1 + "/ChrgBr"},
		{"UETR", func(t *testing.T, s string) string {
			return replaceNth(t, s, "</EndToEndId>", "</EndToEndId><UETR>123e4567-e89b-42d3-a456-426614174000</UETR>", 1)
		}, "uetr", tx1 + "/PmtId/UETR"},
		{"LclInstrm Prtry", func(t *testing.T, s string) string {
			return replaceNth(t, s, "</SvcLvl>", "</SvcLvl><LclInstrm><Prtry>INST</Prtry></LclInstrm>", 1)
		}, "lclinstrm", pmt1 + "/PmtTpInf/LclInstrm/Prtry"},
		{"LclInstrm other code", func(t *testing.T, s string) string {
			return replaceNth(t, s, "</SvcLvl>", "</SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm>", 1)
		}, "lclinstrm", pmt1 + "/PmtTpInf/LclInstrm/Cd"},
		{"mixed SCT and Inst", func(t *testing.T, s string) string {
			return replaceNth(t, s, "</SvcLvl>", "</SvcLvl><LclInstrm><Cd>INST</Cd></LclInstrm>", 2)
		}, "mixed", "/Document/CstmrCdtTrfInitn"},
		{"DtTm without INST", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<Dt>2026-11-30</Dt>", "<DtTm>2026-11-30T08:00:00Z</DtTm>", 1)
		}, "datetime", tx1},
		{"DtTm without offset", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<Dt>2026-11-30</Dt>", "<DtTm>2026-11-30T08:00:00</DtTm>", 1)
		}, "datetime", pmt1 + "/ReqdExctnDt/DtTm"},
		{"bad date", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<Dt>2026-11-30</Dt>", "<Dt>2026-11-31</Dt>", 1)
		}, "date", pmt1 + "/ReqdExctnDt/Dt"},
		{"AdrLine-only address", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<Nm>Empfänger 1</Nm>", "<Nm>Empfänger 1</Nm><PstlAdr><AdrLine>Hauptstr. 1</AdrLine><AdrLine>44532 Lünen</AdrLine></PstlAdr>", 1)
		}, "address", tx1 + "/Cdtr/PstlAdr"},
		{"name charset", func(t *testing.T, s string) string { return replaceNth(t, s, "Empfänger 1<", "Empfänger@1<", 1) }, "text", tx1 + "/Cdtr/Nm"},
		{"name length", func(t *testing.T, s string) string { return replaceNth(t, s, "Empfänger 1<", long+"<", 1) }, "text", tx1 + "/Cdtr/Nm"},
		{"name 70 umlauts is fine but 71 is not", func(t *testing.T, s string) string {
			return replaceNth(t, s, "Empfänger 1<", strings.Repeat("ü", 71)+"<", 1)
		}, "text", tx1 + "/Cdtr/Nm"},
		{"Ustrd length", func(t *testing.T, s string) string {
			return replaceNth(t, s, "SGB XII 12/2026 Fall 1<", strings.Repeat("a", 141)+"<", 1)
		}, "text", tx1 + "/RmtInf/Ustrd"},
		{"debtor name", func(t *testing.T, s string) string {
			return replaceNth(t, s, "<Nm>Stadt Lünen</Nm>", "<Nm>Stadt_Lünen</Nm>", 1)
		}, "text", pmt1 + "/Dbtr/Nm"},
		{"PmtMtd", func(t *testing.T, s string) string { return replaceNth(t, s, "<PmtMtd>TRF<", "<PmtMtd>CHK<", 1) }, "pmtmtd", pmt1 + "/PmtMtd"},
		{"purpose", func(t *testing.T, s string) string { return replaceNth(t, s, "<Cd>SSBE</Cd>", "<Cd>ssbe</Cd>", 1) }, "purpose", tx1 + "/Purp/Cd"},
		{"CreDtTm", func(t *testing.T, s string) string {
			return replaceNth(t, s, "2026-11-27T09:30:00+01:00", "27.11.2026", 1)
		}, "datetime", hdr + "/CreDtTm"},
		{"truncated", func(t *testing.T, s string) string { return s[:len(s)/2] }, "xml", "/Document"},
		{"BOM", func(t *testing.T, s string) string { return "\ufeff" + s }, "bom", "/"},
		{"not XML", func(t *testing.T, s string) string { return "hello" }, "xml", "/"},
	}
	base := checkBase(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := sepa.Check(strings.NewReader(tc.mutate(t, base)))
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			for _, p := range rep.Problems {
				if p.Rule == tc.rule && strings.HasPrefix(p.Path, tc.path) {
					return
				}
			}
			t.Errorf("want rule %q at %s, got %v", tc.rule, tc.path, rep.Problems)
		})
	}
}

func TestCheckSeventyUmlauts(t *testing.T) {
	t.Parallel()
	s := replaceNth(t, checkBase(t), "Empfänger 1<", strings.Repeat("ü", 70)+"<", 1)
	mustCheck(t, "70 umlauts", strings.NewReader(s))
}

func TestCheckNotProvidedEndToEndIDMayRepeat(t *testing.T) {
	t.Parallel()
	s := checkBase(t)
	for _, id := range []string{"R7-C1-2026-12", "R7-C2-2026-12"} {
		s = replaceNth(t, s, id, "NOTPROVIDED", 1)
	}
	mustCheck(t, "NOTPROVIDED", strings.NewReader(s))
}

func TestCheckReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	r := iotest.TimeoutReader(strings.NewReader(checkBase(t)))
	_, err := sepa.Check(iotest.ErrReader(boom))
	if !errors.Is(err, boom) {
		t.Errorf("Check(failing reader) = %v, want %v", err, boom)
	}
	if _, err := sepa.Check(r); err == nil {
		t.Error("Check(timeout reader) succeeded")
	}
}

func TestCheckProblemCap(t *testing.T) {
	t.Parallel()
	var txs []sepa.Transaction
	for i := range sepa.MaxProblems + 10 {
		txs = append(txs, tx(i))
	}
	s := string(mustWrite(t, header("CAP"), []block{{pi: payment("CAP-1"), txs: txs}}))
	s = strings.ReplaceAll(s, "<Cd>SSBE</Cd>", "<Cd>x</Cd>")
	rep, err := sepa.Check(bytes.NewReader([]byte(s)))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != sepa.MaxProblems || rep.Omitted != 10 {
		t.Errorf("%d problems listed, %d omitted", len(rep.Problems), rep.Omitted)
	}
}
