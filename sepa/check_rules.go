package sepa

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// endElement checks the element that just ended; text is its character
// data and c.rel its path below CstmrCdtTrfInitn.
func (c *checker) endElement(text string) {
	rel := c.rel
	if c.checkGroupHeader(rel, text) || c.checkPmtInf(rel, text) {
		return
	}
	if strings.HasPrefix(rel, "PmtInf/CdtTrfTxInf") && c.checkTx(strings.TrimPrefix(rel, "PmtInf/CdtTrfTxInf"), text) {
		return
	}
	c.checkGeneric(text)
}

func (c *checker) checkGroupHeader(rel, text string) bool {
	switch rel {
	case "GrpHdr/MsgId":
		c.rep.MsgID = text
		c.checkID("MsgId", text, false)
	case "GrpHdr/CreDtTm":
		if _, ok := parseDateTime(text); !ok {
			c.here("datetime", "CreDtTm %q is not an ISO date-time", text)
		}
	case "GrpHdr/NbOfTxs":
		c.hdrNb = true
		c.rep.DeclaredTransactions = c.count(text)
		if n := c.rep.DeclaredTransactions; n > 0 && len(c.e2eIDs) == 0 {
			c.e2eIDs = make(map[string][2]int32, min(n, 1<<20)) // sized once: no rehashing
		}
	case "GrpHdr/CtrlSum":
		c.hdrSum = true
		c.rep.DeclaredCtrlSum = c.ctrlSum(text)
	case "GrpHdr":
		if !c.hdrNb {
			c.here("nboftxs", "GrpHdr/NbOfTxs is missing")
		}
		if !c.hdrSum {
			c.here("ctrlsum", "GrpHdr/CtrlSum is missing (mandatory in GBIC_5)")
		}
	default:
		return false
	}
	return true
}

func (c *checker) checkPmtInf(rel, text string) bool {
	p := &c.pmt
	switch rel {
	case "PmtInf/PmtInfId":
		p.id = text
		c.checkID("PmtInfId", text, false)
	case "PmtInf/PmtMtd":
		if text != "TRF" {
			c.here("pmtmtd", "PmtMtd must be TRF, got %q", text)
		}
	case "PmtInf/NbOfTxs":
		p.hasNb, p.nb = true, c.count(text)
	case "PmtInf/CtrlSum":
		p.hasSum, p.sum = true, c.ctrlSum(text)
	case "PmtInf/PmtTpInf/LclInstrm/Cd":
		p.instant = c.checkLclInstrm(text)
	case "PmtInf/ReqdExctnDt/Dt":
		if _, err := time.Parse(time.DateOnly, text); err != nil {
			c.here("date", "ReqdExctnDt/Dt %q is not a date YYYY-MM-DD", text)
		}
	case "PmtInf/ReqdExctnDt/DtTm":
		p.dtTm = true
		if t, ok := parseDateTime(text); !ok || !t.offset {
			c.here("datetime", "ReqdExctnDt/DtTm %q must be a date-time with Z or a UTC offset", text)
		}
	case "PmtInf/DbtrAcct/Id/IBAN":
		c.checkIBAN(text)
	case "PmtInf/DbtrAgt/FinInstnId/BICFI":
		c.checkBIC(text)
	case "PmtInf/DbtrAgt/FinInstnId/Othr/Id":
		if text != NotProvided {
			c.here("bic", "DbtrAgt Othr/Id must be NOTPROVIDED, got %q", text)
		}
	case "PmtInf":
		c.endPmtInf()
	default:
		return false
	}
	return true
}

func (c *checker) endPmtInf() {
	p := &c.pmt
	if !p.hasNb {
		c.here("nboftxs", "PmtInf/NbOfTxs is missing (mandatory in GBIC_5)")
	} else if p.nb != p.txs {
		c.here("nboftxs", "NbOfTxs %d, but %d transactions", p.nb, p.txs)
	}
	if !p.hasSum {
		c.here("ctrlsum", "PmtInf/CtrlSum is missing (mandatory in GBIC_5)")
	} else if p.sum != p.txSum {
		c.here("ctrlsum", "CtrlSum %s, but the transactions sum to %s", FormatAmount(p.sum), FormatAmount(p.txSum))
	}
	if p.txs == 0 {
		c.here("structure", "PmtInf without CdtTrfTxInf")
	}
}

