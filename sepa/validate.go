package sepa

import (
	"fmt"
	"strconv"
)

func validateHeader(h *GroupHeader) error {
	rec := fmt.Sprintf("GrpHdr MsgId %q", h.MsgID)
	switch {
	case !IDValid(h.MsgID):
		return &FieldError{Record: rec, Field: "MsgID", Value: h.MsgID, Err: errID}
	case h.CreatedAt.IsZero():
		return &FieldError{Record: rec, Field: "CreatedAt", Value: "", Err: invalid("missing")}
	case h.NbOfTxs < 1:
		return &FieldError{Record: rec, Field: "NbOfTxs", Value: strconv.Itoa(h.NbOfTxs), Err: invalid("at least 1")}
	case h.CtrlSum < MinAmount || h.CtrlSum > maxCtrl:
		return &FieldError{Record: rec, Field: "CtrlSum", Value: FormatAmount(h.CtrlSum), Err: invalid("out of range")}
	}
	return checkText(rec, "InitiatingParty", h.InitiatingParty, MaxNameLen)
}

func validatePaymentInfo(p *PaymentInfo) error {
	rec := pmtRecord(p.PmtInfID)
	switch {
	case !IDValid(p.PmtInfID):
		return &FieldError{Record: rec, Field: "PmtInfID", Value: p.PmtInfID, Err: errID}
	case p.ExecutionDate.IsZero():
		return &FieldError{Record: rec, Field: "ExecutionDate", Err: invalid("missing")}
	case p.NbOfTxs < 1:
		return &FieldError{Record: rec, Field: "NbOfTxs", Value: strconv.Itoa(p.NbOfTxs), Err: invalid("at least 1")}
	case p.CtrlSum < MinAmount || p.CtrlSum > maxCtrl:
		return &FieldError{Record: rec, Field: "CtrlSum", Value: FormatAmount(p.CtrlSum), Err: invalid("out of range")}
	case !IBANValid(p.DebtorIBAN):
		return &FieldError{Record: rec, Field: "DebtorIBAN", Value: p.DebtorIBAN, Err: errIBAN}
	case p.DebtorBIC != "" && p.DebtorBIC != NotProvided && !BICValid(p.DebtorBIC):
		return &FieldError{Record: rec, Field: "DebtorBIC", Value: p.DebtorBIC, Err: errBIC}
	case p.CategoryPurpose != "" && !codeValid(p.CategoryPurpose):
		return &FieldError{Record: rec, Field: "CategoryPurpose", Value: p.CategoryPurpose, Err: errCode}
	}
	return checkText(rec, "Debtor", p.Debtor, MaxNameLen)
}

// validateTransaction checks t and fills in the default purpose. It does
// not allocate unless t is invalid (it runs once per transaction).
func validateTransaction(t *Transaction) error {
	if t.Purpose == "" {
		t.Purpose = DefaultPurpose
	}
	switch {
	case !IDValid(t.EndToEndID):
		return txError(t, "EndToEndID", t.EndToEndID, errID)
	case t.InstrID != "" && !IDValid(t.InstrID):
		return txError(t, "InstrID", t.InstrID, errID)
	case t.Amount < MinAmount || t.Amount > MaxAmount:
		return txError(t, "Amount", FormatAmount(t.Amount), invalid("amount outside 0.01..999999999.99"))
	case !IBANValid(t.CreditorIBAN):
		return txError(t, "CreditorIBAN", t.CreditorIBAN, errIBAN)
	case t.CreditorBIC == NotProvided:
		return txError(t, "CreditorBIC", t.CreditorBIC, invalid("leave the creditor BIC empty when unknown (CdtrAgt is then omitted)"))
	case t.CreditorBIC != "" && !BICValid(t.CreditorBIC):
		return txError(t, "CreditorBIC", t.CreditorBIC, errBIC)
	case !codeValid(t.Purpose):
		return txError(t, "Purpose", t.Purpose, errCode)
	case !TextValid(t.CreditorName, MaxNameLen):
		return txError(t, "CreditorName", t.CreditorName, textErr(MaxNameLen))
	case t.UltimateCreditor != "" && !TextValid(t.UltimateCreditor, MaxNameLen):
		return txError(t, "UltimateCreditor", t.UltimateCreditor, textErr(MaxNameLen))
	case t.Remittance != "" && !TextValid(t.Remittance, MaxRemittanceLen):
		return txError(t, "Remittance", t.Remittance, textErr(MaxRemittanceLen))
	}
	return nil
}

func txError(t *Transaction, field, value string, err error) error {
	return &FieldError{Record: fmt.Sprintf("CdtTrfTxInf EndToEndId %q", t.EndToEndID), Field: field, Value: value, Err: err}
}

var (
	errID   = invalid("identifier must be 1-35 characters of A-Z a-z 0-9 space + ? / - : ( ) . , '")
	errIBAN = invalid("not an IBAN of a SEPA country (length or check digits)")
	errBIC  = invalid("not a BIC (8 or 11 characters, ISO 9362)")
	errCode = invalid("code must be 4 upper-case letters")
)

func checkText(rec, field, s string, max int) error {
	if TextValid(s, max) {
		return nil
	}
	return &FieldError{Record: rec, Field: field, Value: s, Err: textErr(max)}
}

func textErr(max int) error {
	return invalid("text must be 1-%d characters of the DK set (basic Latin plus ÄÖÜäöüß&*$%%)", max)
}

// codeValid reports whether s is a 4-letter upper-case external code.
func codeValid(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if !isUpper(s[i]) {
			return false
		}
	}
	return true
}

func pmtRecord(id string) string { return fmt.Sprintf("PmtInf PmtInfId %q", id) }