// checkTx handles elements below CdtTrfTxInf; sub is e.g. "/Amt/InstdAmt"
// ("" for CdtTrfTxInf itself).
func (c *checker) checkTx(sub, text string) bool {
	t := &c.tx
	switch sub {
	case "/PmtId/EndToEndId":
		t.e2e = text
		c.checkID("EndToEndId", text, text == NotProvided)
	case "/PmtId/InstrId":
		c.checkID("InstrId", text, true)
	case "/PmtTpInf/LclInstrm/Cd":
		t.instant = c.checkLclInstrm(text)
	case "/Amt/InstdAmt":
		t.hasAmt = true
		c.txAmount(text)
	case "/CdtrAgt/FinInstnId/BICFI":
		c.checkBIC(text)
	case "/CdtrAgt/FinInstnId/Othr":
		c.here("bic", "CdtrAgt allows only BICFI; leave CdtrAgt out when the BIC is unknown")
	case "/Cdtr/Nm":
		t.hasCdtrNm = true
		c.checkText("Nm", text, MaxNameLen)
	case "/CdtrAcct/Id/IBAN":
		c.checkIBAN(text)
	case "/Purp/Cd":
		if !codeValid(text) {
			c.here("purpose", "Purp/Cd %q is not a 4-letter code", text)
		}
	case "/RmtInf/Ustrd":
		t.ustrd++
		if t.ustrd > 1 {
			c.here("rmtinf", "only one Ustrd is allowed")
		}
		c.checkText("Ustrd", text, MaxRemittanceLen)
	case "":
		c.endTx()
	default:
		return false
	}
	return true
}

func (c *checker) endTx() {
	t, p := &c.tx, &c.pmt
	p.txs++
	if !t.hasAmt {
		c.here("amount", "Amt/InstdAmt is missing")
	}
	if !t.hasCdtrNm {
		c.here("name", "Cdtr/Nm is missing")
	}
	switch {
	case p.tpInf && t.tpInf:
		c.here("pmttpinf", "PmtTpInf at both PmtInf and transaction level")
	case !p.tpInf && !t.tpInf:
		c.here("pmttpinf", "PmtTpInf at neither PmtInf nor transaction level")
	}
	inst := p.instant || t.instant
	if inst {
		c.sawInst = true
		c.rep.Instant = true
	} else {
		c.sawCT = true
	}
	if p.dtTm && !inst {
		c.here("datetime", "ReqdExctnDt/DtTm is only allowed for SCT Inst (LclInstrm INST)")
	}
	c.tx = txState{}
}

// checkGeneric handles elements that may appear in several places.
func (c *checker) checkGeneric(text string) {
	n := len(c.stack)
	name := c.stack[n-1].name
	parent := ""
	if n > 1 {
		parent = c.stack[n-2].name
	}
	switch {
	case name == "Nm":
		c.checkText("Nm", text, MaxNameLen)
	case name == "ChrgBr":
		if text != "SLEV" {
			c.here("chrgbr", "ChrgBr must be SLEV, got %q", text)
		}
	case name == "Cd" && parent == "SvcLvl":
		if text != "SEPA" {
			c.here("svclvl", "SvcLvl/Cd must be SEPA, got %q", text)
		}
	case name == "Cd" && parent == "CtgyPurp":
		if !codeValid(text) {
			c.here("purpose", "CtgyPurp/Cd %q is not a 4-letter code", text)
		}
	case parent == "PstlAdr":
		c.addressPart(name, text)
	case name == "PstlAdr":
		c.endAddress()
	}
}

var addressLimits = map[string]int{
	"AdrLine": 70, "StrtNm": 70, "BldgNb": 16, "BldgNm": 35, "Flr": 70, "PstBx": 16, "Room": 70,
	"PstCd": 16, "TwnNm": 35, "TwnLctnNm": 35, "DstrctNm": 35, "CtrySubDvsn": 35, "Dept": 70, "SubDept": 70,
}

func (c *checker) addressPart(name, text string) {
	switch name {
	case "AdrLine":
		c.adr.lines++
	case "TwnNm":
		c.adr.town = true
	case "Ctry":
		c.adr.cntry = true
		if len(text) != 2 || !isUpper(text[0]) || !isUpper(text[1]) {
			c.here("address", "Ctry %q is not a 2-letter country code", text)
		}
		return
	}
	if max, ok := addressLimits[name]; ok {
		c.checkText(name, text, max)
	}
}

func (c *checker) endAddress() {
	switch {
	case c.adr.lines > 0 && !(c.adr.town && c.adr.cntry):
		c.here("address", "unstructured address (AdrLine without TwnNm and Ctry) is not allowed")
	case !c.adr.town || !c.adr.cntry:
		c.here("address", "PstlAdr needs TwnNm and Ctry")
	}
	if c.adr.lines > 2 {
		c.here("address", "at most 2 AdrLine allowed, got %d", c.adr.lines)
	}
}

func (c *checker) checkLclInstrm(code string) bool {
	if code != "INST" {
		c.here("lclinstrm", "LclInstrm/Cd must be INST (SCT Inst) or absent, got %q", code)
		return false
	}
	return true
}

// checkID checks an identifier and, unless exempt, its uniqueness within
// the file (PmtInfId and EndToEndId; MsgId occurs once).
func (c *checker) checkID(kind, v string, exempt bool) {
	if !IDValid(v) {
		c.here("id", "%s %q must be 1-35 characters of A-Z a-z 0-9 space + ? / - : ( ) . , '", kind, v)
		return
	}
	if exempt {
		return
	}
	const root = "/Document/CstmrCdtTrfInitn"
	switch kind {
	case "PmtInfId":
		if first, dup := c.pmtIDs[v]; dup {
			c.here("unique", "PmtInfId %q is not unique (first at %s/PmtInf[%d])", v, root, first)
			return
		}
		c.pmtIDs[v] = c.pmtN
	case "EndToEndId":
		if first, dup := c.e2eIDs[v]; dup {
			c.here("unique", "EndToEndId %q is not unique (first at %s/PmtInf[%d]/CdtTrfTxInf[%d])", v, root, first[0], first[1])
			return
		}
		c.e2eIDs[v] = [2]int32{int32(c.pmtN), int32(c.txN)}
	}
}

func (c *checker) checkText(field, v string, max int) {
	if !TextValid(v, max) {
		c.here("text", "%s %q must be 1-%d characters of the DK set (%d given)", field, v, max, len([]rune(v)))
	}
}

func (c *checker) checkIBAN(v string) {
	if !IBANValid(v) {
		c.here("iban", "IBAN %q is not valid (country length or check digits)", v)
	}
}

func (c *checker) checkBIC(v string) {
	if !BICValid(v) {
		c.here("bic", "BIC %q is not valid (8 or 11 characters, ISO 9362)", v)
	}
}

func (c *checker) count(text string) int {
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || len(text) > 15 {
		c.here("nboftxs", "NbOfTxs %q is not a number", text)
		return -1
	}
	return n
}

func (c *checker) ctrlSum(text string) int64 {
	v, ok := ParseAmount(text)
	if !ok {
		c.here("amount", "CtrlSum %q must be a decimal with at most 2 fraction digits", text)
		return -1
	}
	return v
}

func (c *checker) txAmount(text string) {
	if c.ccy != "EUR" {
		c.here("currency", "InstdAmt currency must be EUR, got %q", c.ccy)
	}
	v, ok := ParseAmount(text)
	switch {
	case !ok:
		c.here("amount", "amount %q must be a decimal with at most 2 fraction digits", text)
		return
	case v < MinAmount || v > MaxAmount:
		c.here("amount", "amount %s outside 0.01..999999999.99", text)
	}
	c.pmt.txSum += v
	c.rep.CtrlSum += v
}

// finish runs the file-level checks at the end of the document.
func (c *checker) finish() {
	const root = "/Document/CstmrCdtTrfInitn"
	if c.rep.DeclaredTransactions != c.rep.Transactions {
		c.problem(root+"/GrpHdr/NbOfTxs", "nboftxs",
			fmt.Sprintf("NbOfTxs %d, but %d transactions", c.rep.DeclaredTransactions, c.rep.Transactions))
	}
	if c.hdrSum && c.rep.DeclaredCtrlSum != c.rep.CtrlSum {
		c.problem(root+"/GrpHdr/CtrlSum", "ctrlsum",
			fmt.Sprintf("CtrlSum %s, but the transactions sum to %s", FormatAmount(c.rep.DeclaredCtrlSum), FormatAmount(c.rep.CtrlSum)))
	}
	if c.sawInst && c.sawCT {
		c.problem(root, "mixed", "SCT and SCT Inst transactions are mixed in one message (DK: sortenrein)")
	}
	if c.pmtN == 0 {
		c.problem(root, "structure", "no PmtInf")
	}
}

type dateTime struct {
	t      time.Time
	offset bool
}

// parseDateTime parses an xs:dateTime; offset tells whether it has a zone.
func parseDateTime(s string) (dateTime, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return dateTime{t, layout == time.RFC3339Nano}, true
		}
	}
	return dateTime{}, false
}
